// bpfd's event loop with real sockets and the in-memory FakeBackend, no privileges: sessions over
// abstract Unix sockets (in the test's own network namespace, under unique names), the control
// socket, and the bounds on misbehaving peers (oversized frames, slowloris, garbage, peers that
// never read), each while another domain keeps being served.
#include "nfb/bpfd/daemon.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "nfb/bpfd/control.h"
#include "nfb/bpfd/service.h"
#include "nfb/bpfd/testing/fake_backend.h"
#include "nfb/bpfd/transport.h"
#include "nfb/core/error.h"
#include "nfb/offload/client.h"
#include "nfb/offload/protocol.h"

namespace nfb::bpfd {
namespace {

namespace proto = offload::proto;
using namespace std::chrono_literals;

std::string SocketName(const std::string& domain) {
  return "nfbtest-offload-" + std::to_string(::getpid()) + "-" + domain;
}

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

class DaemonTest : public ::testing::Test {
 protected:
  void Start(DaemonOptions options = {}) {
    dir_ = std::filesystem::temp_directory_path() /
           ("nfbtest-offload-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    options.control_path = (dir_ / "bpfd.ctl").string();
    control_path_ = options.control_path;
    daemon_ = std::make_unique<Daemon>(
        service_, [](const DomainSpec& spec) { return ListenAbstract("", SocketName(spec.name)); },
        options);
    // Registered before the loop runs; later changes go through the control socket, since the
    // daemon is not thread-safe.
    daemon_->RegisterDomain({"domu1", "unused-netns", "02:00:00:00:01:01"});
    daemon_->RegisterDomain({"domu2", "unused-netns", "02:00:00:00:02:01"});
    thread_ = std::thread([this] { daemon_->Run(/*stop_on_interrupt=*/false); });
  }

  void TearDown() override {
    if (daemon_) {
      daemon_->Stop();
      thread_.join();
      daemon_.reset();
    }
    EXPECT_EQ(backend_.live_programs(), 0) << "the daemon's teardown unloads everything";
    EXPECT_EQ(backend_.live_maps(), 0);
    std::error_code ec;
    EXPECT_FALSE(std::filesystem::exists(control_path_, ec)) << "control socket removed";
    std::filesystem::remove_all(dir_, ec);
  }

  proto::BlockingClient Connect(const std::string& domain) {
    proto::BlockingClient client;
    const proto::Status s = client.ConnectAbstract(SocketName(domain));
    EXPECT_TRUE(s.ok()) << s.message;
    return client;
  }

  static proto::OwnedReply Call(proto::BlockingClient& client, proto::RequestArgs args) {
    proto::OwnedReply reply;
    const proto::Status s = client.Call({0, 0, std::move(args)}, &reply, 5s);
    EXPECT_TRUE(s.ok()) << s.message;
    return reply;
  }

  // The next reply (or transport status) on a client, e.g. a connection-level error.
  static proto::Status Receive(proto::BlockingClient& client, proto::OwnedReply* out,
                               std::chrono::milliseconds timeout = 5s) {
    return client.ReceiveReply(out, timeout);
  }

  DomainStatus Stats(const std::string& domain) {
    return ControlClient(control_path_).Stats(domain);
  }

  // Waits until the control socket reports `domain` disconnected.
  bool WaitDisconnected(const std::string& domain) {
    for (int i = 0; i < 200; ++i) {
      if (!Stats(domain).connected) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  testing::FakeBackend backend_;
  OffloadService service_{backend_};
  std::unique_ptr<Daemon> daemon_;
  std::thread thread_;
  std::filesystem::path dir_;
  std::string control_path_;
  const std::vector<uint8_t> object_ = Bytes(
      "\x7f"
      "ELF object");
};

TEST_F(DaemonTest, ServesEachDomainOnItsOwnChannel) {
  Start();
  proto::BlockingClient c1 = Connect("domu1");
  proto::BlockingClient c2 = Connect("domu2");
  proto::OwnedReply r = Call(c1, proto::LoadElfRequest{object_, "prog"});
  ASSERT_EQ(r.reply.status, 0) << r.reply.message;
  EXPECT_EQ(std::get<proto::LoadElfResult>(r.reply.result).program_id, 1u);
  r = Call(c2, proto::LoadElfRequest{object_, ""});
  ASSERT_EQ(r.reply.status, 0);
  EXPECT_EQ(std::get<proto::LoadElfResult>(r.reply.result).program_id, 1u);
  // The channel decides the domain: domu2's client unloading "1" unloads domu2's program.
  EXPECT_EQ(Call(c2, proto::UnloadRequest{1}).reply.status, 0);
  EXPECT_EQ(Stats("domu1").programs, 1u);
  EXPECT_EQ(Stats("domu2").programs, 0u);
  const DomainStatus s = Stats("domu1");
  EXPECT_TRUE(s.connected);
  EXPECT_EQ(s.attached_program, 1u);
  EXPECT_EQ(s.mac, "02:00:00:00:01:01");
}

TEST_F(DaemonTest, DisconnectRemovesTheDomainsObjects) {
  Start();
  {
    proto::BlockingClient c1 = Connect("domu1");
    ASSERT_EQ(Call(c1, proto::LoadElfRequest{object_, ""}).reply.status, 0);
    ASSERT_EQ(Call(c1, proto::LoadElfRequest{object_, ""}).reply.status, 0);
    EXPECT_EQ(Stats("domu1").programs, 2u);
  }
  ASSERT_TRUE(WaitDisconnected("domu1"));
  const DomainStatus s = Stats("domu1");
  EXPECT_EQ(s.programs, 0u);
  EXPECT_EQ(s.maps, 0u);
  EXPECT_FALSE(s.attached_program.has_value());
  EXPECT_FALSE(s.slot.has_value());
  // A new session starts from ID 1.
  proto::BlockingClient again = Connect("domu1");
  proto::OwnedReply r = Call(again, proto::LoadElfRequest{object_, ""});
  EXPECT_EQ(std::get<proto::LoadElfResult>(r.reply.result).program_id, 1u);
}

TEST_F(DaemonTest, SecondSessionOfADomainIsRefused) {
  Start();
  proto::BlockingClient first = Connect("domu1");
  ASSERT_EQ(Call(first, proto::LoadElfRequest{object_, ""}).reply.status, 0);
  proto::BlockingClient second = Connect("domu1");
  proto::OwnedReply r;
  ASSERT_TRUE(Receive(second, &r).ok());
  EXPECT_EQ(r.reply.status, -EBUSY);
  EXPECT_EQ(r.reply.request_id, 0u);
  EXPECT_EQ(Receive(second, &r, 2s).code, -ECONNRESET);
  // The first session is untouched.
  EXPECT_EQ(Call(first, proto::MapInfoRequest{1}).reply.status, 0);
}

TEST_F(DaemonTest, OversizedFrameClosesOnlyThatSession) {
  Start();
  proto::BlockingClient c1 = Connect("domu1");
  proto::BlockingClient c2 = Connect("domu2");
  ASSERT_EQ(Call(c1, proto::LoadElfRequest{object_, ""}).reply.status, 0);
  ASSERT_TRUE(c1.SendRaw({0xff, 0xff, 0xff, 0xff, 1, 1, 7, 0}).ok());
  proto::OwnedReply r;
  ASSERT_TRUE(Receive(c1, &r).ok());
  EXPECT_EQ(r.reply.status, -EMSGSIZE);
  EXPECT_EQ(r.reply.request_id, 0u);
  EXPECT_EQ(Receive(c1, &r, 2s).code, -ECONNRESET);
  EXPECT_EQ(Call(c2, proto::StatsRequest{}).reply.status, 0);
  ASSERT_TRUE(WaitDisconnected("domu1"));
  EXPECT_EQ(Stats("domu1").programs, 0u);
}

TEST_F(DaemonTest, SlowlorisIsCutOff) {
  DaemonOptions options;
  options.frame_timeout = 300ms;
  Start(options);
  proto::BlockingClient slow = Connect("domu1");
  proto::BlockingClient c2 = Connect("domu2");
  ASSERT_EQ(Call(slow, proto::LoadElfRequest{object_, ""}).reply.status, 0);
  std::vector<uint8_t> frame;
  ASSERT_TRUE(proto::EncodeRequest({0, 5, proto::StatsRequest{}}, &frame).ok());
  const auto start = std::chrono::steady_clock::now();
  // One byte every 100 ms: alive, but never finishing within the timeout.
  proto::OwnedReply r;
  proto::Status s;
  for (size_t i = 0; i < frame.size() - 1; ++i) {
    if (!slow.SendRaw({frame[i]}).ok()) break;
    s = Receive(slow, &r, 100ms);
    if (s.code != -ETIMEDOUT) break;
    EXPECT_EQ(Call(c2, proto::StatsRequest{}).reply.status, 0) << "domu2 is served meanwhile";
  }
  if (s.code == -ETIMEDOUT) s = Receive(slow, &r, 2s);
  ASSERT_TRUE(s.ok()) << s.message;
  EXPECT_EQ(r.reply.status, -ETIMEDOUT);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 1500ms);
  ASSERT_TRUE(WaitDisconnected("domu1"));
  EXPECT_EQ(Stats("domu1").programs, 0u);
}

TEST_F(DaemonTest, GarbageFramesGetErrorRepliesAndTheSessionGoesOn) {
  Start();
  proto::BlockingClient c1 = Connect("domu1");
  std::mt19937 random(1234);
  std::vector<uint8_t> stream;
  constexpr int kFrames = 200;
  for (int i = 0; i < kFrames; ++i) {
    const size_t length = proto::kBodyHeaderSize + random() % 200;
    proto::AppendU32(&stream, static_cast<uint32_t>(length));
    for (size_t j = 0; j < length; ++j) stream.push_back(static_cast<uint8_t>(random()));
    if (i % 2 == 0) stream[stream.size() - length] = proto::kVersion;  // get past the version
  }
  ASSERT_TRUE(c1.SendRaw(stream).ok());
  for (int i = 0; i < kFrames; ++i) {
    proto::OwnedReply r;
    ASSERT_TRUE(Receive(c1, &r).ok()) << "reply " << i;
    EXPECT_LT(r.reply.status, 0);
  }
  EXPECT_EQ(Call(c1, proto::LoadElfRequest{object_, ""}).reply.status, 0);
}

TEST_F(DaemonTest, PeerThatNeverReadsIsThrottled) {
  DaemonOptions options;
  options.max_output = 4096;
  Start(options);
  proto::BlockingClient flood = Connect("domu1");
  proto::BlockingClient c2 = Connect("domu2");
  ::fcntl(flood.fd(), F_SETFL, ::fcntl(flood.fd(), F_GETFL) | O_NONBLOCK);
  std::vector<uint8_t> frame;
  ASSERT_TRUE(proto::EncodeRequest({0, 1, proto::StatsRequest{}}, &frame).ok());
  // Write until the socket is full: bpfd stops reading once its replies pile up.
  size_t sent = 0;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = ::send(flood.fd(), frame.data(), frame.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EAGAIN) {
      std::this_thread::sleep_for(50ms);
      if (::send(flood.fd(), frame.data(), frame.size(), MSG_NOSIGNAL) < 0) break;
      continue;
    }
    ASSERT_GT(n, 0);
    sent += static_cast<size_t>(n);
  }
  EXPECT_LT(std::chrono::steady_clock::now(), deadline)
      << "bpfd kept reading a peer that never reads";
  EXPECT_GT(sent, options.max_output);
  // The other domain is served promptly.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Call(c2, proto::StatsRequest{}).reply.status, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST_F(DaemonTest, ControlSocket) {
  Start();
  ControlClient control(control_path_);
  control.Ping();
  EXPECT_EQ(control.List().size(), 2u);
  // Registration errors name the problem; nothing changes.
  EXPECT_THROW(control.Register({"domu1", "ns", "02:00:00:00:09:01"}), RunError);
  EXPECT_THROW(control.Register({"domu3", "ns", "02:00:00:00:01:01"}), RunError);  // MAC taken
  EXPECT_THROW(control.Register({"domu3", "ns", "01:00:00:00:09:01"}), RunError);  // group MAC
  EXPECT_THROW(control.Register({"domu3", "ns", "not-a-mac"}), RunError);
  EXPECT_THROW(control.Register({"bad name", "ns", "02:00:00:00:09:01"}), RunError);
  EXPECT_THROW(control.Register({"domu3", "", "02:00:00:00:09:01"}), RunError);  // no netns
  EXPECT_THROW(control.Unregister("domu9"), RunError);
  EXPECT_THROW(control.Stats("domu9"), RunError);
  nlohmann::json answer = control.Call({{"cmd", "bogus"}});
  EXPECT_FALSE(answer.at("ok").get<bool>());
  EXPECT_NE(answer.at("error").get<std::string>().find("bogus"), std::string::npos);
  answer = control.Call({{"cmd", "register"},
                         {"name", "x"},
                         {"mac", "02:00:00:00:09:01"},
                         {"netns", "n"},
                         {"extra", 1}});
  EXPECT_FALSE(answer.at("ok").get<bool>());
  EXPECT_EQ(control.List().size(), 2u);

  // A registered domain gets its channel; unregistering removes what it loaded and its channel.
  control.Register({"domu3", "ns", "02:00:00:00:03:01"});
  {
    proto::BlockingClient c3 = Connect("domu3");
    ASSERT_EQ(Call(c3, proto::LoadElfRequest{object_, ""}).reply.status, 0);
    EXPECT_EQ(control.Stats("domu3").programs, 1u);
    control.Unregister("domu3");
    proto::OwnedReply r;
    EXPECT_EQ(Receive(c3, &r, 2s).code, -ECONNRESET);
  }
  proto::BlockingClient gone;
  EXPECT_EQ(gone.ConnectAbstract(SocketName("domu3")).code, -ECONNREFUSED);
  EXPECT_EQ(control.List().size(), 2u);
}

TEST_F(DaemonTest, MalformedControlInput) {
  Start();
  ControlClient control(control_path_);
  EXPECT_FALSE(control.Call(nlohmann::json::array()).at("ok").get<bool>());
  EXPECT_FALSE(control.Call({{"cmd", 5}}).at("ok").get<bool>());
  // A line over the limit is answered with an error and closes that control connection; bpfd
  // goes on.
  const std::string huge(kMaxControlLine + 10, 'x');
  EXPECT_FALSE(control.Call(huge).at("ok").get<bool>());
  EXPECT_THROW(control.Ping(), Error);
  ControlClient fresh(control_path_);
  fresh.Ping();
}

TEST_F(DaemonTest, ShutdownCommandStopsTheLoop) {
  Start();
  ControlClient(control_path_).Shutdown();
  thread_.join();
  daemon_.reset();  // TearDown then only checks the cleanup
  daemon_ = nullptr;
  EXPECT_FALSE(std::filesystem::exists(control_path_));
}

// ---- the framing over a transport that is not a listening socket (how vchan plugs in) ----------

// A socketpair channel that reports writability the way a vchan does: not with EPOLLOUT, but
// as readability of its one fd.
class VchanLikeChannel : public Channel {
 public:
  explicit VchanLikeChannel(std::unique_ptr<Channel> inner) : inner_(std::move(inner)) {}
  int fd() const override { return inner_->fd(); }
  bool WritableByEpollout() const override { return false; }
  IoResult Read(std::span<uint8_t> buffer) override { return inner_->Read(buffer); }
  IoResult Write(std::span<const uint8_t> data) override { return inner_->Write(data); }
  std::string Describe() const override { return "vchan-like " + inner_->Describe(); }

 private:
  std::unique_ptr<Channel> inner_;
};

// A listener handing out one pre-connected socketpair channel, signalled through an eventfd.
class PairListener : public Listener {
 public:
  PairListener() : event_(::eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK)) {
    auto [channel, peer] = ChannelPair("socketpair");
    channel_ = std::make_unique<VchanLikeChannel>(std::move(channel));
    peer_fd = peer;
  }
  ~PairListener() override { ::close(event_); }
  int fd() const override { return event_; }
  std::unique_ptr<Channel> Accept() override {
    uint64_t value;
    [[maybe_unused]] ssize_t n = ::read(event_, &value, sizeof(value));
    return std::move(channel_);
  }
  std::string Describe() const override { return "socketpair"; }
  int peer_fd = -1;

 private:
  int event_;
  std::unique_ptr<Channel> channel_;
};

TEST(DaemonFramingTest, FramesSplitAcrossWritesOverASocketpair) {
  testing::FakeBackend backend;
  OffloadService service(backend);
  int peer = -1;
  Daemon daemon(
      service,
      [&peer](const DomainSpec&) {
        auto listener = std::make_unique<PairListener>();
        peer = listener->peer_fd;
        return listener;
      },
      DaemonOptions{});
  daemon.RegisterDomain({"domu1", "unused", "02:00:00:00:01:01"});
  std::thread loop([&daemon] { daemon.Run(false); });
  proto::BlockingClient client(peer);
  std::vector<uint8_t> stream;
  const std::vector<uint8_t> object = Bytes(
      "\x7f"
      "ELF object");
  proto::EncodeRequest({0, 1, proto::LoadElfRequest{object, ""}}, &stream);
  proto::EncodeRequest({0, 2, proto::StatsRequest{}}, &stream);
  proto::EncodeRequest({0, 3, proto::MapInfoRequest{2}}, &stream);
  // Dribble the three frames in chunks of 1..7 bytes.
  for (size_t pos = 0, step = 1; pos < stream.size(); pos += step, step = step % 7 + 1) {
    const size_t n = std::min(step, stream.size() - pos);
    ASSERT_TRUE(client.SendRaw({stream.begin() + pos, stream.begin() + pos + n}).ok());
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  for (uint32_t id = 1; id <= 3; ++id) {
    proto::OwnedReply r;
    ASSERT_TRUE(client.ReceiveReply(&r, 5s).ok());
    EXPECT_EQ(r.reply.request_id, id);
    EXPECT_EQ(r.reply.status, 0) << r.reply.message;
  }
  daemon.Stop();
  loop.join();
}

}  // namespace
}  // namespace nfb::bpfd
