#include "nfb/runner/run.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <variant>

#include "nfb/core/cancel.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/core/subprocess.h"
#include "nfb/nf/install.h"
#include "nfb/platform/platform.h"
#include "nfb/platform/xen_platform.h"
#include "nfb/report/comparison.h"
#include "nfb/report/context.h"
#include "nfb/report/results_dir.h"
#include "nfb/report/tables.h"
#include "nfb/report/xen_context.h"
#include "nfb/runner/prerequisites.h"
#include "nfb/workloads/udp_sink.h"
#include "run_cpu_sampler.h"
#include "workload_driver.h"

namespace nfb::runner {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using scenario::Configuration;
using scenario::Scenario;

// One measured configuration x repetition, in the order it ran.
struct Step {
  const Configuration* config;
  int repetition;  // 1-based
};

std::vector<Step> PlanSteps(const Scenario& s) {
  std::vector<Step> steps;
  if (s.order == scenario::Order::kInterleaved) {
    // Interleaving spreads slow drifts of the host (thermal, background load) over every
    // configuration instead of biasing whichever ran last.
    for (int rep = 1; rep <= s.repetitions; ++rep) {
      for (const Configuration& c : s.configurations) steps.push_back({&c, rep});
    }
  } else {
    for (const Configuration& c : s.configurations) {
      for (int rep = 1; rep <= s.repetitions; ++rep) steps.push_back({&c, rep});
    }
  }
  return steps;
}

json ReportSpecJson(const scenario::ReportSpec& r) {
  json ref = json::object();
  for (const auto& [name, value] : r.reference) ref[name] = value;
  return {{"metric", r.metric},         {"unit", r.unit},        {"baseline", r.baseline},
          {"statistic", r.statistic},   {"reference", ref}};
}

class ScenarioRun {
 public:
  ScenarioRun(scenario::LoadedScenario loaded, const RunOptions& options)
      : loaded_(std::move(loaded)),
        s_(loaded_.scenario),
        options_(options),
        driver_(MakeDriver(s_)) {}

  // Returns the results directory.
  fs::path Execute();

 private:
  void MeasureStep(platform::Platform& platform, const report::ResultsDir& dir, const Step& step);
  void WriteResults(const report::ResultsDir& dir, const std::string& status,
                    const std::string& error);

  scenario::LoadedScenario loaded_;
  const Scenario& s_;
  const RunOptions& options_;
  std::unique_ptr<WorkloadDriver> driver_;
  json context_;
  RunRecord record_;
  RunCpuSampler* run_cpu_ = nullptr;  // while the run samples CPU across its steps
};

void ScenarioRun::MeasureStep(platform::Platform& platform, const report::ResultsDir& dir,
                              const Step& step) {
  const Configuration& config = *step.config;
  fs::path raw = dir.Raw(config.name, step.repetition);

  if (config.stop_guests) platform.StopGuests();
  // Guests come back even when this step fails, so the next configuration sees them.
  struct GuestRestart {
    platform::Platform& p;
    bool active;
    ~GuestRestart() {
      if (!active) return;
      try {
        p.StartGuests();
      } catch (const std::exception& e) {
        log::Error("restarting guests: {}", e.what());
      }
    }
  } restart{platform, config.stop_guests};

  std::unique_ptr<nf::InstalledFunction> installed = nf::Install(s_, config, platform, raw);
  json entry = {
      {"configuration", config.name},
      {"repetition", step.repetition},
      {"target", config.target},
      {"stop_guests", config.stop_guests},
      {"install", installed->Describe()},
      {"raw", fs::relative(raw, dir.root()).string()},
  };
  StepContext context{s_, config, step.repetition, platform, dir, raw, *installed, record_, entry};
  if (run_cpu_) run_cpu_->BeginStep(config.name, step.repetition);
  try {
    driver_->MeasureStep(context);
    if (run_cpu_) run_cpu_->EndStep();
  } catch (...) {
    // What the step measured before it failed stays in the context.
    entry["failed"] = true;
    record_.steps.push_back(std::move(entry));
    throw;
  }
  entry["program_counters"] = installed->Counters();
  installed.reset();
  record_.steps.push_back(std::move(entry));
}

void ScenarioRun::WriteResults(const report::ResultsDir& dir, const std::string& status,
                               const std::string& error) {
  context_["status"] = status;
  if (!error.empty()) context_["error"] = error;
  context_["finished"] = report::UtcNowIso8601();
  context_["steps"] = record_.steps;
  driver_->AddContext(context_);

  std::ostringstream samples, summary, accounting, comparison;
  report::WriteSamplesCsv(samples, record_.samples);
  std::vector<report::SummaryRow> rows = report::Summarize(record_.samples);
  report::WriteSummaryCsv(summary, rows);
  report::WriteAccountingCsv(accounting, record_.accounting);
  std::vector<report::ComparisonRow> compared = report::Compare(rows, s_.report);
  report::WriteComparisonCsv(comparison, compared);
  dir.WriteFile("samples.csv", samples.str());
  dir.WriteFile("summary.csv", summary.str());
  dir.WriteFile("accounting.csv", accounting.str());
  dir.WriteFile("comparison.csv", comparison.str());
  if (!record_.series.empty()) {
    std::ostringstream series;
    report::WriteSeriesCsv(series, record_.series);
    dir.WriteFile("series.csv", series.str());
  }
  if (!record_.cpu.empty()) {
    std::ostringstream cpu;
    collectors::CpuSeriesCsvWriter writer(cpu, {"configuration", "repetition"});
    for (const auto& [keys, rows] : record_.cpu) writer.Write(rows, keys);
    dir.WriteFile("cpu.csv", cpu.str());
  }
  dir.WriteFile("context.json", context_.dump(2) + "\n");

  if (!compared.empty()) {
    std::string table = report::FormatComparison(compared, s_.report.baseline);
    table += report::EmulationNote(context_);  // under QEMU/TCG only the ratios compare
    dir.WriteFile("comparison.txt", table);
    fmt::print("\n{}\n{}", s_.name, table);
  }
}

// The platform by name; touches nothing yet (InputError for bad options or topologies).
std::unique_ptr<platform::Platform> MakePlatform(const RunOptions& options,
                                                 const scenario::Topology& topology,
                                                 const platform::RunId& run_id) {
  if (options.platform == "xen") {
    platform::XenPlatformOptions xen = platform::XenPlatformOptions::FromEnvironment();
    if (!options.inventory.empty()) xen.inventory = platform::LoadInventory(options.inventory);
    for (const fs::path& tool : nf::GuestTools()) xen.guest_files.push_back(tool.string());
    // The flood scenarios' receiving application runs in the target guest.
    xen.guest_files.push_back(workloads::UdpSinkBinary().string());
    return platform::MakeXenPlatform(topology, run_id, xen);
  }
  return platform::MakeNetnsPlatform(topology, run_id);
}

// What a real Xen host says about itself (version, kernels, emulation), from dom0.
json XenContext(const platform::Platform& platform, const scenario::Topology& topology) {
  report::XenContextOptions o;
  for (const scenario::GuestSpec& g : topology.guests) o.guests.push_back(g.name);
  o.guest_kernel = [&platform](const std::string& guest) {
    return RunChecked(platform.Command(guest, {"uname", "-r"}), std::chrono::seconds(60)).out;
  };
  return report::CollectXenContext(o);
}

// NIC offloads of a host's interface: ethtool in the host's namespace, or nothing for hosts
// reached over SSH (none of the hosts whose offloads are recorded is one so far).
json NicOffloads(const platform::Platform& platform, const std::string& host) {
  const platform::HostInfo& info = platform.Host(host);
  if (!info.IsLocal()) return {{"error", "not collected: the host is reached over SSH"}};
  return report::CollectNicOffloads(info.netns, info.interface);
}

fs::path ScenarioRun::Execute() {
  for (const Configuration& c : s_.configurations) nf::CheckInstallable(s_, c);
  CheckRunPrerequisites(s_, options_.platform);

  platform::CleanupReport stale = platform::CleanupStale();
  for (const std::string& what : stale.removed) log::Warn("removed state of a dead run: {}", what);

  platform::RunId run_id = platform::RunId::Generate();
  std::unique_ptr<platform::Platform> platform = MakePlatform(options_, s_.topology, run_id);
  report::ResultsDir dir = report::ResultsDir::Create(options_.out, s_.name, run_id.hex);
  dir.WriteFile("scenario.resolved.yaml", loaded_.resolved_yaml);
  log::Info("{}: run {} -> {}", s_.name, run_id.hex, dir.root().string());

  context_ = {
      {"schema_version", report::kResultsSchemaVersion},
      {"nfbench_version", NFB_VERSION},
      {"run_id", run_id.hex},
      {"started", report::UtcNowIso8601()},
      {"scenario", {{"name", s_.name}, {"file", loaded_.source}, {"profile", loaded_.profile},
                    {"overrides", options_.load.overrides},
                    {"sha256", report::Sha256Hex(loaded_.resolved_yaml)},
                    {"report", ReportSpecJson(s_.report)}}},
      {"host", report::CollectHostContext()},
      {"tools", report::CollectToolVersions()},
      {"git", report::CollectGitState()},
  };

  std::string status = "completed";
  std::string error;
  std::optional<Error> failure;
  try {
    struct Teardown {
      platform::Platform& p;
      ~Teardown() { p.Teardown(); }
    } teardown{*platform};

    auto t0 = std::chrono::steady_clock::now();
    platform->Provision();
    log::Info("provisioned the {} platform in {:.1f} s", platform->Name(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    context_["platform"] = platform->Describe();
    context_["platform"]["name"] = platform->Name();
    json offloads = json::object();
    for (const std::string& host : driver_->TrafficHosts()) {
      offloads[host] = NicOffloads(*platform, host);
    }
    offloads["dom0:" + platform->Dom0NicInterface()] =
        report::CollectNicOffloads(platform->Dom0Netns(), platform->Dom0NicInterface());
    context_["nic_offloads"] = offloads;
    if (platform->Name() == "xen") context_["xen"] = XenContext(*platform, s_.topology);

    driver_->Prepare(*platform, dir);
    // Declared after `teardown`, so it stops (and keeps its rows) before the platform goes.
    std::optional<RunCpuSampler> run_cpu;
    if (s_.cpu_sampling.enabled && !driver_->SamplesCpuPerStep()) {
      run_cpu.emplace(*platform, s_, dir.File("raw"), record_, context_["cpu_sampling"]);
      run_cpu_ = &*run_cpu;
    }
    struct ForgetSampler {
      RunCpuSampler*& p;
      ~ForgetSampler() { p = nullptr; }
    } forget{run_cpu_};

    std::vector<Step> steps = PlanSteps(s_);
    for (size_t i = 0; i < steps.size(); ++i) {
      ThrowIfInterrupted();
      log::Info("[{}/{}] {} (repetition {}/{}): {}", i + 1, steps.size(), steps[i].config->name,
                steps[i].repetition, s_.repetitions, driver_->Describe());
      MeasureStep(*platform, dir, steps[i]);
    }
  } catch (const InterruptedError& e) {
    status = "interrupted";
    error = e.what();
    failure.emplace(e);
  } catch (const Error& e) {
    status = "failed";
    error = e.what();
    failure.emplace(e);
  } catch (const std::exception& e) {
    status = "failed";
    error = e.what();
    failure.emplace(RunError(e.what()));
  }
  log::Info("tore down the {} platform", platform->Name());

  WriteResults(dir, status, error);
  if (failure) {
    log::Info("{}: {}; partial results in {}", s_.name, status, dir.root().string());
    throw *failure;
  }
  if (options_.plot) {
    try {
      PlotRun(dir.root());
    } catch (const Error& e) {
      log::Error("{}", e.what());
      throw;
    }
  }
  return dir.root();
}

void PrintPlan(const scenario::LoadedScenario& loaded) {
  const Scenario& s = loaded.scenario;
  std::unique_ptr<WorkloadDriver> driver = MakeDriver(s);
  std::vector<Step> steps = PlanSteps(s);
  fmt::print("scenario {} ({}), profile '{}'\n", s.name, loaded.source,
             loaded.profile.empty() ? "(none)" : loaded.profile);
  for (size_t i = 0; i < steps.size(); ++i) {
    const Configuration& c = *steps[i].config;
    fmt::print("  {:>3}. {:<14} rep {}  target {:<8} install {}\n", i + 1, c.name,
               steps[i].repetition, c.target,
               c.install ? fmt::format("{} at {}", c.install->program,
                                       scenario::ToString(c.install->at))
                         : "none");
  }
  fmt::print("  workload: {}; about {:.0f} s of traffic in all\n", driver->Describe(),
             driver->StepSeconds() * steps.size());
}

}  // namespace

void PlotRun(const fs::path& run_dir) {
  ProcessSpec spec;
  spec.argv = {"/usr/bin/python3", std::string(NFB_SOURCE_DIR) + "/plots/plot_run.py",
               run_dir.string()};
  ProcessResult r = RunProcess(spec, std::chrono::minutes(5));
  if (r.exit_code != 0) {
    throw RunError("plotting failed: " + (r.err.empty() ? r.out : r.err));
  }
  std::istringstream paths(r.out);
  std::string line;
  while (std::getline(paths, line)) {
    if (!line.empty()) fmt::print("figure: {}\n", line);
  }
}

int RunScenarios(const RunOptions& options) {
  if (options.platform != "netns" && options.platform != "xen") {
    throw InputError("unknown platform '" + options.platform + "' (known: netns, xen)");
  }
  if (!options.inventory.empty()) {  // checked before anything runs, like the scenarios
    if (options.platform != "xen") throw InputError("--inventory needs --platform xen");
    platform::LoadInventory(options.inventory);
  }
  // Every file is loaded and checked before anything runs: a typo in the third scenario
  // should not surface after the first two ran for an hour.
  std::vector<scenario::LoadedScenario> loaded;
  for (const fs::path& path : options.scenarios) {
    loaded.push_back(scenario::LoadScenarioFile(path, options.load));
  }
  if (options.dry_run) {
    for (const auto& l : loaded) {
      for (const Configuration& c : l.scenario.configurations) nf::CheckInstallable(l.scenario, c);
      PrintPlan(l);
    }
    return 0;
  }
  InterruptScope interrupts;
  std::vector<fs::path> runs;
  for (auto& l : loaded) {
    ScenarioRun run(std::move(l), options);
    runs.push_back(run.Execute());
  }
  for (const fs::path& r : runs) fmt::print("results: {}\n", r.string());
  return 0;
}

}  // namespace nfb::runner
