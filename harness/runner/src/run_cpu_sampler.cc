#include "run_cpu_sampler.h"

#include <cmath>

#include "nfb/collectors/cpu_sampler.h"
#include "nfb/core/error.h"
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
  sampler_ = sampling_.Start(options);
  // Both samplers put t = 0 at the reading Start() waited for, just before it returned.
  t0_ = std::chrono::steady_clock::now();
}

RunCpuSampler::~RunCpuSampler() {
  try {
    Finish();
  } catch (const std::exception& e) {
    log::Error("stopping the CPU sampler: {}", e.what());
  }
}

double RunCpuSampler::Now() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
}

void RunCpuSampler::BeginStep(const std::string& configuration, int repetition) {
  windows_.push_back({configuration, repetition, Now(), NAN});
}

void RunCpuSampler::EndStep() {
  if (!windows_.empty() && std::isnan(windows_.back().end_s)) windows_.back().end_s = Now();
}

void RunCpuSampler::Finish() {
  if (!sampler_) return;
  EndStep();  // a step that threw never ended
  std::unique_ptr<collectors::DomainCpuSampler> sampler = std::move(sampler_);
  nlohmann::json windows = nlohmann::json::array();
  for (const StepWindow& w : windows_) {
    windows.push_back({{"configuration", w.configuration},
                       {"repetition", w.repetition},
                       {"begin_s", w.begin_s},
                       {"end_s", w.end_s}});
  }
  context_["step_windows"] = windows;
  try {
    collectors::CpuSamplerReport cpu = sampler->Stop();
    for (auto& group : GroupCpuRowsBySteps(cpu.rows, windows_)) {
      record_.cpu.push_back(std::move(group));
    }
    context_["summary"] = collectors::SummaryJson(cpu);
  } catch (const Error& e) {
    context_["error"] = e.what();
    log::Error("CPU sampling failed, the run's other results stand: {}", e.what());
  }
}

}  // namespace nfb::runner
