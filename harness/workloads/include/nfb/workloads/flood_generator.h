// The attack of the flood experiments (thesis 6.3): small UDP frames from an attacker host to the
// target's MAC, IP address and a fixed UDP port, as fast as possible or at a rate, from one CPU.
//
// Two generators:
// - pktgen, the kernel's packet generator the thesis used, when the host has it
//   (/proc/net/pktgen exists, i.e. the module is loaded; it is per network namespace). A kernel
//   thread `kpktgend_<cpu>` sends, configured through /proc/net/pktgen of the attacker's
//   namespace. Smooth rate limiting (`ratep`). Builds linear skbs.
// - trafgen (netsniff-ng) otherwise, in the attacker's namespace and cgroups. Its packet config
//   is the frame as bytes (udp_frame.h), so no C preprocessor (`--cpp`) is involved and nothing
//   is computed per packet. Traps handled here:
//     * 0.6.8 pins worker i to CPU i itself, ignoring taskset and failing inside a cpuset
//       without CPU 0: it runs under nfb-pin-exec (tools/pin_exec.cc) with one worker
//       (`--cpus 1`), which keeps it on the requested CPU.
//     * it tunes /proc/sys/net/core/{r,w}mem_* and the NIC's IRQ affinity and restores them only
//       on a clean exit: `--no-sock-mem --notouch-irq`, so a killed trafgen changes nothing.
//     * at full speed it fills a PACKET_TX_RING; those frames arrive as NON-LINEAR skbs (only
//       the first bytes in the linear area), so a BPF filter must bpf_skb_pull_data() first or
//       it silently passes everything (emulation notes; tests/bpf/udp_drop_traffic_test.cc). With
//       a rate (`--rate`) it sends with sendto, and packet_snd() builds frames this small as
//       linear skbs (from the kernel source, not measured here): the report says which
//       (skb_layout).
//     * `--rate N pps` sends N frames at full speed, then sleeps out the rest of each second
//       (accurate on average, bursty within the second); `--gap` is smooth but overshoots badly
//       (100 us asked gave ~260 us here), so it is not used.
//   trafgen's own counters ("N packets outgoing") count frames handed to the kernel: put in the
//   TX ring, or passed to sendto. At the end of a run it waits for the ring to drain, so on a
//   working link the count is what left (the integration test checks it against a capture).
//   Drops further on (a full backlog on the receiving veth) are not in it. On a link without
//   carrier the ring never drains: trafgen stalls with the ring full and, once stopped, counts
//   the frames left in it as outgoing (256 of them on a veth here, none of which left).
//   Stopping must signal the whole process group (Process does): a SIGINT to trafgen's parent
//   alone leaves the sending worker running and the parent waiting for it forever.
//
// Sizes: `frame_bytes` is the Ethernet frame without FCS, as pktgen's pkt_size (udp_frame.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "nfb/scenario/scenario.h"
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nfb::workloads {

// The scenario's enum; scenario::ToString gives "auto", "pktgen", "trafgen".
using FloodTool = scenario::GeneratorKind;

struct FloodGeneratorOptions {
  std::string netns;                                // attacker's namespace; empty = current
  std::vector<std::filesystem::path> cgroup_procs;  // trafgen's cgroups (pktgen: a kernel thread)
  std::string interface;                            // sending interface in `netns`
  std::string src_mac, dst_mac;                     // "02:00:00:00:10:01"
  std::string src_ip, dst_ip;                       // dotted quads
  int src_port = 9;                                 // UDP source port (9: discard)
  int dst_port = 9999;                              // the attacked port
  int frame_bytes = 72;                             // 60..1514, Ethernet frame without FCS
  uint64_t packets = 0;                             // 0: until Stop()
  double rate_pps = 0;                              // 0: full speed; else >= 1 (whole pps)
  std::optional<int> cpu;                           // sending CPU; pktgen: 0 when unset
  FloodTool generator = FloodTool::kAuto;
  // trafgen's niceness (-20..19). On a small host the attacker shares a CPU with the valid flow's
  // sender, which are separate machines in the thesis; a nice attacker only takes the CPU the
  // sender leaves. pktgen's kernel thread is not affected.
  int nice = 0;
  std::filesystem::path output_dir;  // config, command record, tool logs
  // trafgen's working directory, where it maps a shared temporary file; empty = output_dir.
  // FloodGenerator::Start uses a temporary directory (removed afterwards) when a file in
  // output_dir cannot be mapped shared (9p: the lab's results share; trafgen then fails with
  // "Cannot setup shared variable!").
  std::filesystem::path work_dir;
};

// Checks every option; throws InputError naming the field.
void ValidateFloodOptions(const FloodGeneratorOptions& options);

// kPktgen when /proc/net/pktgen exists, else kTrafgen when `trafgen` is in PATH. Throws
// PrerequisiteError when neither is available.
FloodTool DetectGenerator();

struct FloodGeneratorReport {
  FloodTool tool = FloodTool::kTrafgen;  // the one that ran
  std::string tool_version;              // "trafgen 0.6.8 ...", "pktgen 2.75 (Linux 6.18.44)"
  std::vector<std::string> argv;         // trafgen's command; for pktgen the `start` writer
  std::filesystem::path config_path;     // trafgen packet config / pktgen commands written
  std::filesystem::path log_path;        // the tool's stdout (trafgen) / device file (pktgen)

  std::string interface;
  int frame_bytes = 0;
  uint64_t packets_requested = 0;  // 0: until stopped
  double rate_pps = 0;             // 0: full speed
  std::optional<int> cpu;

  // From the tool's own counters: trafgen's end-of-run summary, pktgen's pkts-sofar.
  uint64_t sent_packets = 0;
  uint64_t sent_bytes = 0;     // trafgen's "bytes outgoing"; pktgen: sent_packets x frame_bytes
  uint64_t errors = 0;         // pktgen's transmit errors (not in sent_packets); trafgen has none
  double tool_duration_s = 0;  // the tool's own timer over its send loop

  std::chrono::system_clock::time_point started_wall, ended_wall;
  std::chrono::steady_clock::time_point started_steady, ended_steady;
  double duration_s = 0;       // process start to end, harness clock
  bool stopped_early = false;  // Stop() ended it before it finished by itself
  std::string skb_layout;      // "non-linear (PACKET_TX_RING)" or "linear"
  std::string rate_shaping;    // how rate_pps was applied, "none" at full speed

  // Every field; times as nanoseconds (wall: since the Unix epoch, steady: CLOCK_MONOTONIC)
  // and wall times also as ISO 8601 UTC.
  nlohmann::json ToJson() const;
};

// A running generator. Not thread-safe; movable. The destructor stops a generator still running
// (and, for pktgen, removes its device from the kernel thread), so nothing outlives the handle.
class FloodGenerator {
 public:
  // Resolves kAuto (DetectGenerator), validates the options, writes the config into output_dir
  // and starts sending. Throws InputError for bad options, PrerequisiteError when the generator
  // is missing (or pktgen lacks the namespace's /proc/net/pktgen or the CPU's thread), RunError
  // when it cannot be started.
  static FloodGenerator Start(const FloodGeneratorOptions& options);

  FloodGenerator();
  FloodGenerator(FloodGenerator&&) noexcept;
  FloodGenerator& operator=(FloodGenerator&&) noexcept;
  ~FloodGenerator();

  FloodTool tool() const;
  bool Running() const;

  // Waits up to `timeout` for the generator to finish its `packets`; nullopt while it runs.
  // Throws InterruptedError on Ctrl-C (the generator is stopped first) and RunError when the
  // tool failed or left no summary (with its exit status and stderr).
  std::optional<FloodGeneratorReport> Wait(std::chrono::milliseconds timeout);
  // Waits until it finishes (forever when packets is 0: use Stop()).
  FloodGeneratorReport Wait();
  // Stops it now (trafgen: SIGTERM to its process group, then SIGKILL after 5 s; pktgen: `stop`
  // to pgctrl) and returns the report, with stopped_early set unless it had already finished by
  // itself; the same report again on later calls. Completes even after Ctrl-C. Throws RunError
  // as Wait does.
  FloodGeneratorReport Stop();

  class Backend;  // implementation (src/flood_generator.cc)

 private:
  explicit FloodGenerator(std::unique_ptr<Backend> backend);
  std::unique_ptr<Backend> backend_;
};

// ---------------------------------------------------------------------------------------------
// Tool commands and outputs (pure functions; the unit tests check them)

// trafgen's packet config: a comment and the frame as a byte list, `{ 0x02, 0x00, ... }`.
// Throws InputError for invalid options.
std::string TrafgenConfig(const FloodGeneratorOptions& options);
// `<pin_helper> [--cpu N] --chdir <output_dir> -- trafgen --dev IF --in CONFIG --cpus 1
//  --no-sock-mem --notouch-irq [--num N] [--rate Rpps]` (long options: 0.6.8 has no short -A).
std::vector<std::string> TrafgenCommand(const FloodGeneratorOptions& options,
                                        const std::filesystem::path& config,
                                        const std::filesystem::path& pin_helper);

struct TrafgenCpuStats {
  int cpu = 0;
  uint64_t seconds = 0, microseconds = 0, packets = 0;
};
struct TrafgenSummary {
  uint64_t packets = 0;               // "N packets outgoing"
  uint64_t bytes = 0;                 // "N bytes outgoing"
  std::vector<TrafgenCpuStats> cpus;  // "S sec, U usec on CPUn (P packets)"; absent with -C
  double DurationSeconds() const;     // the longest worker's time
};
// Parses trafgen's stdout (the end-of-run summary; lines may start with '\r'). Throws InputError
// when the summary is missing (trafgen failed or was killed), a line is garbled, a number does
// not fit 64 bits, or the per-CPU packets do not add up to the total.
TrafgenSummary ParseTrafgenSummary(std::string_view output);

// One write to a pktgen control file: `command` into /proc/net/pktgen/<file>.
struct PktgenWrite {
  std::string file;
  std::string command;
  bool operator==(const PktgenWrite&) const = default;
};
// The thread kpktgend_<cpu>: rem_device_all, add_device IF; then the device IF: count,
// clone_skb 0 (veth cannot share skbs), pkt_size, delay 0 or ratep, dst, dst_mac, src_min,
// src_max, src_mac, udp_src_min/max, udp_dst_min/max. The `start` write to pgctrl is separate
// (it blocks until the run ends). Throws InputError for invalid options.
std::vector<PktgenWrite> PktgenSetup(const FloodGeneratorOptions& options);
// Removes the device from its thread again.
std::vector<PktgenWrite> PktgenTeardown(const FloodGeneratorOptions& options);

struct PktgenResult {
  uint64_t sent_packets = 0;  // Current: pkts-sofar
  uint64_t errors = 0;        // Current: errors
  bool finished = false;      // "Result: OK: ..." (run ended) rather than Idle/a command's result
  uint64_t elapsed_us = 0;    // from the Result line when finished
  uint64_t result_pps = 0;    // pktgen's own rate when finished
  int frame_bytes = 0;        // Params: min_pkt_size
};
// Parses /proc/net/pktgen/<device>. Throws InputError when "pkts-sofar" or "Params" is missing
// or a number is garbled.
PktgenResult ParsePktgenDevice(std::string_view text);

}  // namespace nfb::workloads
