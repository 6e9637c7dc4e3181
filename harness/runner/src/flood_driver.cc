// The udp_flood workload (experiments 2 and 3): an attacker floods the target guest's UDP port
// while a valid iperf3 flow runs to the same guest (flood.yaml) and/or a co-tenant guest runs a
// CPU benchmark (cotenant.yaml). Per step it records the flow's per-second throughput and loss,
// the co-tenant's score, every domain's CPU per second, and where the attack's packets went.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "nfb/collectors/cpu_sampler.h"
#include "nfb/collectors/domain_cpu_sampler.h"
#include "nfb/core/cancel.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/workloads/cpu_benchmark.h"
#include "nfb/workloads/flood_generator.h"
#include "nfb/workloads/iperf3.h"
#include "nfb/runner/cpu_sampling.h"
#include "nfb/workloads/udp_sink.h"
#include "packet_counters.h"
#include "restarting_cpu_sampler.h"
#include "workload_driver.h"

namespace nfb::runner {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Sleeps until `deadline`; throws InterruptedError on Ctrl-C (SleepFor only returns false).
void SleepUntil(Clock::time_point deadline) {
  const auto now = Clock::now();
  if (deadline > now && !SleepFor(deadline - now)) ThrowIfInterrupted();
}

class FloodDriver : public WorkloadDriver {
 public:
  explicit FloodDriver(const scenario::Scenario& s)
      : s_(s), flood_(std::get<scenario::UdpFloodWorkload>(s.workload)) {}

  std::vector<std::string> TrafficHosts() const override {
    std::vector<std::string> hosts;
    if (flood_.flow) hosts.push_back(flood_.flow->from);
    hosts.push_back(flood_.attack.from);
    return hosts;
  }

  std::string Describe() const override {
    std::string text;
    if (flood_.flow) {
      text = fmt::format("iperf3 UDP {} Mbit/s x {} s from {}; ", flood_.flow->rate_mbit,
                         flood_.flow->duration_s, flood_.flow->from);
    }
    text += fmt::format("attack from {} at {} s: {} x {}-byte frames to port {}",
                        flood_.attack.from, flood_.attack.start_s,
                        flood_.attack.packets == 0 ? std::string("unlimited")
                                                   : std::to_string(flood_.attack.packets),
                        flood_.attack.frame_bytes, flood_.attack.port);
    if (flood_.cotenant) {
      text += fmt::format("; co-tenant {} runs a CPU benchmark for {} s from {} s",
                          flood_.cotenant->guest, flood_.cotenant->duration_s,
                          flood_.cotenant->start_s);
    }
    return text;
  }

  double StepSeconds() const override {
    if (flood_.flow) return flood_.flow->duration_s;
    return flood_.cotenant->start_s + flood_.cotenant->duration_s;
  }

  void Prepare(platform::Platform& platform, const report::ResultsDir& /*dir*/) override {
    if (s_.cpu_sampling.enabled) {
      sampling_.emplace(DomainCpuSampling::ForPlatform(platform, s_.topology));
      // The host kernel's CPU accounting matters only where the harness computes CPU itself.
      if (sampling_->Method() == "netns") {
        cpu_accounting_ = collectors::ToJson(collectors::ProbeCpuAccounting());
      }
    }
    generator_ = scenario::ToString(
        flood_.attack.generator == scenario::GeneratorKind::kAuto
            ? workloads::DetectGenerator()
            : flood_.attack.generator);
  }

  void MeasureStep(StepContext& step) override;

  bool SamplesCpuPerStep() const override { return true; }

  void AddContext(json& context) const override {
    json sampling = sampling_ ? sampling_->Describe() : json::object();
    sampling["enabled"] = s_.cpu_sampling.enabled;
    sampling["interval_s"] = s_.cpu_sampling.interval_s;
    sampling["accounting"] = cpu_accounting_;
    context["flood"] = {{"generator", generator_}, {"cpu_sampling", sampling}};
  }

 private:
  struct AttackOutcome {
    std::optional<workloads::FloodGeneratorReport> report;
    double started_s = NAN, ended_s = NAN;  // since the measurement's start, harness clock
  };

  workloads::FloodGenerator StartAttack(const StepContext& step, const fs::path& dir) const;
  void RecordFlow(StepContext& step, const workloads::Iperf3Report& report,
                  const AttackOutcome& attack, double flow_offset_s);

  const scenario::Scenario& s_;
  const scenario::UdpFloodWorkload& flood_;
  std::optional<DomainCpuSampling> sampling_;  // when the scenario samples CPU
  json cpu_accounting_;
  std::string generator_;
};

workloads::FloodGenerator FloodDriver::StartAttack(const StepContext& step,
                                                   const fs::path& dir) const {
  const platform::HostInfo& attacker = step.platform.Host(flood_.attack.from);
  const platform::HostInfo& target = step.platform.Host(step.config.target);
  workloads::FloodGeneratorOptions options;
  options.netns = attacker.netns;
  options.cgroup_procs = attacker.cgroup_procs;
  options.interface = attacker.interface;
  options.src_mac = attacker.mac;
  options.dst_mac = target.mac;
  options.src_ip = attacker.address;
  options.dst_ip = target.address;
  options.dst_port = flood_.attack.port;
  options.frame_bytes = flood_.attack.frame_bytes;
  options.packets = flood_.attack.packets;
  options.rate_pps = flood_.attack.rate_pps;
  if (!attacker.cpus.empty()) options.cpu = attacker.cpus.front();
  options.generator = flood_.attack.generator;
  options.nice = flood_.attack.nice;
  options.output_dir = dir;
  fs::create_directories(dir);
  return workloads::FloodGenerator::Start(options);
}

void FloodDriver::MeasureStep(StepContext& step) {
  const scenario::Configuration& config = step.config;
  const platform::HostInfo& target = step.platform.Host(config.target);
  std::optional<workloads::UdpSink> sink;
  if (config.receiver) sink.emplace(step.platform, config.target, flood_.attack.port, step.raw);

  std::optional<workloads::Iperf3Process> server;
  if (flood_.flow) {
    workloads::Iperf3ServerOptions options;
    if (target.IsLocal()) {
      options.netns = target.netns;
      options.cgroup_procs = target.cgroup_procs;
    } else {
      options.platform = &step.platform;  // a guest reached over SSH (Xen)
      options.host = config.target;
    }
    options.bind_address = target.address;
    options.port = flood_.flow->port;
    options.output_dir = step.raw;
    server.emplace(workloads::StartIperf3Server(options));
  }

  PacketCounterSnapshot counters_before =
      ReadPacketCounters(step.platform, config.target, flood_.attack.from);
  std::optional<RestartingCpuSampler> sampler;
  if (sampling_) {
    DomainCpuSamplingOptions options;
    options.interval = std::chrono::milliseconds(
        static_cast<int64_t>(std::llround(s_.cpu_sampling.interval_s * 1000)));
    options.raw_dir = step.raw;
    sampler.emplace(*sampling_, std::move(options));
  }
  NicRateSampler nic_rate(step.platform.Dom0Netns(), step.platform.Dom0NicInterface());

  const Clock::time_point t0 = Clock::now();
  std::optional<workloads::Iperf3Process> client;
  if (flood_.flow) {
    const platform::HostInfo& loadgen = step.platform.Host(flood_.flow->from);
    workloads::Iperf3ClientOptions options;
    options.netns = loadgen.netns;
    options.cgroup_procs = loadgen.cgroup_procs;
    options.server_address = target.address;
    options.port = flood_.flow->port;
    options.rate_mbit = flood_.flow->rate_mbit;
    options.datagram_bytes = flood_.flow->datagram_bytes;
    options.duration_s = static_cast<int>(std::lround(flood_.flow->duration_s));
    options.interval_s = flood_.flow->interval_s;
    options.output_dir = step.raw;
    client.emplace(workloads::StartIperf3Client(options));
  }

  AttackOutcome attack;
  std::optional<workloads::FloodGenerator> generator;
  std::optional<workloads::CpuBenchmark> benchmark;
  std::optional<workloads::CpuBenchmarkRun> benchmark_run;
  const auto start_attack = [&] {
    if (!config.attack) return;
    SleepUntil(t0 + std::chrono::milliseconds(std::llround(flood_.attack.start_s * 1000)));
    generator.emplace(StartAttack(step, step.raw / "attack"));
    attack.started_s = Seconds(Clock::now() - t0);
    log::Info("  attack started at {:.1f} s ({})", attack.started_s,
              scenario::ToString(generator->tool()));
  };
  const auto stop_attack = [&] {
    if (!generator) return;
    attack.report = generator->Running() ? generator->Stop() : generator->Wait();
    attack.ended_s = Seconds(attack.report->ended_steady - t0);
    generator.reset();
  };

  // On an exception the generator's destructor stops the attack, so nothing keeps sending into
  // the next configuration.
  if (flood_.cotenant) {
    const scenario::CotenantSpec& co = *flood_.cotenant;
    if (flood_.attack.start_s <= co.start_s) start_attack();
    SleepUntil(t0 + std::chrono::milliseconds(std::llround(co.start_s * 1000)));
    workloads::CpuBenchmarkOptions options;
    options.kind = co.benchmark;
    options.unixbench_dir = co.unixbench_dir;
    options.duration_s = static_cast<int>(std::lround(co.duration_s));
    options.threads = co.threads;
    benchmark.emplace(workloads::CpuBenchmark::Start(step.platform, co.guest, options, step.raw));
    if (flood_.attack.start_s > co.start_s) start_attack();
    benchmark_run = benchmark->Finish();
    stop_attack();
  } else {
    start_attack();
  }
  std::optional<workloads::Iperf3Outcome> client_outcome;
  std::optional<workloads::Iperf3Outcome> server_outcome;
  if (client) {
    // iperf3 ends about a second after its duration; a flooded control connection can hold it
    // longer, so it gets a grace period before it is stopped.
    const auto limit = t0 + std::chrono::milliseconds(
                                std::llround((flood_.flow->duration_s + 30) * 1000));
    while (!client_outcome) {
      if (generator && !generator->Running()) stop_attack();
      client_outcome = client->Wait(std::chrono::milliseconds(250));
      if (!client_outcome && Clock::now() > limit) client_outcome = client->Stop();
    }
    stop_attack();
    std::string server_error;
    try {
      server_outcome = server->Wait(std::chrono::seconds(5));
      if (!server_outcome) server_outcome = server->Stop();
    } catch (const RunError& e) {
      // A server in a guest reached over SSH can lose its session while the flood fills the
      // guest's queues (seen in the lab: ssh exit 255, no output). The client then still has
      // the server's report (--get-server-output), which CombineIperf3Reports falls back to.
      if (target.IsLocal()) throw;
      server_error = e.what();
      log::Warn("  the iperf3 server in {} left no report; using the copy its client received: {}",
                config.target, server_error);
    }
    workloads::Iperf3Report combined = workloads::CombineIperf3Reports(
        client_outcome->report, server_outcome ? std::optional<workloads::Iperf3Report>(
                                                     server_outcome->report)
                                               : std::nullopt);
    const double flow_offset_s = Seconds(client_outcome->started_steady - t0);
    RecordFlow(step, combined, attack, flow_offset_s);
    step.step["flow"] = {{"client_argv", client_outcome->argv},
                         {"server_argv", server->argv()},
                         {"client_exit", client_outcome->exit_status},
                         {"server_exit", server_outcome ? json(server_outcome->exit_status)
                                                        : json(server_error)},
                         {"client_stopped", client_outcome->stopped},
                         {"started_s", flow_offset_s},
                         {"report", workloads::ToJson(combined)}};
    if (!server_outcome) step.step["flow"]["server_report"] = "from the client (--get-server-output)";
  }
  stop_attack();

  std::vector<NicRatePoint> nic = nic_rate.Stop();
  if (sampler) {
    // A sampler that failed is recorded, not fatal: the flow's and the attack's results stand.
    RestartingCpuSampler::Result cpu = sampler->Stop();
    collectors::CpuSamplerReport report = cpu.last_report.value_or(collectors::CpuSamplerReport{});
    report.rows = cpu.rows;
    json summary = collectors::SummaryJson(report);
    summary["segments"] = cpu.segments;
    if (!cpu.first_error.empty()) summary["error"] = cpu.first_error;
    step.record.cpu.push_back({{config.name, std::to_string(step.repetition)}, cpu.rows});
    step.step["cpu_sampler"] = std::move(summary);
  }
  json sink_report = sink ? sink->Stop() : json(nullptr);
  PacketCounterSnapshot counters_after =
      ReadPacketCounters(step.platform, config.target, flood_.attack.from);
  PacketCounterDelta delta = Difference(counters_before, counters_after);

  for (const NicRatePoint& p : nic) {
    step.record.series.push_back(
        {config.name, step.repetition, p.t_s, "dom0_nic_rx", p.packets_per_s, "packets/s"});
  }
  if (benchmark_run) {
    const workloads::CpuBenchmarkResult& r = benchmark_run->result;
    step.record.samples.push_back(
        {config.name, step.repetition, "score", r.score, r.score_unit, Seconds(Clock::now() - t0)});
    json fields = json::object();
    for (const auto& f : r.fields) fields[f.name] = {{"value", f.value}, {"unit", f.unit}};
    step.step["cotenant"] = {{"guest", flood_.cotenant->guest},
                             {"tool", r.tool},
                             {"version", r.version},
                             {"argv", benchmark_run->argv},
                             {"score", r.score},
                             {"score_unit", r.score_unit},
                             {"duration_s", benchmark_run->duration_s},
                             {"fields", fields}};
    log::Info("  {} rep {}: co-tenant {} score {:.1f} {}", config.name, step.repetition, r.tool,
              r.score, r.score_unit);
  }

  const uint64_t sent = attack.report ? attack.report->sent_packets : 0;
  step.step["attack"] = {
      {"enabled", config.attack},
      {"started_s", std::isnan(attack.started_s) ? json(nullptr) : json(attack.started_s)},
      {"ended_s", std::isnan(attack.ended_s) ? json(nullptr) : json(attack.ended_s)},
      {"observed", ObservedAttackWindow(nic, attack.report ? attack.report->duration_s : 0, sent,
                                        attack.started_s)},
      {"generator", attack.report ? attack.report->ToJson() : json(nullptr)},
      {"receiver", sink_report},
      {"packet_counters", ToJson(delta)},
  };
  step.record.accounting.push_back(
      {config.name, step.repetition, AttackAccounting(sent, delta, sink_report)});
  log::Info("  attack: sent {} | dom0 NIC received {} | guest eth0 received {} | guest UDP "
            "delivered {}, no port {}, buffer drops {}",
            sent, delta.dom0_nic.rx_packets, delta.guest_eth0.rx_packets,
            delta.guest_udp.in_datagrams, delta.guest_udp.no_ports, delta.guest_udp.rcvbuf_errors);
}

// Per-interval throughput and loss of the valid flow, as the receiving side measured it, on the
// measurement's time axis. Intervals wholly inside the attack window also count as
// throughput_attack / loss_attack samples: the report's headline compares those.
void FloodDriver::RecordFlow(StepContext& step, const workloads::Iperf3Report& report,
                             const AttackOutcome& attack, double flow_offset_s) {
  const std::string& name = step.config.name;
  if (!report.received || report.received->intervals.empty()) {
    log::Warn("  {} rep {}: the iperf3 server reported no intervals", name, step.repetition);
    return;
  }
  double sum = 0;
  int n = 0;
  for (const workloads::Iperf3Interval& i : report.received->intervals) {
    if (i.omitted) continue;
    const double t = flow_offset_s + i.end_s;
    const double seconds = i.end_s - i.start_s;
    const double mbit = seconds > 0 ? i.bytes * 8.0 / seconds / 1e6 : 0;
    step.record.series.push_back({name, step.repetition, t, "throughput", mbit, "Mbit/s"});
    step.record.series.push_back({name, step.repetition, t, "loss", i.lost_percent, "%"});
    step.record.samples.push_back({name, step.repetition, "throughput", mbit, "Mbit/s", t});
    step.record.samples.push_back({name, step.repetition, "loss", i.lost_percent, "%", t});
    const bool under_attack = !std::isnan(attack.started_s) &&
                              flow_offset_s + i.start_s >= attack.started_s &&
                              t <= attack.ended_s;
    if (under_attack) {
      step.record.samples.push_back(
          {name, step.repetition, "throughput_attack", mbit, "Mbit/s", t});
      step.record.samples.push_back(
          {name, step.repetition, "loss_attack", i.lost_percent, "%", t});
      sum += mbit;
      ++n;
    }
  }
  if (report.sent) {
    for (const workloads::Iperf3Interval& i : report.sent->intervals) {
      const double seconds = i.end_s - i.start_s;
      step.record.series.push_back({name, step.repetition, flow_offset_s + i.end_s,
                                    "sent_throughput",
                                    seconds > 0 ? i.bytes * 8.0 / seconds / 1e6 : 0, "Mbit/s"});
    }
  }
  const auto& total = report.received->total;
  log::Info("  {} rep {}: flow {:.1f} Mbit/s received, {:.2f}% lost{}", name, step.repetition,
            total ? total->bits_per_second / 1e6 : NAN, total ? total->lost_percent : NAN,
            n > 0 ? fmt::format("; {:.1f} Mbit/s on average over {} s under attack", sum / n, n)
                  : std::string());
}

}  // namespace

std::unique_ptr<WorkloadDriver> MakeFloodDriver(const scenario::Scenario& scenario) {
  return std::make_unique<FloodDriver>(scenario);
}

}  // namespace nfb::runner
