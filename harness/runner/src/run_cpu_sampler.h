// Per-domain CPU sampled over a whole run, for workloads whose steps are too short to sample
// each on its own (ping). Started after provisioning, stopped before teardown; each row is given
// to the step it was taken in (cpu_rows_by_step.h) and goes to cpu.csv like the flood driver's
// per-step rows. On Xen this is what makes xentop's series cover dom0 and every guest for the
// run's whole duration.
#pragma once

#include <chrono>
#include <filesystem>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cpu_rows_by_step.h"
#include "nfb/collectors/domain_cpu_sampler.h"
#include "nfb/runner/cpu_sampling.h"
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

  // Stops the sampler and writes rows and summary out. A sampler that failed (xentop died) is
  // recorded in the context and logged, and does not fail the run: the workload's own results
  // stand without it. Idempotent.
  void Finish();

 private:
  double Now() const;
  // Starts a sampler for the next segment of the series (segment 1 keeps its raw output in
  // raw_dir, later ones in raw_dir/cpu-segment-<n>).
  void StartSegment();
  // Moves the current sampler's rows into rows_ (on the run's clock); returns its report, or
  // nullopt with the failure recorded in the context.
  std::optional<collectors::CpuSamplerReport> EndSegment();
  // A sampler that died (xentop 4.17 was seen to segfault after 149 s) is replaced, so one
  // crash costs a gap of about a second plus xentop's start, not the rest of the run. Checked
  // every 0.5 s by watcher_ and at step boundaries. Callers hold mutex_.
  void RestartIfFailed();
  void Watch();

  DomainCpuSampling sampling_;
  DomainCpuSamplingOptions options_;
  std::filesystem::path raw_dir_;
  std::unique_ptr<collectors::DomainCpuSampler> sampler_;
  int segment_ = 0;
  double segment_start_s_ = 0;  // on the run's clock
  std::vector<collectors::CpuSeriesRow> rows_;
  std::chrono::steady_clock::time_point t0_;
  std::vector<StepWindow> windows_;
  RunRecord& record_;
  nlohmann::json& context_;
  bool finished_ = false;
  std::mutex mutex_;  // everything above, between the caller and watcher_
  std::condition_variable wake_;
  std::thread watcher_;
};

}  // namespace nfb::runner
