#include "nfb/collectors/domain_cpu_sampler.h"

namespace nfb::collectors {

nlohmann::json SummaryJson(const CpuSamplerReport& report) {
  return {{"method", report.method},
          {"intervals", report.intervals},
          {"rows", report.rows.size()},
          {"late_readings", report.late_readings},
          {"thread_cpu_s", report.thread_cpu_s},
          {"stopped_by_interrupt", report.stopped_by_interrupt},
          {"details", report.details}};
}

}  // namespace nfb::collectors
