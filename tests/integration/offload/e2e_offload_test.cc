// XenBPF end to end through the guest side: a real bpfd in the emulated dom0 with the dispatcher
// at the NIC's ingress, and inside a guest's network namespace `xenbpf-load load icmp_echo.bpf.o
// --hold` (libxenbpf) offloading the echo responder. Pings from the external host are answered
// in dom0 and never reach the guest; STATS counts them; stopping the loader (cleanly or with
// SIGKILL) removes the program from the kernel and empties the dispatcher's slot; a guest killed
// halfway through a frame leaves nothing; two guests through libxenbpf see the same IDs and
// nothing of each other. Root only (skips otherwise); everything is torn down at the end.
#include <fcntl.h>
#include <fmt/core.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "nfb/bpf/objects.h"
#include "nfb/bpfd/control.h"
#include "nfb/core/cancel.h"
#include "nfb/core/log.h"
#include "nfb/core/netns.h"
#include "nfb/core/subprocess.h"
#include "nfb/platform/netns_platform.h"
#include "platform_test_util.h"
#include "xenbpf/xenbpf.h"

namespace nfb {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using platform::testing::Counters;
using platform::testing::NamespacesWithPrefix;
using platform::testing::Ping;
using ::testing::HasSubstr;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

json Bpftool(std::vector<std::string> args) {
  args.insert(args.begin(), {"bpftool", "-j"});
  return json::parse(RunChecked(ProcessSpec(args), 10s).out);
}

bool ProgramExists(uint32_t id) {
  return RunProcess(ProcessSpec({"bpftool", "prog", "show", "id", std::to_string(id)}), 10s)
      .Succeeded();
}

// IDs of the BPF programs a process holds descriptors for (/proc/<pid>/fdinfo).
std::set<uint32_t> HeldPrograms(pid_t pid) {
  std::set<uint32_t> ids;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fmt::format("/proc/{}/fdinfo", pid), ec)) {
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("prog_id:", 0) == 0) ids.insert(std::stoul(line.substr(8)));
    }
  }
  return ids;
}

// Sum of icmp_echo_counters.answered over the CPUs of a per-CPU value printed in hex.
uint64_t AnsweredFromHex(const std::string& hex) {
  uint64_t answered = 0;
  for (size_t cpu = 0; (cpu + 1) * 32 <= hex.size(); ++cpu) {
    uint64_t v = 0;
    for (int byte = 7; byte >= 0; --byte) {
      v = v << 8 | std::stoul(hex.substr(cpu * 32 + static_cast<size_t>(byte) * 2, 2), nullptr, 16);
    }
    answered += v;
  }
  return answered;
}

// A guest process that connects to its bpfd channel, sends the first half of a LOAD_ELF frame,
// and then waits to be killed. Forked (only async-signal-safe calls in the child).
pid_t StartHalfFrameClient(const std::string& netns, const std::vector<uint8_t>& half) {
  const std::string ns_path = NamedNetnsPath(netns);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, XENBPF_DEFAULT_CHANNEL, std::strlen(XENBPF_DEFAULT_CHANNEL));
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 +
                                          std::strlen(XENBPF_DEFAULT_CHANNEL));
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Reports the step that failed (1..4) and its errno through the pipe.
    const auto fail = [&](uint8_t step) {
      const uint8_t report[2] = {step, static_cast<uint8_t>(errno)};
      [[maybe_unused]] const ssize_t n = ::write(ready[1], report, 2);
      ::_exit(1);
    };
    const int ns = ::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) fail(1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) fail(2);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) fail(3);
    if (::send(fd, half.data(), half.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(half.size())) {
      fail(4);
    }
    const uint8_t ok[2] = {0, 0};
    [[maybe_unused]] const ssize_t n = ::write(ready[1], ok, 2);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  uint8_t report[2] = {0xff, 0};
  const bool ok = ::read(ready[0], report, 2) == 2 && report[0] == 0;
  ::close(ready[0]);
  if (!ok) {
    ADD_FAILURE() << "half-frame client failed at step " << int(report[0]) << ": "
                  << std::strerror(report[1]);
    ::waitpid(pid, nullptr, 0);
    return -1;
  }
  return pid;
}

class E2eOffloadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { platform_.Provision(); }
  // Nothing of the run is left in `ip netns list`.
  static void TearDownTestSuite() { EXPECT_THAT(platform_.Teardown(), ::testing::IsEmpty()); }

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (namespaces, BPF)";
    ASSERT_TRUE(platform_) << "the platform was not provisioned";
    dir_ = fs::temp_directory_path() / fmt::format("nfbtest-libxenbpf-e2e-{}", ::getpid());
    fs::create_directories(dir_);
    control_ = dir_ / "bpfd.ctl";
    ProcessSpec spec({NFB_BPFD_PATH, "--interface", platform_->Dom0NicInterface(), "--netns",
                      Dom0(), "--control", control_.string(), "--log-level", "debug"});
    spec.netns = Dom0();
    spec.stdout_path = spec.stderr_path = dir_ / "bpfd.log";
    bpfd_ = Process::Start(spec);
    bpfd::ControlClient::WaitReady(control_, 30s);
    bpfd::ControlClient control(control_);
    for (const std::string guest : {"domu1", "domu2"}) {
      const platform::HostInfo& h = Host(guest);
      control.Register({guest, h.netns, h.mac, -1});
    }
    const std::set<uint32_t> held = HeldPrograms(bpfd_.pid());
    ASSERT_EQ(held.size(), 1u) << "an idle bpfd holds only its dispatcher";
    dispatcher_ = *held.begin();
  }

  void TearDown() override {
    if (loader_.running()) loader_.Terminate(5s);
    if (commands_ >= 0) ::close(commands_);
    if (bpfd_.running()) {
      const ProcessResult r = bpfd_.Terminate(10s);
      EXPECT_EQ(r.exit_code, 0) << r.Status();
    }
    if (HasFailure()) {
      std::cerr << "--- bpfd log ---\n"
                << ReadText(dir_ / "bpfd.log") << "--- loader ---\n"
                << ReadText(dir_ / "loader.out") << ReadText(dir_ / "loader.err");
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static std::string Dom0() { return platform_->Dom0Netns(); }
  static const platform::HostInfo& Host(const std::string& name) { return platform_->Host(name); }

  // Starts `xenbpf-load --json load icmp_echo.bpf.o --hold` inside domu1, its stdin the FIFO
  // `commands` (so the test can send it commands, and end it by closing the FIFO), and returns
  // its result line.
  json StartLoader() {
    const fs::path fifo = dir_ / "loader.in";
    fs::remove(fifo);
    EXPECT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
    // Opened read-write so neither side blocks on open and the loader sees EOF only when this
    // end is closed.
    commands_ = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
    EXPECT_GE(commands_, 0);
    const std::string command = fmt::format("exec {} --json load {} --hold <{}", NFB_XENBPF_LOAD,
                                            bpf::kIcmpEchoObjectPath, fifo.string());
    ProcessSpec spec = platform_->Command("domu1", {"sh", "-c", command});
    spec.stdout_path = dir_ / "loader.out";
    spec.stderr_path = dir_ / "loader.err";
    loader_ = Process::Start(spec);
    lines_read_ = 0;
    return NextLine();
  }

  // The loader's next stdout line, parsed.
  json NextLine() {
    std::vector<std::string> lines;
    WaitUntil([&] {
      lines = Lines(ReadText(dir_ / "loader.out"));
      return lines.size() > lines_read_;
    });
    if (lines.size() <= lines_read_) {
      ADD_FAILURE() << "the loader printed nothing more; stderr: " << ReadText(dir_ / "loader.err");
      return json::object();
    }
    return json::parse(lines[lines_read_++]);
  }

  json Send(const std::string& line) {
    const std::string text = line + "\n";
    EXPECT_EQ(::write(commands_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    return NextLine();
  }

  std::set<uint32_t> GuestPrograms() {
    std::set<uint32_t> ids = HeldPrograms(bpfd_.pid());
    ids.erase(dispatcher_);
    return ids;
  }

  // Programs in the dispatcher's program array (its slots), read from the kernel.
  std::vector<json> SlotEntries() {
    const json prog = Bpftool({"prog", "show", "id", std::to_string(dispatcher_)});
    for (const json& map_id : prog.at("map_ids")) {
      const std::string id = std::to_string(map_id.get<uint32_t>());
      if (Bpftool({"map", "show", "id", id}).at("type") != "prog_array") continue;
      const json entries = Bpftool({"map", "dump", "id", id});
      return {entries.begin(), entries.end()};
    }
    ADD_FAILURE() << "the dispatcher has no program array";
    return {};
  }

  // After the loader is gone: the session closed, its program left the kernel, the slot is
  // empty, and the guest's own kernel answers pings again.
  void ExpectNothingLeft(uint32_t guest_program) {
    ASSERT_TRUE(WaitUntil([&] { return !bpfd::ControlClient(control_).Stats("domu1").connected; }));
    const bpfd::DomainStatus s = bpfd::ControlClient(control_).Stats("domu1");
    EXPECT_EQ(s.programs, 0u);
    EXPECT_EQ(s.maps, 0u);
    EXPECT_FALSE(s.attached_program.has_value());
    EXPECT_FALSE(s.slot.has_value());
    EXPECT_TRUE(GuestPrograms().empty());
    EXPECT_TRUE(WaitUntil([&] { return !ProgramExists(guest_program); }))
        << "program " << guest_program << " is still in the kernel";
    EXPECT_THAT(SlotEntries(), ::testing::IsEmpty());
    const auto before = Counters(Host("domu1").netns, "eth0");
    const ProcessResult ping = Ping(*platform_, "loadgen", Host("domu1").address, 3);
    EXPECT_THAT(ping.out, HasSubstr("3 received")) << ping.err;
    EXPECT_GE(Counters(Host("domu1").netns, "eth0").rx_packets - before.rx_packets, 3u)
        << "the guest's kernel answers again";
  }

  static platform::testing::SuitePlatform platform_;
  fs::path dir_, control_;
  Process bpfd_, loader_;
  uint32_t dispatcher_ = 0;
  int commands_ = -1;
  size_t lines_read_ = 0;
};

platform::testing::SuitePlatform E2eOffloadTest::platform_;

TEST_F(E2eOffloadTest, GuestOffloadsEchoWithXenbpfLoadAndPingsAreAnsweredInDom0) {
  const json loaded = StartLoader();
  ASSERT_EQ(loaded.value("program_id", 0), 1) << loaded.dump();
  ASSERT_EQ(loaded.at("maps").size(), 2u) << loaded.dump();
  const json& stats_map = loaded["maps"][0];
  EXPECT_EQ(stats_map.at("name"), "icmp_echo_stats");
  EXPECT_EQ(stats_map.at("type"), 6);  // BPF_MAP_TYPE_PERCPU_ARRAY
  EXPECT_EQ(stats_map.at("key_size"), 4);
  EXPECT_EQ(stats_map.at("value_size").get<uint32_t>() % 16, 0u) << "16 bytes per possible CPU";
  EXPECT_EQ(loaded["maps"][1].at("name"), ".rodata");

  // In dom0: one more program held by bpfd, the echo responder, in a dispatcher slot.
  const std::set<uint32_t> programs = GuestPrograms();
  ASSERT_EQ(programs.size(), 1u);
  const uint32_t prog = *programs.begin();
  const json info = Bpftool({"prog", "show", "id", std::to_string(prog)});
  EXPECT_EQ(info.at("name"), "icmp_echo_tc");
  EXPECT_EQ(info.at("type"), "sched_cls");
  EXPECT_EQ(SlotEntries().size(), 1u);
  EXPECT_TRUE(bpfd::ControlClient(control_).Stats("domu1").slot.has_value());

  // Pings to the guest are answered, and the guest never sees them (ARP may pass: broadcast).
  constexpr int kPings = 20;
  const json stats_before = Send("stats");
  const auto guest_before = Counters(Host("domu1").netns, "eth0");
  const ProcessResult ping = Ping(*platform_, "loadgen", Host("domu1").address, kPings);
  EXPECT_THAT(ping.out,
              HasSubstr(fmt::format("{} packets transmitted, {} received", kPings, kPings)))
      << ping.out << ping.err;
  const auto guest_after = Counters(Host("domu1").netns, "eth0");
  EXPECT_LE(guest_after.rx_packets - guest_before.rx_packets, 3u)
      << "the echo requests reached the guest";

  // STATS, asked through the loader's own session, counts them.
  const json stats = Send("stats");
  const uint64_t counted = stats.value("packets", 0ull) - stats_before.value("packets", 0ull);
  EXPECT_GE(counted, static_cast<uint64_t>(kPings)) << stats.dump();
  EXPECT_LE(counted, static_cast<uint64_t>(kPings) + 5) << stats.dump();
  EXPECT_GT(stats.value("cost_ps", 0), 0) << stats.dump();
  EXPECT_THAT(stats.value("method", ""), HasSubstr("BPF_PROG_TEST_RUN"));
  // And the program's own map says it answered them.
  const json lookup = Send(fmt::format("map lookup {} 00000000", stats_map.at("id").get<int>()));
  EXPECT_GE(AnsweredFromHex(lookup.value("value", "")), static_cast<uint64_t>(kPings))
      << lookup.dump();

  std::cout << fmt::format(
      "{} pings answered in dom0; guest eth0 rx +{}; STATS +{} packets, "
      "{} ns estimated ({} ps/packet); icmp_echo answered {}\n",
      kPings, guest_after.rx_packets - guest_before.rx_packets, counted,
      stats.value("cpu_ns", 0ull) - stats_before.value("cpu_ns", 0ull), stats.value("cost_ps", 0),
      AnsweredFromHex(lookup.value("value", "")));

  // The end of the loader's stdin ends its session: the program leaves dom0.
  ::close(commands_);
  commands_ = -1;
  const std::optional<ProcessResult> r = loader_.Wait(10s);
  ASSERT_TRUE(r.has_value()) << "the loader did not stop at the end of stdin";
  EXPECT_EQ(r->exit_code, 0) << ReadText(dir_ / "loader.err");
  ExpectNothingLeft(prog);
}

TEST_F(E2eOffloadTest, LoaderStoppedBySigtermOrKilledLeavesNothingBehind) {
  for (const int sig : {SIGTERM, SIGKILL}) {
    SCOPED_TRACE(strsignal(sig));
    ASSERT_EQ(StartLoader().value("program_id", 0), 1);
    const std::set<uint32_t> programs = GuestPrograms();
    ASSERT_EQ(programs.size(), 1u);
    EXPECT_THAT(Ping(*platform_, "loadgen", Host("domu1").address, 3).out, HasSubstr("3 received"));
    loader_.Signal(sig);
    const std::optional<ProcessResult> r = loader_.Wait(10s);
    ASSERT_TRUE(r.has_value());
    if (sig == SIGTERM) {
      EXPECT_EQ(r->exit_code, 0) << "a clean disconnect";
    }
    ::close(commands_);
    commands_ = -1;
    ExpectNothingLeft(*programs.begin());
  }
}

TEST_F(E2eOffloadTest, GuestKilledHalfwayThroughAFrameLeavesNothing) {
  std::ifstream in(bpf::kIcmpEchoObjectPath, std::ios::binary);
  const std::vector<uint8_t> object{std::istreambuf_iterator<char>(in),
                                    std::istreambuf_iterator<char>()};
  ASSERT_FALSE(object.empty());
  // A LOAD_ELF frame as libxenbpf would send it, cut in the middle of the object.
  std::vector<uint8_t> frame;
  {
    const uint32_t body = 10 + 5 + static_cast<uint32_t>(object.size()) + 5;
    for (int i = 0; i < 4; ++i) frame.push_back(static_cast<uint8_t>(body >> (8 * i)));
    frame.insert(frame.end(), {1, 1, 1, 0, 1, 0, 0, 0, 2, 0});  // v1 request LOAD_ELF id 1, 2 args
    frame.push_back(3);                                         // bytes
    for (int i = 0; i < 4; ++i) frame.push_back(static_cast<uint8_t>(object.size() >> (8 * i)));
    frame.insert(frame.end(), object.begin(), object.begin() + object.size() / 2);
  }
  const pid_t pid = StartHalfFrameClient(Host("domu1").netns, frame);
  ASSERT_GT(pid, 0) << "the raw client could not connect and send";
  EXPECT_TRUE(bpfd::ControlClient(control_).Stats("domu1").connected);
  const auto killed = std::chrono::steady_clock::now();
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ASSERT_TRUE(WaitUntil([&] { return !bpfd::ControlClient(control_).Stats("domu1").connected; }));
  // Closed because the guest went away, well before bpfd's 10 s frame timeout.
  EXPECT_LT(std::chrono::steady_clock::now() - killed, 5s);
  const bpfd::DomainStatus s = bpfd::ControlClient(control_).Stats("domu1");
  EXPECT_EQ(s.programs, 0u);
  EXPECT_FALSE(s.slot.has_value());
  EXPECT_TRUE(GuestPrograms().empty());
  EXPECT_THAT(SlotEntries(), ::testing::IsEmpty());
  // The domain can offload again.
  EXPECT_EQ(StartLoader().value("program_id", 0), 1);
}

TEST_F(E2eOffloadTest, TwoGuestsThroughLibxenbpfSeeTheSameIdsAndNothingOfEachOther) {
  std::ifstream in(bpf::kIcmpEchoObjectPath, std::ios::binary);
  const std::vector<char> object{std::istreambuf_iterator<char>(in),
                                 std::istreambuf_iterator<char>()};
  xenbpf* guests[2] = {nullptr, nullptr};
  for (int i = 0; i < 2; ++i) {
    // The socket is created inside the guest's namespace and stays there.
    NetnsScope scope(Host(i == 0 ? "domu1" : "domu2").netns);
    ASSERT_EQ(xenbpf_connect(nullptr, &guests[i]), 0) << xenbpf_errmsg(nullptr);
  }
  struct xenbpf_map_info maps[2][XENBPF_MAX_MAPS];
  uint32_t prog[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    size_t n = XENBPF_MAX_MAPS;
    ASSERT_EQ(xenbpf_load_elf(guests[i], object.data(), object.size(), "icmp_echo_tc", &prog[i],
                              maps[i], &n),
              0)
        << xenbpf_errmsg(guests[i]);
    ASSERT_EQ(n, 2u);
  }
  EXPECT_EQ(prog[0], 1u);
  EXPECT_EQ(prog[1], 1u);
  EXPECT_EQ(maps[0][0].id, maps[1][0].id);
  EXPECT_EQ(GuestPrograms().size(), 2u);

  // domu2 loads a second object: its program 2 and maps 3-4 exist, domu1's do not. For domu1
  // they are indistinguishable from IDs nobody was ever given.
  uint32_t extra = 0;
  ASSERT_EQ(
      xenbpf_load_elf(guests[1], object.data(), object.size(), nullptr, &extra, nullptr, nullptr),
      0);
  ASSERT_EQ(extra, 2u);
  const uint32_t key = 0;
  std::vector<uint8_t> value(maps[0][0].value_size);
  for (const auto& [theirs, never] : {std::pair{2u, 9u}, std::pair{3u, 10u}}) {
    const int a = xenbpf_unload(guests[0], theirs);
    const std::string ma = xenbpf_errmsg(guests[0]);
    const int b = xenbpf_unload(guests[0], never);
    const std::string mb = xenbpf_errmsg(guests[0]);
    EXPECT_EQ(a, -ENOENT);
    EXPECT_EQ(a, b);
    EXPECT_EQ(ma, "no program with id " + std::to_string(theirs));
    EXPECT_EQ(mb, "no program with id " + std::to_string(never));
    EXPECT_EQ(xenbpf_lookup_elem(guests[0], theirs + 1, &key, 4, value.data(), value.size()),
              xenbpf_lookup_elem(guests[0], never + 1, &key, 4, value.data(), value.size()));
  }

  // Pings to domu1 are counted in domu1's map only.
  EXPECT_THAT(Ping(*platform_, "loadgen", Host("domu1").address, 5).out, HasSubstr("5 received"));
  const auto answered = [&](int guest) {
    std::vector<uint8_t> v(maps[guest][0].value_size);
    EXPECT_EQ(xenbpf_lookup_elem(guests[guest], maps[guest][0].id, &key, 4, v.data(), v.size()), 0)
        << xenbpf_errmsg(guests[guest]);
    std::string hex;
    for (const uint8_t byte : v) hex += fmt::format("{:02x}", byte);
    return AnsweredFromHex(hex);
  };
  EXPECT_GE(answered(0), 5u);
  EXPECT_EQ(answered(1), 0u);

  // domu2's disconnect removes domu2's programs only; domu1 keeps answering in dom0.
  xenbpf_disconnect(guests[1]);
  ASSERT_TRUE(WaitUntil([&] { return !bpfd::ControlClient(control_).Stats("domu2").connected; }));
  EXPECT_EQ(GuestPrograms().size(), 1u);
  const auto before = Counters(Host("domu1").netns, "eth0");
  EXPECT_THAT(Ping(*platform_, "loadgen", Host("domu1").address, 5).out, HasSubstr("5 received"));
  EXPECT_LE(Counters(Host("domu1").netns, "eth0").rx_packets - before.rx_packets, 3u);
  EXPECT_GE(answered(0), 10u);
  xenbpf_disconnect(guests[0]);
  ASSERT_TRUE(WaitUntil([&] { return !bpfd::ControlClient(control_).Stats("domu1").connected; }));
  EXPECT_TRUE(GuestPrograms().empty());
}

}  // namespace
}  // namespace nfb
