// The ping workload (experiment 1): probes from an external host, RTTs from a capture on the
// capture host, every probe accounted for as paired, lost or missing from the capture.
#include <fmt/format.h>

#include <chrono>
#include <set>

#include "nfb/collectors/icmp_rtt.h"
#include "nfb/collectors/json.h"
#include "nfb/collectors/pcap_capture.h"
#include "nfb/collectors/timestamp_resolution.h"
#include "nfb/core/cancel.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/core/stats.h"
#include "nfb/workloads/ping.h"
#include "workload_driver.h"

namespace nfb::runner {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

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

class PingDriver : public WorkloadDriver {
 public:
  explicit PingDriver(const scenario::Scenario& s)
      : ping_(std::get<scenario::PingWorkload>(s.workload)), capture_spec_(*s.capture) {}

  std::vector<std::string> TrafficHosts() const override { return {ping_.from}; }

  std::string Describe() const override {
    return fmt::format("ping from {}, {} probes + {} warm-up every {} ms", ping_.from, ping_.count,
                       ping_.warmup, ping_.interval_ms);
  }

  double StepSeconds() const override {
    return (ping_.count + ping_.warmup) * ping_.interval_ms / 1000.0;
  }

  // RTTs of a few microseconds are only a few hundred clock steps, so the step is measured, not
  // assumed: a burst of frames with random gaps, sent and captured on the capture interface
  // itself (ping's regular 1 ms spacing cannot reveal it). The frames carry a private EtherType
  // and go to their own source MAC, so the switch learns it and forwards at most the first one.
  void Prepare(platform::Platform& platform, const report::ResultsDir& dir) override {
    const platform::HostInfo& host = platform.Host(capture_spec_.host);
    // The capture and this probe run in-process (libpcap in the host's namespace), so the
    // capture host must be one the harness can enter: an external host namespace, not a host
    // reached over SSH.
    if (!host.IsLocal()) {
      throw InputError(fmt::format(
          "capture host '{}' is reached over SSH on the {} platform; captures need a host the "
          "harness runs on (an external host or dom0)",
          capture_spec_.host, platform.Name()));
    }
    collectors::ResolutionProbeOptions probe;
    probe.netns = host.netns;
    probe.interface = host.interface;
    probe.timestamps = ToCollectorRequest(capture_spec_.timestamps);
    probe.output = dir.File("raw") / "timestamp-probe.pcap";
    collectors::ResolutionProbeResult r = collectors::ProbeTimestampResolution(probe);
    resolution_probe_ = {{"interface", capture_spec_.host + ":" + host.interface},
                         {"packets_sent", r.packets_sent},
                         {"capture", collectors::ToJson(r.capture)},
                         {"resolution", collectors::ToJson(r.resolution)}};
  }

  void MeasureStep(StepContext& step) override;

  void AddContext(json& context) const override {
    context["timestamps"] = {
        {"types_used", std::vector<std::string>(timestamp_types_.begin(), timestamp_types_.end())},
        {"resolution_ns", resolution_probe_.is_null()
                              ? json(nullptr)
                              : resolution_probe_["resolution"]["resolution_ns"]},
        {"resolution_probe", resolution_probe_},
    };
  }

 private:
  const scenario::PingWorkload& ping_;
  const scenario::CaptureSpec& capture_spec_;
  std::set<std::string> timestamp_types_;
  json resolution_probe_;  // the clock step measured on the capture interface
};

void PingDriver::MeasureStep(StepContext& step) {
  const scenario::Configuration& config = step.config;
  const std::string target = step.platform.Host(config.target).address;
  const platform::HostInfo& loadgen = step.platform.Host(ping_.from);
  const platform::HostInfo& capture_host = step.platform.Host(capture_spec_.host);

  collectors::CaptureOptions capture;
  capture.netns = capture_host.netns;
  capture.interface = capture_host.interface;
  capture.filter = fmt::format("icmp and host {}", target);
  capture.snaplen = capture_spec_.snaplen;
  capture.buffer_bytes = capture_spec_.buffer_mb << 20;
  capture.timestamps = ToCollectorRequest(capture_spec_.timestamps);
  capture.output = step.raw / "capture.pcap";
  auto pcap = collectors::PcapCapture::Start(capture);

  workloads::PingRun ping_run = workloads::RunPing(step.platform, ping_, target, step.raw);
  // Replies to the last probes may still be in flight or in the capture ring.
  SleepFor(std::chrono::milliseconds(200));
  collectors::CaptureReport capture_report = pcap->Stop();

  collectors::EchoRttOptions probe;
  probe.requester = loadgen.address;
  probe.target = target;
  probe.warmup = ping_.warmup;
  probe.sent = ping_run.summary.transmitted;
  probe.first_sequence = ping_run.first_sequence;
  collectors::EchoRttResult analysis = collectors::AnalyzeEchoRtt(capture.output, probe);

  for (const collectors::RttSample& s : analysis.samples) {
    step.record.samples.push_back(
        {config.name, step.repetition, "rtt", s.rtt_ns / 1000.0, "us", s.t_s});
  }
  const collectors::EchoAccounting& a = analysis.accounting;
  step.record.accounting.push_back(
      {config.name, step.repetition,
       {{"sent", static_cast<int64_t>(a.sent)},
        {"paired", static_cast<int64_t>(a.paired)},
        {"lost", static_cast<int64_t>(a.lost)},
        {"missing_from_capture", static_cast<int64_t>(a.missing_from_capture)},
        {"replies_without_request", static_cast<int64_t>(a.replies_without_request)},
        {"duplicate_requests", static_cast<int64_t>(a.duplicate_requests)},
        {"duplicate_replies", static_cast<int64_t>(a.duplicate_replies)},
        {"warmup_probes", static_cast<int64_t>(ping_.warmup)},
        {"pinger_transmitted", static_cast<int64_t>(ping_run.summary.transmitted)},
        {"pinger_received", static_cast<int64_t>(ping_run.summary.received)},
        {"capture_received", static_cast<int64_t>(capture_report.ps_recv)},
        {"capture_dropped", static_cast<int64_t>(capture_report.ps_drop)},
        {"capture_if_dropped", static_cast<int64_t>(capture_report.ps_ifdrop)}}});
  timestamp_types_.insert(capture_report.timestamp_type);

  step.step["target_address"] = target;
  step.step["workload"] = {{"tool", "ping"},
                           {"argv", ping_run.argv},
                           {"duration_s", ping_run.duration_s},
                           {"transmitted", ping_run.summary.transmitted},
                           {"received", ping_run.summary.received},
                           {"duplicates", ping_run.summary.duplicates}};
  step.step["capture"] = collectors::ToJson(capture_report);

  std::vector<double> rtts;
  rtts.reserve(analysis.samples.size());
  for (const auto& s : analysis.samples) rtts.push_back(s.rtt_ns / 1000.0);
  Summary summary = nfb::Summarize(std::move(rtts));
  log::Info("  {} rep {}: n={} median {:.3f} us | sent {} paired {} lost {} missing from capture "
            "{} | capture drops {}",
            config.name, step.repetition, summary.n, summary.median, a.sent, a.paired, a.lost,
            a.missing_from_capture, capture_report.ps_drop + capture_report.ps_ifdrop);
  if (a.missing_from_capture > 0 || capture_report.ps_drop > 0) {
    log::Warn("the capture missed probes in '{}': the RTT sample may be biased", config.name);
  }
}

}  // namespace

std::unique_ptr<WorkloadDriver> MakePingDriver(const scenario::Scenario& scenario) {
  return std::make_unique<PingDriver>(scenario);
}

std::unique_ptr<WorkloadDriver> MakeDriver(const scenario::Scenario& scenario) {
  if (std::holds_alternative<scenario::PingWorkload>(scenario.workload)) {
    return MakePingDriver(scenario);
  }
  return MakeFloodDriver(scenario);
}

}  // namespace nfb::runner
