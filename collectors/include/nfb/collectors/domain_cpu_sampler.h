// The per-domain CPU sampler of a run, whatever the platform: the netns CpuSampler
// (cpu_sampler.h: cgroup time + attributed softirq time) or the XentopSampler on Xen
// (xentop_sampler.h: the hypervisor's count per domain, read from `xentop -b`). Both produce the
// rows of cpu_series.h, so a run can hold either behind this interface and write the same
// cpu.csv. docs/cpu-accounting.md says what each one counts.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "nfb/collectors/cpu_series.h"

namespace nfb::collectors {

// What a sampler gives back at Stop().
struct CpuSamplerReport {
  std::vector<CpuSeriesRow> rows;
  std::string method;                 // "netns" or "xentop" (DomainCpuSampler::Method())
  int intervals = 0;                  // intervals sampled (netns: each gave sources.size() + 2
                                      // rows; xentop: frames that gave rows)
  int late_readings = 0;              // readings more than half an interval after their deadline
                                      // (rows' interval_s shows the longer/shorter intervals)
  double thread_cpu_s = 0;            // CPU time of the sampler thread itself
  long user_hz = 0;                   // unit of /proc/stat (netns; 0 for xentop)
  bool stopped_by_interrupt = false;  // SIGINT/SIGTERM (cancel.h) ended sampling early
  // Method-specific facts for the step's record (xentop: argv, frames, unreadable lines, how the
  // process ended, the domains seen and when); an empty object for netns.
  nlohmann::json details = nlohmann::json::object();
};

// Everything of a report except its rows, for a step's record in context.json.
nlohmann::json SummaryJson(const CpuSamplerReport& report);

// A running per-domain CPU sampler. Implementations start sampling when they are created (their
// own Start functions) and stop at Stop(), in their destructor, or on an interrupt request.
class DomainCpuSampler {
 public:
  virtual ~DomainCpuSampler() = default;
  // "netns" or "xentop".
  virtual std::string_view Method() const = 0;
  // Rows so far (thread-safe).
  virtual std::vector<CpuSeriesRow> Rows() const = 0;
  // True once sampling ended by itself (a reading failed, xentop died: xentop 4.17 was seen to
  // segfault after minutes): no more rows come, and Stop() will throw. Lets a long-running
  // user start a new sampler and keep going. Thread-safe.
  virtual bool Failed() const = 0;
  // Stops at once (no partial interval is added) and returns everything. Call once: a second
  // call throws RunError. Throws RunError if sampling failed meanwhile (a reading failed, the
  // sampling process died); Rows() still returns what came before the failure.
  virtual CpuSamplerReport Stop() = 0;
};

}  // namespace nfb::collectors
