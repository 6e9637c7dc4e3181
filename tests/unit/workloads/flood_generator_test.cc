// The flood generator without sending anything: the frame, trafgen's config and command line,
// pktgen's commands, the parsers of both tools' outputs (real trafgen outputs in
// tests/data/trafgen/), and nfb-pin-exec.
#include "nfb/workloads/flood_generator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "nfb/core/error.h"
#include "nfb/core/subprocess.h"
#include "nfb/workloads/udp_frame.h"

namespace nfb::workloads {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

std::string Data(const std::string& name) {
  fs::path path = fs::path(NFB_SOURCE_DIR) / "tests/data/trafgen" / name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The options the saved trafgen outputs were made with (tests/data/trafgen/README.md).
FloodGeneratorOptions Options() {
  FloodGeneratorOptions o;
  o.netns = "nfbt-wl-gen-a";
  o.interface = "wl0";
  o.src_mac = "02:00:00:c8:00:01";
  o.dst_mac = "02:00:00:C8:00:02";  // either case
  o.src_ip = "198.18.200.1";
  o.dst_ip = "198.18.200.2";
  o.src_port = 9;
  o.dst_port = 9999;
  o.frame_bytes = 72;
  o.output_dir = "/tmp/out";
  return o;
}

// The 72-byte frame of Options(), checksums computed independently (Python, RFC 1071).
const std::vector<uint8_t> kFrame72 = {
    0x02, 0x00, 0x00, 0xc8, 0x00, 0x02, 0x02, 0x00, 0x00, 0xc8, 0x00, 0x01, 0x08, 0x00,  // Ethernet
    0x45, 0x00, 0x00, 0x3a, 0x00, 0x00, 0x00, 0x00, 0x40, 0x11, 0x5e, 0x8a,              // IPv4
    0xc6, 0x12, 0xc8, 0x01, 0xc6, 0x12, 0xc8, 0x02,                                      //
    0x00, 0x09, 0x27, 0x0f, 0x00, 0x26, 0xbc, 0x60,                                      // UDP
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // payload
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  //
    0x00, 0x00};

UdpFrameSpec Spec(int frame_bytes) {
  UdpFrameSpec s;
  s.src_mac = ParseMac("02:00:00:c8:00:01", "src_mac");
  s.dst_mac = ParseMac("02:00:00:c8:00:02", "dst_mac");
  s.src_ip = ParseIpv4("198.18.200.1", "src_ip");
  s.dst_ip = ParseIpv4("198.18.200.2", "dst_ip");
  s.src_port = 9;
  s.dst_port = 9999;
  s.frame_bytes = frame_bytes;
  return s;
}

uint32_t Sum16(const std::vector<uint8_t>& bytes, size_t from, size_t length, uint32_t sum = 0) {
  for (size_t i = from; i < from + length; i += 2) {
    sum += uint32_t(bytes[i]) << 8 | (i + 1 < from + length ? bytes[i + 1] : 0);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

std::string InputErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// The frame

TEST(UdpFrame, SeventyTwoBytesAsTheThesisPktgen) {
  EXPECT_THAT(BuildUdpFrame(Spec(72)), ElementsAreArray(kFrame72));
}

TEST(UdpFrame, ChecksumsHoldForEverySize) {
  for (int size : {60, 61, 72, 73, 128, 1514}) {
    std::vector<uint8_t> f = BuildUdpFrame(Spec(size));
    ASSERT_EQ(f.size(), size_t(size));
    EXPECT_EQ(Sum16(f, 14, 20), 0xffffu) << size;  // IPv4 header sums to all ones
    const uint32_t udp_length = uint32_t(size) - 34;
    EXPECT_EQ((f[38] << 8) | f[39], int(udp_length)) << size;
    EXPECT_EQ((f[16] << 8) | f[17], size - 14) << size;
    uint32_t pseudo = Sum16(f, 26, 8) + 17 + udp_length;
    EXPECT_EQ(Sum16(f, 34, udp_length, pseudo), 0xffffu) << size;
  }
}

TEST(UdpFrame, RejectsSizesAndAddresses) {
  EXPECT_THAT(InputErrorOf([] { BuildUdpFrame(Spec(59)); }), HasSubstr("frame_bytes: 59"));
  EXPECT_THAT(InputErrorOf([] { BuildUdpFrame(Spec(1515)); }), HasSubstr("outside 60..1514"));
  for (const char* bad : {"", "02:00:00:00:00", "02:00:00:00:00:0g", "02-00-00-00-00-01",
                          "02:00:00:00:00:01:", "002:00:00:00:00:01"}) {
    EXPECT_THAT(InputErrorOf([&] { ParseMac(bad, "dst_mac"); }), HasSubstr("dst_mac:")) << bad;
  }
  for (const char* bad : {"", "198.18.0", "198.18.0.256", "::1", "198.18.0.1 "}) {
    EXPECT_THAT(InputErrorOf([&] { ParseIpv4(bad, "src_ip"); }), HasSubstr("src_ip:")) << bad;
  }
}

// ---------------------------------------------------------------------------------------------
// Options

TEST(FloodOptions, Validation) {
  auto error = [](auto change) {
    FloodGeneratorOptions o = Options();
    change(o);
    return InputErrorOf([&] { ValidateFloodOptions(o); });
  };
  EXPECT_EQ(error([](auto&) {}), "");
  EXPECT_THAT(error([](auto& o) { o.interface = ""; }), HasSubstr("interface"));
  EXPECT_THAT(error([](auto& o) { o.interface = "../pgctrl"; }), HasSubstr("interface"));
  EXPECT_THAT(error([](auto& o) { o.interface = "pgctrl"; }), HasSubstr("interface"));
  EXPECT_THAT(error([](auto& o) { o.interface = "kpktgend_0"; }), HasSubstr("interface"));
  EXPECT_THAT(error([](auto& o) { o.interface = "sixteen-chars-xx"; }), HasSubstr("interface"));
  EXPECT_THAT(error([](auto& o) { o.dst_port = 0; }), HasSubstr("dst_port"));
  EXPECT_THAT(error([](auto& o) { o.src_port = 65536; }), HasSubstr("src_port"));
  EXPECT_THAT(error([](auto& o) { o.frame_bytes = 42; }), HasSubstr("frame_bytes"));
  EXPECT_THAT(error([](auto& o) { o.src_mac = "x"; }), HasSubstr("src_mac"));
  EXPECT_THAT(error([](auto& o) { o.dst_ip = "198.18.0.300"; }), HasSubstr("dst_ip"));
  EXPECT_THAT(error([](auto& o) { o.rate_pps = -1; }), HasSubstr("rate_pps"));
  EXPECT_THAT(error([](auto& o) { o.rate_pps = 0.4; }), HasSubstr("rate_pps"));
  EXPECT_THAT(error([](auto& o) { o.rate_pps = NAN; }), HasSubstr("rate_pps"));
  EXPECT_THAT(error([](auto& o) { o.rate_pps = INFINITY; }), HasSubstr("rate_pps"));
  EXPECT_THAT(error([](auto& o) { o.cpu = -1; }), HasSubstr("cpu"));
  EXPECT_THAT(error([](auto& o) { o.output_dir.clear(); }), HasSubstr("output_dir"));
}

// ---------------------------------------------------------------------------------------------
// trafgen: config and command

TEST(Trafgen, ConfigHoldsTheFrameBytes) {
  std::string config = TrafgenConfig(Options());
  EXPECT_THAT(config, HasSubstr("/* nfbench flood frame: 72 bytes (Ethernet frame without FCS)"));
  // Read the byte list back the way trafgen would: every 0xNN between the braces.
  size_t open = config.find('{'), close = config.rfind('}');
  ASSERT_NE(open, std::string::npos);
  std::vector<uint8_t> bytes;
  for (size_t at = config.find("0x", open); at < close; at = config.find("0x", at + 4)) {
    bytes.push_back(static_cast<uint8_t>(std::stoul(config.substr(at + 2, 2), nullptr, 16)));
  }
  EXPECT_THAT(bytes, ElementsAreArray(kFrame72));
  EXPECT_EQ(config.find("cpu("), std::string::npos);  // no per-CPU packets: one worker
  EXPECT_EQ(config.back(), '\n');
}

TEST(Trafgen, CommandFullSpeedUntilStopped) {
  FloodGeneratorOptions o = Options();
  o.cpu = 1;
  EXPECT_THAT(TrafgenCommand(o, "/tmp/out/trafgen.cfg", "/x/nfb-pin-exec"),
              ElementsAre("/x/nfb-pin-exec", "--cpu", "1", "--chdir", "/tmp/out", "--", "trafgen",
                          "--dev", "wl0", "--in", "/tmp/out/trafgen.cfg", "--cpus", "1",
                          "--no-sock-mem", "--notouch-irq"));
}

TEST(Trafgen, CommandCountAndRate) {
  FloodGeneratorOptions o = Options();
  o.packets = 25'000'000;
  o.rate_pps = 100000.4;  // whole packets per second
  EXPECT_THAT(TrafgenCommand(o, "c.cfg", "pin"),
              ElementsAre("pin", "--chdir", "/tmp/out", "--", "trafgen", "--dev", "wl0", "--in",
                          "c.cfg", "--cpus", "1", "--no-sock-mem", "--notouch-irq", "--num",
                          "25000000", "--rate", "100000pps"));
}

TEST(Trafgen, NiceAttackerYieldsItsCpu) {
  FloodGeneratorOptions o = Options();
  o.nice = 19;
  EXPECT_THAT(TrafgenCommand(o, "c.cfg", "pin"),
              ElementsAre("nice", "-n", "19", "pin", "--chdir", "/tmp/out", "--", "trafgen",
                          "--dev", "wl0", "--in", "c.cfg", "--cpus", "1", "--no-sock-mem",
                          "--notouch-irq"));
  o.nice = 20;
  EXPECT_THROW(TrafgenCommand(o, "c.cfg", "pin"), InputError);
}

// ---------------------------------------------------------------------------------------------
// trafgen: summaries (real outputs)

TEST(TrafgenSummaryParse, CountRun) {
  TrafgenSummary s = ParseTrafgenSummary(Data("count_20000.stdout"));
  EXPECT_EQ(s.packets, 20000u);
  EXPECT_EQ(s.bytes, 20000u * 72);
  ASSERT_EQ(s.cpus.size(), 1u);
  EXPECT_EQ(s.cpus[0].cpu, 0);
  EXPECT_EQ(s.cpus[0].seconds, 0u);
  EXPECT_EQ(s.cpus[0].microseconds, 558793u);
  EXPECT_EQ(s.cpus[0].packets, 20000u);
  EXPECT_DOUBLE_EQ(s.DurationSeconds(), 0.558793);
}

TEST(TrafgenSummaryParse, RateLimitedRun) {
  TrafgenSummary s = ParseTrafgenSummary(Data("rate_1000pps.stdout"));
  EXPECT_EQ(s.packets, 3000u);
  EXPECT_EQ(s.bytes, 216000u);
  EXPECT_DOUBLE_EQ(s.DurationSeconds(), 3.019659);
}

TEST(TrafgenSummaryParse, StoppedBySigint) {
  TrafgenSummary s = ParseTrafgenSummary(Data("sigint.stdout"));
  EXPECT_EQ(s.packets, 157952u);
  EXPECT_EQ(s.bytes, 11372544u);
  EXPECT_DOUBLE_EQ(s.DurationSeconds(), 2.075862);
}

TEST(TrafgenSummaryParse, FailedRunsHaveNoSummary) {
  for (const char* name : {"no_device.stdout", "affinity_failure.stdout"}) {
    EXPECT_THAT(InputErrorOf([&] { ParseTrafgenSummary(Data(name)); }),
                HasSubstr("no end-of-run summary"))
        << name;
  }
  EXPECT_THAT(Data("no_device.stderr"), HasSubstr("No networking device or pcap file"));
  EXPECT_THAT(Data("affinity_failure.stderr"), HasSubstr("Can't set this cpu affinity!"));
}

TEST(TrafgenSummaryParse, Malformed) {
  const std::string good = Data("count_20000.stdout");
  auto error = [](const std::string& text) {
    return InputErrorOf([&] { ParseTrafgenSummary(text); });
  };
  auto with = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  // Cut before the bytes line: the run did not end normally.
  EXPECT_THAT(error(good.substr(0, good.find("bytes outgoing") - 10)),
              HasSubstr("no end-of-run summary"));
  EXPECT_THAT(error(with("20000 packets outgoing", "2x000 packets outgoing")),
              HasSubstr("packets outgoing: '2x000' is not a non-negative integer"));
  EXPECT_THAT(error(with("20000 packets outgoing", "-20000 packets outgoing")),
              HasSubstr("not a non-negative integer"));
  EXPECT_THAT(error(with("20000 packets outgoing", "99999999999999999999 packets outgoing")),
              HasSubstr("below 2^64"));
  EXPECT_THAT(error(with("(20000 packets)", "(19999 packets)")),
              HasSubstr("per-CPU packets add up to 19999, not the 20000"));
  EXPECT_THAT(error(with("558793 usec", "1558793 usec")), HasSubstr("not below a second"));
  EXPECT_THAT(error(with("on CPU0", "on GPU0")), HasSubstr("garbled per-CPU line"));
  EXPECT_THAT(error(good + "       20000 packets outgoing\n"), HasSubstr("two 'packets outgoing'"));
  EXPECT_THAT(error(std::string("\0\xff\r\r\n", 5)), HasSubstr("no end-of-run summary"));
}

// ---------------------------------------------------------------------------------------------
// pktgen

TEST(Pktgen, SetupFullSpeedUntilStopped) {
  FloodGeneratorOptions o = Options();
  std::vector<PktgenWrite> expected = {
      {"kpktgend_0", "rem_device_all"},
      {"kpktgend_0", "add_device wl0"},
      {"wl0", "count 0"},
      {"wl0", "clone_skb 0"},
      {"wl0", "pkt_size 72"},
      {"wl0", "delay 0"},
      {"wl0", "dst 198.18.200.2"},
      {"wl0", "dst_mac 02:00:00:C8:00:02"},
      {"wl0", "src_min 198.18.200.1"},
      {"wl0", "src_max 198.18.200.1"},
      {"wl0", "src_mac 02:00:00:c8:00:01"},
      {"wl0", "udp_src_min 9"},
      {"wl0", "udp_src_max 9"},
      {"wl0", "udp_dst_min 9999"},
      {"wl0", "udp_dst_max 9999"},
  };
  EXPECT_EQ(PktgenSetup(o), expected);
  EXPECT_EQ(PktgenTeardown(o), (std::vector<PktgenWrite>{{"kpktgend_0", "rem_device_all"}}));
}

TEST(Pktgen, SetupThesisAttackOnCpu1AtARate) {
  FloodGeneratorOptions o = Options();
  o.packets = 25'000'000;
  o.cpu = 1;
  o.rate_pps = 50000;
  std::vector<PktgenWrite> w = PktgenSetup(o);
  ASSERT_GE(w.size(), 6u);
  EXPECT_EQ(w[0], (PktgenWrite{"kpktgend_1", "rem_device_all"}));
  EXPECT_EQ(w[1], (PktgenWrite{"kpktgend_1", "add_device wl0"}));
  EXPECT_EQ(w[2], (PktgenWrite{"wl0", "count 25000000"}));
  EXPECT_EQ(w[5], (PktgenWrite{"wl0", "ratep 50000"}));
  EXPECT_EQ(PktgenTeardown(o)[0].file, "kpktgend_1");
}

// /proc/net/pktgen/<dev> after a run. Not captured here (this machine has no pktgen module): laid
// out from the seq_printf formats of pktgen_if_show() and show_results() in Linux 6.x
// net/core/pktgen.c, with numbers that agree with each other.
constexpr const char* kPktgenFinished =
    "Params: count 20000  min_pkt_size: 72  max_pkt_size: 72\n"
    "     frags: 0  delay: 0  clone_skb: 0  ifname: wl0\n"
    "     flows: 0 flowlen: 0\n"
    "     queue_map_min: 0  queue_map_max: 0\n"
    "     dst_min: 198.18.200.2  dst_max: \n"
    "     src_min: 198.18.200.1  src_max: 198.18.200.1\n"
    "     src_mac: 02:00:00:c8:00:01 dst_mac: 02:00:00:c8:00:02\n"
    "     udp_src_min: 9  udp_src_max: 9  udp_dst_min: 9999  udp_dst_max: 9999\n"
    "     src_mac_count: 0  dst_mac_count: 0\n"
    "     Flags: \n"
    "Current:\n"
    "     pkts-sofar: 20000  errors: 3\n"
    "     started: 1795303678000000us  stopped: 1795303678026000us idle: 12us\n"
    "     seq_num: 20001  cur_dst_mac_offset: 0  cur_src_mac_offset: 0\n"
    "     cur_saddr: 198.18.200.1  cur_daddr: 198.18.200.2\n"
    "     cur_udp_dst: 9999  cur_udp_src: 9\n"
    "     cur_queue_map: 0\n"
    "     flows: 0\n"
    "Result: OK: 26000(c25988+d12) usec, 20000 (72byte,0frags)\n"
    "  769230pps 443Mb/sec (443076480bps) errors: 3\n";

TEST(PktgenDeviceParse, FinishedRun) {
  PktgenResult r = ParsePktgenDevice(kPktgenFinished);
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.sent_packets, 20000u);
  EXPECT_EQ(r.errors, 3u);
  EXPECT_EQ(r.elapsed_us, 26000u);
  EXPECT_EQ(r.result_pps, 769230u);
  EXPECT_EQ(r.frame_bytes, 72);
}

TEST(PktgenDeviceParse, ConfiguredNotRun) {
  std::string text = kPktgenFinished;
  text = text.substr(0, text.find("Result:")) + "Result: OK: udp_dst_max=9999\n";
  PktgenResult r = ParsePktgenDevice(text);
  EXPECT_FALSE(r.finished);
  EXPECT_EQ(r.sent_packets, 20000u);
  text = text.substr(0, text.find("Result:")) + "Result: Idle\n";
  EXPECT_FALSE(ParsePktgenDevice(text).finished);
}

TEST(PktgenDeviceParse, Malformed) {
  auto error = [](const std::string& text) {
    return InputErrorOf([&] { ParsePktgenDevice(text); });
  };
  std::string good = kPktgenFinished;
  auto with = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    return text.replace(text.find(from), from.size(), to);
  };
  EXPECT_THAT(error(""), HasSubstr("no 'Params:' or 'pkts-sofar:' line"));
  EXPECT_THAT(error("Result: Idle\n"), HasSubstr("not a pktgen device file"));
  EXPECT_THAT(error(with("pkts-sofar: 20000  errors: 3", "pkts-sofar: lots")),
              HasSubstr("garbled pkts-sofar line"));
  EXPECT_THAT(error(with("pkts-sofar: 20000", "pkts-sofar: 2e4")),
              HasSubstr("pkts-sofar: '2e4' is not a non-negative integer"));
  EXPECT_THAT(error(with("usec, 20000 (72byte", "usec, 19999 (72byte")),
              HasSubstr("Result has 19999 packets, pkts-sofar 20000"));
  EXPECT_THAT(error(with("min_pkt_size: 72", "min_pkt_size: 99999999")),
              HasSubstr("min_pkt_size out of range"));
}

// ---------------------------------------------------------------------------------------------
// Report, detection, the pinning helper

TEST(FloodReport, ToJson) {
  FloodGeneratorReport r;
  r.tool = FloodTool::kTrafgen;
  r.tool_version = "trafgen 0.6.8";
  r.argv = {"trafgen", "--dev", "wl0"};
  r.interface = "wl0";
  r.frame_bytes = 72;
  r.packets_requested = 20000;
  r.cpu = 1;
  r.sent_packets = 20000;
  r.sent_bytes = 1440000;
  r.started_wall =
      std::chrono::system_clock::time_point(std::chrono::microseconds(1795303678123456));
  r.ended_wall = r.started_wall + std::chrono::seconds(2);
  r.duration_s = 2;
  r.skb_layout = "non-linear (PACKET_TX_RING)";
  nlohmann::json j = r.ToJson();
  EXPECT_EQ(j["tool"], "trafgen");
  EXPECT_EQ(j["sent_packets"], 20000u);
  EXPECT_EQ(j["cpu"], 1);
  EXPECT_EQ(j["started_wall"], "2026-11-21T23:27:58.123456Z");
  EXPECT_EQ(j["started_wall_ns"], 1795303678123456000);
  EXPECT_EQ(j["argv"].size(), 3u);
  EXPECT_FALSE(j["stopped_early"]);
  r.cpu.reset();
  EXPECT_TRUE(r.ToJson()["cpu"].is_null());
}

TEST(FloodDetect, PicksWhatThisHostHas) {
  if (fs::exists("/proc/net/pktgen/pgctrl")) {
    EXPECT_EQ(DetectGenerator(), FloodTool::kPktgen);
  } else if (::access("/usr/sbin/trafgen", X_OK) == 0) {
    EXPECT_EQ(DetectGenerator(), FloodTool::kTrafgen);
  } else {
    EXPECT_THROW(DetectGenerator(), PrerequisiteError);
  }
}

TEST(PinExec, KeepsTheAffinityItSet) {
  cpu_set_t allowed;
  ASSERT_EQ(::sched_getaffinity(0, sizeof(allowed), &allowed), 0);
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; ++c) {
    if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
  }
  if (cpus.size() < 2) GTEST_SKIP() << "needs two allowed CPUs";
  // taskset asks for the other CPU; the filter makes that a no-op, so grep (exec'd by taskset)
  // still runs on the first.
  ProcessSpec spec({NFB_PIN_EXEC_PATH, "--cpu", std::to_string(cpus[0]), "--", "taskset", "-c",
                    std::to_string(cpus[1]), "grep", "Cpus_allowed_list", "/proc/self/status"});
  ProcessResult r = RunProcess(spec, std::chrono::seconds(10));
  ASSERT_TRUE(r.Succeeded()) << r.Status() << r.err;
  EXPECT_THAT(r.out, HasSubstr("Cpus_allowed_list:\t" + std::to_string(cpus[0]) + "\n"));
}

TEST(PinExec, Errors) {
  auto run = [](std::vector<std::string> args) {
    args.insert(args.begin(), NFB_PIN_EXEC_PATH);
    return RunProcess(ProcessSpec(args), std::chrono::seconds(10));
  };
  EXPECT_EQ(run({"--", "true"}).exit_code, 0);
  EXPECT_EQ(run({"true"}).exit_code, 125);
  EXPECT_EQ(run({"--cpu", "x", "--", "true"}).exit_code, 125);
  EXPECT_EQ(run({"--cpu", "0"}).exit_code, 125);
  ProcessResult offline = run({"--cpu", "1000", "--", "true"});
  EXPECT_EQ(offline.exit_code, 126);
  EXPECT_THAT(offline.err, HasSubstr("CPU 1000 is not allowed here"));
  EXPECT_EQ(run({"--chdir", "/nonexistent-dir", "--", "true"}).exit_code, 126);
  ProcessResult missing = run({"--", "/nonexistent-program"});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_THAT(missing.err, HasSubstr("cannot run '/nonexistent-program'"));
}

}  // namespace
}  // namespace nfb::workloads
