// The remote capture (remote_capture.h): tcpdump's summary and -J output parsed from saved real
// outputs (tests/data/tcpdump), the argv, and the stop protocol end to end with a local stand-in
// for tcpdump (no root, no network).
#include "nfb/collectors/remote_capture.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "nfb/core/error.h"

namespace nfb::collectors {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const fs::path kData = fs::path(NFB_SOURCE_DIR) / "tests/data/tcpdump";

std::string Read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(TcpdumpSummaryTest, ReadsANormalCapture) {
  const TcpdumpSummary s = ParseTcpdumpSummary(Read(kData / "normal.err"));
  EXPECT_TRUE(s.found);
  EXPECT_TRUE(s.listening);
  EXPECT_EQ(s.captured, 10u);
  EXPECT_EQ(s.received_by_filter, 10u);
  EXPECT_EQ(s.dropped_by_kernel, 0u);
  EXPECT_EQ(s.dropped_by_interface, 0u);
  EXPECT_TRUE(s.errors.empty());
  EXPECT_TRUE(s.warnings.empty());
}

TEST(TcpdumpSummaryTest, ReadsSingularsAndDrops) {
  const TcpdumpSummary one = ParseTcpdumpSummary(Read(kData / "single.err"));
  EXPECT_TRUE(one.found);
  EXPECT_EQ(one.captured, 1u);
  EXPECT_EQ(one.received_by_filter, 1u);

  const TcpdumpSummary drops = ParseTcpdumpSummary(Read(kData / "drops.err"));
  EXPECT_TRUE(drops.found);
  EXPECT_EQ(drops.captured, 561u);
  EXPECT_EQ(drops.received_by_filter, 200000u);
  EXPECT_EQ(drops.dropped_by_kernel, 194405u);
}

TEST(TcpdumpSummaryTest, ReadsTheOneLineFormAndInterfaceDrops) {
  // tcpdump -v / older versions: comma-separated; "dropped by interface" only when non-zero.
  const TcpdumpSummary s = ParseTcpdumpSummary(
      "tcpdump: 7 packets captured, 9 packets received by filter, 1 packet dropped by kernel, "
      "2 packets dropped by interface\n");
  EXPECT_TRUE(s.found);
  EXPECT_EQ(s.captured, 7u);
  EXPECT_EQ(s.received_by_filter, 9u);
  EXPECT_EQ(s.dropped_by_kernel, 1u);
  EXPECT_EQ(s.dropped_by_interface, 2u);
  EXPECT_TRUE(s.errors.empty());
}

TEST(TcpdumpSummaryTest, ReportsTcpdumpFailingWithoutASummary) {
  const TcpdumpSummary nodev = ParseTcpdumpSummary(Read(kData / "nodev.err"));
  EXPECT_FALSE(nodev.found);
  EXPECT_FALSE(nodev.listening);
  EXPECT_THAT(nodev.errors, ElementsAre("nosuch0: No such device exists (No such device exists)"));

  const TcpdumpSummary syntax = ParseTcpdumpSummary(Read(kData / "syntax.err"));
  EXPECT_FALSE(syntax.found);
  ASSERT_EQ(syntax.errors.size(), 1u);
  EXPECT_THAT(syntax.errors[0], HasSubstr("syntax error"));

  const TcpdumpSummary warned = ParseTcpdumpSummary(
      "tcpdump: WARNING: When trying to set timestamp type 'adapter' on va: That type of time "
      "stamp is not supported by that device\n"
      "tcpdump: listening on va, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n");
  EXPECT_FALSE(warned.found);
  EXPECT_TRUE(warned.listening);
  ASSERT_EQ(warned.warnings.size(), 1u);
  EXPECT_THAT(warned.warnings[0], HasSubstr("timestamp type 'adapter'"));

  EXPECT_FALSE(ParseTcpdumpSummary("").found);
  // A summary missing one of its three counters (cut off) is not a summary.
  EXPECT_FALSE(ParseTcpdumpSummary("3 packets captured\n3 packets received by filter\n").found);
}

TEST(TcpdumpTimestampTypesTest, ReadsTcpdumpJ) {
  EXPECT_THAT(ParseTcpdumpTimestampTypes(Read(kData / "tstypes-veth.out")), ElementsAre("host"));
  // A NIC with a clock (tcpdump's print format: name, then the description in parentheses).
  EXPECT_THAT(ParseTcpdumpTimestampTypes(
                  "Time stamp types for enp3s0f0 (use option -j to set):\n"
                  "  host (Host)\n"
                  "  adapter (Adapter)\n"
                  "  adapter_unsynced (Adapter, not synced with system time)\n"),
              ElementsAre("host", "adapter", "adapter_unsynced"));
  EXPECT_TRUE(ParseTcpdumpTimestampTypes("Time stamp type cannot be set for lo\n").empty());
}

TEST(TcpdumpTimestampTypesTest, ChoosesAsTheInProcessCapture) {
  const std::vector<std::string> nic = {"host", "adapter", "adapter_unsynced"};
  EXPECT_EQ(ChooseTimestampType(TimestampRequest::kAuto, nic, "lg:eth0"), "adapter_unsynced");
  EXPECT_EQ(ChooseTimestampType(TimestampRequest::kAuto, {"host", "adapter"}, "lg:eth0"),
            "adapter");
  EXPECT_EQ(ChooseTimestampType(TimestampRequest::kAuto, {"host"}, "lg:eth0"), "host");
  EXPECT_EQ(ChooseTimestampType(TimestampRequest::kAuto, {}, "lg:eth0"), "host");
  EXPECT_EQ(ChooseTimestampType(TimestampRequest::kHost, nic, "lg:eth0"), "host");
  EXPECT_EQ(ChooseTimestampType(TimestampRequest::kAdapter, nic, "lg:eth0"), "adapter");
  try {
    ChooseTimestampType(TimestampRequest::kAdapter, {"host"}, "loadgen:eth0");
    ADD_FAILURE() << "accepted adapter on a host-only interface";
  } catch (const PrerequisiteError& e) {
    EXPECT_THAT(e.what(), HasSubstr("loadgen:eth0 does not offer adapter"));
    EXPECT_THAT(e.what(), HasSubstr("host"));
  }
}

TEST(RemoteCaptureArgvTest, RunsTcpdumpUnderTheStopWrapper) {
  RemoteCaptureOptions o;
  o.interface = "ext0";
  o.filter = "icmp and host 198.18.0.11";
  o.snaplen = 128;
  o.buffer_bytes = 32 << 20;
  EXPECT_THAT(TcpdumpArgv(o),
              ElementsAre("tcpdump", "-i", "ext0", "-p", "-n", "-U", "--immediate-mode", "-w", "-",
                          "--time-stamp-precision=nano", "-s", "128", "-B", "32768",
                          "icmp and host 198.18.0.11"));
  o.timestamp_type = "adapter_unsynced";
  const std::vector<std::string> argv = TcpdumpArgv(o);
  EXPECT_NE(std::find(argv.begin(), argv.end(), "adapter_unsynced"), argv.end());
  const std::vector<std::string> remote = RemoteCaptureArgv(o);
  ASSERT_GE(remote.size(), 5u);
  EXPECT_EQ(remote[0], "sh");
  EXPECT_EQ(remote[1], "-c");
  EXPECT_THAT(remote[2], HasSubstr("kill -TERM"));
  EXPECT_EQ(remote[4], "tcpdump");
  EXPECT_EQ(remote.back(), "icmp and host 198.18.0.11");
}

class RemoteCaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("nfb-remote-capture-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    options_.where = "loadgen:ext0";
    options_.interface = "ext0";
    options_.filter = "icmp";
    options_.tcpdump = (kData / "fake-tcpdump").string();
    options_.output = dir_ / "capture.pcap";
    options_.start_timeout = std::chrono::seconds(20);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Runs the remote argv locally, as Platform::Command would hand it to ssh.
  static ProcessSpec Local(std::vector<std::string> argv) { return ProcessSpec(std::move(argv)); }

  fs::path dir_;
  RemoteCaptureOptions options_;
};

TEST_F(RemoteCaptureTest, StopsTcpdumpByClosingItsInputAndReportsItsCounters) {
  auto capture = RemoteCapture::Start(options_, Local);
  const CaptureReport r = capture->Stop();
  EXPECT_EQ(r.ps_recv, 3u);
  EXPECT_EQ(r.ps_drop, 2u);
  EXPECT_EQ(r.ps_ifdrop, 0u);
  EXPECT_EQ(r.packets_written, 1u);  // counted in the file, not taken from tcpdump
  EXPECT_TRUE(r.nanosecond);
  EXPECT_EQ(r.timestamp_type, "host");
  ASSERT_TRUE(capture->summary().has_value());
  EXPECT_EQ(capture->summary()->captured, 1u);
  EXPECT_FALSE(fs::exists(options_.output.string() + ".stdin"));  // the FIFO is gone
  EXPECT_THAT(Read(options_.output.string() + ".stderr"), HasSubstr("listening on ext0"));
  EXPECT_THROW(capture->Stop(), RunError);
}

TEST_F(RemoteCaptureTest, FailsAtStartWithTcpdumpsOwnMessage) {
  options_.interface = "nosuch0";
  try {
    RemoteCapture::Start(options_, Local);
    ADD_FAILURE() << "started on a missing interface";
  } catch (const RunError& e) {
    EXPECT_THAT(e.what(), HasSubstr("tcpdump on loadgen:ext0 ended before capturing"));
    EXPECT_THAT(e.what(), HasSubstr("nosuch0: No such device exists"));
  }
  options_.interface = "ext0";
  options_.tcpdump = "/nonexistent/tcpdump";
  EXPECT_THROW(RemoteCapture::Start(options_, Local), RunError);
}

TEST_F(RemoteCaptureTest, FailsAtStopWithoutASummary) {
  options_.interface = "nosummary0";
  auto capture = RemoteCapture::Start(options_, Local);
  try {
    capture->Stop();
    ADD_FAILURE() << "accepted a capture without tcpdump's summary";
  } catch (const RunError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no summary"));
  }
}

TEST_F(RemoteCaptureTest, TheDestructorStopsAnUnstoppedCapture) {
  const auto start = std::chrono::steady_clock::now();
  { auto capture = RemoteCapture::Start(options_, Local); }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace nfb::collectors
