// Validation of the per-domain CPU sampler on the emulated Xen host (docs/cpu-accounting.md).
// Needs root (namespaces, cgroups); skipped without. Uses the ping topology: dom0 and the load
// generator on CPU 0, both guests on CPU 1 (a 2-CPU host folds larger requests onto these).
//
//  1. A busy loop in domu1 reads about one vCPU (100%); the idle guest and dom0 read near 0.
//     On a shared development machine the vCPU may be contended (other builds run on CPU 1 too):
//     the loop runs in its own session weighted as nice -20, and its own scheduler record
//     (/proc/<pid>/schedstat: time run, time waiting to run) tells how much CPU it could get; the
//     85-110% bound is checked when it waited < 10% of the time, and the sampler must agree with
//     that record in any case.
//  2. A ping flood from the load generator to domu1 raises domu1's kernel time above its idle
//     baseline; domu2, on the same CPU but receiving nothing, gets none of it; the load
//     generator's CPU is on its own "external" row, not dom0's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "nfb/collectors/cpu_sampler.h"
#include "nfb/core/cancel.h"
#include "nfb/core/log.h"
#include "nfb/core/subprocess.h"
#include "nfb/platform/netns_platform.h"
#include "platform_test_util.h"

namespace nfb::collectors {
namespace {

using std::chrono::milliseconds;

struct SchedStat {
  double run_s = 0;   // time on a CPU
  double wait_s = 0;  // time runnable but waiting for a CPU
};

SchedStat ReadSchedStat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/schedstat");
  uint64_t run = 0, wait = 0;
  in >> run >> wait;
  return {static_cast<double>(run) / 1e9, static_cast<double>(wait) / 1e9};
}

// The `sh` process in a source's cgroup (setsid, its parent, is there too).
pid_t LoopPid(const std::vector<CpuSource>& sources, const std::string& name) {
  for (const CpuSource& s : sources) {
    if (s.name != name || s.cgroup_dirs.empty()) continue;
    std::ifstream procs(s.cgroup_dirs.front() / "cgroup.procs");
    pid_t pid = 0;
    while (procs >> pid) {
      std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
      std::string command;
      if (comm >> command && command == "sh") return pid;
    }
  }
  return -1;
}

double MonotonicSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::vector<CpuSeriesRow> RowsOf(const std::vector<CpuSeriesRow>& rows, const std::string& name) {
  std::vector<CpuSeriesRow> out;
  for (const CpuSeriesRow& r : rows) {
    if (r.domain == name) out.push_back(r);
  }
  return out;
}

double Mean(const std::vector<CpuSeriesRow>& rows, double CpuSeriesRow::*field) {
  double sum = 0;
  for (const CpuSeriesRow& r : rows) sum += r.*field;
  return rows.empty() ? std::nan("") : sum / static_cast<double>(rows.size());
}

class CpuSamplerNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, cgroups)";
    if (std::getenv("NFB_TEST_DEBUG")) log::SetLevel(log::Level::kDebug);
    ClearInterrupt();
    platform_ = std::make_unique<platform::NetnsPlatform>(platform::testing::PingTopology(),
                                                          platform::RunId::Generate());
    platform_->Provision();
    sources_ = CpuSourcesFromPlatformDescription(platform_->Describe());
  }
  void TearDown() override {
    if (platform_) platform_->Teardown();
  }

  CpuSamplerReport Sample(milliseconds duration,
                          std::function<void(const std::vector<CpuSeriesRow>&)> on_interval = {}) {
    CpuSamplerOptions o;
    o.sources = sources_;
    o.on_interval = std::move(on_interval);
    auto sampler = CpuSampler::Start(o);
    SleepFor(duration);
    CpuSamplerReport report = sampler->Stop();
    std::ostringstream csv;
    WriteCpuSeriesCsv(csv, report.rows);
    std::cout << csv.str();
    return report;
  }

  std::unique_ptr<platform::NetnsPlatform> platform_;
  std::vector<CpuSource> sources_;
};

TEST_F(CpuSamplerNetnsTest, SourcesCoverEveryHostWithItsCgroupsAndDevices) {
  ASSERT_EQ(sources_.size(), 4u);
  std::map<std::string, CpuSource> by_name;
  for (const CpuSource& s : sources_) by_name[s.name] = s;
  EXPECT_EQ(by_name.at("dom0").kind, CpuSourceKind::kDomain);
  EXPECT_EQ(by_name.at("loadgen").kind, CpuSourceKind::kExternal);
  EXPECT_EQ(by_name.at("domu1").cpus, platform_->Host("domu1").cpus);
  // peth0, vif1.0, vif2.0 in dom0, plus the NIC's switch port.
  EXPECT_EQ(by_name.at("dom0").interfaces.size(), 4u);
  CpuSnapshot snap = MakeProcCpuCounterReader()->Read(sources_);
  for (size_t i = 0; i < sources_.size(); ++i) {
    EXPECT_TRUE(snap.sources[i].process_ns.has_value()) << sources_[i].name;
    for (size_t j = 0; j < sources_[i].interfaces.size(); ++j) {
      EXPECT_TRUE(snap.sources[i].rx_packets[j].has_value())
          << sources_[i].name << " " << sources_[i].interfaces[j].netns << "/"
          << sources_[i].interfaces[j].name;
    }
  }
}

TEST_F(CpuSamplerNetnsTest, BusyLoopInAGuestReadsOneVcpu) {
  // On a shared machine every login session is its own scheduling group (autogroup) of equal
  // weight, so a loop in this test's session would get only a share of the vCPU. The loop gets
  // a session of its own, weighted as nice -20 (/proc/self/autogroup), so that it has nearly
  // the whole vCPU, as a guest has its vCPU on Xen; whatever it still waits is measured below.
  Process busy = Process::Start(platform_->Command(
      "domu1",
      {"setsid", "-w", "sh", "-c", "echo -20 > /proc/self/autogroup; while :; do :; done"}));
  SleepFor(milliseconds(300));
  pid_t loop = LoopPid(sources_, "domu1");
  ASSERT_GT(loop, 0) << "the busy loop is not in domu1's cgroup";
  // The loop's scheduler record, read next to each of the sampler's readings (the callback runs
  // on the sampler thread right after it), so both cover the same intervals.
  SchedStat s0 = ReadSchedStat(loop);
  double t0 = MonotonicSeconds();
  SchedStat s1 = s0;
  double t1 = t0;
  CpuSamplerReport report = Sample(milliseconds(5300), [&](const std::vector<CpuSeriesRow>&) {
    s1 = ReadSchedStat(loop);
    t1 = MonotonicSeconds();
  });
  double elapsed = t1 - t0;
  busy.Terminate();

  std::vector<CpuSeriesRow> domu1 = RowsOf(report.rows, "domu1");
  ASSERT_GE(domu1.size(), 4u);
  double run_percent = (s1.run_s - s0.run_s) / elapsed * 100;
  double wait_percent = (s1.wait_s - s0.wait_s) / elapsed * 100;
  double cpu = Mean(domu1, &CpuSeriesRow::cpu_percent);
  double process = Mean(domu1, &CpuSeriesRow::process_percent);
  std::cout << "busy loop in domu1: cpu " << cpu << "%, process " << process << "%, kernel "
            << Mean(domu1, &CpuSeriesRow::kernel_percent) << "%; the loop's own schedstat: ran "
            << run_percent << "%, waited for the CPU " << wait_percent << "%, steal on CPU "
            << Mean(domu1, &CpuSeriesRow::steal_percent) << "%\n";
  RecordProperty("busy_loop_cpu_percent", std::to_string(cpu));
  RecordProperty("busy_loop_wait_percent", std::to_string(wait_percent));

  // The sampler agrees with the scheduler's record of the loop, and the loop was runnable all
  // the time: whatever the vCPU gave it, it used.
  EXPECT_NEAR(process, run_percent, 3.0);
  EXPECT_NEAR(run_percent + wait_percent + Mean(domu1, &CpuSeriesRow::steal_percent), 100.0, 10.0);
  if (wait_percent < 10) {
    EXPECT_GE(cpu, 85.0);
    EXPECT_LE(cpu, 110.0);
  } else {
    std::cout << "note: CPU " << domu1.front().cpus << " was contended (the loop waited "
              << wait_percent << "% of the time); the 85-110% bound is not applicable\n";
  }
  for (const CpuSeriesRow& r : domu1) {
    EXPECT_LE(r.process_percent, 100.0 + kCheckTolerancePercentPerCpu) << "t=" << r.t_s;
  }
  // The idle guest shares the vCPU but runs nothing and receives nothing; dom0 runs nothing.
  EXPECT_LT(Mean(RowsOf(report.rows, "domu2"), &CpuSeriesRow::cpu_percent), 5.0);
  EXPECT_LT(Mean(RowsOf(report.rows, "dom0"), &CpuSeriesRow::cpu_percent), 10.0);
  for (const CpuSeriesRow& t : RowsOf(report.rows, "total")) {
    EXPECT_THAT(t.flags, ::testing::Not(::testing::HasSubstr("over_capacity"))) << "t=" << t.t_s;
  }
}

TEST_F(CpuSamplerNetnsTest, FloodRaisesTheGuestsKernelTime) {
  CpuSamplerReport idle = Sample(milliseconds(2300));

  const std::string target = platform_->Host("domu1").address;
  Process flood = Process::Start(
      platform_->Command("loadgen", {"ping", "-f", "-q", "-l", "8", "-w", "5", target}));
  SleepFor(milliseconds(300));
  CpuSamplerReport flooded = Sample(milliseconds(4300));
  std::optional<ProcessResult> r = flood.Wait(std::chrono::seconds(5));
  if (!r) r = flood.Terminate();
  std::cout << "ping -f: " << r->out << r->err;

  std::vector<CpuSeriesRow> base = RowsOf(idle.rows, "domu1");
  std::vector<CpuSeriesRow> hot = RowsOf(flooded.rows, "domu1");
  ASSERT_GE(base.size(), 2u);
  ASSERT_GE(hot.size(), 3u);
  double base_kernel = Mean(base, &CpuSeriesRow::kernel_percent);
  double hot_kernel = Mean(hot, &CpuSeriesRow::kernel_percent);
  uint64_t packets = 0;
  for (const CpuSeriesRow& row : hot) packets += row.rx_packets.value_or(0);
  // All irq + softirq of domu1's CPU while nothing was sent to it: other work on the machine
  // (on a shared development VM, other namespaces' traffic), which a domain's row absorbs as
  // soon as it is the only sharer with packets (docs/cpu-accounting.md).
  double background = 0;
  for (const CpuSeriesRow& row : base) {
    background += static_cast<double>(row.kernel_ticks.value_or(0)) * 100.0 /
                  static_cast<double>(idle.user_hz) / row.interval_s;
  }
  background /= static_cast<double>(base.size());
  std::cout << "domu1 kernel time: idle " << base_kernel << "%, flooded " << hot_kernel << "% ("
            << packets / hot.size() << " packets/s received); background irq+softirq of CPU "
            << base.front().cpus << " while idle: " << background << "%\n";
  RecordProperty("flood_kernel_percent", std::to_string(hot_kernel));
  RecordProperty("idle_kernel_percent", std::to_string(base_kernel));

  EXPECT_GT(packets / hot.size(), 1000u) << "the flood did not reach the guest";
  EXPECT_GT(hot_kernel, base_kernel + 2.0);
  // The co-tenant on the same vCPU received nothing, so it is given none of that CPU's kernel
  // time.
  EXPECT_LT(Mean(RowsOf(flooded.rows, "domu2"), &CpuSeriesRow::kernel_percent), 1.0);
  // The flooder's CPU is on its own row, as an external host.
  std::vector<CpuSeriesRow> loadgen = RowsOf(flooded.rows, "loadgen");
  ASSERT_FALSE(loadgen.empty());
  EXPECT_EQ(loadgen.front().kind, CpuRowKind::kExternal);
  EXPECT_GT(Mean(loadgen, &CpuSeriesRow::process_percent), 1.0);
  EXPECT_LT(Mean(RowsOf(flooded.rows, "dom0"), &CpuSeriesRow::process_percent), 1.0);
  // dom0 forwarded every packet (NIC, bridge, vif): it carries kernel time too.
  EXPECT_GT(Mean(RowsOf(flooded.rows, "dom0"), &CpuSeriesRow::kernel_percent), 0.0);
}

}  // namespace
}  // namespace nfb::collectors
