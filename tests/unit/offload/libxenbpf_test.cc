// libxenbpf's C API against a real bpfd event loop with the in-memory backend (no privileges):
// connecting, each command with its results and errors (negative errno plus a message), limits
// checked before sending, one session per domain, disconnect unloading everything, a lost
// connection, a silent peer, and several threads sharing one connection.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "libxenbpf_fixture.h"
#include "nfb/core/subprocess.h"
#include "nfb/offload/channel.h"
#include "nfb/offload/frame_decoder.h"
#include "nfb/offload/protocol.h"
#include "xenbpf/xenbpf.h"

namespace {

using nfb::xenbpf_testing::InProcessBpfd;
using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace proto = nfb::offload::proto;

const std::vector<uint8_t> kObject = {0x7f, 'E', 'L', 'F', 1, 2, 3, 4};

// A connection closed at the end of the scope.
struct Handle {
  xenbpf* h = nullptr;
  Handle() = default;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { xenbpf_disconnect(h); }
  operator xenbpf*() const { return h; }
};

class LibxenbpfTest : public ::testing::Test {
 protected:
  // Connects as `domain`, failing the test if that does not work.
  void Connect(Handle* handle, const std::string& domain = "domu1") {
    const int rc = xenbpf_connect(bpfd_.Channel(domain).c_str(), &handle->h);
    ASSERT_EQ(rc, 0) << xenbpf_errmsg(nullptr);
    ASSERT_NE(handle->h, nullptr);
  }

  // Loads kObject; returns the program id.
  uint32_t Load(xenbpf* h) {
    uint32_t prog = 0;
    const int rc =
        xenbpf_load_elf(h, kObject.data(), kObject.size(), nullptr, &prog, nullptr, nullptr);
    EXPECT_EQ(rc, 0) << xenbpf_errmsg(h);
    return prog;
  }

  InProcessBpfd bpfd_;
};

TEST_F(LibxenbpfTest, ConnectsByNameEnvironmentAndAtSign) {
  Handle a;
  ASSERT_EQ(xenbpf_connect(bpfd_.Channel("domu1").c_str(), &a.h), 0) << xenbpf_errmsg(nullptr);
  EXPECT_STREQ(xenbpf_errmsg(nullptr), "");
  EXPECT_GE(xenbpf_fd(a), 0);
  xenbpf_disconnect(a.h);
  a.h = nullptr;
  ASSERT_TRUE(bpfd_.WaitDisconnected("domu1"));

  // "@name" is the same abstract socket.
  Handle b;
  ASSERT_EQ(xenbpf_connect(("@" + bpfd_.Channel("domu1")).c_str(), &b.h), 0)
      << xenbpf_errmsg(nullptr);
  xenbpf_disconnect(b.h);
  b.h = nullptr;
  ASSERT_TRUE(bpfd_.WaitDisconnected("domu1"));

  // NULL: the environment variable names the channel.
  ::setenv(XENBPF_CHANNEL_ENV, bpfd_.Channel("domu2").c_str(), 1);
  Handle c;
  const int rc = xenbpf_connect(nullptr, &c.h);
  ::unsetenv(XENBPF_CHANNEL_ENV);
  ASSERT_EQ(rc, 0) << xenbpf_errmsg(nullptr);
  EXPECT_TRUE(bpfd_.Status("domu2").connected);
  EXPECT_FALSE(bpfd_.Status("domu1").connected);
}

TEST_F(LibxenbpfTest, ConnectFailuresSayWhy) {
  xenbpf* h = reinterpret_cast<xenbpf*>(0x1);
  EXPECT_EQ(xenbpf_connect("nfbtest-libxenbpf-nobody-listens", &h), -ECONNREFUSED);
  EXPECT_EQ(h, nullptr);
  EXPECT_THAT(xenbpf_errmsg(nullptr), HasSubstr("@nfbtest-libxenbpf-nobody-listens"));
  EXPECT_THAT(xenbpf_errmsg(nullptr), HasSubstr("registered with bpfd"));

  EXPECT_EQ(xenbpf_connect("", &h), -EINVAL);
  EXPECT_EQ(xenbpf_connect("@", &h), -EINVAL);
  EXPECT_THAT(xenbpf_errmsg(nullptr), HasSubstr("empty"));
  EXPECT_EQ(xenbpf_connect(std::string(200, 'x').c_str(), &h), -EINVAL);
  // A vchan: not built in, or (this host) no XenStore to find it in.
  EXPECT_EQ(xenbpf_connect("vchan:0", &h),
            nfb::offload::proto::VchanClientAvailable() ? -ENODEV : -EPROTONOSUPPORT);
  EXPECT_THAT(xenbpf_errmsg(nullptr), HasSubstr("vchan"));
  EXPECT_EQ(xenbpf_connect("vchan:bad path", &h), -EINVAL);
  EXPECT_EQ(xenbpf_connect("x", nullptr), -EINVAL);
}

TEST_F(LibxenbpfTest, SecondSessionOfADomainIsRefusedAtConnect) {
  Handle first;
  Connect(&first);
  xenbpf* second = nullptr;
  EXPECT_EQ(xenbpf_connect(bpfd_.Channel("domu1").c_str(), &second), -EBUSY);
  EXPECT_EQ(second, nullptr);
  EXPECT_THAT(xenbpf_errmsg(nullptr), HasSubstr("another session of this domain is open"));
  // The first session is unaffected, and the other domain connects.
  uint32_t prog = Load(first);
  EXPECT_EQ(prog, 1u);
  Handle other;
  Connect(&other, "domu2");
}

TEST_F(LibxenbpfTest, LoadElfReturnsProgramAndDescribedMaps) {
  Handle h;
  Connect(&h);
  uint32_t prog = 0;
  struct xenbpf_map_info maps[XENBPF_MAX_MAPS];
  size_t n = XENBPF_MAX_MAPS;
  ASSERT_EQ(xenbpf_load_elf(h, kObject.data(), kObject.size(), "my_prog", &prog, maps, &n), 0)
      << xenbpf_errmsg(h);
  EXPECT_STREQ(xenbpf_errmsg(h), "");
  EXPECT_EQ(prog, 1u);
  ASSERT_EQ(n, 2u);
  EXPECT_EQ(maps[0].id, 1u);
  EXPECT_STREQ(maps[0].name, "counters");
  EXPECT_EQ(maps[0].type, static_cast<uint32_t>(BPF_MAP_TYPE_HASH));
  EXPECT_EQ(maps[0].key_size, 4u);
  EXPECT_EQ(maps[0].value_size, 8u);
  EXPECT_EQ(maps[0].max_entries, 16u);
  EXPECT_EQ(maps[1].id, 2u);
  EXPECT_STREQ(maps[1].name, ".rodata");
  EXPECT_EQ(maps[1].type, static_cast<uint32_t>(BPF_MAP_TYPE_ARRAY));
  EXPECT_EQ(bpfd_.Status("domu1").attached_program, 1u);

  struct xenbpf_map_info info {};
  ASSERT_EQ(xenbpf_map_info(h, 2, &info), 0);
  EXPECT_EQ(info.id, 2u);
  EXPECT_STREQ(info.name, ".rodata");
  EXPECT_EQ(info.max_entries, 1u);
  EXPECT_EQ(xenbpf_map_info(h, 3, &info), -ENOENT);
  EXPECT_THAT(xenbpf_errmsg(h), HasSubstr("no map with id 3"));

  // Room for one map: the count says two, only the first entry is written.
  struct xenbpf_map_info one[2] = {};
  one[1].id = 0xdead;
  size_t room = 1;
  ASSERT_EQ(xenbpf_load_elf(h, kObject.data(), kObject.size(), nullptr, &prog, one, &room), 0);
  EXPECT_EQ(prog, 2u);
  EXPECT_EQ(room, 2u);
  EXPECT_EQ(one[0].id, 3u);
  EXPECT_EQ(one[1].id, 0xdeadu);
}

TEST_F(LibxenbpfTest, LoadErrorsAndLimits) {
  Handle h;
  Connect(&h);
  uint32_t prog = 0;
  std::vector<uint8_t> big(XENBPF_MAX_OBJECT_SIZE + 1, 1);
  EXPECT_EQ(xenbpf_load_elf(h, big.data(), big.size(), nullptr, &prog, nullptr, nullptr), -E2BIG);
  EXPECT_THAT(xenbpf_errmsg(h), HasSubstr("llvm-strip"));
  EXPECT_EQ(xenbpf_load_elf(h, big.data(), 0, nullptr, &prog, nullptr, nullptr), -EINVAL);
  EXPECT_THAT(xenbpf_errmsg(h), HasSubstr("at least 1 needed"));
  EXPECT_EQ(xenbpf_load_elf(h, nullptr, 8, nullptr, &prog, nullptr, nullptr), -EINVAL);
  EXPECT_EQ(xenbpf_load_elf(h, kObject.data(), kObject.size(), nullptr, nullptr, nullptr, nullptr),
            -EINVAL);
  size_t room = 4;
  EXPECT_EQ(xenbpf_load_elf(h, kObject.data(), kObject.size(), nullptr, &prog, nullptr, &room),
            -EINVAL);
  const std::string long_name(XENBPF_NAME_MAX + 1, 'p');
  EXPECT_EQ(xenbpf_load_elf(h, kObject.data(), kObject.size(), long_name.c_str(), &prog, nullptr,
                            nullptr),
            -E2BIG);
  const std::string reject = "REJECT: a tail call";
  EXPECT_EQ(xenbpf_load_elf(h, reject.data(), reject.size(), nullptr, &prog, nullptr, nullptr),
            -EACCES);
  EXPECT_THAT(xenbpf_errmsg(h), HasSubstr("bpf_tail_call is not allowed"));
  // None of that loaded anything, and the session goes on.
  EXPECT_EQ(bpfd_.Status("domu1").programs, 0u);
  EXPECT_EQ(Load(h), 1u);
}

TEST_F(LibxenbpfTest, LoadBytecode) {
  Handle h;
  Connect(&h);
  const bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  uint32_t prog = 0;
  ASSERT_EQ(xenbpf_load_bytecode(h, insns, 2, BPF_PROG_TYPE_SCHED_CLS, "GPL", &prog), 0)
      << xenbpf_errmsg(h);
  EXPECT_EQ(prog, 1u);
  EXPECT_EQ(xenbpf_load_bytecode(h, insns, 0, BPF_PROG_TYPE_SCHED_CLS, "GPL", &prog), -EINVAL);
  EXPECT_EQ(
      xenbpf_load_bytecode(h, insns, XENBPF_MAX_INSNS + 1, BPF_PROG_TYPE_SCHED_CLS, "GPL", &prog),
      -E2BIG);
  // A count whose byte size would overflow size_t is refused before any multiplication.
  EXPECT_EQ(xenbpf_load_bytecode(h, insns, SIZE_MAX / 4, BPF_PROG_TYPE_SCHED_CLS, "GPL", &prog),
            -E2BIG);
  EXPECT_EQ(xenbpf_load_bytecode(h, insns, 2, BPF_PROG_TYPE_XDP, "GPL", &prog), -EINVAL);
  EXPECT_THAT(xenbpf_errmsg(h), HasSubstr("cannot run behind the dispatcher"));
  EXPECT_EQ(xenbpf_load_bytecode(h, insns, 2, BPF_PROG_TYPE_SCHED_CLS, nullptr, &prog), -EINVAL);
  EXPECT_EQ(xenbpf_load_bytecode(h, insns, 2, BPF_PROG_TYPE_SCHED_CLS, "", &prog), -EINVAL);
  EXPECT_EQ(xenbpf_load_bytecode(h, nullptr, 2, BPF_PROG_TYPE_SCHED_CLS, "GPL", &prog), -EINVAL);
  EXPECT_EQ(xenbpf_load_bytecode(h, insns, 2, BPF_PROG_TYPE_SCHED_CLS, "GPL", nullptr), -EINVAL);
  EXPECT_EQ(bpfd_.Status("domu1").programs, 1u);
}

TEST_F(LibxenbpfTest, MapElements) {
  Handle h;
  Connect(&h);
  ASSERT_EQ(Load(h), 1u);
  const uint32_t key = 7;
  uint64_t value = 0x1122334455667788ull;
  ASSERT_EQ(xenbpf_update_elem(h, 1, &key, sizeof(key), &value, sizeof(value), XENBPF_ANY), 0)
      << xenbpf_errmsg(h);
  uint64_t read = 0;
  ASSERT_EQ(xenbpf_lookup_elem(h, 1, &key, sizeof(key), &read, sizeof(read)), 0);
  EXPECT_EQ(read, value);
  EXPECT_EQ(xenbpf_update_elem(h, 1, &key, sizeof(key), &value, sizeof(value), XENBPF_NOEXIST),
            -EEXIST);
  const uint32_t missing = 8;
  EXPECT_EQ(xenbpf_update_elem(h, 1, &missing, 4, &value, sizeof(value), XENBPF_EXIST), -ENOENT);
  EXPECT_EQ(xenbpf_update_elem(h, 1, &key, sizeof(key), &value, sizeof(value), 3), -EINVAL);
  EXPECT_THAT(xenbpf_errmsg(h), HasSubstr("update flags 0x3"));
  // Sizes: checked by bpfd against the map, and a reply that does not fit the buffer is refused
  // without writing to it.
  const uint16_t short_key = 7;
  EXPECT_EQ(xenbpf_lookup_elem(h, 1, &short_key, 2, &read, sizeof(read)), -EINVAL);
  EXPECT_THAT(xenbpf_errmsg(h), HasSubstr("takes 4-byte keys, got 2 bytes"));
  uint32_t small = 0xabcdef;
  EXPECT_EQ(xenbpf_lookup_elem(h, 1, &key, sizeof(key), &small, sizeof(small)), -EINVAL);
  EXPECT_THAT(xenbpf_errmsg(h), HasSubstr("has 8-byte values, the buffer has 4 bytes"));
  EXPECT_EQ(small, 0xabcdefu);
  std::vector<uint8_t> huge_key(XENBPF_MAX_KEY_SIZE + 1);
  EXPECT_EQ(xenbpf_lookup_elem(h, 1, huge_key.data(), huge_key.size(), &read, 8), -E2BIG);
  EXPECT_EQ(xenbpf_lookup_elem(h, 1, nullptr, 4, &read, 8), -EINVAL);
  EXPECT_EQ(xenbpf_lookup_elem(h, 1, &key, 4, nullptr, 8), -EINVAL);
  // Delete, then it is gone.
  ASSERT_EQ(xenbpf_delete_elem(h, 1, &key, sizeof(key)), 0);
  EXPECT_EQ(xenbpf_lookup_elem(h, 1, &key, sizeof(key), &read, sizeof(read)), -ENOENT);
  EXPECT_THAT(xenbpf_errmsg(h), HasSubstr("lookup in map 1"));
  EXPECT_EQ(xenbpf_delete_elem(h, 1, &key, sizeof(key)), -ENOENT);
  // Maps of no program on this connection.
  EXPECT_EQ(xenbpf_update_elem(h, 5, &key, sizeof(key), &value, sizeof(value), XENBPF_ANY),
            -ENOENT);
  EXPECT_THAT(xenbpf_errmsg(h), HasSubstr("no map with id 5"));
  // Success clears the calling thread's message.
  ASSERT_EQ(xenbpf_map_info(h, 1, nullptr), -EINVAL);
  struct xenbpf_map_info info {};
  ASSERT_EQ(xenbpf_map_info(h, 1, &info), 0);
  EXPECT_STREQ(xenbpf_errmsg(h), "");
}

TEST_F(LibxenbpfTest, UnloadRemovesProgramAndMaps) {
  Handle h;
  Connect(&h);
  ASSERT_EQ(Load(h), 1u);
  ASSERT_EQ(xenbpf_unload(h, 1), 0) << xenbpf_errmsg(h);
  EXPECT_EQ(bpfd_.LivePrograms(), 0);
  EXPECT_EQ(bpfd_.LiveMaps(), 0);
  EXPECT_EQ(xenbpf_unload(h, 1), -ENOENT);
  EXPECT_THAT(xenbpf_errmsg(h), HasSubstr("no program with id 1"));
  const uint32_t key = 0;
  uint64_t value = 0;
  EXPECT_EQ(xenbpf_lookup_elem(h, 2, &key, 4, &value, 8), -ENOENT);
  // IDs are not reused within a session.
  EXPECT_EQ(Load(h), 2u);
}

TEST_F(LibxenbpfTest, StatsReportTheDomainsTraffic) {
  Handle h;
  Connect(&h);
  ASSERT_EQ(Load(h), 1u);
  bpfd_.AddTraffic("domu1", 500, 49000);
  bpfd_.AddTraffic("domu2", 7, 700);  // not attached: not counted for anyone
  struct xenbpf_stats s {};
  ASSERT_EQ(xenbpf_stats(h, &s), 0) << xenbpf_errmsg(h);
  EXPECT_EQ(s.packets, 500u);
  EXPECT_EQ(s.bytes, 49000u);
  EXPECT_EQ(s.cost_ps, 20000u);
  EXPECT_EQ(s.cpu_ns, 500u * 20u);
  EXPECT_THAT(s.method, HasSubstr("fake backend"));
  EXPECT_EQ(xenbpf_stats(h, nullptr), -EINVAL);
}

TEST_F(LibxenbpfTest, DisconnectUnloadsEverything) {
  {
    Handle h;
    Connect(&h);
    Load(h);
    Load(h);
    EXPECT_EQ(bpfd_.LivePrograms(), 2);
    EXPECT_EQ(bpfd_.LiveMaps(), 4);
  }
  ASSERT_TRUE(bpfd_.WaitDisconnected("domu1"));
  EXPECT_EQ(bpfd_.LivePrograms(), 0);
  EXPECT_EQ(bpfd_.LiveMaps(), 0);
  EXPECT_FALSE(bpfd_.Status("domu1").attached_program.has_value());
  // A new session starts at 1 again.
  Handle again;
  Connect(&again);
  EXPECT_EQ(Load(again), 1u);
}

TEST_F(LibxenbpfTest, NullHandleAndArguments) {
  EXPECT_EQ(xenbpf_unload(nullptr, 1), -EINVAL);
  EXPECT_THAT(xenbpf_errmsg(nullptr), HasSubstr("NULL"));
  EXPECT_EQ(xenbpf_stats(nullptr, nullptr), -EINVAL);
  EXPECT_EQ(xenbpf_set_timeout(nullptr, 5), -EINVAL);
  EXPECT_EQ(xenbpf_fd(nullptr), -1);
  xenbpf_disconnect(nullptr);
}

TEST_F(LibxenbpfTest, SessionEndedByBpfdIsReportedAndFinal) {
  Handle h;
  Connect(&h);
  ASSERT_EQ(Load(h), 1u);
  // dom0 unregisters the domain: bpfd closes the session.
  nfb::bpfd::ControlClient(bpfd_.control_path()).Unregister("domu1");
  pollfd pfd{xenbpf_fd(h), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 5000), 1) << "the descriptor reports the end of the session";
  struct xenbpf_stats s {};
  const int rc = xenbpf_stats(h, &s);
  EXPECT_TRUE(rc == -ECONNRESET || rc == -EPIPE) << rc << " " << xenbpf_errmsg(h);
  EXPECT_EQ(xenbpf_fd(h), -1);
  // From then on every call says the connection is lost, and why.
  EXPECT_EQ(xenbpf_unload(h, 1), -ENOTCONN);
  EXPECT_THAT(xenbpf_errmsg(h), HasSubstr("the connection to bpfd is lost"));
}

// A peer that answers the connect check and then never again.
class SilentPeer {
 public:
  explicit SilentPeer(std::string name) : name_(std::move(name)) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, name_.data(), name_.size());
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name_.size());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 1) != 0) {
      ADD_FAILURE() << "cannot listen on @" << name_ << ": " << std::strerror(errno);
    }
    thread_ = std::thread([this] { Serve(); });
  }
  ~SilentPeer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
    if (conn_ >= 0) ::close(conn_);
  }

 private:
  void Serve() {
    conn_ = ::accept(fd_, nullptr, nullptr);
    if (conn_ < 0) return;
    proto::FrameDecoder decoder;
    uint8_t buffer[4096];
    while (!decoder.HasFrame()) {
      const ssize_t n = ::recv(conn_, buffer, std::min(sizeof(buffer), decoder.needed()), 0);
      if (n <= 0) return;
      decoder.Feed(std::span<const uint8_t>(buffer, static_cast<size_t>(n)));
    }
    proto::Request request;
    if (!proto::DecodeRequest(decoder.Body(), &request).ok()) return;
    std::vector<uint8_t> frame;
    proto::EncodeReply({request.command, request.request_id, 0, {}, proto::StatsResult{}}, &frame);
    [[maybe_unused]] const ssize_t n = ::send(conn_, frame.data(), frame.size(), MSG_NOSIGNAL);
  }

  std::string name_;
  int fd_ = -1;
  int conn_ = -1;
  std::thread thread_;
};

TEST(LibxenbpfTimeoutTest, SilentPeerTimesOutAndTheConnectionIsGivenUp) {
  const std::string name = "nfbtest-libxenbpf-" + std::to_string(::getpid()) + "-silent";
  SilentPeer peer(name);
  Handle h;
  ASSERT_EQ(xenbpf_connect(name.c_str(), &h.h), 0) << xenbpf_errmsg(nullptr);
  ASSERT_EQ(xenbpf_set_timeout(h, 200), 0);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(xenbpf_unload(h, 1), -ETIMEDOUT);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(150));
  EXPECT_LT(waited, std::chrono::seconds(5));
  // A late reply could now arrive in the middle of the next one: the stream is given up.
  EXPECT_EQ(xenbpf_unload(h, 1), -ENOTCONN);
  EXPECT_THAT(xenbpf_errmsg(h), HasSubstr("lost"));
}

TEST_F(LibxenbpfTest, ThreadsShareOneConnection) {
  Handle h;
  Connect(&h);
  ASSERT_EQ(Load(h), 1u);
  // The fake's hash map holds 16 entries: 4 threads x 4 keys, each written and read back many
  // times, interleaved with failing calls whose messages must stay with their own thread.
  constexpr int kThreads = 4;
  constexpr int kRounds = 150;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const uint32_t key = static_cast<uint32_t>(t * 4 + i % 4);
        const uint64_t value = (static_cast<uint64_t>(t) << 32) | static_cast<uint64_t>(i);
        if (xenbpf_update_elem(h, 1, &key, 4, &value, 8, XENBPF_ANY) != 0) ++failures;
        uint64_t read = 0;
        if (xenbpf_lookup_elem(h, 1, &key, 4, &read, 8) != 0 || read != value) ++failures;
        if (xenbpf_unload(h, 1000 + static_cast<uint32_t>(t)) != -ENOENT) ++failures;
        const std::string mine = "no program with id " + std::to_string(1000 + t);
        if (std::string(xenbpf_errmsg(h)) != mine) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  struct xenbpf_stats s {};
  EXPECT_EQ(xenbpf_stats(h, &s), 0) << "the stream stayed in sync";
}

TEST_F(LibxenbpfTest, ProgramWrittenInCUsesTheLibrary) {
  // The C program (libxenbpf_c_abi_test.c, compiled as C) runs as a guest would: connect
  // through $XENBPF_CHANNEL, load, use a map, read stats, unload. Once linked against the shared
  // library and once against the static archive.
  for (const char* path : {NFB_XENBPF_C_TEST, NFB_XENBPF_C_TEST_STATIC}) {
    SCOPED_TRACE(path);
    nfb::ProcessSpec spec({path});
    spec.env[XENBPF_CHANNEL_ENV] = bpfd_.Channel("domu2");
    const nfb::ProcessResult r = nfb::RunProcess(spec, std::chrono::seconds(20));
    EXPECT_TRUE(r.Succeeded()) << r.Status() << "\n" << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("program 1, 2 maps"));
    ASSERT_TRUE(bpfd_.WaitDisconnected("domu2"));
    EXPECT_EQ(bpfd_.LivePrograms(), 0);
  }
}

}  // namespace
