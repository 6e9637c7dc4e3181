// bpfd end to end on the emulated Xen host (netns platform): a real bpfd process in dom0 with the
// dispatcher at the NIC's ingress, guests in their own namespaces offloading the ICMP echo
// responder through their abstract sockets, and external pings answered in dom0. Root only.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "nfb/bpf/objects.h"
#include "nfb/bpfd/control.h"
#include "nfb/core/cancel.h"
#include "nfb/core/log.h"
#include "nfb/core/netns.h"
#include "nfb/core/subprocess.h"
#include "nfb/offload/client.h"
#include "nfb/offload/protocol.h"
#include "nfb/platform/netns_platform.h"
#include "platform_test_util.h"

namespace nfb::bpfd {
namespace {

namespace fs = std::filesystem;
namespace proto = offload::proto;
using namespace std::chrono_literals;
using platform::testing::Counters;
using platform::testing::Ping;
using ::testing::HasSubstr;

std::vector<uint8_t> ReadBinary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// IDs of the BPF programs (or maps) a process holds file descriptors for.
std::set<uint32_t> HeldIds(pid_t pid, const std::string& field /* "prog_id" or "map_id" */) {
  std::set<uint32_t> ids;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fmt::format("/proc/{}/fdinfo", pid), ec)) {
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(field + ":", 0) == 0) ids.insert(std::stoul(line.substr(field.size() + 1)));
    }
  }
  return ids;
}

bool ProgramExists(uint32_t id) {
  return RunProcess(ProcessSpec({"bpftool", "prog", "show", "id", std::to_string(id)}), 10s)
      .Succeeded();
}

std::vector<std::string> BpffsEntries() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator("/sys/fs/bpf", ec)) {
    out.push_back(e.path().string());
  }
  return out;
}

class BpfdNetnsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    if (std::getenv("NFB_TEST_DEBUG")) log::SetLevel(log::Level::kDebug);
    ClearInterrupt();
    platform_ = std::make_unique<platform::NetnsPlatform>(platform::testing::PingTopology(),
                                                          platform::RunId::Generate());
    platform_->Provision();
  }
  static void TearDownTestSuite() {
    if (platform_) platform_->Teardown();
    platform_.reset();
  }

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (namespaces, BPF)";
    dir_ = fs::temp_directory_path() / fmt::format("nfbtest-offload-{}", ::getpid());
    fs::create_directories(dir_);
    control_ = dir_ / "bpfd.ctl";
    StartBpfd();
  }

  void TearDown() override {
    if (bpfd_.running()) {
      // A clean stop removes the dispatcher's filter (and the clsact qdisc it created).
      const ProcessResult r = bpfd_.Terminate(10s);
      EXPECT_EQ(r.exit_code, 0) << r.Status() << "\n" << ReadText(dir_ / "bpfd.log");
      const ProcessResult filters = RunChecked(
          ProcessSpec({"tc", "-n", Dom0(), "filter", "show", "dev", "peth0", "ingress"}), 10s);
      EXPECT_EQ(filters.out, "") << "dispatcher filter left behind";
    }
    if (HasFailure()) std::cerr << "--- bpfd log ---\n" << ReadText(dir_ / "bpfd.log");
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void StartBpfd() {
    ProcessSpec spec({NFB_BPFD_PATH, "--interface", "peth0", "--netns", Dom0(), "--control",
                      control_.string(), "--log-level", "debug"});
    spec.netns = Dom0();  // bpfd lives in dom0
    spec.stdout_path = spec.stderr_path = dir_ / "bpfd.log";
    bpfd_ = Process::Start(spec);
    ControlClient::WaitReady(control_, 30s);
    ControlClient control(control_);
    for (const std::string guest : {"domu1", "domu2"}) {
      const platform::HostInfo& h = platform_->Host(guest);
      control.Register({guest, h.netns, h.mac});
    }
  }

  static std::string Dom0() { return platform_->Dom0Netns(); }
  static const platform::HostInfo& Host(const std::string& name) { return platform_->Host(name); }

  // A protocol client connected from inside `guest`'s network namespace; the socket stays there.
  proto::BlockingClient ConnectFrom(const std::string& guest) {
    proto::BlockingClient client;
    NetnsScope scope(Host(guest).netns);
    const proto::Status s = client.ConnectAbstract();
    EXPECT_TRUE(s.ok()) << s.message;
    return client;
  }

  static proto::OwnedReply Call(proto::BlockingClient& client, proto::RequestArgs args) {
    proto::OwnedReply reply;
    const proto::Status s = client.Call({0, 0, std::move(args)}, &reply, 30s);
    EXPECT_TRUE(s.ok()) << s.message;
    return reply;
  }

  // The IDs a LOAD_ELF of icmp_echo.bpf.o returned (copied out of the reply).
  struct Loaded {
    uint32_t program_id = 0;
    std::map<std::string, uint32_t> maps;
  };

  Loaded LoadEcho(proto::BlockingClient& client) {
    const std::vector<uint8_t> object = ReadBinary(bpf::kIcmpEchoObjectPath);
    EXPECT_FALSE(object.empty());
    proto::OwnedReply r = Call(client, proto::LoadElfRequest{object, ""});
    EXPECT_EQ(r.reply.status, 0) << r.reply.message;
    Loaded loaded;
    if (const auto* result = std::get_if<proto::LoadElfResult>(&r.reply.result)) {
      loaded.program_id = result->program_id;
      for (const auto& m : result->maps) loaded.maps[std::string(m.name)] = m.map_id;
    }
    return loaded;
  }

  static uint32_t MapId(const Loaded& loaded, const std::string& name) {
    const auto it = loaded.maps.find(name);
    if (it == loaded.maps.end()) {
      ADD_FAILURE() << "no map " << name;
      return 0;
    }
    return it->second;
  }

  // Sum of icmp_echo_stats' per-CPU `answered` counters, read through the guest's channel.
  static uint64_t Answered(proto::BlockingClient& client, uint32_t map_id) {
    const std::vector<uint8_t> key(4, 0);
    proto::OwnedReply r = Call(client, proto::MapLookupRequest{map_id, key});
    EXPECT_EQ(r.reply.status, 0) << r.reply.message;
    const auto* v = std::get_if<proto::MapLookupResult>(&r.reply.result);
    if (v == nullptr) return 0;
    uint64_t answered = 0;
    for (size_t off = 0; off + 16 <= v->value.size(); off += 16) {
      uint64_t cpu = 0;
      std::memcpy(&cpu, v->value.data() + off, 8);
      answered += cpu;
    }
    return answered;
  }

  bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return condition();
  }

  std::set<uint32_t> GuestPrograms() {
    // Everything bpfd holds except its dispatcher.
    std::set<uint32_t> ids = HeldIds(bpfd_.pid(), "prog_id");
    ids.erase(dispatcher_id_ ? *dispatcher_id_ : 0);
    return ids;
  }

  void RememberDispatcher() {
    const std::set<uint32_t> ids = HeldIds(bpfd_.pid(), "prog_id");
    ASSERT_EQ(ids.size(), 1u) << "bpfd holds only its dispatcher when idle";
    dispatcher_id_ = *ids.begin();
  }

  static std::unique_ptr<platform::NetnsPlatform> platform_;
  fs::path dir_;
  fs::path control_;
  Process bpfd_;
  std::optional<uint32_t> dispatcher_id_;
};

std::unique_ptr<platform::NetnsPlatform> BpfdNetnsTest::platform_;

TEST_F(BpfdNetnsTest, EchoOffloadedByTheGuestIsAnsweredInDom0) {
  RememberDispatcher();
  proto::BlockingClient client = ConnectFrom("domu1");
  const auto load_start = std::chrono::steady_clock::now();
  const Loaded loaded = LoadEcho(client);
  const auto load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start)
          .count();
  ASSERT_EQ(loaded.program_id, 1u);
  EXPECT_EQ(loaded.maps.size(), 2u);
  const uint32_t stats_map = MapId(loaded, "icmp_echo_stats");
  MapId(loaded, ".rodata");
  EXPECT_EQ(GuestPrograms().size(), 1u);

  constexpr int kPings = 20;
  const auto guest_before = Counters(Host("domu1").netns, "eth0");
  const ProcessResult ping = Ping(*platform_, "loadgen", Host("domu1").address, kPings);
  EXPECT_THAT(ping.out, HasSubstr(fmt::format("{} received", kPings))) << ping.out << ping.err;
  const auto guest_after = Counters(Host("domu1").netns, "eth0");
  // Answered in dom0: the requests never reached the guest (ARP may: broadcasts pass).
  EXPECT_LE(guest_after.rx_packets - guest_before.rx_packets, 3u);
  EXPECT_GE(Answered(client, stats_map), static_cast<uint64_t>(kPings));

  proto::OwnedReply r = Call(client, proto::StatsRequest{});
  ASSERT_EQ(r.reply.status, 0);
  const auto stats = std::get<proto::StatsResult>(r.reply.result);
  EXPECT_GE(stats.packets, static_cast<uint64_t>(kPings));
  EXPECT_LE(stats.packets, static_cast<uint64_t>(kPings) + 5);
  EXPECT_GT(stats.cost_ps, 0u);
  EXPECT_EQ(stats.cpu_ns, stats.packets * stats.cost_ps / 1000);
  EXPECT_THAT(std::string(stats.method), HasSubstr("BPF_PROG_TEST_RUN"));
  const DomainStatus control = ControlClient(control_).Stats("domu1");
  EXPECT_EQ(control.packets, stats.packets);
  EXPECT_TRUE(control.connected);
  EXPECT_EQ(control.attached_program, 1u);
  ASSERT_TRUE(control.slot.has_value());
  // The other guest is untouched and answered by its own kernel.
  const auto other_before = Counters(Host("domu2").netns, "eth0");
  EXPECT_THAT(Ping(*platform_, "loadgen", Host("domu2").address, 3).out, HasSubstr("3 received"));
  EXPECT_GE(Counters(Host("domu2").netns, "eth0").rx_packets - other_before.rx_packets, 3u);

  // Command latency through the daemon.
  constexpr int kCalls = 500;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kCalls; ++i) Call(client, proto::StatsRequest{});
  const double stats_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
      kCalls;
  const auto lookup_start = std::chrono::steady_clock::now();
  for (int i = 0; i < kCalls; ++i) Answered(client, stats_map);
  const double lookup_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - lookup_start)
          .count() /
      kCalls;
  std::cout << fmt::format(
      "calibration: {} ps/packet ({})\nLOAD_ELF icmp_echo.bpf.o: {:.1f} ms, "
      "STATS: {:.1f} us, MAP_LOOKUP (per-CPU): {:.1f} us per round trip\n",
      stats.cost_ps, stats.method, load_ms, stats_us, lookup_us);
  RecordProperty("cost_ps", static_cast<int>(stats.cost_ps));
  RecordProperty("load_elf_us", static_cast<int>(load_ms * 1000));
  RecordProperty("stats_us", static_cast<int>(stats_us));
}

TEST_F(BpfdNetnsTest, TwoGuestsHaveIndependentIdsAndCannotTouchEachOther) {
  RememberDispatcher();
  proto::BlockingClient c1 = ConnectFrom("domu1");
  proto::BlockingClient c2 = ConnectFrom("domu2");
  const Loaded a = LoadEcho(c1);
  const Loaded b = LoadEcho(c2);
  EXPECT_EQ(a.program_id, 1u);
  EXPECT_EQ(b.program_id, 1u);
  EXPECT_EQ(MapId(a, "icmp_echo_stats"), MapId(b, "icmp_echo_stats"));
  EXPECT_EQ(GuestPrograms().size(), 2u);

  // Pings to each guest are counted for that guest only.
  EXPECT_THAT(Ping(*platform_, "loadgen", Host("domu1").address, 5).out, HasSubstr("5 received"));
  const uint32_t map = MapId(a, "icmp_echo_stats");
  EXPECT_GE(Answered(c1, map), 5u);
  EXPECT_EQ(Answered(c2, map), 0u);

  // domu2 unloads "its" program 1: domu1's keeps answering.
  EXPECT_EQ(Call(c2, proto::UnloadRequest{1}).reply.status, 0);
  EXPECT_EQ(Call(c2, proto::MapInfoRequest{map}).reply.status, -ENOENT);
  EXPECT_EQ(Call(c2, proto::UnloadRequest{1}).reply.status, -ENOENT);
  EXPECT_EQ(GuestPrograms().size(), 1u);
  const auto before = Counters(Host("domu1").netns, "eth0");
  EXPECT_THAT(Ping(*platform_, "loadgen", Host("domu1").address, 5).out, HasSubstr("5 received"));
  EXPECT_LE(Counters(Host("domu1").netns, "eth0").rx_packets - before.rx_packets, 3u);
  EXPECT_GE(Answered(c1, map), 10u);
  // And domu2's guest answers for itself again.
  const auto before2 = Counters(Host("domu2").netns, "eth0");
  EXPECT_THAT(Ping(*platform_, "loadgen", Host("domu2").address, 3).out, HasSubstr("3 received"));
  EXPECT_GE(Counters(Host("domu2").netns, "eth0").rx_packets - before2.rx_packets, 3u);
  // Wrong key/value sizes against domu1's real map.
  EXPECT_EQ(Call(c1, proto::MapLookupRequest{map, std::vector<uint8_t>(8)}).reply.status, -EINVAL);
  EXPECT_EQ(
      Call(c1, proto::MapUpdateRequest{map, std::vector<uint8_t>(4), std::vector<uint8_t>(16), 0})
          .reply.status,
      -EINVAL);
}

TEST_F(BpfdNetnsTest, GuestKilledMidRequestLeavesNothingInDom0) {
  RememberDispatcher();
  const fs::path out = dir_ / "client.out";
  const auto start_client = [&](std::vector<std::string> args) {
    ProcessSpec spec({NFB_OFFLOAD_TEST_CLIENT});
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.netns = Host("domu1").netns;
    spec.stdout_path = out;
    Process p = Process::Start(spec);
    EXPECT_TRUE(WaitUntil([&] { return ReadText(out).find('\n') != std::string::npos; }))
        << "client said nothing";
    return p;
  };

  // 1. A guest holding a loaded program dies.
  Process holder = start_client({"load-elf", bpf::kIcmpEchoObjectPath, "--hold"});
  const nlohmann::json loaded = nlohmann::json::parse(ReadText(out));
  ASSERT_EQ(loaded.at("status"), 0) << loaded.dump();
  const std::set<uint32_t> programs = GuestPrograms();
  ASSERT_EQ(programs.size(), 1u);
  const uint32_t prog_id = *programs.begin();
  EXPECT_TRUE(ProgramExists(prog_id));
  EXPECT_TRUE(ControlClient(control_).Stats("domu1").slot.has_value());
  holder.Signal(SIGKILL);
  holder.Wait();
  ASSERT_TRUE(WaitUntil([&] { return !ControlClient(control_).Stats("domu1").connected; }));
  const DomainStatus after = ControlClient(control_).Stats("domu1");
  EXPECT_EQ(after.programs, 0u);
  EXPECT_EQ(after.maps, 0u);
  EXPECT_FALSE(after.slot.has_value()) << "slot cleared";
  EXPECT_TRUE(GuestPrograms().empty());
  EXPECT_TRUE(WaitUntil([&] { return !ProgramExists(prog_id); })) << "program " << prog_id;
  // The guest's kernel answers its pings again.
  const auto before = Counters(Host("domu1").netns, "eth0");
  EXPECT_THAT(Ping(*platform_, "loadgen", Host("domu1").address, 3).out, HasSubstr("3 received"));
  EXPECT_GE(Counters(Host("domu1").netns, "eth0").rx_packets - before.rx_packets, 3u);

  // 2. A guest dies halfway through sending a LOAD_ELF request.
  fs::remove(out);
  Process partial = start_client({"partial", bpf::kIcmpEchoObjectPath});
  EXPECT_THAT(ReadText(out), HasSubstr("sent"));
  EXPECT_TRUE(ControlClient(control_).Stats("domu1").connected);
  partial.Signal(SIGKILL);
  partial.Wait();
  ASSERT_TRUE(WaitUntil([&] { return !ControlClient(control_).Stats("domu1").connected; }));
  EXPECT_EQ(ControlClient(control_).Stats("domu1").programs, 0u);
  EXPECT_TRUE(GuestPrograms().empty());

  // bpfd goes on serving both domains.
  proto::BlockingClient c1 = ConnectFrom("domu1");
  EXPECT_EQ(LoadEcho(c1).program_id, 1u);
  proto::BlockingClient c2 = ConnectFrom("domu2");
  EXPECT_EQ(Call(c2, proto::StatsRequest{}).reply.status, 0);
}

// struct bpf_insn as bytes, for LOAD_BYTECODE.
std::vector<uint8_t> Insns(std::initializer_list<bpf_insn> insns) {
  std::vector<uint8_t> out(insns.size() * sizeof(bpf_insn));
  std::memcpy(out.data(), insns.begin(), out.size());
  return out;
}

TEST_F(BpfdNetnsTest, BytecodeLoadsAndBadProgramsAreRefused) {
  RememberDispatcher();
  proto::BlockingClient client = ConnectFrom("domu1");
  const auto status = [&](proto::RequestArgs args, std::string* message = nullptr) {
    proto::OwnedReply r = Call(client, std::move(args));
    if (message != nullptr) *message = std::string(r.reply.message);
    return r.reply.status;
  };
  constexpr uint32_t kSchedCls = BPF_PROG_TYPE_SCHED_CLS;
  std::string message;

  // `return TC_ACT_OK`: frames to domu1 go through the dispatcher, are counted, and pass.
  const std::vector<uint8_t> pass = Insns({
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  });
  proto::OwnedReply r = Call(client, proto::LoadBytecodeRequest{pass, kSchedCls, "GPL"});
  ASSERT_EQ(r.reply.status, 0) << r.reply.message;
  EXPECT_EQ(std::get<proto::LoadBytecodeResult>(r.reply.result).program_id, 1u);
  const auto before = Counters(Host("domu1").netns, "eth0");
  EXPECT_THAT(Ping(*platform_, "loadgen", Host("domu1").address, 5).out, HasSubstr("5 received"));
  EXPECT_GE(Counters(Host("domu1").netns, "eth0").rx_packets - before.rx_packets, 5u);
  EXPECT_GE(ControlClient(control_).Stats("domu1").packets, 5u);

  // A tail call: bpfd's verifier refuses it before the kernel sees it.
  EXPECT_EQ(status(proto::LoadBytecodeRequest{Insns({
                                                  {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, 0},
                                                  {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, 0},
                                                  {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_tail_call},
                                                  {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
                                                  {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
                                              }),
                                              kSchedCls, "GPL"},
                   &message),
            -EACCES);
  EXPECT_THAT(message, HasSubstr("tail_call"));
  // A map fd number written into the bytecode (another domain's map, perhaps).
  for (const int fd : {3, 10, 20}) {
    EXPECT_EQ(status(
                  proto::LoadBytecodeRequest{
                      Insns({
                          {BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, fd},
                          {0, 0, 0, 0, 0},
                          {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
                          {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
                      }),
                      kSchedCls, "GPL"},
                  &message),
              -EACCES)
        << fd;
    EXPECT_THAT(message, HasSubstr("map"));
  }
  // What the kernel verifier refuses comes back with its log.
  EXPECT_EQ(status(proto::LoadBytecodeRequest{Insns({{BPF_JMP | BPF_EXIT, 0, 0, 0, 0}}), kSchedCls,
                                              "GPL"},
                   &message),
            -EACCES);
  EXPECT_THAT(message, HasSubstr("R0 !read_ok"));
  EXPECT_EQ(status(proto::LoadBytecodeRequest{pass, BPF_PROG_TYPE_XDP, "GPL"}), -EINVAL);

  // ELF objects bpfd refuses.
  const std::vector<uint8_t> echo = ReadBinary(bpf::kIcmpEchoObjectPath);
  EXPECT_EQ(status(proto::LoadElfRequest{echo, "icmp_echo_xdp"}, &message), -EINVAL);
  EXPECT_THAT(message, HasSubstr("not a tc program"));
  EXPECT_EQ(status(proto::LoadElfRequest{echo, "nope"}), -ENOENT);
  EXPECT_EQ(
      status(proto::LoadElfRequest{std::vector<uint8_t>(echo.begin(), echo.begin() + 1000), ""}),
      -EINVAL);
  const std::vector<uint8_t> dispatcher = ReadBinary(bpf::kDispatcherObjectPath);
  EXPECT_EQ(status(proto::LoadElfRequest{dispatcher, ""}, &message), -EINVAL);
  EXPECT_THAT(message, HasSubstr("prog_array"));

  // None of that changed what runs: program 1 is still attached, nothing else is loaded.
  const DomainStatus s = ControlClient(control_).Stats("domu1");
  EXPECT_EQ(s.programs, 1u);
  EXPECT_EQ(s.attached_program, 1u);
  EXPECT_EQ(GuestPrograms().size(), 1u);
}

TEST_F(BpfdNetnsTest, KilledBpfdLeavesNothingPinned) {
  const std::vector<std::string> pins_before = BpffsEntries();
  proto::BlockingClient client = ConnectFrom("domu1");
  LoadEcho(client);
  const std::set<uint32_t> held = HeldIds(bpfd_.pid(), "prog_id");
  EXPECT_EQ(held.size(), 2u);
  EXPECT_EQ(BpffsEntries(), pins_before) << "bpfd pins nothing";
  bpfd_.Signal(SIGKILL);
  bpfd_.Wait();
  proto::OwnedReply r;
  EXPECT_EQ(client.Call({0, 0, proto::StatsRequest{}}, &r, 5s).code, -ECONNRESET);
  EXPECT_EQ(BpffsEntries(), pins_before);
  // The guest's program went with bpfd's fds (the kernel empties the dispatcher's program array
  // when its last user reference closes). The dispatcher itself stays attached by its tc filter
  // until removed: with an empty program array it passes every frame.
  const uint32_t guest_program = *held.rbegin();  // loaded after the dispatcher
  EXPECT_TRUE(WaitUntil([&] { return !ProgramExists(guest_program); })) << guest_program;
  const auto before = Counters(Host("domu1").netns, "eth0");
  EXPECT_THAT(Ping(*platform_, "loadgen", Host("domu1").address, 3).out, HasSubstr("3 received"));
  EXPECT_GE(Counters(Host("domu1").netns, "eth0").rx_packets - before.rx_packets, 3u);
  // A new bpfd removes the stale filter and serves again.
  StartBpfd();
  const std::string filters =
      RunChecked(ProcessSpec({"tc", "-n", Dom0(), "filter", "show", "dev", "peth0", "ingress"}),
                 10s)
          .out;
  size_t dispatchers = 0;
  for (size_t pos = filters.find("name dispatcher_tc"); pos != std::string::npos;
       pos = filters.find("name dispatcher_tc", pos + 1)) {
    ++dispatchers;
  }
  EXPECT_EQ(dispatchers, 1u) << filters;
  proto::BlockingClient again = ConnectFrom("domu1");
  EXPECT_EQ(LoadEcho(again).program_id, 1u);
  const auto guest_before = Counters(Host("domu1").netns, "eth0");
  EXPECT_THAT(Ping(*platform_, "loadgen", Host("domu1").address, 5).out, HasSubstr("5 received"));
  EXPECT_LE(Counters(Host("domu1").netns, "eth0").rx_packets - guest_before.rx_packets, 3u);
  // TearDown checks that the clean stop of this second bpfd leaves no filter.
}

}  // namespace
}  // namespace nfb::bpfd
