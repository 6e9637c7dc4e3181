#include "nfb/runner/run.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "nfb/collectors/icmp_rtt.h"
#include "nfb/collectors/json.h"
#include "nfb/collectors/pcap_capture.h"
#include "nfb/collectors/timestamp_resolution.h"
#include "nfb/core/cancel.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/core/subprocess.h"
#include "nfb/nf/install.h"
#include "nfb/platform/platform.h"
#include "nfb/report/comparison.h"
#include "nfb/report/context.h"
#include "nfb/report/results_dir.h"
#include "nfb/report/tables.h"
#include "nfb/runner/prerequisites.h"
#include "nfb/workloads/ping.h"

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

std::string TargetAddress(const platform::Platform& p, const Configuration& c) {
  return p.Host(c.target).address;
}

collectors::TimestampRequest ToCollectorRequest(scenario::TimestampRequest r) {
  switch (r) {
    case scenario::TimestampRequest::kAuto: return collectors::TimestampRequest::kAuto;
    case scenario::TimestampRequest::kAdapter: return collectors::TimestampRequest::kAdapter;
    case scenario::TimestampRequest::kAdapterUnsynced:
      return collectors::TimestampRequest::kAdapterUnsynced;
    case scenario::TimestampRequest::kHost: return collectors::TimestampRequest::kHost;
  }
  return collectors::TimestampRequest::kAuto;
}

json ReportSpecJson(const scenario::ReportSpec& r) {
  json ref = json::object();
  for (const auto& [name, value] : r.reference) ref[name] = value;
  return {{"metric", r.metric}, {"unit", r.unit}, {"baseline", r.baseline}, {"reference", ref}};
}

// Everything a scenario run accumulates; written out even when the run fails half way, so
// nothing measured is lost and the context says how far it got.
struct RunRecord {
  std::vector<report::Sample> samples;
  std::vector<report::AccountingRow> accounting;
  json steps = json::array();
  std::set<std::string> timestamp_types;
  json resolution_probe;  // the clock step measured on the capture interface before measuring
};

class ScenarioRun {
 public:
  ScenarioRun(scenario::LoadedScenario loaded, const RunOptions& options)
      : loaded_(std::move(loaded)), s_(loaded_.scenario), options_(options) {}

  // Returns the results directory.
  fs::path Execute();

 private:
  void MeasureStep(platform::Platform& platform, const report::ResultsDir& dir, const Step& step);
  void MeasureTimestampResolution(platform::Platform& platform, const report::ResultsDir& dir);
  void WriteResults(const report::ResultsDir& dir, const std::string& status,
                    const std::string& error);

  scenario::LoadedScenario loaded_;
  const Scenario& s_;
  const RunOptions& options_;
  json context_;
  RunRecord record_;
};

void ScenarioRun::MeasureStep(platform::Platform& platform, const report::ResultsDir& dir,
                              const Step& step) {
  const Configuration& config = *step.config;
  const auto& ping = std::get<scenario::PingWorkload>(s_.workload);
  fs::path raw = dir.Raw(config.name, step.repetition);
  const std::string target = TargetAddress(platform, config);
  const platform::HostInfo& loadgen = platform.Host(ping.from);
  const platform::HostInfo& capture_host = platform.Host(s_.capture->host);

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
  json install_description = installed->Describe();

  collectors::CaptureOptions capture;
  capture.netns = capture_host.netns;
  capture.interface = capture_host.interface;
  capture.filter = fmt::format("icmp and host {}", target);
  capture.snaplen = s_.capture->snaplen;
  capture.buffer_bytes = s_.capture->buffer_mb << 20;
  capture.timestamps = ToCollectorRequest(s_.capture->timestamps);
  capture.output = raw / "capture.pcap";
  auto pcap = collectors::PcapCapture::Start(capture);

  workloads::PingRun ping_run = workloads::RunPing(platform, ping, target, raw);
  // Replies to the last probes may still be in flight or in the capture ring.
  SleepFor(std::chrono::milliseconds(200));
  collectors::CaptureReport capture_report = pcap->Stop();
  json counters = installed->Counters();
  installed.reset();

  collectors::EchoRttOptions probe;
  probe.requester = loadgen.address;
  probe.target = target;
  probe.warmup = ping.warmup;
  probe.sent = ping_run.summary.transmitted;
  probe.first_sequence = ping_run.first_sequence;
  collectors::EchoRttResult analysis = collectors::AnalyzeEchoRtt(capture.output, probe);

  for (const collectors::RttSample& s : analysis.samples) {
    record_.samples.push_back({config.name, step.repetition, "rtt", s.rtt_ns / 1000.0, "us", s.t_s});
  }
  const collectors::EchoAccounting& a = analysis.accounting;
  record_.accounting.push_back(
      {config.name, step.repetition,
       {{"sent", static_cast<int64_t>(a.sent)},
        {"paired", static_cast<int64_t>(a.paired)},
        {"lost", static_cast<int64_t>(a.lost)},
        {"missing_from_capture", static_cast<int64_t>(a.missing_from_capture)},
        {"replies_without_request", static_cast<int64_t>(a.replies_without_request)},
        {"duplicate_requests", static_cast<int64_t>(a.duplicate_requests)},
        {"duplicate_replies", static_cast<int64_t>(a.duplicate_replies)},
        {"warmup_probes", static_cast<int64_t>(ping.warmup)},
        {"pinger_transmitted", static_cast<int64_t>(ping_run.summary.transmitted)},
        {"pinger_received", static_cast<int64_t>(ping_run.summary.received)},
        {"capture_received", static_cast<int64_t>(capture_report.ps_recv)},
        {"capture_dropped", static_cast<int64_t>(capture_report.ps_drop)},
        {"capture_if_dropped", static_cast<int64_t>(capture_report.ps_ifdrop)}}});
  record_.timestamp_types.insert(capture_report.timestamp_type);

  record_.steps.push_back({
      {"configuration", config.name},
      {"repetition", step.repetition},
      {"target", config.target},
      {"target_address", target},
      {"stop_guests", config.stop_guests},
      {"install", install_description},
      {"program_counters", counters},
      {"workload", {{"tool", "ping"}, {"argv", ping_run.argv}, {"duration_s", ping_run.duration_s},
                    {"transmitted", ping_run.summary.transmitted},
                    {"received", ping_run.summary.received},
                    {"duplicates", ping_run.summary.duplicates}}},
      {"capture", collectors::ToJson(capture_report)},
      {"raw", fs::relative(raw, dir.root()).string()},
  });

  size_t n = analysis.samples.size();
  std::vector<double> rtts;
  rtts.reserve(n);
  for (const auto& s : analysis.samples) rtts.push_back(s.rtt_ns / 1000.0);
  Summary summary = nfb::Summarize(std::move(rtts));
  log::Info("  {} rep {}: n={} median {:.3f} us | sent {} paired {} lost {} missing from capture "
            "{} | capture drops {}",
            config.name, step.repetition, n, summary.median, a.sent, a.paired, a.lost,
            a.missing_from_capture, capture_report.ps_drop + capture_report.ps_ifdrop);
  if (a.missing_from_capture > 0 || capture_report.ps_drop > 0) {
    log::Warn("the capture missed probes in '{}': the RTT sample may be biased", config.name);
  }
}

// RTTs of a few microseconds are only a few hundred clock steps, so the step is measured, not
// assumed: a burst of frames with random gaps, sent and captured on the capture interface itself
// (ping's regular 1 ms spacing cannot reveal it). The frames carry a private EtherType and go to
// their own source MAC, so the switch learns it and forwards at most the first one.
void ScenarioRun::MeasureTimestampResolution(platform::Platform& platform,
                                             const report::ResultsDir& dir) {
  const platform::HostInfo& host = platform.Host(s_.capture->host);
  collectors::ResolutionProbeOptions probe;
  probe.netns = host.netns;
  probe.interface = host.interface;
  probe.timestamps = ToCollectorRequest(s_.capture->timestamps);
  probe.output = dir.File("raw") / "timestamp-probe.pcap";
  collectors::ResolutionProbeResult r = collectors::ProbeTimestampResolution(probe);
  record_.resolution_probe = {{"interface", s_.capture->host + ":" + host.interface},
                              {"packets_sent", r.packets_sent},
                              {"capture", collectors::ToJson(r.capture)},
                              {"resolution", collectors::ToJson(r.resolution)}};
}

void ScenarioRun::WriteResults(const report::ResultsDir& dir, const std::string& status,
                               const std::string& error) {
  context_["status"] = status;
  if (!error.empty()) context_["error"] = error;
  context_["finished"] = report::UtcNowIso8601();
  context_["steps"] = record_.steps;
  context_["timestamps"] = {
      {"types_used", std::vector<std::string>(record_.timestamp_types.begin(),
                                              record_.timestamp_types.end())},
      {"resolution_ns", record_.resolution_probe.is_null()
                            ? json(nullptr)
                            : record_.resolution_probe["resolution"]["resolution_ns"]},
      {"resolution_probe", record_.resolution_probe},
  };

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
  dir.WriteFile("context.json", context_.dump(2) + "\n");

  if (!compared.empty()) {
    std::string table = report::FormatComparison(compared, s_.report.baseline);
    dir.WriteFile("comparison.txt", table);
    fmt::print("\n{}\n{}", s_.name, table);
  }
}

fs::path ScenarioRun::Execute() {
  for (const Configuration& c : s_.configurations) nf::CheckInstallable(s_, c);
  CheckRunPrerequisites(s_);

  platform::CleanupReport stale = platform::CleanupStale();
  for (const std::string& what : stale.removed) log::Warn("removed state of a dead run: {}", what);

  platform::RunId run_id = platform::RunId::Generate();
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

  std::unique_ptr<platform::Platform> platform =
      platform::MakeNetnsPlatform(s_.topology, run_id);
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
    const auto& ping = std::get<scenario::PingWorkload>(s_.workload);
    context_["nic_offloads"] = {
        {ping.from, report::CollectNicOffloads(platform->Host(ping.from).netns,
                                               platform->Host(ping.from).interface)},
        {"dom0:" + platform->Dom0NicInterface(),
         report::CollectNicOffloads(platform->Dom0Netns(), platform->Dom0NicInterface())},
    };

    MeasureTimestampResolution(*platform, dir);

    std::vector<Step> steps = PlanSteps(s_);
    for (size_t i = 0; i < steps.size(); ++i) {
      ThrowIfInterrupted();
      log::Info("[{}/{}] {} (repetition {}/{}): {} + {} warm-up probes every {} ms", i + 1,
                steps.size(), steps[i].config->name, steps[i].repetition, s_.repetitions,
                ping.count, ping.warmup, ping.interval_ms);
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
  const auto& ping = std::get<scenario::PingWorkload>(s.workload);
  std::vector<Step> steps = PlanSteps(s);
  double per_step_s = (ping.count + ping.warmup) * ping.interval_ms / 1000.0;
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
  fmt::print("  workload: ping from {}, {} probes + {} warm-up every {} ms; about {:.0f} s of "
             "traffic in all\n",
             ping.from, ping.count, ping.warmup, ping.interval_ms, per_step_s * steps.size());
}

}  // namespace

void PlotRun(const fs::path& run_dir) {
  ProcessSpec spec;
  spec.argv = {"/usr/bin/python3", std::string(NFB_SOURCE_DIR) + "/plots/boxplot.py",
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
  if (options.platform != "netns") {
    throw InputError("platform '" + options.platform + "' is not available yet (known: netns)");
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
