#include "restarting_cpu_sampler.h"

#include <fmt/format.h>

#include <filesystem>

#include "nfb/core/error.h"
#include "nfb/core/log.h"

namespace nfb::runner {

namespace {
double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

RestartingCpuSampler::RestartingCpuSampler(const DomainCpuSampling& sampling,
                                           DomainCpuSamplingOptions options)
    : sampling_(sampling), options_(std::move(options)) {
  sampler_ = sampling_.Start(options_);
  // Both samplers put t = 0 at the reading Start() waited for, just before it returned.
  t0_ = std::chrono::steady_clock::now();
  result_.segments.push_back({{"segment", 1}, {"start_s", 0.0}});
  watcher_ = std::thread([this] { Watch(); });
}

RestartingCpuSampler::~RestartingCpuSampler() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    finished_ = true;
  }
  wake_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

void RestartingCpuSampler::Watch() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!finished_) {
    wake_.wait_for(lock, std::chrono::milliseconds(500));
    if (finished_ || !sampler_ || !sampler_->Failed()) continue;
    try {
      EndSegment();
      const int n = static_cast<int>(result_.segments.size()) + 1;
      if (n > kMaxSegments) {
        log::Error("CPU sampling failed {} times; no more restarts", n - 1);
        continue;
      }
      DomainCpuSamplingOptions o = options_;
      if (!o.raw_dir.empty()) {
        o.raw_dir = o.raw_dir / fmt::format("cpu-segment-{}", n);
        std::filesystem::create_directories(o.raw_dir);
      }
      sampler_ = sampling_.Start(o);
      result_.segments.push_back({{"segment", n}, {"start_s", SecondsSince(t0_)}});
      log::Warn("  CPU sampling restarted (segment {})", n);
    } catch (const std::exception& e) {
      log::Error("  CPU sampling could not restart: {}", e.what());
    }
  }
}

void RestartingCpuSampler::EndSegment() {
  if (!sampler_) return;
  std::unique_ptr<collectors::DomainCpuSampler> sampler = std::move(sampler_);
  nlohmann::json& segment = result_.segments.back();
  const double start_s = segment["start_s"].get<double>();
  segment["end_s"] = SecondsSince(t0_);
  std::vector<collectors::CpuSeriesRow> rows;
  try {
    collectors::CpuSamplerReport report = sampler->Stop();
    rows = report.rows;
    result_.last_report = std::move(report);
  } catch (const Error& e) {
    rows = sampler->Rows();  // what came before the failure
    segment["error"] = e.what();
    if (result_.first_error.empty()) result_.first_error = e.what();
    log::Warn("  CPU sampling failed after {} rows: {}", rows.size(), e.what());
  }
  segment["rows"] = rows.size();
  for (collectors::CpuSeriesRow& row : rows) {
    row.t_s += start_s;
    result_.rows.push_back(std::move(row));
  }
}

RestartingCpuSampler::Result RestartingCpuSampler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    finished_ = true;
  }
  wake_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  EndSegment();
  return std::move(result_);
}

}  // namespace nfb::runner
