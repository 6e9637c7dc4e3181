// Live capture on a veth pair between two scratch namespaces (label integration, needs root).
// The namespaces are named nfbtest-collectors-<pid>-{a,b}; each test creates and deletes its own,
// and removes leftovers of earlier runs whose process is gone.
#include "nfb/collectors/pcap_capture.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "nfb/collectors/icmp_rtt.h"
#include "nfb/collectors/timestamp_resolution.h"
#include "nfb/core/error.h"

namespace nfb::collectors {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

constexpr const char* kPrefix = "nfbtest-collectors-";
constexpr const char* kAddrA = "198.18.200.1";
constexpr const char* kAddrB = "198.18.200.2";

int Sh(const std::string& command) {
  int rc = std::system((command + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// Deletes namespaces of this test area left behind by a test process that no longer exists
// (killed mid-test); never touches namespaces of a live process or of other areas.
void RemoveStaleNamespaces() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/run/netns", ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(kPrefix, 0) != 0) continue;
    std::string rest = name.substr(std::string(kPrefix).size());
    std::string pid = rest.substr(0, rest.find('-'));
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (!fs::exists("/proc/" + pid)) Sh("ip netns del " + name);
  }
}

class VethPairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, packet capture)";
    RemoveStaleNamespaces();
    std::string base = kPrefix + std::to_string(::getpid()) + "-";
    ns_a_ = base + "a";
    ns_b_ = base + "b";
    dir_ = fs::temp_directory_path() / (base + "files");
    fs::create_directories(dir_);
    created_ = true;
    for (const std::string& cmd : {
             "ip netns add " + ns_a_,
             "ip netns add " + ns_b_,
             "ip -n " + ns_a_ + " link add nfbc0 type veth peer name nfbc1 netns " + ns_b_,
             "ip -n " + ns_a_ + " addr add " + std::string(kAddrA) + "/30 dev nfbc0",
             "ip -n " + ns_b_ + " addr add " + std::string(kAddrB) + "/30 dev nfbc1",
             "ip -n " + ns_a_ + " link set nfbc0 up",
             "ip -n " + ns_b_ + " link set nfbc1 up",
             "ip -n " + ns_a_ + " link set lo up",
             "ip -n " + ns_b_ + " link set lo up",
         }) {
      ASSERT_EQ(Sh(cmd), 0) << cmd;
    }
  }

  // Runs even when SetUp failed half-way.
  void TearDown() override {
    if (!created_) return;
    Sh("ip netns del " + ns_a_);
    Sh("ip netns del " + ns_b_);
    fs::remove_all(dir_);
  }

  int Ping(int count, const std::string& interval) {
    return Sh("ip netns exec " + ns_a_ + " ping -n -q -c " + std::to_string(count) + " -i " +
              interval + " -W 1 " + kAddrB);
  }

  CaptureOptions Options(const std::string& file) const {
    CaptureOptions o;
    o.netns = ns_a_;
    o.interface = "nfbc0";
    o.filter = "icmp";
    o.output = dir_ / file;
    return o;
  }

  std::string ns_a_;
  std::string ns_b_;
  fs::path dir_;
  bool created_ = false;
};

TEST_F(VethPairTest, CapturesPingsAndTheAnalysisPairsThem) {
  auto capture = PcapCapture::Start(Options("ping.pcap"));
  ASSERT_EQ(Ping(5, "0.05"), 0);
  CaptureReport report = capture->Stop();

  // veth has no hardware clock: libpcap offers host timestamps only.
  EXPECT_EQ(report.timestamp_type, "host");
  EXPECT_THAT(report.timestamp_types_offered, ElementsAre("host"));
  EXPECT_TRUE(report.nanosecond);
  EXPECT_EQ(report.packets_written, 10u);
  EXPECT_EQ(report.ps_recv, 10u);
  EXPECT_EQ(report.ps_drop, 0u);
  EXPECT_EQ(report.ps_ifdrop, 0u);
  {
    std::ifstream f(dir_ / "ping.pcap", std::ios::binary);
    uint32_t magic = 0;
    f.read(reinterpret_cast<char*>(&magic), sizeof(magic));
    EXPECT_EQ(magic, 0xa1b23c4du) << "not a nanosecond pcap";
  }

  EchoRttOptions o;
  o.requester = kAddrA;
  o.target = kAddrB;
  o.sent = 5;
  o.warmup = 1;
  EchoRttResult r = AnalyzeEchoRtt(dir_ / "ping.pcap", o);
  EXPECT_EQ(r.accounting.sent, 4u);
  EXPECT_EQ(r.accounting.paired, 4u);
  EXPECT_EQ(r.accounting.packets_ignored, 0u);
  EXPECT_EQ(r.accounting.warmup_packets, 2u);
  ASSERT_EQ(r.samples.size(), 4u);
  for (const RttSample& s : r.samples) {
    EXPECT_GT(s.rtt_ns, 0);
    EXPECT_LT(s.rtt_ns, 5'000'000);
  }
  EXPECT_NEAR(r.samples.back().t_s, 0.15, 0.05);  // probes 1..4, 50 ms apart
}

TEST_F(VethPairTest, StopDrainsPacketsStillInTheRing) {
  // The last packets sit in a ring block the kernel retires only after the block timeout;
  // stopping right after the pinger exits must still write them.
  CaptureOptions o = Options("drain.pcap");
  o.timeout_ms = 200;
  auto capture = PcapCapture::Start(o);
  ASSERT_EQ(Ping(300, "0.002"), 0);
  auto before = std::chrono::steady_clock::now();
  CaptureReport report = capture->Stop();
  auto took = std::chrono::steady_clock::now() - before;
  EXPECT_EQ(report.packets_written, 600u);
  EXPECT_EQ(report.ps_recv, 600u);
  EXPECT_EQ(report.ps_drop, 0u);
  EXPECT_LT(took, std::chrono::milliseconds(2 * 200 + 20 + 300));
}

TEST_F(VethPairTest, IdleCaptureDoesNotBurnCpu) {
  auto capture = PcapCapture::Start(Options("idle.pcap"));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  CaptureReport report = capture->Stop();
  EXPECT_EQ(report.packets_written, 0u);
  // A busy-polling thread would show ~1 s here.
  EXPECT_LT(report.thread_cpu_s, 0.02);
}

TEST_F(VethPairTest, DestructorWithoutStopAndDoubleStop) {
  { auto capture = PcapCapture::Start(Options("dtor.pcap")); }
  auto capture = PcapCapture::Start(Options("twice.pcap"));
  capture->Stop();
  EXPECT_THROW(capture->Stop(), RunError);
}

TEST_F(VethPairTest, InterfaceVanishingDuringCaptureEndsIt) {
  auto capture = PcapCapture::Start(Options("vanish.pcap"));
  ASSERT_EQ(Ping(3, "0.05"), 0);
  // Let the kernel hand over the ring block holding the pings (packets still in an open block
  // when the interface goes are lost with it).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // Deleting b removes both ends of the veth pair.
  ASSERT_EQ(Sh("ip netns del " + ns_b_), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  timespec before{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &before);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  timespec after{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &after);
  double cpu = static_cast<double>(after.tv_sec - before.tv_sec) +
               static_cast<double>(after.tv_nsec - before.tv_nsec) * 1e-9;
  EXPECT_LT(cpu, 0.05) << "the capture thread spins after its interface vanished";
  // libpcap 1.10 reports "The interface disappeared"; either way the file keeps what came before.
  try {
    capture->Stop();
    ADD_FAILURE() << "Stop() did not report the vanished interface";
  } catch (const RunError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("nfbc0"));
  }
  EchoRttOptions o;
  o.requester = kAddrA;
  o.target = kAddrB;
  o.sent = 3;
  EchoRttResult r = AnalyzeEchoRtt(dir_ / "vanish.pcap", o);
  EXPECT_EQ(r.accounting.paired, 3u);
}

TEST_F(VethPairTest, ErrorsSayWhatIsWrong) {
  CaptureOptions o = Options("err.pcap");
  o.interface = "nosuchif0";
  EXPECT_THROW(PcapCapture::Start(o), RunError);
  o = Options("err.pcap");
  o.netns = ns_a_ + "-missing";
  EXPECT_THROW(PcapCapture::Start(o), RunError);
  o = Options("err.pcap");
  o.filter = "icmp and and";
  EXPECT_THROW(PcapCapture::Start(o), InputError);
  o = Options("err.pcap");
  o.timestamps = TimestampRequest::kAdapterUnsynced;
  EXPECT_THROW(PcapCapture::Start(o), PrerequisiteError);
  o = Options("err.pcap");
  o.output = dir_ / "no-such-dir" / "x.pcap";
  EXPECT_THROW(PcapCapture::Start(o), RunError);
  o = Options("");
  o.output.clear();
  EXPECT_THROW(PcapCapture::Start(o), InputError);
}

TEST_F(VethPairTest, ProbeMeasuresTheHostClockResolution) {
  // Receive path: sent from a, captured on b's end of the veth.
  ResolutionProbeOptions o;
  o.netns = ns_b_;
  o.interface = "nfbc1";
  o.sender_netns = ns_a_;
  o.sender_interface = "nfbc0";
  o.packets = 2000;
  o.output = dir_ / "probe-rx.pcap";
  ResolutionProbeResult rx = ProbeTimestampResolution(o);
  EXPECT_EQ(rx.capture.timestamp_type, "host");
  EXPECT_EQ(rx.capture.packets_written, static_cast<uint64_t>(rx.packets_sent));
  EXPECT_GT(rx.packets_sent, 1900);
  EXPECT_GT(rx.resolution.resolution_ns, 0.0);
  EXPECT_GE(rx.resolution.fit_fraction, 0.95);

  // Transmit path: sent and captured on a's end.
  o.netns = ns_a_;
  o.interface = "nfbc0";
  o.sender_netns.clear();
  o.sender_interface.clear();
  o.output = dir_ / "probe-tx.pcap";
  ResolutionProbeResult tx = ProbeTimestampResolution(o);
  EXPECT_EQ(tx.capture.packets_written, static_cast<uint64_t>(tx.packets_sent));
  EXPECT_GT(tx.resolution.resolution_ns, 0.0);
  // Both directions are stamped by the same kernel clock.
  EXPECT_NEAR(tx.resolution.resolution_ns, rx.resolution.resolution_ns,
              0.01 * rx.resolution.resolution_ns);

  std::cout << "host timestamp resolution: rx " << rx.resolution.resolution_ns << " ns (fit "
            << rx.resolution.fit_fraction << ", smallest step " << rx.resolution.smallest_step_ns
            << " ns, " << rx.resolution.equal_timestamps << " equal), tx "
            << tx.resolution.resolution_ns << " ns (fit " << tx.resolution.fit_fraction
            << ", smallest step " << tx.resolution.smallest_step_ns << " ns)\n";
  RecordProperty("rx_resolution_ns", std::to_string(rx.resolution.resolution_ns));
  RecordProperty("tx_resolution_ns", std::to_string(tx.resolution.resolution_ns));
}

}  // namespace
}  // namespace nfb::collectors
