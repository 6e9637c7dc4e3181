#include "run_cpu_sampler.h"

#include <fmt/format.h>

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
      raw_dir_(raw_dir),
      record_(record),
      context_(context) {
  options_.interval = std::chrono::milliseconds(
      static_cast<int64_t>(std::llround(scenario.cpu_sampling.interval_s * 1000)));
  context_ = sampling_.Describe();
  context_["enabled"] = true;
  context_["scope"] = "run";  // one series for the whole run, rows labelled by step
  context_["interval_s"] = scenario.cpu_sampling.interval_s;
  context_["segments"] = nlohmann::json::array();
  t0_ = std::chrono::steady_clock::now();
  StartSegment();
  watcher_ = std::thread([this] { Watch(); });
}

void RunCpuSampler::Watch() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!finished_) {
    wake_.wait_for(lock, std::chrono::milliseconds(500));
    if (finished_) break;
    try {
      RestartIfFailed();
    } catch (const std::exception& e) {
      log::Error("CPU sampling watcher: {}", e.what());
    }
  }
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

void RunCpuSampler::StartSegment() {
  ++segment_;
  DomainCpuSamplingOptions options = options_;
  options.raw_dir = segment_ == 1 ? raw_dir_ : raw_dir_ / fmt::format("cpu-segment-{}", segment_);
  if (segment_ > 1) std::filesystem::create_directories(options.raw_dir);
  sampler_ = sampling_.Start(options);
  // Both samplers put t = 0 at the reading Start() waited for, just before it returned.
  segment_start_s_ = Now();
}

std::optional<collectors::CpuSamplerReport> RunCpuSampler::EndSegment() {
  std::unique_ptr<collectors::DomainCpuSampler> sampler = std::move(sampler_);
  nlohmann::json segment = {{"segment", segment_}, {"start_s", segment_start_s_},
                            {"end_s", Now()}};
  std::optional<collectors::CpuSamplerReport> report;
  std::vector<collectors::CpuSeriesRow> rows;
  try {
    report = sampler->Stop();
    rows = report->rows;
  } catch (const Error& e) {
    rows = sampler->Rows();  // what came before the failure
    segment["error"] = e.what();
    log::Error("CPU sampling failed after {} rows: {}", rows.size(), e.what());
  }
  segment["rows"] = rows.size();
  context_["segments"].push_back(std::move(segment));
  for (collectors::CpuSeriesRow& row : rows) {
    row.t_s += segment_start_s_;
    rows_.push_back(std::move(row));
  }
  return report;
}

void RunCpuSampler::RestartIfFailed() {
  if (!sampler_ || !sampler_->Failed()) return;
  EndSegment();
  // A sampler that keeps dying (xentop crashing at start) is not restarted forever.
  constexpr int kMaxSegments = 10;
  if (segment_ >= kMaxSegments) {
    context_["error"] = fmt::format("gave up after {} failed segments", segment_);
    log::Error("CPU sampling failed {} times; no more restarts", segment_);
    return;
  }
  try {
    StartSegment();
    log::Warn("CPU sampling restarted (segment {})", segment_);
  } catch (const Error& e) {
    context_["error"] = fmt::format("could not restart after a failure: {}", e.what());
    log::Error("CPU sampling could not restart: {}", e.what());
  }
}

void RunCpuSampler::BeginStep(const std::string& configuration, int repetition) {
  std::lock_guard<std::mutex> lock(mutex_);
  RestartIfFailed();
  windows_.push_back({configuration, repetition, Now(), NAN});
}

void RunCpuSampler::EndStep() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!windows_.empty() && std::isnan(windows_.back().end_s)) windows_.back().end_s = Now();
  RestartIfFailed();
}

void RunCpuSampler::Finish() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_) return;
    finished_ = true;
  }
  wake_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  if (!windows_.empty() && std::isnan(windows_.back().end_s)) windows_.back().end_s = Now();
  std::optional<collectors::CpuSamplerReport> last;
  if (sampler_) last = EndSegment();
  nlohmann::json windows = nlohmann::json::array();
  for (const StepWindow& w : windows_) {
    windows.push_back({{"configuration", w.configuration},
                       {"repetition", w.repetition},
                       {"begin_s", w.begin_s},
                       {"end_s", w.end_s}});
  }
  context_["step_windows"] = windows;
  // The last segment's summary (argv, frames, how xentop ended); every segment's in "segments".
  if (last) context_["summary"] = collectors::SummaryJson(*last);
  bool any_failed = false;
  for (const nlohmann::json& seg : context_["segments"]) any_failed |= seg.contains("error");
  if (any_failed && !context_.contains("error")) {
    context_["error"] = "sampling failed at least once; see segments (rows around it are missing)";
  }
  for (auto& group : GroupCpuRowsBySteps(rows_, windows_)) record_.cpu.push_back(std::move(group));
}

}  // namespace nfb::runner
