// The ping workload (experiment 1): probes from an external host, RTTs from a capture on the
// capture host, every probe accounted for as paired, lost or missing from the capture.
#include <fmt/format.h>

#include <chrono>
#include <set>

#include "nfb/collectors/icmp_rtt.h"
#include "nfb/collectors/json.h"
#include "nfb/collectors/pcap_capture.h"
#include "nfb/collectors/remote_capture.h"
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
    // A capture host reached over SSH (an external machine on the xen platform) captures with
    // its own tcpdump (remote_capture.h); the probe below needs the harness on that host.
    if (!host.IsLocal()) {
      PrepareRemote(platform, host);
      return;
    }
    capture_method_ = {{"method", "libpcap in-process"},
                       {"host", capture_spec_.host},
                       {"interface", host.interface}};
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
    context["capture"] = capture_method_;
    context["timestamps"] = {
        {"types_used", std::vector<std::string>(timestamp_types_.begin(), timestamp_types_.end())},
        {"resolution_ns", resolution_probe_.contains("resolution")
                              ? resolution_probe_["resolution"]["resolution_ns"]
                              : json(nullptr)},  // not measured (a remote capture)
        {"resolution_probe", resolution_probe_},
        {"source", capture_method_.value("method", "") == "remote tcpdump"
                       ? "the remote tcpdump's libpcap on " + capture_spec_.host
                       : "libpcap in the harness"},
    };
  }

 private:
  const scenario::PingWorkload& ping_;
  const scenario::CaptureSpec& capture_spec_;
  // The capture host is reached over SSH: tcpdump there. Its version and the timestamp types
  // its interface offers are asked once; the clock's resolution is not measured (the probe sends
  // and captures frames in-process).
  void PrepareRemote(platform::Platform& platform, const platform::HostInfo& host) {
    const std::string where = capture_spec_.host + ":" + host.interface;
    ProcessResult version = RunProcess(platform.Command(capture_spec_.host, {"tcpdump", "--version"}),
                                       std::chrono::seconds(60));
    if (!version.Succeeded()) {
      throw PrerequisiteError(fmt::format(
          "capture host {} is reached over SSH and captures with tcpdump, which does not run "
          "there ({}): {}",
          capture_spec_.host, version.Status(), version.err + version.out));
    }
    ProcessResult types = RunProcess(
        platform.Command(capture_spec_.host, {"tcpdump", "-J", "-i", host.interface}),
        std::chrono::seconds(60));
    if (!types.Succeeded()) {
      throw RunError(fmt::format("tcpdump -J -i {} on {} failed ({}): {}", host.interface,
                                 capture_spec_.host, types.Status(), types.err + types.out));
    }
    remote_types_offered_ = collectors::ParseTcpdumpTimestampTypes(types.out + types.err);
    remote_type_ = collectors::ChooseTimestampType(ToCollectorRequest(capture_spec_.timestamps),
                                                   remote_types_offered_, where);
    std::string first_line = version.out + version.err;
    first_line = first_line.substr(0, first_line.find('\n'));
    capture_method_ = {{"method", "remote tcpdump"},
                       {"host", capture_spec_.host},
                       {"interface", host.interface},
                       {"ssh", host.ssh_destination},
                       {"tcpdump_version", first_line},
                       {"timestamp_type", remote_type_},
                       {"timestamp_types_offered", remote_types_offered_},
                       {"counters", "from tcpdump's summary: received by filter -> capture_received, "
                                    "dropped by kernel -> capture_dropped, dropped by interface -> "
                                    "capture_if_dropped"}};
    resolution_probe_ = {{"interface", where},
                         {"measured", false},
                         {"reason", "the capture runs in tcpdump on " + capture_spec_.host +
                                        ", reached over SSH; the resolution probe sends and "
                                        "captures frames in the harness's own process"},
                         {"timestamp_type", remote_type_}};
  }

  std::set<std::string> timestamp_types_;
  json resolution_probe_;  // the clock step measured on the capture interface
  json capture_method_;
  std::string remote_type_;
  std::vector<std::string> remote_types_offered_;
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
  std::unique_ptr<collectors::PcapCapture> pcap;
  std::unique_ptr<collectors::RemoteCapture> remote;
  if (capture_host.IsLocal()) {
    pcap = collectors::PcapCapture::Start(capture);
  } else {
    collectors::RemoteCaptureOptions r;
    r.where = capture_spec_.host + ":" + capture_host.interface;
    r.interface = capture.interface;
    r.filter = capture.filter;
    r.snaplen = capture.snaplen;
    r.buffer_bytes = capture.buffer_bytes;
    r.timestamp_type = remote_type_;
    r.timestamp_types_offered = remote_types_offered_;
    r.output = capture.output;
    r.stderr_path = step.raw / "capture.tcpdump.log";
    r.stdin_fifo = step.platform.StateDirectory() / "capture.stdin";  // results may be on 9p
    const std::string host = capture_spec_.host;
    const platform::Platform& platform = step.platform;
    remote = collectors::RemoteCapture::Start(
        r, [&platform, host](std::vector<std::string> argv) {
          return platform.Command(host, std::move(argv));
        });
  }

  workloads::PingRun ping_run = workloads::RunPing(step.platform, ping_, target, step.raw);
  // Replies to the last probes may still be in flight or in the capture ring.
  SleepFor(std::chrono::milliseconds(200));
  collectors::CaptureReport capture_report = pcap ? pcap->Stop() : remote->Stop();

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
