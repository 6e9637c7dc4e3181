// Per-domain CPU time series: one row per domain per interval, as `xentop -b -d 1` gives them
// on Xen. Both producers write the same rows: the netns sampler (cpu_sampler.h), which adds up a
// domain's process and kernel time itself, and the xentop parser (xentop.h), which only knows
// the hypervisor's total. docs/cpu-accounting.md says what each column counts on each platform.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nfb::collectors {

// What a row stands for.
enum class CpuRowKind {
  kDomain,        // dom0 or a guest
  kExternal,      // a host outside the emulated Xen host (load generator, attacker): never a
                  // domain, reported so that its CPU is not mixed into dom0's on a shared CPU
  kUnattributed,  // kernel time on sampled CPUs that could not be given to anyone
  kTotal,         // the whole sampled CPU set: sums and the sanity check
};

// "domain", "external", "unattributed", "total".
std::string_view ToString(CpuRowKind kind);

// Row names of the two pseudo-rows; sources may not use them.
inline constexpr std::string_view kUnattributedRow = "unattributed";
inline constexpr std::string_view kTotalRow = "total";

inline constexpr double kNotMeasured = std::numeric_limits<double>::quiet_NaN();

// One domain (or pseudo-row) over one interval. Percentages are of one CPU over the interval's
// wall time, like xentop's CPU(%): 100 = one CPU busy all the time, 200 = two. NaN (written as
// an empty field) means "not measured on this platform", e.g. the process/kernel split on Xen.
struct CpuSeriesRow {
  double t_s = 0;         // end of the interval, seconds since sampling started
  double interval_s = 0;  // length of the interval (wall time between the two readings)
  std::string domain;     // source name, "unattributed" or "total"
  CpuRowKind kind = CpuRowKind::kDomain;
  std::string cpus;  // the CPUs whose kernel time the row draws on ("1", "0-1"); empty on Xen

  double cpu_percent = 0;                  // process_percent + kernel_percent (xentop: CPU(%))
  double process_percent = kNotMeasured;   // the domain's tasks (cgroup CPU time)
  double kernel_percent = kNotMeasured;    // irq + softirq time attributed to the domain
  double capacity_percent = kNotMeasured;  // 100 x CPUs in `cpus` (xentop: 100 x VCPUS)
  double busy_percent = kNotMeasured;      // non-idle time of `cpus`, whoever used it (/proc/stat)
  double steal_percent = kNotMeasured;     // of `cpus`: time the machine's own hypervisor took
  // Of `cpus`: wall time minus every /proc/stat column. Interrupt and softirq work done while a
  // CPU idled with its tick stopped lands here (no tick sampled it, and it is not idle time);
  // otherwise it is rounding noise of +-1-2 ticks per CPU and interval, so it can be negative.
  double unaccounted_percent = kNotMeasured;

  // Raw counters over the interval (nullopt: not measured).
  std::optional<uint64_t> process_ns;    // cgroup CPU time used
  std::optional<uint64_t> kernel_ns;     // irq + softirq time attributed (rounded)
  std::optional<uint64_t> kernel_ticks;  // irq + softirq ticks (USER_HZ) of `cpus`, before the
                                         // split between domains sharing them
  std::optional<uint64_t> rx_packets;    // received by the domain's weighing interfaces
  // Cumulative CPU seconds at the end of the interval: xentop's CPU(sec); on netns the
  // domain's cgroup usage (process time only).
  double cpu_total_s = kNotMeasured;

  // Why a value may be off, ';'-separated, sorted (see docs/cpu-accounting.md):
  // counter_reset, cpu_missing, interface_missing, process_time_missing,
  // shared_cpu_without_packets, over_capacity, exceeds_busy, first_frame.
  std::string flags;
};

// Writes the rows as CSV with a header line. Columns, in order: t_s, interval_s, domain, kind,
// cpus, cpu_percent, process_percent, kernel_percent, capacity_percent, busy_percent,
// steal_percent, unaccounted_percent, process_ns, kernel_ns, kernel_ticks, rx_packets,
// cpu_total_s, flags. Percentages have 4 decimals, times 6; not measured values are empty
// fields.
void WriteCpuSeriesCsv(std::ostream& out, const std::vector<CpuSeriesRow>& rows);

// The same for one file holding many runs: the header with leading key columns first (e.g.
// {"configuration", "repetition"}, which gives a run's cpu.csv its layout), then each block of
// rows with its key values.
class CpuSeriesCsvWriter {
 public:
  // Writes the header line.
  explicit CpuSeriesCsvWriter(std::ostream& out, std::vector<std::string> key_columns = {});
  // Throws InputError if the number of values differs from the number of key columns.
  void Write(const std::vector<CpuSeriesRow>& rows,
             const std::vector<std::string>& key_values = {});

 private:
  std::ostream& out_;
  std::vector<std::string> key_columns_;
};

// Adds `flag` to a ';'-separated, sorted flag list unless already present.
void AddFlag(std::string& flags, std::string_view flag);

}  // namespace nfb::collectors
