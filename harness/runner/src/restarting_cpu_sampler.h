// A per-domain CPU sampler that replaces itself when it dies. xentop 4.17 segfaults now and then
// in the lab (once after 149 s of a ping run, within seconds of a flood starting in others); a
// watcher thread notices within 0.5 s (DomainCpuSampler::Failed) and starts a new sampler, so a
// crash costs a gap of about a second plus xentop's start-up instead of the rest of the series.
// Used per step by the flood driver and for a whole run by RunCpuSampler.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "nfb/collectors/domain_cpu_sampler.h"
#include "nfb/runner/cpu_sampling.h"

namespace nfb::runner {

class RestartingCpuSampler {
 public:
  // What all segments gave.
  struct Result {
    // Every segment's rows, on the first segment's clock (t = 0 when the first sampler started).
    std::vector<collectors::CpuSeriesRow> rows;
    // The last report that stopped cleanly (its summary fields), if any.
    std::optional<collectors::CpuSamplerReport> last_report;
    // Per segment: {segment, start_s, end_s, rows[, error]}.
    nlohmann::json segments = nlohmann::json::array();
    // The first segment failure's message; empty when none failed.
    std::string first_error;
  };

  // Starts the first segment now; throws as DomainCpuSampling::Start does. Later segments keep
  // their raw output in options.raw_dir/cpu-segment-<n>.
  RestartingCpuSampler(const DomainCpuSampling& sampling, DomainCpuSamplingOptions options);
  ~RestartingCpuSampler();
  RestartingCpuSampler(const RestartingCpuSampler&) = delete;
  RestartingCpuSampler& operator=(const RestartingCpuSampler&) = delete;

  // When the first segment started; t = 0 of Result::rows.
  std::chrono::steady_clock::time_point t0() const { return t0_; }

  // Stops the watcher and the current sampler. Call once.
  Result Stop();

 private:
  void Watch();
  void EndSegment();  // mutex_ held

  static constexpr int kMaxSegments = 10;  // a sampler that keeps dying is not restarted forever

  const DomainCpuSampling& sampling_;
  DomainCpuSamplingOptions options_;
  std::chrono::steady_clock::time_point t0_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool finished_ = false;
  std::unique_ptr<collectors::DomainCpuSampler> sampler_;
  Result result_;
  std::thread watcher_;
};

}  // namespace nfb::runner
