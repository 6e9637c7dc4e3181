// What differs between workloads inside a scenario run. The runner (run.cc) owns everything
// common: results directory, context, provisioning, the order of steps, stopping guests,
// installing and removing each configuration's function, partial results on failure. A driver
// measures one step on an installed configuration and adds what it measured to the record.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nfb/collectors/cpu_series.h"
#include "nfb/nf/install.h"
#include "nfb/platform/platform.h"
#include "nfb/report/results_dir.h"
#include "nfb/report/tables.h"
#include "nfb/scenario/scenario.h"

namespace nfb::runner {

// Everything a scenario run accumulates; written out even when the run fails half way, so
// nothing measured is lost.
struct RunRecord {
  std::vector<report::Sample> samples;
  std::vector<report::AccountingRow> accounting;
  std::vector<report::SeriesPoint> series;
  // CPU rows per step, keyed by {configuration, repetition} (cpu.csv's leading columns).
  std::vector<std::pair<std::vector<std::string>, std::vector<collectors::CpuSeriesRow>>> cpu;
  nlohmann::json steps = nlohmann::json::array();
};

// One configuration x repetition, installed and ready to measure.
struct StepContext {
  const scenario::Scenario& scenario;
  const scenario::Configuration& config;
  int repetition;  // 1-based
  platform::Platform& platform;
  const report::ResultsDir& dir;
  std::filesystem::path raw;     // this step's raw directory (logs, pcaps, tool output)
  nf::InstalledFunction& installed;
  RunRecord& record;
  nlohmann::json& step;  // this step's entry in context.json; the driver adds its own keys
};

class WorkloadDriver {
 public:
  virtual ~WorkloadDriver() = default;
  // Hosts whose data interfaces carry the workload's traffic (their NIC offloads are recorded).
  virtual std::vector<std::string> TrafficHosts() const = 0;
  // One line for the plan and for the progress log, e.g. "ping from loadgen, 300 + 20 probes".
  virtual std::string Describe() const = 0;
  // How long one step's traffic lasts, for the plan.
  virtual double StepSeconds() const = 0;
  // Once, on the provisioned platform, before the first step (e.g. measure the capture clock).
  virtual void Prepare(platform::Platform& /*platform*/, const report::ResultsDir& /*dir*/) {}
  // Measures one step. Throws on failure (the runner keeps what was recorded before) and
  // InterruptedError on Ctrl-C.
  virtual void MeasureStep(StepContext& step) = 0;
  // True when the driver samples per-domain CPU within each step itself (the flood workloads,
  // whose steps last minutes). Otherwise a scenario with cpu_sampling gets one sampler for the
  // whole run from the runner, its rows labelled by step (run_cpu_sampler.h).
  virtual bool SamplesCpuPerStep() const { return false; }
  // The driver's own keys in context.json (e.g. how RTTs were timed), added at the end.
  virtual void AddContext(nlohmann::json& /*context*/) const {}
};

std::unique_ptr<WorkloadDriver> MakePingDriver(const scenario::Scenario& scenario);
std::unique_ptr<WorkloadDriver> MakeFloodDriver(const scenario::Scenario& scenario);

// The driver for the scenario's workload type.
std::unique_ptr<WorkloadDriver> MakeDriver(const scenario::Scenario& scenario);

}  // namespace nfb::runner
