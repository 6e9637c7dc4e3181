// The typed model of a scenario file (see docs/scenario-format.md). Values here are already
// validated: every reference resolves, every number is in range. Defaults live in the definitions.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace nfb::scenario {

struct Mac {
  std::array<uint8_t, 6> bytes{};
  std::string ToString() const;  // "02:00:00:00:01:01"
  bool operator==(const Mac&) const = default;

  // Parses six colon-separated pairs of hex digits (either case). nullopt when malformed.
  static std::optional<Mac> Parse(std::string_view text);
  // Unicast (I/G bit clear) and locally administered (U/L bit set): 02:..., 06:..., 0a:..., ...
  bool IsLocalUnicast() const { return (bytes[0] & 0x03) == 0x02; }
};

// An IPv4 address with its prefix length, e.g. 198.18.0.11/24.
struct Ipv4Prefix {
  uint32_t address = 0;  // host byte order
  int prefix_len = 32;
  std::string AddressString() const;  // "198.18.0.11"
  std::string ToString() const;       // "198.18.0.11/24"
  bool operator==(const Ipv4Prefix&) const = default;

  // Parses "a.b.c.d/len" (decimal octets without leading zeros, len 0..32). nullopt when
  // malformed or when the prefix length is missing.
  static std::optional<Ipv4Prefix> Parse(std::string_view text);
  uint32_t Netmask() const;    // host byte order, e.g. 0xffffff00 for /24
  uint32_t Network() const;    // address & Netmask()
  uint32_t Broadcast() const;  // Network() | ~Netmask()
  bool Contains(uint32_t other_address) const { return (other_address & Netmask()) == Network(); }
};

struct NicSpec {
  std::string name = "peth0";
  Mac mac;
};

struct Dom0Spec {
  std::vector<int> cpus = {0};
  Mac mac;  // of xenbr0, which carries dom0's own address
  Ipv4Prefix address;
  NicSpec nic;
};

struct GuestSpec {
  std::string name;
  int domid = 1;  // vif<domid>.0 in dom0
  std::vector<int> vcpus = {1};
  int memory_mb = 1024;
  Mac mac;
  Ipv4Prefix address;
};

struct ExternalHostSpec {
  std::string name;
  std::vector<int> cpus = {0};
  Mac mac;
  Ipv4Prefix address;
};

struct Topology {
  Dom0Spec dom0;
  std::vector<GuestSpec> guests;
  std::vector<ExternalHostSpec> external_hosts;

  const GuestSpec* FindGuest(const std::string& name) const;        // nullptr when absent
  const ExternalHostSpec* FindExternal(const std::string& name) const;
};

enum class Hook { kTc, kXdp };

// What a program is: a BPF object the harness (or bpfd) loads, or a set of iptables rules.
enum class ProgramKind { kBpf, kIptables };

struct ProgramSpec {
  std::string name;  // key in `programs:`
  ProgramKind kind = ProgramKind::kBpf;
  // kBpf: the BPF object name, e.g. "icmp_echo" (nf_programs/<object>.bpf.c).
  std::string object;
  Hook hook = Hook::kTc;
  // kBpf: settings written into the object's configuration map before it sees traffic, e.g.
  // {port: 9999} for udp_drop. Which names an object accepts is known by the nf layer.
  std::vector<std::pair<std::string, uint64_t>> parameters;
  // kIptables: rules as iptables arguments after -A, e.g. "INPUT -p udp --dport 9999 -j DROP";
  // split on whitespace into an argv (no shell), appended in order and deleted in reverse.
  std::vector<std::string> iptables_rules;
};

// Where a configuration's program runs.
enum class InstallAt {
  kGuest,    // the guest's own eth0 ingress
  kOffload,  // dom0's NIC ingress behind the dispatcher, in the slot of the guest's MAC (XenBPF)
  kDom0,     // dom0's NIC ingress, without the dispatcher
};

struct InstallSpec {
  std::string program;  // key in Scenario::programs
  InstallAt at = InstallAt::kGuest;
};

struct Configuration {
  std::string name;
  std::string target;  // "dom0" or a guest name
  bool stop_guests = false;
  std::optional<InstallSpec> install;
  // udp_flood: whether the attacker sends during this configuration (false: "No Traffic").
  bool attack = true;
  // udp_flood: an application in the target receives the attack port (the thesis's
  // "Unfiltered"); without it the target's kernel answers with ICMP port unreachable.
  bool receiver = false;
};

struct PingWorkload {
  std::string from;  // an external host
  uint64_t count = 10000;
  uint64_t warmup = 100;
  double interval_ms = 1.0;
  double timeout_s = 2.0;
};

// The valid flow of the flood experiments: an iperf3 UDP client on an external host to an iperf3
// server in the configuration's target.
struct FlowSpec {
  std::string from;  // an external host
  double rate_mbit = 1000;
  int datagram_bytes = 1448;
  double duration_s = 180;
  double interval_s = 1;
  int port = 5201;
};

// The attack generator; the workloads layer uses the same enum (flood_generator.h: FloodTool).
enum class GeneratorKind { kAuto, kPktgen, kTrafgen };

// The attack: small UDP frames from an external host to the target's address and a fixed port.
struct AttackSpec {
  std::string from;  // an external host
  int port = 9999;
  int frame_bytes = 72;             // Ethernet frame without FCS, as pktgen's pkt_size
  uint64_t packets = 25'000'000;    // 0: until the measurement ends
  double start_s = 45;              // after the start of the measurement (the flow's start)
  double rate_pps = 0;              // 0: as fast as the generator goes
  GeneratorKind generator = GeneratorKind::kAuto;
  // The user-space generator's niceness (-20..19): with 19 it only takes the CPU that processes
  // sharing its CPU (the valid flow's sender on a 2-CPU host) leave.
  int nice = 0;
};

// The co-tenant's benchmark tool; the workloads layer uses the same enum (cpu_benchmark.h).
enum class CpuBenchmarkKind {
  kAuto,       // UnixBench when unixbench_dir is set, else the default (sysbench)
  kUnixBench,  // needs unixbench_dir
  kSysbench,
  kStressNg,
};

// A CPU-bound benchmark in another guest while the target is flooded (thesis 6.3.4).
struct CotenantSpec {
  std::string guest;
  CpuBenchmarkKind benchmark = CpuBenchmarkKind::kAuto;
  std::string unixbench_dir;  // an installed UnixBench (its Run script); empty: not used
  double duration_s = 30;     // sysbench / stress-ng run time
  int threads = 1;
  double start_s = 5;         // after the start of the measurement (the attack starts first)
};

// Experiments 2 and 3: a valid flow and/or a co-tenant benchmark while an attacker floods the
// target. At least one of `flow` and `cotenant` is present.
struct UdpFloodWorkload {
  std::optional<FlowSpec> flow;
  AttackSpec attack;
  std::optional<CotenantSpec> cotenant;
};

using Workload = std::variant<PingWorkload, UdpFloodWorkload>;

// Per-domain CPU sampling (xentop on Xen, cgroups + softirq time on netns).
struct CpuSamplingSpec {
  bool enabled = false;
  double interval_s = 1;
};

enum class TimestampRequest { kAuto, kAdapter, kAdapterUnsynced, kHost };

struct CaptureSpec {
  std::string host;  // an external host; capture on its eth0
  TimestampRequest timestamps = TimestampRequest::kAuto;
  int snaplen = 128;
  int buffer_mb = 32;
};

enum class Order { kInterleaved, kSequential };

struct ReportSpec {
  std::string metric = "rtt";
  std::string unit = "ms";
  std::string baseline;  // a configuration name, or empty
  // What the comparison leads with: "median" (with its distribution-free CI) for many skewed
  // samples such as RTTs; "mean" (with a t-interval) for a few repetitions of a score.
  std::string statistic = "median";
  // Reference values from the thesis, in scenario order: configuration -> value in `unit`.
  std::vector<std::pair<std::string, double>> reference;
};

struct Scenario {
  int schema = 1;
  std::string name;
  std::string description;
  Topology topology;
  std::map<std::string, ProgramSpec> programs;
  std::vector<Configuration> configurations;
  Workload workload;
  std::optional<CaptureSpec> capture;  // required by ping
  CpuSamplingSpec cpu_sampling;
  int repetitions = 1;
  Order order = Order::kInterleaved;
  std::vector<std::string> profiles;  // names of the profiles the file defines
  ReportSpec report;

  const Configuration* FindConfiguration(const std::string& name) const;  // nullptr when absent
};

const char* ToString(Hook hook);
const char* ToString(ProgramKind kind);
const char* ToString(GeneratorKind kind);
const char* ToString(CpuBenchmarkKind kind);
const char* ToString(InstallAt at);
const char* ToString(TimestampRequest request);
const char* ToString(Order order);

}  // namespace nfb::scenario
