// Per-domain CPU sampled over a whole run, for workloads whose steps are too short to sample
// each on its own (ping). Started after provisioning, stopped before teardown; each row is given
// to the step it was taken in (cpu_rows_by_step.h) and goes to cpu.csv like the flood driver's
// per-step rows. On Xen this is what makes xentop's series cover dom0 and every guest for the
// run's whole duration; a xentop that dies is replaced (restarting_cpu_sampler.h).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cpu_rows_by_step.h"
#include "nfb/runner/cpu_sampling.h"
#include "restarting_cpu_sampler.h"
#include "workload_driver.h"

namespace nfb::runner {

class RunCpuSampler {
 public:
  // Starts sampling at the scenario's interval; xen keeps xentop's output in raw_dir. The rows
  // and the sampler's summary go to `record` and `context` when it finishes, also when the run
  // fails half way (the destructor finishes it), so nothing sampled is lost.
  RunCpuSampler(const platform::Platform& platform, const scenario::Scenario& scenario,
                const std::filesystem::path& raw_dir, RunRecord& record, nlohmann::json& context);
  ~RunCpuSampler();
  RunCpuSampler(const RunCpuSampler&) = delete;
  RunCpuSampler& operator=(const RunCpuSampler&) = delete;

  void BeginStep(const std::string& configuration, int repetition);
  void EndStep();

  // Stops sampling and writes rows and summary out. A sampler that failed is recorded in the
  // context ("error", and per segment) and logged, and does not fail the run: the workload's own
  // results stand without it. Idempotent.
  void Finish();

 private:
  double Now() const;

  DomainCpuSampling sampling_;
  std::optional<RestartingCpuSampler> sampler_;
  std::vector<StepWindow> windows_;
  RunRecord& record_;
  nlohmann::json& context_;
};

}  // namespace nfb::runner
