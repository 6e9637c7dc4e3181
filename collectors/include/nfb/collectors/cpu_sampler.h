// Per-domain CPU sampling on the emulated Xen host: the netns equivalent of `xentop -b -d 1`.
//
// A domain's CPU is what its processes use plus the kernel work done for its interfaces. The
// platform confines a domain's processes to its cgroup (cpuset = its CPUs) and steers its
// interfaces' receive processing onto the same CPUs with RPS (docs/platform-netns.md), so:
//   process time  = the cgroup's CPU time (cpuacct.usage on v1, cpu.stat usage_usec on v2), ns;
//   kernel time   = irq + softirq ticks of the domain's CPUs in /proc/stat; a CPU used by one
//                   source only is wholly its own; a CPU shared by several sources is split in
//                   proportion to the packets their interfaces received in the interval (a
//                   source with n CPUs weighs packets/n on each), and goes to "unattributed" when
//                   none received any.
// External hosts (load generator, attacker) are sources of kind kExternal: never domains, but
// sampled like them, so that their CPU, which shares dom0's CPU on a 2-CPU machine, is reported
// on its own row instead of silently landing in dom0's. docs/cpu-accounting.md says exactly what
// is and is not counted, with the resolution of each counter.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "nfb/collectors/cpu_series.h"
#include "nfb/collectors/domain_cpu_sampler.h"

namespace nfb::collectors {

// An interface whose received packets weigh a source's share of a shared CPU.
struct NetInterface {
  std::string netns;  // named network namespace (ip netns); empty = the sampler's own
  std::string name;   // device name inside it
};

enum class CpuSourceKind { kDomain, kExternal };

// What the sampler needs to know about one domain or external host: plain data, so any platform
// can fill it (CpuSourcesFromPlatformDescription does for the netns platform).
struct CpuSource {
  std::string name;
  CpuSourceKind kind = CpuSourceKind::kDomain;
  // The domain's cgroup directories (the parents of HostInfo::cgroup_procs): the first one with
  // cpuacct.usage (v1) or cpu.stat usage_usec (v2) is read. Empty: process time not measured.
  std::vector<std::filesystem::path> cgroup_dirs;
  // Real CPU numbers its kernel receive work is steered to (HostInfo::cpus). Empty: no kernel
  // time is attributed to it.
  std::vector<int> cpus;
  // The devices whose receive work runs on `cpus` (its RPS-steered devices) plus the switch port
  // its own NIC sends into (the emulated wire runs on the sender's CPU).
  std::vector<NetInterface> interfaces;
};

// One CPU's line of /proc/stat, in USER_HZ ticks.
struct CpuTicks {
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
};

// Everything read at one instant.
struct CpuSnapshot {
  int64_t monotonic_ns = 0;      // CLOCK_MONOTONIC when the reading started
  std::map<int, CpuTicks> cpus;  // per CPU ("cpuN" lines), by CPU number
  struct Source {
    std::optional<uint64_t> process_ns;  // cumulative cgroup CPU time; nullopt = unreadable or
                                         // no cgroup
    std::vector<std::optional<uint64_t>> rx_packets;  // cumulative, per CpuSource::interfaces
                                                      // entry; nullopt = interface not found
  };
  std::vector<Source> sources;  // parallel to the sources
};

struct AttributionParams {
  int64_t start_ns = 0;  // monotonic time t_s counts from
  long user_hz = 100;    // unit of /proc/stat (sysconf(_SC_CLK_TCK))
};

// The pure part of the sampler: the rows of one interval from two consecutive snapshots. Returns
// one row per source (in order), then "unattributed" (kernel time of sampled CPUs nobody got),
// then "total" (the union of the sources' CPUs: sums of every row, capacity and busy time, and
// the sanity flags over_capacity / exceeds_busy). A counter that went down (reset, wrap) counts
// as 0 for the interval and flags counter_reset; a missing interface or CPU counts as 0 and is
// flagged. Returns no rows when the interval is not positive.
// Throws InputError if the snapshots do not match the sources (count of sources or interfaces).
std::vector<CpuSeriesRow> AttributeCpu(const std::vector<CpuSource>& sources,
                                       const CpuSnapshot& before, const CpuSnapshot& after,
                                       const AttributionParams& params);

// Tolerance of the sanity checks, in percentage points per CPU: tick sampling at HZ=250 and the
// 10 ms unit of /proc/stat make an honest reading overshoot by a few points now and then.
inline constexpr double kCheckTolerancePercentPerCpu = 5.0;

// "cpuN ..." lines of /proc/stat text. Lines with fewer than 8 numbers are skipped.
std::map<int, CpuTicks> ParseProcStat(std::string_view text);
// /proc/net/dev text: device -> received packets.
std::map<std::string, uint64_t> ParseNetDevRxPackets(std::string_view text);

// Reads snapshots; an interface so tests can substitute synthetic counters.
class CpuCounterReader {
 public:
  virtual ~CpuCounterReader() = default;
  // Throws RunError if /proc/stat cannot be read; missing cgroups, namespaces and interfaces are
  // reported as nullopt in the snapshot instead (a domain may stop or restart mid-run).
  virtual CpuSnapshot Read(const std::vector<CpuSource>& sources) = 0;
};

// Reads /proc/stat, the cgroup files, and /proc/thread-self/net/dev inside each namespace
// (entered with setns for the read: /sys/class/net would show the host's devices, not the
// namespace's). Entering a namespace needs CAP_SYS_ADMIN; without it the interfaces read as
// missing.
std::unique_ptr<CpuCounterReader> MakeProcCpuCounterReader();

struct CpuSamplerOptions {
  std::vector<CpuSource> sources;
  std::chrono::milliseconds interval{1000};
  // Called on the sampler thread with each interval's rows. Optional; keep it short.
  std::function<void(const std::vector<CpuSeriesRow>&)> on_interval;
  // Null: MakeProcCpuCounterReader().
  std::shared_ptr<CpuCounterReader> reader;
};

// Samples every `interval` on its own thread, at fixed deadlines (start + k x interval, so no
// drift), until Stop(), the destructor, or an interrupt request (cancel.h). The report
// (CpuSamplerReport, domain_cpu_sampler.h) has method "netns" and no details.
class CpuSampler final : public DomainCpuSampler {
 public:
  // Validates the options, takes the first snapshot (t = 0) and starts the thread.
  // Throws InputError for bad options (no sources, duplicate or reserved names, interval < 10 ms,
  // negative CPUs), RunError if the first reading fails.
  static std::unique_ptr<CpuSampler> Start(CpuSamplerOptions options);

  std::string_view Method() const override { return "netns"; }

  // Rows so far (thread-safe).
  std::vector<CpuSeriesRow> Rows() const override;
  bool Failed() const override { return failed_; }

  // Stops at once (no partial interval is added) and returns everything. Call once. Throws
  // RunError if a reading failed on the sampler thread (Rows() keeps what came before).
  CpuSamplerReport Stop() override;

  ~CpuSampler() override;  // stops without a report if Stop() was not called
  CpuSampler(const CpuSampler&) = delete;
  CpuSampler& operator=(const CpuSampler&) = delete;

 private:
  CpuSampler() = default;
  void Run();
  void Shutdown();

  CpuSamplerOptions options_;
  AttributionParams params_;
  CpuSnapshot last_;
  std::thread thread_;
  int wake_fd_ = -1;  // eventfd: Stop() -> sampler thread
  bool stopped_ = false;
  mutable std::mutex mutex_;  // guards report_.rows
  CpuSamplerReport report_;
  std::string thread_error_;  // written by the thread, read after join
  std::atomic<bool> failed_{false};  // set with thread_error_, readable any time
};

// The sources of a netns platform run, from Platform::Describe() (the "hosts" array: name, role,
// netns, cpus, cgroups, rps_cpus, nic.switch_port or switch_port; and "switch".netns): dom0 and
// guests as domains, external hosts as kExternal; each with its cgroups, its CPUs, its
// RPS-steered devices in its namespace and, for dom0 and external hosts, its switch port in the
// switch's namespace. Throws InputError if the description lacks these keys.
std::vector<CpuSource> CpuSourcesFromPlatformDescription(const nlohmann::json& description);

// How this kernel accounts CPU time, for the results' context.
struct CpuAccountingInfo {
  long user_hz = 0;        // /proc/stat unit (sysconf(_SC_CLK_TCK))
  double measured_hz = 0;  // jiffies per second over the probe window (/proc/timer_list,
                           // root only); 0 if not measured
  int config_hz = 0;       // CONFIG_HZ from /proc/config.gz or /boot/config-*; 0 unknown
  std::string irq_time_accounting = "unknown";  // CONFIG_IRQ_TIME_ACCOUNTING: "y", "n", "unknown"
  std::string nohz = "unknown";                 // "idle", "full", "periodic", "unknown"
};
// Measures the tick rate over `window` (sleeps that long) and reads the kernel config if present.
CpuAccountingInfo ProbeCpuAccounting(
    std::chrono::milliseconds window = std::chrono::milliseconds(500));
nlohmann::json ToJson(const CpuAccountingInfo& info);
nlohmann::json ToJson(const CpuSource& source);

}  // namespace nfb::collectors
