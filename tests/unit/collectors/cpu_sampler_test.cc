// The netns CPU sampler without root: attribution from synthetic snapshots, the /proc parsers,
// the CSV, sources from a platform description, and the sampling thread with a fake reader.
#include "nfb/collectors/cpu_sampler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "nfb/core/cancel.h"
#include "nfb/core/error.h"

namespace nfb::collectors {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kSecond = 1'000'000'000;

// A source with one interface per entry of `interfaces` (in the sampler's own namespace).
CpuSource Source(std::string name, std::vector<int> cpus, int interfaces = 1,
                 CpuSourceKind kind = CpuSourceKind::kDomain) {
  CpuSource s;
  s.name = std::move(name);
  s.kind = kind;
  s.cgroup_dirs = {"/nonexistent/cgroup/" + s.name};
  s.cpus = std::move(cpus);
  for (int i = 0; i < interfaces; ++i) s.interfaces.push_back({"", "if" + std::to_string(i)});
  return s;
}

// softirq/irq ticks on top of `busy_user` user ticks; idle fills up to `total` ticks.
CpuTicks Ticks(uint64_t user, uint64_t softirq, uint64_t irq = 0, uint64_t total = 100,
               uint64_t steal = 0) {
  CpuTicks t;
  t.user = user;
  t.softirq = softirq;
  t.irq = irq;
  t.steal = steal;
  t.idle = total - user - softirq - irq - steal;
  return t;
}

CpuTicks Plus(const CpuTicks& a, const CpuTicks& b) {
  CpuTicks t = a;
  t.user += b.user;
  t.nice += b.nice;
  t.system += b.system;
  t.idle += b.idle;
  t.iowait += b.iowait;
  t.irq += b.irq;
  t.softirq += b.softirq;
  t.steal += b.steal;
  return t;
}

CpuSnapshot::Source Counters(std::optional<uint64_t> process_ns,
                             std::vector<std::optional<uint64_t>> rx) {
  return {process_ns, std::move(rx)};
}

const CpuSeriesRow& Row(const std::vector<CpuSeriesRow>& rows, const std::string& name) {
  for (const CpuSeriesRow& r : rows) {
    if (r.domain == name) return r;
  }
  throw std::runtime_error("no row " + name);
}

// Two domains on their own CPUs: each gets its CPU's kernel time and its cgroup time.
TEST(AttributeCpuTest, ExclusiveCpusGoWholeToTheirDomain) {
  std::vector<CpuSource> sources = {Source("dom0", {0}), Source("domu1", {1})};
  CpuSnapshot a, b;
  a.monotonic_ns = 10 * kSecond;
  b.monotonic_ns = 11 * kSecond;
  a.cpus = {{0, Ticks(1000, 50)}, {1, Ticks(2000, 70)}};
  b.cpus = {{0, Plus(a.cpus[0], Ticks(5, 12))}, {1, Plus(a.cpus[1], Ticks(90, 3))}};
  a.sources = {Counters(1 * kSecond, {100}), Counters(7 * kSecond, {0})};
  b.sources = {Counters(1 * kSecond + 40'000'000, {100}), Counters(7 * kSecond + 900'000'000, {0})};
  auto rows = AttributeCpu(sources, a, b, {.start_ns = 9 * kSecond, .user_hz = 100});
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].domain, "dom0");
  EXPECT_EQ(rows[2].domain, "unattributed");
  EXPECT_EQ(rows[3].domain, "total");

  const CpuSeriesRow& dom0 = rows[0];
  EXPECT_DOUBLE_EQ(dom0.t_s, 2.0);
  EXPECT_DOUBLE_EQ(dom0.interval_s, 1.0);
  EXPECT_EQ(dom0.cpus, "0");
  EXPECT_EQ(dom0.kind, CpuRowKind::kDomain);
  EXPECT_NEAR(dom0.process_percent, 4.0, 1e-9);
  EXPECT_NEAR(dom0.kernel_percent, 12.0, 1e-9);
  EXPECT_NEAR(dom0.cpu_percent, 16.0, 1e-9);
  EXPECT_NEAR(dom0.capacity_percent, 100.0, 1e-9);
  EXPECT_NEAR(dom0.busy_percent, 17.0, 1e-9);  // 5 user + 12 softirq ticks
  EXPECT_EQ(dom0.process_ns, 40'000'000u);
  EXPECT_EQ(dom0.kernel_ns, 120'000'000u);
  EXPECT_EQ(dom0.kernel_ticks, 12u);
  EXPECT_EQ(dom0.rx_packets, 0u);
  EXPECT_NEAR(dom0.cpu_total_s, 1.04, 1e-9);
  EXPECT_EQ(dom0.flags, "");

  const CpuSeriesRow& domu1 = rows[1];
  EXPECT_NEAR(domu1.process_percent, 90.0, 1e-9);
  EXPECT_NEAR(domu1.kernel_percent, 3.0, 1e-9);
  EXPECT_NEAR(domu1.cpu_percent, 93.0, 1e-9);

  const CpuSeriesRow& total = rows[3];
  EXPECT_EQ(total.cpus, "0-1");
  EXPECT_NEAR(total.cpu_percent, 109.0, 1e-9);
  EXPECT_NEAR(total.process_percent, 94.0, 1e-9);
  EXPECT_NEAR(total.kernel_percent, 15.0, 1e-9);
  EXPECT_NEAR(total.capacity_percent, 200.0, 1e-9);
  EXPECT_NEAR(total.busy_percent, 110.0, 1e-9);
  EXPECT_EQ(total.flags, "");
  EXPECT_NEAR(rows[2].cpu_percent, 0.0, 1e-9);
}

// Two guests on one vCPU: the CPU's kernel time is split by the packets each received.
TEST(AttributeCpuTest, SharedCpuIsSplitByPackets) {
  std::vector<CpuSource> sources = {Source("domu1", {1}), Source("domu2", {1})};
  CpuSnapshot a, b;
  a.monotonic_ns = 0;
  b.monotonic_ns = 2 * kSecond;  // a 2 s interval: percentages are per second
  a.cpus = {{1, Ticks(0, 0, 0, 0)}};
  b.cpus = {{1, Ticks(0, 36, 4, 200)}};
  a.sources = {Counters(0, {1000}), Counters(0, {50})};
  b.sources = {Counters(0, {1300}), Counters(0, {150})};
  auto rows = AttributeCpu(sources, a, b, {.start_ns = 0, .user_hz = 100});
  EXPECT_NEAR(Row(rows, "domu1").kernel_percent, 15.0, 1e-9);  // 40 ticks x 3/4 over 2 s
  EXPECT_NEAR(Row(rows, "domu2").kernel_percent, 5.0, 1e-9);
  EXPECT_EQ(Row(rows, "domu1").rx_packets, 300u);
  EXPECT_EQ(Row(rows, "domu1").kernel_ticks, 40u);  // before the split
  EXPECT_EQ(Row(rows, "domu1").kernel_ns, 300'000'000u);
  EXPECT_NEAR(Row(rows, "unattributed").kernel_percent, 0.0, 1e-9);
  EXPECT_NEAR(Row(rows, "total").kernel_percent, 20.0, 1e-9);
  EXPECT_NEAR(Row(rows, "total").cpu_percent, 20.0, 1e-9);
}

// A source on two CPUs weighs half its packets on each; the external host gets its own row.
TEST(AttributeCpuTest, MultiCpuSourceWeighsPacketsPerCpu) {
  std::vector<CpuSource> sources = {Source("dom0", {0, 1}),
                                    Source("loadgen", {1}, 2, CpuSourceKind::kExternal)};
  CpuSnapshot a, b;
  b.monotonic_ns = kSecond;
  a.cpus = {{0, Ticks(0, 0, 0, 0)}, {1, Ticks(0, 0, 0, 0)}};
  b.cpus = {{0, Ticks(0, 10)}, {1, Ticks(0, 30)}};
  a.sources = {Counters(0, {0}), Counters(0, {0, 0})};
  b.sources = {Counters(0, {200}), Counters(0, {60, 40})};
  auto rows = AttributeCpu(sources, a, b, {});
  // CPU 0: all dom0's (10). CPU 1: dom0 weighs 200/2 = 100, loadgen 100: 15 each.
  EXPECT_NEAR(Row(rows, "dom0").kernel_percent, 25.0, 1e-9);
  EXPECT_NEAR(Row(rows, "loadgen").kernel_percent, 15.0, 1e-9);
  EXPECT_EQ(Row(rows, "loadgen").kind, CpuRowKind::kExternal);
  EXPECT_EQ(Row(rows, "loadgen").rx_packets, 100u);
  EXPECT_EQ(Row(rows, "dom0").cpus, "0-1");
  EXPECT_NEAR(Row(rows, "dom0").capacity_percent, 200.0, 1e-9);
}

// Nobody sharing the CPU received anything: its kernel time is nobody's, and says so.
TEST(AttributeCpuTest, SharedCpuWithoutPacketsIsUnattributed) {
  std::vector<CpuSource> sources = {Source("dom0", {0}),
                                    Source("loadgen", {0}, 1, CpuSourceKind::kExternal)};
  CpuSnapshot a, b;
  b.monotonic_ns = kSecond;
  a.cpus = {{0, Ticks(0, 0, 0, 0)}};
  b.cpus = {{0, Ticks(10, 2)}};
  a.sources = {Counters(0, {5}), Counters(0, {5})};
  b.sources = {Counters(10'000'000, {5}), Counters(0, {5})};
  auto rows = AttributeCpu(sources, a, b, {});
  EXPECT_NEAR(Row(rows, "dom0").kernel_percent, 0.0, 1e-9);
  EXPECT_NEAR(Row(rows, "dom0").cpu_percent, 1.0, 1e-9);
  EXPECT_EQ(Row(rows, "dom0").flags, "shared_cpu_without_packets");
  EXPECT_NEAR(Row(rows, "unattributed").kernel_percent, 2.0, 1e-9);
  EXPECT_EQ(Row(rows, "unattributed").cpus, "0");
  EXPECT_EQ(Row(rows, "unattributed").kind, CpuRowKind::kUnattributed);
  EXPECT_EQ(Row(rows, "unattributed").flags, "shared_cpu_without_packets");
  EXPECT_NEAR(Row(rows, "total").cpu_percent, 3.0, 1e-9);
}

// Counters that go down (a recreated interface or cgroup, a CPU's counters reset) count as
// zero for that interval, flagged; the next interval is normal again.
TEST(AttributeCpuTest, DecreasingCountersCountAsZeroAndAreFlagged) {
  std::vector<CpuSource> sources = {Source("domu1", {1}), Source("domu2", {1})};
  CpuSnapshot a, b;
  b.monotonic_ns = kSecond;
  a.cpus = {{1, Ticks(50, 40, 0, 200)}};
  b.cpus = {{1, Ticks(50, 20, 0, 300)}};  // softirq went down
  a.sources = {Counters(5 * kSecond, {1000}), Counters(kSecond, {10})};
  b.sources = {Counters(kSecond, {20}), Counters(kSecond + 1, {30})};
  auto rows = AttributeCpu(sources, a, b, {});
  const CpuSeriesRow& d1 = Row(rows, "domu1");
  EXPECT_EQ(d1.rx_packets, 0u);
  EXPECT_EQ(d1.process_ns, 0u);
  EXPECT_NEAR(d1.kernel_percent, 0.0, 1e-9);
  EXPECT_THAT(d1.flags, HasSubstr("counter_reset"));
  EXPECT_EQ(Row(rows, "domu2").rx_packets, 20u);
  EXPECT_EQ(Row(rows, "domu2").process_ns, 1u);
  EXPECT_THAT(Row(rows, "total").flags, HasSubstr("counter_reset"));
  for (const CpuSeriesRow& r : rows) {
    EXPECT_FALSE(std::isnan(r.cpu_percent)) << r.domain;
    EXPECT_GE(r.cpu_percent, 0.0) << r.domain;
  }
}

// A vanished interface, cgroup or CPU reads as zero with a flag instead of failing.
TEST(AttributeCpuTest, MissingInterfaceCgroupAndCpuAreFlagged) {
  std::vector<CpuSource> sources = {Source("domu1", {1}, 2), Source("domu2", {1}),
                                    Source("gone", {7})};
  CpuSnapshot a, b;
  b.monotonic_ns = kSecond;
  a.cpus = {{1, Ticks(0, 0, 0, 0)}};
  b.cpus = {{1, Ticks(0, 10)}};
  a.sources = {Counters(0, {std::nullopt, 100}), Counters(std::nullopt, {0}), Counters(0, {0})};
  b.sources = {Counters(0, {500, 130}), Counters(std::nullopt, {10}), Counters(0, {0})};
  auto rows = AttributeCpu(sources, a, b, {});
  const CpuSeriesRow& d1 = Row(rows, "domu1");
  EXPECT_EQ(d1.rx_packets, 30u);  // only the interface present in both snapshots
  EXPECT_THAT(d1.flags, HasSubstr("interface_missing"));
  EXPECT_NEAR(d1.kernel_percent, 7.5, 1e-9);  // 30 of 40 packets
  const CpuSeriesRow& d2 = Row(rows, "domu2");
  EXPECT_TRUE(std::isnan(d2.process_percent));
  EXPECT_FALSE(d2.process_ns.has_value());
  EXPECT_EQ(d2.flags, "process_time_missing");
  EXPECT_NEAR(d2.cpu_percent, 2.5, 1e-9);  // kernel only
  const CpuSeriesRow& gone = Row(rows, "gone");
  EXPECT_EQ(gone.flags, "cpu_missing");
  EXPECT_NEAR(gone.kernel_percent, 0.0, 1e-9);
  EXPECT_THAT(Row(rows, "total").flags, HasSubstr("cpu_missing"));
}

TEST(AttributeCpuTest, ZeroOrNegativeIntervalGivesNoRows) {
  std::vector<CpuSource> sources = {Source("dom0", {0})};
  CpuSnapshot a, b;
  a.monotonic_ns = b.monotonic_ns = 5 * kSecond;
  a.cpus = b.cpus = {{0, Ticks(1, 1)}};
  a.sources = b.sources = {Counters(0, {0})};
  EXPECT_TRUE(AttributeCpu(sources, a, b, {}).empty());
  b.monotonic_ns = 4 * kSecond;
  EXPECT_TRUE(AttributeCpu(sources, a, b, {}).empty());
}

TEST(AttributeCpuTest, SnapshotsMustMatchTheSources) {
  std::vector<CpuSource> sources = {Source("dom0", {0}, 2)};
  CpuSnapshot a, b;
  b.monotonic_ns = kSecond;
  a.sources = b.sources = {Counters(0, {0})};  // one interface, the source has two
  EXPECT_THROW(AttributeCpu(sources, a, b, {}), InputError);
  a.sources = b.sources = {};
  EXPECT_THROW(AttributeCpu(sources, a, b, {}), InputError);
}

// Inline softirq charged to an interrupted task is counted twice (docs/cpu-accounting.md): the
// total row flags a sum above the CPUs' capacity and above their busy time.
TEST(AttributeCpuTest, TotalFlagsOvercountedIntervals) {
  std::vector<CpuSource> sources = {Source("domu1", {1}), Source("domu2", {1})};
  CpuSnapshot a, b;
  b.monotonic_ns = kSecond;
  a.cpus = {{1, Ticks(0, 0, 0, 0)}};
  b.cpus = {{1, Ticks(70, 30)}};  // busy 100%
  a.sources = {Counters(0, {0}), Counters(0, {0})};
  b.sources = {Counters(0, {1000}), Counters(kSecond, {0})};  // domu2's task ran throughout
  auto rows = AttributeCpu(sources, a, b, {});
  EXPECT_NEAR(Row(rows, "domu2").cpu_percent, 100.0, 1e-9);
  EXPECT_NEAR(Row(rows, "domu1").cpu_percent, 30.0, 1e-9);
  EXPECT_EQ(Row(rows, "domu2").flags, "");
  EXPECT_NEAR(Row(rows, "total").cpu_percent, 130.0, 1e-9);
  EXPECT_EQ(Row(rows, "total").flags, "exceeds_busy;over_capacity");
}

TEST(AttributeCpuTest, StealIsReportedPerRow) {
  std::vector<CpuSource> sources = {Source("domu1", {1})};
  CpuSnapshot a, b;
  b.monotonic_ns = kSecond;
  a.cpus = {{1, Ticks(0, 0, 0, 0)}};
  b.cpus = {{1, Ticks(80, 0, 0, 100, 20)}};
  a.sources = b.sources = {Counters(0, {0})};
  auto rows = AttributeCpu(sources, a, b, {});
  EXPECT_NEAR(Row(rows, "domu1").steal_percent, 20.0, 1e-9);
  EXPECT_NEAR(Row(rows, "domu1").busy_percent, 80.0, 1e-9);
  EXPECT_NEAR(Row(rows, "domu1").unaccounted_percent, 0.0, 1e-9);
}

// Time in no column of /proc/stat (softirq on an idle CPU whose tick was stopped) shows up as
// unaccounted, per row and in the total; it is not added to kernel time.
TEST(AttributeCpuTest, TimeInNoColumnIsUnaccounted) {
  std::vector<CpuSource> sources = {Source("dom0", {0}), Source("domu1", {1})};
  CpuSnapshot a, b;
  b.monotonic_ns = kSecond;
  a.cpus = {{0, Ticks(0, 0, 0, 0)}, {1, Ticks(0, 0, 0, 0)}};
  b.cpus = {{0, Ticks(0, 1, 0, 99)}, {1, Ticks(0, 2, 0, 80)}};  // 1 and 20 ticks in no column
  a.sources = b.sources = {Counters(0, {0}), Counters(0, {0})};
  auto rows = AttributeCpu(sources, a, b, {});
  EXPECT_NEAR(Row(rows, "dom0").unaccounted_percent, 1.0, 1e-9);
  EXPECT_NEAR(Row(rows, "domu1").unaccounted_percent, 20.0, 1e-9);
  EXPECT_NEAR(Row(rows, "domu1").kernel_percent, 2.0, 1e-9);
  EXPECT_NEAR(Row(rows, "total").unaccounted_percent, 21.0, 1e-9);
}

TEST(ProcParsersTest, ProcStatPerCpuLines) {
  const char* text =
      "cpu  1171022 0 178437 711704 2710 0 2591 478 0 0\n"
      "cpu0 565014 1 106355 360820 518 3 449 238 0 0\n"
      "cpu1 606007 0 72081 350884 2192 0 2142 239 0 0\n"
      "cpu12 1 2 3 4 5 6 7 8\n"
      "cpu3 1 2 3\n"
      "intr 5545382 0 0\n"
      "ctxt 8925842\n";
  auto cpus = ParseProcStat(text);
  ASSERT_EQ(cpus.size(), 3u);
  EXPECT_EQ(cpus.at(0).user, 565014u);
  EXPECT_EQ(cpus.at(0).nice, 1u);
  EXPECT_EQ(cpus.at(0).irq, 3u);
  EXPECT_EQ(cpus.at(0).softirq, 449u);
  EXPECT_EQ(cpus.at(0).steal, 238u);
  EXPECT_EQ(cpus.at(1).idle, 350884u);
  EXPECT_EQ(cpus.at(12).steal, 8u);
}

TEST(ProcParsersTest, NetDevReceivedPackets) {
  const char* text =
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
      "drop fifo colls carrier compressed\n"
      "    lo:    1234      17    0    0    0     0          0         0     1234      17    0 "
      "   0    0     0       0          0\n"
      "  eth0:98765432 1234567    0    3    0     0          0         0      420       6    0 "
      "   0    0     0       0          0\n"
      "vif1.0: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
  auto rx = ParseNetDevRxPackets(text);
  EXPECT_EQ(rx.size(), 3u);
  EXPECT_EQ(rx.at("lo"), 17u);
  EXPECT_EQ(rx.at("eth0"), 1234567u);
  EXPECT_EQ(rx.at("vif1.0"), 0u);
}

TEST(CpuSeriesCsvTest, HeaderRowsAndEmptyForNotMeasured) {
  CpuSeriesRow r;
  r.t_s = 1.0000004;
  r.interval_s = 1;
  r.domain = "dom,0";
  r.cpus = "0-1";
  r.cpu_percent = 12.34567;
  r.kernel_percent = 2.5;
  r.kernel_ticks = 5;
  r.flags = "counter_reset;interface_missing";
  std::ostringstream out;
  WriteCpuSeriesCsv(out, {r});
  std::istringstream in(out.str());
  std::string header, line;
  std::getline(in, header);
  std::getline(in, line);
  EXPECT_EQ(header,
            "t_s,interval_s,domain,kind,cpus,cpu_percent,process_percent,kernel_percent,"
            "capacity_percent,busy_percent,steal_percent,unaccounted_percent,process_ns,kernel_ns,"
            "kernel_ticks,"
            "rx_packets,cpu_total_s,flags");
  EXPECT_EQ(line,
            "1.000000,1.000000,\"dom,0\",domain,0-1,12.3457,,2.5000,,,,,,,5,,,"
            "counter_reset;interface_missing");
}

// Blocks with leading key columns: the layout of a run's cpu.csv.
TEST(CpuSeriesCsvTest, KeyColumnsForManyRuns) {
  CpuSeriesRow r;
  r.t_s = 2;
  r.interval_s = 1;
  r.domain = "domu1";
  r.cpu_percent = 99.5;
  std::ostringstream out;
  CpuSeriesCsvWriter writer(out, {"configuration", "repetition"});
  writer.Write({r}, {"XenBPF", "1"});
  writer.Write({r}, {"guest, BPF", "2"});
  std::istringstream in(out.str());
  std::string line;
  std::getline(in, line);
  EXPECT_THAT(line, ::testing::StartsWith("configuration,repetition,t_s,interval_s,domain,"));
  std::getline(in, line);
  EXPECT_THAT(line, ::testing::StartsWith("XenBPF,1,2.000000,1.000000,domu1,domain,,99.5000,"));
  std::getline(in, line);
  EXPECT_THAT(line, ::testing::StartsWith("\"guest, BPF\",2,2.000000,"));
  EXPECT_THROW(writer.Write({r}, {"XenBPF"}), InputError);
}

TEST(CpuSeriesCsvTest, FlagsStaySortedAndUnique) {
  std::string flags;
  AddFlag(flags, "over_capacity");
  AddFlag(flags, "counter_reset");
  AddFlag(flags, "over_capacity");
  EXPECT_EQ(flags, "counter_reset;over_capacity");
  EXPECT_EQ(ToString(CpuRowKind::kExternal), "external");
  EXPECT_EQ(ToString(CpuRowKind::kTotal), "total");
}

// The shape of NetnsPlatform::Describe() (harness/platform/src/netns_platform.cc).
TEST(CpuSourcesTest, FromPlatformDescription) {
  nlohmann::json d = nlohmann::json::parse(R"({
    "platform": "netns",
    "switch": {"netns": "nfbabc123-switch", "bridge": "sw0"},
    "hosts": [
      {"name": "dom0", "role": "dom0", "netns": "nfbabc123-dom0", "cpus": [0],
       "cgroups": ["/sys/fs/cgroup/cpuset/nfbench/abc/dom0", "/sys/fs/cgroup/cpuacct/nfbench/abc/dom0"],
       "rps_cpus": {"peth0": "1", "vif1.0": "1"},
       "nic": {"name": "peth0", "mac": "02:00:00:00:00:02", "switch_port": "swp0"}},
      {"name": "domu1", "role": "guest", "netns": "nfbabc123-domu1", "cpus": [1],
       "cgroups": ["/sys/fs/cgroup/cpuacct/nfbench/abc/domu1"], "rps_cpus": {"eth0": "2"},
       "vif": {"name": "vif1.0"}},
      {"name": "loadgen", "role": "external", "netns": "nfbabc123-loadgen", "cpus": [0],
       "cgroups": [], "rps_cpus": {"eth0": "1"}, "switch_port": "swp1"}
    ]})");
  std::vector<CpuSource> sources = CpuSourcesFromPlatformDescription(d);
  ASSERT_EQ(sources.size(), 3u);
  EXPECT_EQ(sources[0].name, "dom0");
  EXPECT_EQ(sources[0].kind, CpuSourceKind::kDomain);
  EXPECT_THAT(sources[0].cpus, ElementsAre(0));
  EXPECT_EQ(sources[0].cgroup_dirs.size(), 2u);
  ASSERT_EQ(sources[0].interfaces.size(), 3u);
  EXPECT_EQ(sources[0].interfaces[0].netns, "nfbabc123-dom0");
  EXPECT_EQ(sources[0].interfaces[0].name, "peth0");
  EXPECT_EQ(sources[0].interfaces[1].name, "vif1.0");
  EXPECT_EQ(sources[0].interfaces[2].netns, "nfbabc123-switch");
  EXPECT_EQ(sources[0].interfaces[2].name, "swp0");
  ASSERT_EQ(sources[1].interfaces.size(), 1u);
  EXPECT_EQ(sources[1].interfaces[0].name, "eth0");
  EXPECT_EQ(sources[2].kind, CpuSourceKind::kExternal);
  ASSERT_EQ(sources[2].interfaces.size(), 2u);
  EXPECT_EQ(sources[2].interfaces[1].name, "swp1");
  EXPECT_EQ(ToJson(sources[2]).at("kind"), "external");

  d["hosts"][1].erase("cpus");
  EXPECT_THROW(CpuSourcesFromPlatformDescription(d), InputError);
}

// The real reader on what needs no root: /proc/stat, a fake cgroup directory, and the
// sampler's own namespace (lo exists, a made-up name does not).
TEST(ProcReaderTest, ReadsCgroupFilesAndInterfaces) {
  fs::path dir = fs::temp_directory_path() / ("nfbtest-cpu-" + std::to_string(::getpid()));
  fs::create_directories(dir / "v1cpuset");
  fs::create_directories(dir / "v1cpuacct");
  fs::create_directories(dir / "v2");
  std::ofstream(dir / "v1cpuacct" / "cpuacct.usage") << "123456789\n";
  std::ofstream(dir / "v2" / "cpu.stat") << "usage_usec 4242\nuser_usec 4000\nsystem_usec 242\n";

  CpuSource v1 = Source("v1", {0}, 0);
  v1.cgroup_dirs = {dir / "v1cpuset", dir / "v1cpuacct"};
  v1.interfaces = {{"", "lo"}, {"", "nfbtest-none0"}};
  CpuSource v2 = Source("v2", {0}, 0);
  v2.cgroup_dirs = {dir / "v2"};
  CpuSource none = Source("none", {0}, 0);
  none.cgroup_dirs = {dir / "missing"};

  CpuSnapshot s = MakeProcCpuCounterReader()->Read({v1, v2, none});
  fs::remove_all(dir);
  EXPECT_GT(s.monotonic_ns, 0);
  EXPECT_FALSE(s.cpus.empty());
  ASSERT_EQ(s.sources.size(), 3u);
  EXPECT_EQ(s.sources[0].process_ns, 123456789u);
  ASSERT_EQ(s.sources[0].rx_packets.size(), 2u);
  EXPECT_TRUE(s.sources[0].rx_packets[0].has_value());
  EXPECT_FALSE(s.sources[0].rx_packets[1].has_value());
  EXPECT_EQ(s.sources[1].process_ns, 4'242'000u);
  EXPECT_FALSE(s.sources[2].process_ns.has_value());
}

// Counters that grow by a fixed amount per reading: one CPU, 10 softirq ticks and 0.5 s of
// process time per reading.
class FakeReader : public CpuCounterReader {
 public:
  CpuSnapshot Read(const std::vector<CpuSource>& sources) override {
    int n = ++reads;
    if (fail_at != 0 && n >= fail_at) throw RunError("fake reader failed");
    CpuSnapshot s;
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    s.monotonic_ns = int64_t{ts.tv_sec} * kSecond + ts.tv_nsec;
    s.cpus[0] = Ticks(0, uint64_t(10 * n), 0, uint64_t(100 * n));
    for (const CpuSource& src : sources) {
      s.sources.push_back(
          Counters(uint64_t(n) * 500'000'000,
                   std::vector<std::optional<uint64_t>>(src.interfaces.size(), uint64_t(n))));
    }
    return s;
  }
  std::atomic<int> reads{0};
  int fail_at = 0;
};

CpuSamplerOptions FakeOptions(std::shared_ptr<FakeReader> reader, int interval_ms) {
  CpuSamplerOptions o;
  o.sources = {Source("dom0", {0})};
  o.interval = std::chrono::milliseconds(interval_ms);
  o.reader = std::move(reader);
  return o;
}

TEST(CpuSamplerTest, SamplesAtTheIntervalAndStopsCleanly) {
  auto reader = std::make_shared<FakeReader>();
  std::atomic<int> callbacks{0};
  CpuSamplerOptions o = FakeOptions(reader, 20);
  o.on_interval = [&](const std::vector<CpuSeriesRow>& rows) {
    EXPECT_EQ(rows.size(), 3u);
    ++callbacks;
  };
  auto t0 = std::chrono::steady_clock::now();
  auto sampler = CpuSampler::Start(std::move(o));
  // At least two intervals (waiting, not sleeping a fixed time: the machine may be loaded).
  auto deadline = t0 + std::chrono::seconds(5);
  while (sampler->Rows().size() < 6 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CpuSamplerReport report = sampler->Stop();
  auto elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  // Fixed deadlines: never more intervals than fit in the time; late readings skip deadlines.
  EXPECT_GE(report.intervals, 2);
  EXPECT_LE(report.intervals, elapsed_ms / 20 + 1);
  EXPECT_EQ(report.rows.size(), size_t(report.intervals) * 3);
  EXPECT_EQ(callbacks.load(), report.intervals);
  EXPECT_GT(report.user_hz, 0);
  EXPECT_FALSE(report.stopped_by_interrupt);
  double last_t = 0;
  for (const CpuSeriesRow& r : report.rows) {
    if (r.domain != "dom0") continue;
    EXPECT_GT(r.t_s, last_t);
    last_t = r.t_s;
    EXPECT_GT(r.interval_s, 0.0);
    EXPECT_EQ(r.rx_packets, 1u);
  }
  EXPECT_THROW(sampler->Stop(), RunError);
}

TEST(CpuSamplerTest, StopDoesNotWaitForTheInterval) {
  auto reader = std::make_shared<FakeReader>();
  auto sampler = CpuSampler::Start(FakeOptions(reader, 10'000));
  auto t0 = std::chrono::steady_clock::now();
  CpuSamplerReport report = sampler->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500));
  EXPECT_EQ(report.intervals, 0);
  EXPECT_EQ(reader->reads.load(), 1);  // the reading at start only
}

TEST(CpuSamplerTest, DestructorStopsTheThread) {
  auto reader = std::make_shared<FakeReader>();
  {
    auto sampler = CpuSampler::Start(FakeOptions(reader, 10));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  int reads = reader->reads.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(reader->reads.load(), reads);
}

TEST(CpuSamplerTest, InterruptEndsSampling) {
  auto reader = std::make_shared<FakeReader>();
  auto sampler = CpuSampler::Start(FakeOptions(reader, 10'000));
  RequestInterrupt();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CpuSamplerReport report = sampler->Stop();
  ClearInterrupt();
  EXPECT_TRUE(report.stopped_by_interrupt);
  EXPECT_EQ(report.intervals, 0);
}

TEST(CpuSamplerTest, ReaderFailureSurfacesAtStop) {
  auto reader = std::make_shared<FakeReader>();
  reader->fail_at = 3;
  auto sampler = CpuSampler::Start(FakeOptions(reader, 10));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (reader->reads.load() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(sampler->Rows().size(), 3u);  // one interval before the failure
  try {
    sampler->Stop();
    FAIL() << "Stop() must report the failure";
  } catch (const RunError& e) {
    EXPECT_THAT(e.what(), HasSubstr("fake reader failed"));
  }
}

TEST(CpuSamplerTest, RejectsBadOptions) {
  auto reader = std::make_shared<FakeReader>();
  CpuSamplerOptions o = FakeOptions(reader, 5);
  EXPECT_THROW(CpuSampler::Start(o), InputError);  // interval below 10 ms
  o = FakeOptions(reader, 100);
  o.sources.push_back(Source("dom0", {1}));
  EXPECT_THROW(CpuSampler::Start(o), InputError);  // duplicate
  o = FakeOptions(reader, 100);
  o.sources = {Source("total", {0})};
  EXPECT_THROW(CpuSampler::Start(o), InputError);  // reserved
  o.sources = {Source("dom0", {-1})};
  EXPECT_THROW(CpuSampler::Start(o), InputError);
  o.sources = {};
  EXPECT_THROW(CpuSampler::Start(o), InputError);
  EXPECT_EQ(reader->reads.load(), 0);
}

TEST(CpuAccountingTest, ProbeReportsUserHz) {
  CpuAccountingInfo info = ProbeCpuAccounting(std::chrono::milliseconds(200));
  EXPECT_EQ(info.user_hz, sysconf(_SC_CLK_TCK));
  if (info.measured_hz > 0 && info.config_hz > 0) {
    EXPECT_NEAR(info.measured_hz, info.config_hz, info.config_hz * 0.15);
  }
  nlohmann::json j = ToJson(info);
  EXPECT_TRUE(j.contains("measured_hz"));
  EXPECT_TRUE(j.contains("irq_time_accounting"));
}

}  // namespace
}  // namespace nfb::collectors
