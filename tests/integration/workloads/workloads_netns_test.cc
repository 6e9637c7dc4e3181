// iperf3 and the flood generator for real, between two scratch namespaces joined by a veth pair
// (label integration; needs root, skips otherwise). Namespaces are nfbt-wl-<pid>-{a,b}
// (198.18.204.1/30 and .2/30); each test creates and deletes its own and removes leftovers of
// earlier test processes that are gone. The flood tests count what arrives with the project's
// capture (PcapCapture) and the links' counters, and require the generator's own count to match.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "nfb/collectors/pcap_capture.h"
#include "nfb/collectors/pcap_file.h"
#include "nfb/core/cancel.h"
#include "nfb/core/error.h"
#include "nfb/core/subprocess.h"
#include "nfb/workloads/flood_generator.h"
#include "nfb/workloads/iperf3.h"
#include "nfb/workloads/udp_frame.h"

namespace nfb::workloads {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr const char* kPrefix = "nfbt-wl-";
constexpr const char* kAddrA = "198.18.204.1";
constexpr const char* kAddrB = "198.18.204.2";
constexpr const char* kMacA = "02:00:00:cc:00:01";
constexpr const char* kMacB = "02:00:00:cc:00:02";

int Sh(const std::string& command) {
  int rc = std::system((command + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// Namespaces and cgroups of this test area whose test process is gone (killed mid-test).
void RemoveStale() {
  std::error_code ec;
  for (const fs::path& base : {fs::path("/run/netns"), fs::path("/sys/fs/cgroup/cpuset")}) {
    for (const auto& entry : fs::directory_iterator(base, ec)) {
      std::string name = entry.path().filename().string();
      if (name.rfind(kPrefix, 0) != 0) continue;
      std::string rest = name.substr(std::string(kPrefix).size());
      std::string pid = rest.substr(0, rest.find('-'));
      if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
      if (fs::exists("/proc/" + pid)) continue;
      if (base == "/run/netns") {
        Sh("ip netns del " + name);
      } else {
        ::rmdir(entry.path().c_str());
      }
    }
  }
}

struct LinkStats {
  uint64_t rx_packets = 0, rx_dropped = 0, tx_packets = 0, tx_dropped = 0;
};

LinkStats Stats(const std::string& netns, const std::string& dev) {
  ProcessResult r =
      RunChecked(ProcessSpec({"ip", "-n", netns, "-s", "-j", "link", "show", "dev", dev}), 10s);
  nlohmann::json j = nlohmann::json::parse(r.out).at(0).at("stats64");
  return {j.at("rx").at("packets").get<uint64_t>(), j.at("rx").at("dropped").get<uint64_t>(),
          j.at("tx").at("packets").get<uint64_t>(), j.at("tx").at("dropped").get<uint64_t>()};
}

// Processes (pid, comm) inside the named namespace.
std::vector<std::pair<int, std::string>> ProcessesIn(const std::string& netns) {
  struct stat ns {};
  std::vector<std::pair<int, std::string>> found;
  if (::stat(("/run/netns/" + netns).c_str(), &ns) != 0) return found;
  const std::string link = "net:[" + std::to_string(ns.st_ino) + "]";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code e2;
    if (fs::read_symlink(entry.path() / "ns/net", e2).string() != link) continue;
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    std::getline(comm, name);
    found.emplace_back(std::stoi(pid), name);
  }
  return found;
}

class WorkloadsNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    RemoveStale();
    std::string base = kPrefix + std::to_string(::getpid()) + "-";
    ns_a_ = base + "a";
    ns_b_ = base + "b";
    dir_ = fs::temp_directory_path() / (base + "files");
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    created_ = true;
    for (const std::string& cmd : {
             "ip netns add " + ns_a_,
             "ip netns add " + ns_b_,
             // No IPv6: no router/MLD solicitations on the link, so the counters are ours.
             "ip netns exec " + ns_a_ +
                 " sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
                 "net.ipv6.conf.default.disable_ipv6=1",
             "ip netns exec " + ns_b_ +
                 " sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
                 "net.ipv6.conf.default.disable_ipv6=1",
             "ip -n " + ns_a_ + " link add wl0 address " + kMacA + " type veth peer name wl1 " +
                 "address " + kMacB + " netns " + ns_b_,
             "ip -n " + ns_a_ + " addr add " + std::string(kAddrA) + "/30 dev wl0",
             "ip -n " + ns_b_ + " addr add " + std::string(kAddrB) + "/30 dev wl1",
             "ip -n " + ns_a_ + " link set lo up",
             "ip -n " + ns_b_ + " link set lo up",
             "ip -n " + ns_a_ + " link set wl0 up",
             "ip -n " + ns_b_ + " link set wl1 up",
             // Permanent neighbours: no ARP on the link during a count.
             "ip -n " + ns_a_ + " neigh replace " + kAddrB + " lladdr " + kMacB +
                 " dev wl0 nud permanent",
             "ip -n " + ns_b_ + " neigh replace " + kAddrA + " lladdr " + kMacA +
                 " dev wl1 nud permanent",
         }) {
      ASSERT_EQ(Sh(cmd), 0) << cmd;
    }
  }

  // Runs even when SetUp failed half-way.
  void TearDown() override {
    ClearInterrupt();
    if (!created_) return;
    // Nothing may be left running in the namespaces (the point of several tests).
    for (const std::string& ns : {ns_a_, ns_b_}) {
      EXPECT_TRUE(ProcessesIn(ns).empty()) << "processes left in " << ns;
      Sh("ip netns del " + ns);
    }
    if (!cgroup_.empty()) ::rmdir(cgroup_.c_str());
    fs::remove_all(dir_);
  }

  FloodGeneratorOptions Flood(const std::string& name) const {
    FloodGeneratorOptions o;
    o.netns = ns_a_;
    o.interface = "wl0";
    o.src_mac = kMacA;
    o.dst_mac = kMacB;
    o.src_ip = kAddrA;
    o.dst_ip = kAddrB;
    o.src_port = 9;
    o.dst_port = 9999;
    o.frame_bytes = 72;
    o.cpu = 0;
    o.generator = FloodTool::kTrafgen;  // this machine has no pktgen module
    o.output_dir = dir_ / name;
    return o;
  }

  collectors::CaptureOptions Capture(const std::string& file) const {
    collectors::CaptureOptions o;
    o.netns = ns_b_;
    o.interface = "wl1";
    o.filter = "udp dst port 9999";
    o.output = dir_ / file;
    o.buffer_bytes = 64 << 20;
    return o;
  }

  // Checks the counting identity of one flood: every frame trafgen counted either reached wl1's
  // receive path (rx_packets, all of them ours on this quiet link, all seen by the capture unless
  // it dropped them) or was dropped by one of the links. Returns the frames in the file.
  uint64_t ExpectAllAccountedFor(const FloodGeneratorReport& report,
                                 const collectors::CaptureReport& capture, const LinkStats& a0,
                                 const LinkStats& a1, const LinkStats& b0, const LinkStats& b1,
                                 const fs::path& pcap) {
    const uint64_t rx = b1.rx_packets - b0.rx_packets;
    const uint64_t link_drops = (b1.rx_dropped - b0.rx_dropped) + (a1.tx_dropped - a0.tx_dropped);
    EXPECT_EQ(a1.tx_packets - a0.tx_packets + (a1.tx_dropped - a0.tx_dropped), report.sent_packets)
        << "wl0 transmitted something else, or trafgen's count is off";
    EXPECT_EQ(capture.ps_recv, rx) << "the capture saw other traffic, or missed some";
    EXPECT_EQ(capture.packets_written + capture.ps_drop, capture.ps_recv);
    EXPECT_EQ(report.sent_packets, capture.packets_written + capture.ps_drop + link_drops)
        << "written " << capture.packets_written << ", capture drops " << capture.ps_drop
        << ", link drops " << link_drops;

    // Every frame is the 72-byte frame to B's MAC, address and port, byte for byte.
    UdpFrameSpec spec;
    spec.src_mac = ParseMac(kMacA, "src");
    spec.dst_mac = ParseMac(kMacB, "dst");
    spec.src_ip = ParseIpv4(kAddrA, "src");
    spec.dst_ip = ParseIpv4(kAddrB, "dst");
    spec.src_port = 9;
    spec.dst_port = 9999;
    spec.frame_bytes = 72;
    const std::vector<uint8_t> expected = BuildUdpFrame(spec);
    collectors::PcapReader reader(pcap);
    collectors::PacketView p;
    uint64_t frames = 0, wrong = 0;
    while (reader.Next(p)) {
      ++frames;
      bool same = p.wire_len == 72 && p.caplen == 72 &&
                  std::equal(expected.begin(), expected.end(), p.data);
      if (!same && ++wrong <= 3) {
        ADD_FAILURE() << "frame " << frames << ": wire_len " << p.wire_len << ", caplen "
                      << p.caplen;
      }
    }
    EXPECT_EQ(frames, capture.packets_written);
    EXPECT_EQ(wrong, 0u);
    return frames;
  }

  std::string ns_a_, ns_b_;
  fs::path dir_;
  fs::path cgroup_;
  bool created_ = false;
};

// ---------------------------------------------------------------------------------------------
// iperf3

TEST_F(WorkloadsNetnsTest, Iperf3RunGivesPerSecondThroughputAndLoss) {
  Iperf3ServerOptions so;
  so.netns = ns_b_;
  so.bind_address = kAddrB;
  so.output_dir = dir_;
  Iperf3Process server = StartIperf3Server(so);

  Iperf3ClientOptions co;
  co.netns = ns_a_;
  co.server_address = kAddrB;
  co.rate_mbit = 50;
  co.duration_s = 3;
  co.output_dir = dir_;
  Iperf3Outcome client = RunIperf3Client(co);
  EXPECT_FALSE(client.stopped);
  EXPECT_EQ(client.exit_status, "exit status 0");
  std::optional<Iperf3Outcome> served = server.Wait(10s);
  ASSERT_TRUE(served) << "the one-off server did not exit after its test";

  const Iperf3Report& c = client.report;
  EXPECT_FALSE(c.Failed()) << c.error;
  EXPECT_EQ(c.target_bitrate, 50'000'000u);
  EXPECT_EQ(c.block_bytes, 1448u);
  ASSERT_TRUE(c.sent);
  EXPECT_EQ(c.sent->intervals.size(), 3u);
  ASSERT_TRUE(c.received);
  EXPECT_TRUE(c.received_from_server_output);

  Iperf3Report combined = CombineIperf3Reports(c, served->report);
  ASSERT_TRUE(combined.received);
  EXPECT_FALSE(combined.received_from_server_output);
  ASSERT_EQ(combined.received->intervals.size(), 3u);
  for (const Iperf3Interval& i : combined.received->intervals) {
    // ~4316 datagrams of 1448 bytes per second at 50 Mbit/s.
    EXPECT_NEAR(double(i.packets), 50e6 / 8 / 1448, 0.3 * 50e6 / 8 / 1448);
    EXPECT_LE(i.lost_packets, int64_t(i.packets));
  }
  ASSERT_TRUE(combined.received->total && combined.sent->total);
  // The server expects (received + lost) what the client sent, except the last datagrams still in
  // flight when the server closes its test (udp_*.json in tests/data/iperf3: 72 of 431574).
  EXPECT_LE(combined.received->total->packets, combined.sent->total->packets);
  EXPECT_GE(combined.received->total->packets, combined.sent->total->packets * 98 / 100);
  EXPECT_TRUE(fs::exists(dir_ / "iperf3-client.json"));
  EXPECT_TRUE(fs::exists(dir_ / "iperf3-server.json"));
}

TEST_F(WorkloadsNetnsTest, Iperf3StoppedClientKeepsWhatItHad) {
  Iperf3ServerOptions so;
  so.netns = ns_b_;
  so.output_dir = dir_;
  Iperf3Process server = StartIperf3Server(so);
  Iperf3ClientOptions co;
  co.netns = ns_a_;
  co.server_address = kAddrB;
  co.rate_mbit = 20;
  co.duration_s = 30;
  co.output_dir = dir_;
  Iperf3Process client = StartIperf3Client(co);
  std::this_thread::sleep_for(2500ms);
  EXPECT_FALSE(client.Wait(0ms));
  Iperf3Outcome stopped = client.Stop();
  EXPECT_TRUE(stopped.stopped);
  EXPECT_TRUE(stopped.report.interrupted) << stopped.report.error;
  EXPECT_FALSE(stopped.report.Failed());
  ASSERT_TRUE(stopped.report.sent);
  EXPECT_GE(stopped.report.sent->intervals.size(), 2u);
  EXPECT_FALSE(stopped.report.received);

  std::optional<Iperf3Outcome> served = server.Wait(10s);
  ASSERT_TRUE(served);
  EXPECT_TRUE(served->report.peer_terminated) << served->report.error;
  ASSERT_TRUE(served->report.received);
  EXPECT_GE(served->report.received->intervals.size(), 2u);
}

TEST_F(WorkloadsNetnsTest, Iperf3InterruptedByCtrlC) {
  Iperf3ServerOptions so;
  so.netns = ns_b_;
  so.output_dir = dir_;
  Iperf3Process server = StartIperf3Server(so);
  Iperf3ClientOptions co;
  co.netns = ns_a_;
  co.server_address = kAddrB;
  co.rate_mbit = 10;
  co.duration_s = 60;
  co.output_dir = dir_;
  Iperf3Process client = StartIperf3Client(co);
  std::thread interrupter([] {
    std::this_thread::sleep_for(1500ms);
    RequestInterrupt();
  });
  EXPECT_THROW(client.Wait(30s), InterruptedError);
  interrupter.join();
  EXPECT_FALSE(client.Running());
  // The JSON iperf3 wrote when it was stopped is still there for the teardown.
  Iperf3Outcome out = client.Stop();
  EXPECT_TRUE(out.report.interrupted) << out.report.error;
  ASSERT_TRUE(out.report.sent);
  EXPECT_GE(out.report.sent->intervals.size(), 1u);
  Iperf3Outcome served = server.Stop();  // works after Ctrl-C too
  EXPECT_TRUE(served.report.error.empty() || !served.report.Failed()) << served.report.error;
  ClearInterrupt();
}

TEST_F(WorkloadsNetnsTest, Iperf3ServerStoppedBeforeAnyClient) {
  Iperf3ServerOptions so;
  so.netns = ns_b_;
  so.output_dir = dir_;
  Iperf3Process server = StartIperf3Server(so);
  EXPECT_TRUE(server.Running());
  Iperf3Outcome out = server.Stop();
  EXPECT_TRUE(out.stopped);
  EXPECT_TRUE(out.report.interrupted) << out.report.error;
  EXPECT_FALSE(out.report.received && !out.report.received->intervals.empty());
  EXPECT_FALSE(server.Running());
}

TEST_F(WorkloadsNetnsTest, Iperf3ConnectionRefusedIsAFailureDespiteExitZero) {
  Iperf3ClientOptions co;
  co.netns = ns_a_;
  co.server_address = kAddrB;
  co.duration_s = 2;
  co.output_dir = dir_;
  Iperf3Outcome out = RunIperf3Client(co);
  EXPECT_TRUE(out.report.Failed());
  EXPECT_THAT(out.report.error, HasSubstr("Connection refused"));
  EXPECT_FALSE(out.report.sent);
}

TEST_F(WorkloadsNetnsTest, Iperf3PortAlreadyTaken) {
  Iperf3ServerOptions so;
  so.netns = ns_b_;
  so.output_dir = dir_;
  Iperf3Process first = StartIperf3Server(so);
  so.name = "second";
  try {
    StartIperf3Server(so);
    FAIL() << "a second server on the same port started";
  } catch (const RunError& e) {
    EXPECT_THAT(e.what(), HasSubstr("port 5201 already listens"));
  }
  first.Stop();
}

// ---------------------------------------------------------------------------------------------
// The flood generator (trafgen)

TEST_F(WorkloadsNetnsTest, FloodCountEqualsWhatArrives) {
  FloodGeneratorOptions o = Flood("count");
  o.packets = 20000;
  LinkStats a0 = Stats(ns_a_, "wl0"), b0 = Stats(ns_b_, "wl1");
  auto capture = collectors::PcapCapture::Start(Capture("count.pcap"));
  FloodGenerator flood = FloodGenerator::Start(o);
  EXPECT_EQ(flood.tool(), FloodTool::kTrafgen);
  FloodGeneratorReport report = flood.Wait();
  collectors::CaptureReport captured = capture->Stop();
  LinkStats a1 = Stats(ns_a_, "wl0"), b1 = Stats(ns_b_, "wl1");

  EXPECT_EQ(report.sent_packets, 20000u);
  EXPECT_EQ(report.sent_bytes, 20000u * 72);
  EXPECT_FALSE(report.stopped_early);
  EXPECT_EQ(report.skb_layout, "non-linear (PACKET_TX_RING)");
  EXPECT_THAT(report.tool_version, HasSubstr("trafgen"));
  EXPECT_GT(report.tool_duration_s, 0);
  EXPECT_GE(report.duration_s, report.tool_duration_s);
  ExpectAllAccountedFor(report, captured, a0, a1, b0, b1, dir_ / "count.pcap");
  std::cout << "trafgen, 72-byte frames, full speed, CPU 0: " << report.sent_packets << " in "
            << report.tool_duration_s
            << " s = " << report.sent_packets / report.tool_duration_s / 1e3 << " kpps\n";
  EXPECT_TRUE(fs::exists(report.config_path));
  nlohmann::json j = report.ToJson();
  EXPECT_EQ(j["sent_packets"], 20000u);
}

TEST_F(WorkloadsNetnsTest, FloodAtARateOnTheSecondCpu) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "needs two CPUs";
  FloodGeneratorOptions o = Flood("rate");
  o.packets = 3000;
  o.rate_pps = 1000;
  o.cpu = 1;
  LinkStats a0 = Stats(ns_a_, "wl0"), b0 = Stats(ns_b_, "wl1");
  auto capture = collectors::PcapCapture::Start(Capture("rate.pcap"));
  FloodGenerator flood = FloodGenerator::Start(o);
  // While it runs, every process of it may only run on CPU 1.
  std::this_thread::sleep_for(300ms);
  int checked = 0;
  for (const auto& [pid, comm] : ProcessesIn(ns_a_)) {
    if (comm != "trafgen") continue;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("Cpus_allowed_list:", 0) == 0) {
        EXPECT_EQ(line, "Cpus_allowed_list:\t1") << "pid " << pid;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 2) << "trafgen's parent and its one worker";
  FloodGeneratorReport report = flood.Wait();
  collectors::CaptureReport captured = capture->Stop();
  LinkStats a1 = Stats(ns_a_, "wl0"), b1 = Stats(ns_b_, "wl1");
  EXPECT_EQ(report.sent_packets, 3000u);
  EXPECT_EQ(report.skb_layout, "linear");
  // Three bursts of 1000, one per second: ~2 s of the tool's own time plus the last burst.
  EXPECT_GT(report.tool_duration_s, 1.9);
  EXPECT_LT(report.tool_duration_s, 4.5);
  ExpectAllAccountedFor(report, captured, a0, a1, b0, b1, dir_ / "rate.pcap");
}

TEST_F(WorkloadsNetnsTest, FloodUntilStopped) {
  FloodGeneratorOptions o = Flood("stop");
  LinkStats a0 = Stats(ns_a_, "wl0"), b0 = Stats(ns_b_, "wl1");
  auto capture = collectors::PcapCapture::Start(Capture("stop.pcap"));
  FloodGenerator flood = FloodGenerator::Start(o);
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(flood.Running());
  EXPECT_FALSE(flood.Wait(0ms));
  FloodGeneratorReport report = flood.Stop();
  // Let the frames still in flight reach the capture and the counters.
  std::this_thread::sleep_for(200ms);
  collectors::CaptureReport captured = capture->Stop();
  LinkStats a1 = Stats(ns_a_, "wl0"), b1 = Stats(ns_b_, "wl1");
  EXPECT_FALSE(flood.Running());
  EXPECT_TRUE(report.stopped_early);
  EXPECT_GT(report.sent_packets, 1000u);
  EXPECT_EQ(flood.Stop().sent_packets, report.sent_packets);  // idempotent
  ExpectAllAccountedFor(report, captured, a0, a1, b0, b1, dir_ / "stop.pcap");
}

TEST_F(WorkloadsNetnsTest, FloodInterruptedByCtrlC) {
  FloodGenerator flood = FloodGenerator::Start(Flood("interrupt"));
  std::thread interrupter([] {
    std::this_thread::sleep_for(500ms);
    RequestInterrupt();
  });
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(flood.Wait(std::chrono::milliseconds(20000)), InterruptedError);
  interrupter.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_FALSE(flood.Running());
  // Teardown still gets the counters: trafgen printed them when it was stopped.
  FloodGeneratorReport report = flood.Stop();
  EXPECT_GT(report.sent_packets, 0u);
  ClearInterrupt();
  // TearDown checks that no trafgen is left in the namespace.
}

TEST_F(WorkloadsNetnsTest, FloodHandleDroppedWhileRunning) {
  {
    FloodGenerator flood = FloodGenerator::Start(Flood("dropped"));
    std::this_thread::sleep_for(300ms);
    EXPECT_FALSE(ProcessesIn(ns_a_).empty());
  }
  EXPECT_TRUE(ProcessesIn(ns_a_).empty());
}

TEST_F(WorkloadsNetnsTest, FloodInsideACpusetWithoutCpu0) {
  // trafgen 0.6.8 alone dies here ("Can't set this cpu affinity!"); through nfb-pin-exec it runs.
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "needs two CPUs";
  if (!fs::exists("/sys/fs/cgroup/cpuset/cpuset.cpus")) GTEST_SKIP() << "needs cgroup v1 cpuset";
  cgroup_ = fs::path("/sys/fs/cgroup/cpuset") / (kPrefix + std::to_string(::getpid()) + "-cg");
  ASSERT_TRUE(fs::create_directory(cgroup_));
  std::ofstream(cgroup_ / "cpuset.cpus") << "1";
  std::ifstream mems_in("/sys/fs/cgroup/cpuset/cpuset.mems");
  std::string mems;
  std::getline(mems_in, mems);
  std::ofstream(cgroup_ / "cpuset.mems") << mems;

  FloodGeneratorOptions o = Flood("cpuset");
  o.cpu = 1;
  o.packets = 5000;
  o.cgroup_procs = {cgroup_ / "cgroup.procs"};
  FloodGeneratorReport report = FloodGenerator::Start(o).Wait();
  EXPECT_EQ(report.sent_packets, 5000u);

  o.cpu = 0;  // not in the cpuset: a clear error, not a dead trafgen
  o.output_dir = dir_ / "cpuset0";
  try {
    FloodGenerator::Start(o).Wait();
    FAIL() << "trafgen ran on CPU 0 outside its cpuset";
  } catch (const RunError& e) {
    EXPECT_THAT(e.what(), HasSubstr("CPU 0 is not allowed here"));
  }
}

TEST_F(WorkloadsNetnsTest, FloodOnAMissingInterfaceFails) {
  FloodGeneratorOptions o = Flood("missing");
  o.interface = "nosuchdev0";
  o.packets = 10;
  try {
    FloodGenerator::Start(o).Wait();
    FAIL() << "trafgen sent on a missing interface";
  } catch (const RunError& e) {
    EXPECT_THAT(e.what(), HasSubstr("No networking device"));
  }
}

}  // namespace
}  // namespace nfb::workloads
