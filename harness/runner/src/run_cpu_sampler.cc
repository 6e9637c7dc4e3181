#include "run_cpu_sampler.h"

#include <cmath>

#include "nfb/core/log.h"

namespace nfb::runner {

RunCpuSampler::RunCpuSampler(const platform::Platform& platform,
                             const scenario::Scenario& scenario,
                             const std::filesystem::path& raw_dir, RunRecord& record,
                             nlohmann::json& context)
    : sampling_(DomainCpuSampling::ForPlatform(platform, scenario.topology)),
      record_(record),
      context_(context) {
  DomainCpuSamplingOptions options;
  options.interval = std::chrono::milliseconds(
      static_cast<int64_t>(std::llround(scenario.cpu_sampling.interval_s * 1000)));
  options.raw_dir = raw_dir;
  context_ = sampling_.Describe();
  context_["enabled"] = true;
  context_["scope"] = "run";  // one series for the whole run, rows labelled by step
  context_["interval_s"] = scenario.cpu_sampling.interval_s;
  sampler_.emplace(sampling_, options);
}

RunCpuSampler::~RunCpuSampler() {
  try {
    Finish();
  } catch (const std::exception& e) {
    log::Error("stopping the CPU sampler: {}", e.what());
  }
}

double RunCpuSampler::Now() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - sampler_->t0()).count();
}

void RunCpuSampler::BeginStep(const std::string& configuration, int repetition) {
  if (sampler_) windows_.push_back({configuration, repetition, Now(), NAN});
}

void RunCpuSampler::EndStep() {
  if (sampler_ && !windows_.empty() && std::isnan(windows_.back().end_s)) {
    windows_.back().end_s = Now();
  }
}

void RunCpuSampler::Finish() {
  if (!sampler_) return;
  EndStep();  // a step that threw never ended
  RestartingCpuSampler::Result result = sampler_->Stop();
  sampler_.reset();
  nlohmann::json windows = nlohmann::json::array();
  for (const StepWindow& w : windows_) {
    windows.push_back({{"configuration", w.configuration},
                       {"repetition", w.repetition},
                       {"begin_s", w.begin_s},
                       {"end_s", w.end_s}});
  }
  context_["step_windows"] = windows;
  context_["segments"] = result.segments;
  // The last clean segment's summary (argv, frames, how xentop ended).
  if (result.last_report) context_["summary"] = collectors::SummaryJson(*result.last_report);
  if (!result.first_error.empty()) {
    context_["error"] = result.first_error;
    log::Error("CPU sampling failed at least once, the run's other results stand: {}",
               result.first_error);
  }
  for (auto& group : GroupCpuRowsBySteps(result.rows, windows_)) {
    record_.cpu.push_back(std::move(group));
  }
}

}  // namespace nfb::runner
