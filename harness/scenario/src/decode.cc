// One decode function per struct of scenario.h, on top of a few readers for scalar types. Each
// reader names what it expected and what it got, at the node's position.
#include "decode.h"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <set>

#include "enum_names.h"

namespace nfb::scenario::internal {
namespace {

// RFC 2544 benchmarking range; the project never uses other addresses.
constexpr uint32_t kBenchNetwork = 0xc6120000;  // 198.18.0.0
constexpr uint32_t kBenchMask = 0xfffe0000;     // /15
constexpr int kMinPrefixLen = 15;               // a subnet cannot be larger than the range
constexpr int kMaxPrefixLen = 30;               // room for more than two hosts

[[noreturn]] void Expected(const Node& node, const Path& path, const Context& ctx,
                           std::string_view what) {
  ctx.Fail(node, path, fmt::format("expected {}, got {}", what, Describe(node)));
}

// A map with a fixed set of keys. Construction rejects any other key, naming the closest known
// one, so a typo is an error rather than a silently ignored setting.
class MapReader {
 public:
  MapReader(const Node& node, const Path& path, const Context& ctx,
            std::initializer_list<std::string_view> known, bool null_is_empty = false)
      : node_(node), path_(path), ctx_(ctx) {
    if (node.IsNull() && null_is_empty) return;
    if (!node.IsMap()) Expected(node, path, ctx, "a map");
    for (const Entry& entry : node.entries) {
      if (std::find(known.begin(), known.end(), entry.key) != known.end()) continue;
      const std::vector<std::string> names(known.begin(), known.end());
      const std::string hint = ClosestMatch(entry.key, names);
      ctx.Fail(entry.key_origin, path.Key(entry.key),
               hint.empty() ? "unknown key (expected one of: " + JoinNames(names) + ")"
                            : "unknown key (did you mean '" + hint + "'?)");
    }
  }

  const Node* Find(std::string_view key) const {
    const Entry* entry = node_.FindEntry(key);
    return entry == nullptr ? nullptr : &entry->value;
  }

  const Node& Require(std::string_view key) const {
    if (const Node* node = Find(key)) return *node;
    ctx_.Fail(node_, path_.Key(key), "missing required key");
  }

  Path At(std::string_view key) const { return path_.Key(key); }

 private:
  const Node& node_;
  Path path_;
  const Context& ctx_;
};

std::string ReadString(const Node& node, const Path& path, const Context& ctx) {
  if (!node.IsScalar()) Expected(node, path, ctx, "a string");
  return node.scalar;
}

std::string ReadNonEmptyString(const Node& node, const Path& path, const Context& ctx) {
  std::string value = ReadString(node, path, ctx);
  if (value.empty()) ctx.Fail(node, path, "must not be empty");
  return value;
}

// Plain decimal integers only: a quoted "5" is a string, and 1_000, 0x10 or 1e3 are not accepted
// so that every file means the same to every YAML reader.
int64_t ReadInteger(const Node& node, const Path& path, const Context& ctx, int64_t min,
                    int64_t max) {
  const char* what = min >= 0 ? "an unsigned integer" : "an integer";
  if (!node.IsScalar() || node.quoted) Expected(node, path, ctx, what);
  std::string_view text = node.scalar;
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  const size_t digits_from = !text.empty() && text[0] == '-' ? 1 : 0;
  if (text.size() == digits_from || !std::all_of(text.begin() + digits_from, text.end(),
                                                 [](char c) { return c >= '0' && c <= '9'; })) {
    Expected(node, path, ctx, what);
  }
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    ctx.Fail(node, path,
             fmt::format("{} is out of range (allowed {}..{})", Excerpt(node.scalar), min, max));
  }
  return value;
}

int ReadInt(const Node& node, const Path& path, const Context& ctx, int min, int max) {
  return static_cast<int>(ReadInteger(node, path, ctx, min, max));
}

// A finite decimal number ("2", "0.5", "1e-3").
double ReadNumber(const Node& node, const Path& path, const Context& ctx) {
  if (!node.IsScalar() || node.quoted) Expected(node, path, ctx, "a number");
  std::string_view text = node.scalar;
  if (text.size() > 1 && text[0] == '+' && text[1] != '-') text.remove_prefix(1);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec == std::errc::invalid_argument || end != text.data() + text.size()) {
    Expected(node, path, ctx, "a number");
  }
  if (ec != std::errc() || !std::isfinite(value)) {
    ctx.Fail(node, path, fmt::format("expected a finite number, got {}", Excerpt(node.scalar)));
  }
  return value;
}

double ReadNumberIn(const Node& node, const Path& path, const Context& ctx, double min,
                    double max) {
  const double value = ReadNumber(node, path, ctx);
  if (value < min || value > max) {
    ctx.Fail(node, path,
             fmt::format("{} is out of range (allowed {}..{})", Excerpt(node.scalar), min, max));
  }
  return value;
}

// YAML 1.2 core-schema booleans only; yes/no/on/off mean different things to different readers.
bool ReadBool(const Node& node, const Path& path, const Context& ctx) {
  if (node.IsScalar() && !node.quoted) {
    const std::string& s = node.scalar;
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  Expected(node, path, ctx, "true or false");
}

template <typename E, size_t N>
E ReadEnum(const Node& node, const Path& path, const Context& ctx,
           const std::pair<std::string_view, E> (&table)[N]) {
  std::vector<std::string> names;
  for (const auto& [name, value] : table) {
    if (node.IsScalar() && node.scalar == name) return value;
    names.emplace_back(name);
  }
  std::string message = fmt::format("expected one of {}; got {}", JoinNames(names), Describe(node));
  if (node.IsScalar()) {
    const std::string hint = ClosestMatch(node.scalar, names);
    if (!hint.empty()) message += " (did you mean '" + hint + "'?)";
  }
  ctx.Fail(node, path, message);
}

// [a-z][a-z0-9_]{0,max_len-1}
bool IsLowerIdentifier(std::string_view s, size_t max_len) {
  if (s.empty() || s.size() > max_len || s[0] < 'a' || s[0] > 'z') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Guest and external host names become parts of namespace and interface names, so they are kept
// short and plain; dom0 is the name of the host domain itself.
std::string ReadHostName(const Node& node, const Path& path, const Context& ctx) {
  std::string name = ReadString(node, path, ctx);
  if (name == "dom0") ctx.Fail(node, path, "'dom0' is reserved for the host domain");
  if (!IsLowerIdentifier(name, 12)) {
    ctx.Fail(node, path,
             fmt::format("'{}' must match [a-z][a-z0-9_]{{0,11}} (it becomes part of namespace "
                         "names)",
                         Excerpt(name)));
  }
  return name;
}

Mac DecodeMac(const Node& node, const Path& path, const Context& ctx) {
  const std::optional<Mac> mac = Mac::Parse(ReadString(node, path, ctx));
  if (!mac) Expected(node, path, ctx, "a MAC address like 02:00:00:00:00:01");
  if (!mac->IsLocalUnicast()) {
    ctx.Fail(node, path,
             fmt::format("{} is not a locally administered unicast MAC (use 02:xx:xx:xx:xx:xx)",
                         mac->ToString()));
  }
  return *mac;
}

Ipv4Prefix DecodeIpv4Prefix(const Node& node, const Path& path, const Context& ctx) {
  const std::optional<Ipv4Prefix> prefix = Ipv4Prefix::Parse(ReadString(node, path, ctx));
  if (!prefix) Expected(node, path, ctx, "an IPv4 address with prefix length like 198.18.0.11/24");
  if ((prefix->address & kBenchMask) != kBenchNetwork) {
    ctx.Fail(node, path,
             fmt::format("{} is outside 198.18.0.0/15 (the RFC 2544 benchmarking range, the only "
                         "one the project uses)",
                         prefix->AddressString()));
  }
  if (prefix->prefix_len < kMinPrefixLen || prefix->prefix_len > kMaxPrefixLen) {
    ctx.Fail(node, path,
             fmt::format("prefix length /{} is outside /{}../{} (one subnet inside "
                         "198.18.0.0/15 with room for the hosts)",
                         prefix->prefix_len, kMinPrefixLen, kMaxPrefixLen));
  }
  if (prefix->address == prefix->Network() || prefix->address == prefix->Broadcast()) {
    ctx.Fail(node, path,
             fmt::format("{} is the {} address of its subnet", prefix->AddressString(),
                         prefix->address == prefix->Network() ? "network" : "broadcast"));
  }
  return *prefix;
}

std::vector<int> DecodeCpuList(const Node& node, const Path& path, const Context& ctx) {
  if (!node.IsSequence()) Expected(node, path, ctx, "a list of CPU numbers like [0, 1]");
  if (node.items.empty()) ctx.Fail(node, path, "expected at least one CPU");
  std::vector<int> cpus;
  for (size_t i = 0; i < node.items.size(); ++i) {
    const int cpu = ReadInt(node.items[i], path.Index(i), ctx, 0, 1023);
    if (std::find(cpus.begin(), cpus.end(), cpu) != cpus.end()) {
      ctx.Fail(node.items[i], path.Index(i), fmt::format("CPU {} is listed twice", cpu));
    }
    cpus.push_back(cpu);
  }
  return cpus;
}

const Node& RequireList(const Node& node, const Path& path, const Context& ctx,
                        bool null_is_empty) {
  static const Node kEmptyList = [] {
    Node empty;
    empty.kind = Node::Kind::kSequence;
    return empty;
  }();
  if (node.IsNull() && null_is_empty) return kEmptyList;
  if (!node.IsSequence()) Expected(node, path, ctx, "a list");
  return node;
}

NicSpec DecodeNic(const Node& node, const Path& path, const Context& ctx) {
  const MapReader m(node, path, ctx, {"name", "mac"});
  NicSpec nic;
  if (const Node* n = m.Find("name")) {
    nic.name = ReadString(*n, m.At("name"), ctx);
    // An interface name: at most IFNAMSIZ-1 characters, nothing a shell or ip(8) would misread.
    const bool valid = !nic.name.empty() && nic.name.size() <= 15 && IsAlnum(nic.name[0]) &&
                       std::all_of(nic.name.begin(), nic.name.end(),
                                   [](char c) { return IsAlnum(c) || c == '_' || c == '-'; });
    if (!valid) {
      ctx.Fail(
          *n, m.At("name"),
          fmt::format("'{}' is not an interface name (1-15 of [A-Za-z0-9_-])", Excerpt(nic.name)));
    }
    if (nic.name == "xenbr0" || nic.name == "lo") {
      ctx.Fail(*n, m.At("name"), fmt::format("'{}' is reserved", nic.name));
    }
  }
  nic.mac = DecodeMac(m.Require("mac"), m.At("mac"), ctx);
  return nic;
}

Dom0Spec DecodeDom0(const Node& node, const Path& path, const Context& ctx) {
  const MapReader m(node, path, ctx, {"cpus", "mac", "address", "nic"});
  Dom0Spec dom0;
  if (const Node* n = m.Find("cpus")) dom0.cpus = DecodeCpuList(*n, m.At("cpus"), ctx);
  dom0.mac = DecodeMac(m.Require("mac"), m.At("mac"), ctx);
  dom0.address = DecodeIpv4Prefix(m.Require("address"), m.At("address"), ctx);
  dom0.nic = DecodeNic(m.Require("nic"), m.At("nic"), ctx);
  return dom0;
}

GuestSpec DecodeGuest(const Node& node, const Path& path, const Context& ctx) {
  const MapReader m(node, path, ctx, {"name", "domid", "vcpus", "memory_mb", "mac", "address"});
  GuestSpec guest;
  guest.name = ReadHostName(m.Require("name"), m.At("name"), ctx);
  // Xen's domids end below DOMID_FIRST_RESERVED (0x7ff0); 0 is dom0.
  if (const Node* n = m.Find("domid")) guest.domid = ReadInt(*n, m.At("domid"), ctx, 1, 32751);
  if (const Node* n = m.Find("vcpus")) guest.vcpus = DecodeCpuList(*n, m.At("vcpus"), ctx);
  if (const Node* n = m.Find("memory_mb")) {
    guest.memory_mb = ReadInt(*n, m.At("memory_mb"), ctx, 64, 1048576);
  }
  guest.mac = DecodeMac(m.Require("mac"), m.At("mac"), ctx);
  guest.address = DecodeIpv4Prefix(m.Require("address"), m.At("address"), ctx);
  return guest;
}

ExternalHostSpec DecodeExternalHost(const Node& node, const Path& path, const Context& ctx) {
  const MapReader m(node, path, ctx, {"name", "cpus", "mac", "address"});
  ExternalHostSpec host;
  host.name = ReadHostName(m.Require("name"), m.At("name"), ctx);
  if (const Node* n = m.Find("cpus")) host.cpus = DecodeCpuList(*n, m.At("cpus"), ctx);
  host.mac = DecodeMac(m.Require("mac"), m.At("mac"), ctx);
  host.address = DecodeIpv4Prefix(m.Require("address"), m.At("address"), ctx);
  return host;
}

Topology DecodeTopology(const Node& node, const Path& path, const Context& ctx) {
  const MapReader m(node, path, ctx, {"dom0", "guests", "external_hosts"});
  Topology topology;
  topology.dom0 = DecodeDom0(m.Require("dom0"), m.At("dom0"), ctx);
  if (const Node* n = m.Find("guests")) {
    const Node& list = RequireList(*n, m.At("guests"), ctx, true);
    for (size_t i = 0; i < list.items.size(); ++i) {
      topology.guests.push_back(DecodeGuest(list.items[i], m.At("guests").Index(i), ctx));
    }
  }
  if (const Node* n = m.Find("external_hosts")) {
    const Node& list = RequireList(*n, m.At("external_hosts"), ctx, true);
    for (size_t i = 0; i < list.items.size(); ++i) {
      topology.external_hosts.push_back(
          DecodeExternalHost(list.items[i], m.At("external_hosts").Index(i), ctx));
    }
  }
  return topology;
}

// A program is either a BPF object (`object:`, with optional `hook:` and `parameters:`) or a list
// of iptables rules (`iptables:`); the two are exclusive.
ProgramSpec DecodeProgram(const std::string& name, const Node& node, const Path& path,
                          const Context& ctx) {
  const MapReader m(node, path, ctx, {"object", "hook", "parameters", "iptables"});
  ProgramSpec program;
  program.name = name;
  if (const Node* rules = m.Find("iptables")) {
    for (std::string_view other : {"object", "hook", "parameters"}) {
      if (m.Find(other) != nullptr) {
        ctx.Fail(*m.Find(other), m.At(other),
                 "an iptables program has no BPF object, hook or parameters");
      }
    }
    program.kind = ProgramKind::kIptables;
    const Node& list = RequireList(*rules, m.At("iptables"), ctx, false);
    if (list.items.empty()) ctx.Fail(list, m.At("iptables"), "expected at least one rule");
    for (size_t i = 0; i < list.items.size(); ++i) {
      const Path at = m.At("iptables").Index(i);
      std::string rule = ReadNonEmptyString(list.items[i], at, ctx);
      // The rule becomes an argv, never a shell line; a chain and a target are the minimum.
      if (rule.find_first_of("\n;|&$`<>\\\"'") != std::string::npos) {
        ctx.Fail(list.items[i], at,
                 "rules are split on spaces into iptables arguments; quotes, shell operators and "
                 "newlines are not allowed");
      }
      if (rule.find(" -j ") == std::string::npos) {
        ctx.Fail(list.items[i], at,
                 fmt::format("'{}' has no target (expected e.g. 'INPUT -p udp --dport 9999 -j "
                             "DROP')",
                             Excerpt(rule)));
      }
      program.iptables_rules.push_back(std::move(rule));
    }
    return program;
  }
  const Node& object = m.Require("object");
  program.object = ReadString(object, m.At("object"), ctx);
  // It names nf_programs/<object>.bpf.c and its skeleton, so it must be a plain C identifier part.
  if (program.object.empty() ||
      !std::all_of(program.object.begin(), program.object.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
      })) {
    ctx.Fail(
        object, m.At("object"),
        fmt::format("expected a BPF object name matching [a-z0-9_]+, got {}", Describe(object)));
  }
  if (const Node* n = m.Find("hook")) program.hook = ReadEnum(*n, m.At("hook"), ctx, kHookNames);
  if (const Node* n = m.Find("parameters")) {
    const Path at = m.At("parameters");
    if (!n->IsNull() && !n->IsMap()) Expected(*n, at, ctx, "a map of parameter name to number");
    for (const Entry& entry : n->entries) {
      if (!IsLowerIdentifier(entry.key, 32)) {
        ctx.Fail(entry.key_origin, at.Key(entry.key), "expected a name matching [a-z][a-z0-9_]*");
      }
      program.parameters.emplace_back(
          entry.key, static_cast<uint64_t>(ReadInteger(entry.value, at.Key(entry.key), ctx, 0,
                                                       std::numeric_limits<int64_t>::max())));
    }
  }
  return program;
}

std::map<std::string, ProgramSpec> DecodePrograms(const Node& node, const Path& path,
                                                  const Context& ctx) {
  std::map<std::string, ProgramSpec> programs;
  if (node.IsNull()) return programs;
  if (!node.IsMap()) Expected(node, path, ctx, "a map of program name to program");
  for (const Entry& entry : node.entries) {
    if (entry.key.empty()) ctx.Fail(entry.key_origin, path, "a program name is empty");
    programs.emplace(entry.key, DecodeProgram(entry.key, entry.value, path.Key(entry.key), ctx));
  }
  return programs;
}

InstallSpec DecodeInstall(const Node& node, const Path& path, const Context& ctx) {
  const MapReader m(node, path, ctx, {"program", "at"});
  InstallSpec install;
  install.program = ReadNonEmptyString(m.Require("program"), m.At("program"), ctx);
  if (const Node* n = m.Find("at")) install.at = ReadEnum(*n, m.At("at"), ctx, kInstallAtNames);
  return install;
}

Configuration DecodeConfiguration(const Node& node, const Path& path, const Context& ctx) {
  const MapReader m(node, path, ctx,
                    {"name", "target", "stop_guests", "install", "attack", "receiver"});
  Configuration config;
  config.name = ReadNonEmptyString(m.Require("name"), m.At("name"), ctx);
  config.target = ReadNonEmptyString(m.Require("target"), m.At("target"), ctx);
  if (const Node* n = m.Find("stop_guests")) {
    config.stop_guests = ReadBool(*n, m.At("stop_guests"), ctx);
  }
  if (const Node* n = m.Find("install")) config.install = DecodeInstall(*n, m.At("install"), ctx);
  if (const Node* n = m.Find("attack")) config.attack = ReadBool(*n, m.At("attack"), ctx);
  if (const Node* n = m.Find("receiver")) config.receiver = ReadBool(*n, m.At("receiver"), ctx);
  return config;
}

Workload DecodePingWorkload(const Node& node, const Path& path, const Context& ctx) {
  const MapReader m(node, path, ctx,
                    {"type", "from", "count", "warmup", "interval_ms", "timeout_s"});
  PingWorkload ping;
  ping.from = ReadNonEmptyString(m.Require("from"), m.At("from"), ctx);
  if (const Node* n = m.Find("count")) {
    ping.count = static_cast<uint64_t>(ReadInteger(*n, m.At("count"), ctx, 1, 10'000'000));
  }
  if (const Node* n = m.Find("warmup")) {
    ping.warmup = static_cast<uint64_t>(ReadInteger(*n, m.At("warmup"), ctx, 0, 1'000'000));
  }
  if (const Node* n = m.Find("interval_ms")) {
    ping.interval_ms = ReadNumberIn(*n, m.At("interval_ms"), ctx, 0.001, 60000);
  }
  if (const Node* n = m.Find("timeout_s")) {
    ping.timeout_s = ReadNumberIn(*n, m.At("timeout_s"), ctx, 0.1, 600);
  }
  return ping;
}

FlowSpec DecodeFlow(const Node& node, const Path& path, const Context& ctx) {
  const MapReader m(node, path, ctx,
                    {"from", "rate_mbit", "datagram_bytes", "duration_s", "interval_s", "port"});
  FlowSpec flow;
  flow.from = ReadNonEmptyString(m.Require("from"), m.At("from"), ctx);
  if (const Node* n = m.Find("rate_mbit"))
    flow.rate_mbit = ReadNumberIn(*n, m.At("rate_mbit"), ctx, 0.001, 100000);
  // 1472 bytes fill a 1500-byte MTU with IPv4 and UDP headers; iperf3 needs 16 for its header.
  if (const Node* n = m.Find("datagram_bytes"))
    flow.datagram_bytes = ReadInt(*n, m.At("datagram_bytes"), ctx, 16, 1472);
  if (const Node* n = m.Find("duration_s"))
    flow.duration_s = ReadNumberIn(*n, m.At("duration_s"), ctx, 1, 86400);
  if (const Node* n = m.Find("interval_s"))
    flow.interval_s = ReadNumberIn(*n, m.At("interval_s"), ctx, 0.1, 60);
  if (const Node* n = m.Find("port")) flow.port = ReadInt(*n, m.At("port"), ctx, 1, 65535);
  return flow;
}

AttackSpec DecodeAttack(const Node& node, const Path& path, const Context& ctx) {
  const MapReader m(node, path, ctx,
                    {"from", "port", "frame_bytes", "packets", "start_s", "rate_pps", "generator",
                     "nice"});
  AttackSpec attack;
  attack.from = ReadNonEmptyString(m.Require("from"), m.At("from"), ctx);
  if (const Node* n = m.Find("port")) attack.port = ReadInt(*n, m.At("port"), ctx, 1, 65535);
  // 60 bytes is Ethernet's minimum frame without FCS; 1514 fills a 1500-byte MTU.
  if (const Node* n = m.Find("frame_bytes"))
    attack.frame_bytes = ReadInt(*n, m.At("frame_bytes"), ctx, 60, 1514);
  if (const Node* n = m.Find("packets")) {
    attack.packets =
        static_cast<uint64_t>(ReadInteger(*n, m.At("packets"), ctx, 0, 1'000'000'000'000));
  }
  if (const Node* n = m.Find("start_s"))
    attack.start_s = ReadNumberIn(*n, m.At("start_s"), ctx, 0, 86400);
  if (const Node* n = m.Find("rate_pps"))
    attack.rate_pps = ReadNumberIn(*n, m.At("rate_pps"), ctx, 0, 1e9);
  if (const Node* n = m.Find("generator"))
    attack.generator = ReadEnum(*n, m.At("generator"), ctx, kGeneratorNames);
  if (const Node* n = m.Find("nice")) attack.nice = ReadInt(*n, m.At("nice"), ctx, -20, 19);
  return attack;
}

CotenantSpec DecodeCotenant(const Node& node, const Path& path, const Context& ctx) {
  const MapReader m(node, path, ctx,
                    {"guest", "benchmark", "unixbench_dir", "duration_s", "threads", "start_s"});
  CotenantSpec cotenant;
  cotenant.guest = ReadNonEmptyString(m.Require("guest"), m.At("guest"), ctx);
  if (const Node* n = m.Find("benchmark"))
    cotenant.benchmark = ReadEnum(*n, m.At("benchmark"), ctx, kCpuBenchmarkNames);
  if (const Node* n = m.Find("unixbench_dir"))
    cotenant.unixbench_dir = ReadNonEmptyString(*n, m.At("unixbench_dir"), ctx);
  if (const Node* n = m.Find("duration_s"))
    cotenant.duration_s = ReadNumberIn(*n, m.At("duration_s"), ctx, 1, 86400);
  if (const Node* n = m.Find("threads")) cotenant.threads = ReadInt(*n, m.At("threads"), ctx, 1, 256);
  if (const Node* n = m.Find("start_s"))
    cotenant.start_s = ReadNumberIn(*n, m.At("start_s"), ctx, 0, 86400);
  if (cotenant.benchmark == CpuBenchmarkKind::kUnixBench && cotenant.unixbench_dir.empty()) {
    ctx.Fail(node, m.At("unixbench_dir"), "benchmark unixbench needs unixbench_dir");
  }
  return cotenant;
}

Workload DecodeUdpFloodWorkload(const Node& node, const Path& path, const Context& ctx) {
  const MapReader m(node, path, ctx, {"type", "flow", "attack", "cotenant"});
  UdpFloodWorkload flood;
  if (const Node* n = m.Find("flow")) flood.flow = DecodeFlow(*n, m.At("flow"), ctx);
  flood.attack = DecodeAttack(m.Require("attack"), m.At("attack"), ctx);
  if (const Node* n = m.Find("cotenant")) flood.cotenant = DecodeCotenant(*n, m.At("cotenant"), ctx);
  if (!flood.flow && !flood.cotenant) {
    ctx.Fail(node, path.Key("flow"),
             "a udp_flood workload measures something: give a flow, a cotenant or both");
  }
  return flood;
}

// The workload kinds by their `type:`. A new kind is a struct in the Workload variant, a decode
// function taking the whole workload map (its own `type` key included) and a row here.
using WorkloadDecoder = Workload (*)(const Node&, const Path&, const Context&);
constexpr std::pair<std::string_view, WorkloadDecoder> kWorkloadTypes[] = {
    {"ping", &DecodePingWorkload},
    {"udp_flood", &DecodeUdpFloodWorkload},
};

Workload DecodeWorkload(const Node& node, const Path& path, const Context& ctx) {
  if (!node.IsMap()) Expected(node, path, ctx, "a map");
  std::vector<std::string> types;
  for (const auto& [name, decode] : kWorkloadTypes) types.emplace_back(name);
  const Entry* type = node.FindEntry("type");
  if (type == nullptr) {
    ctx.Fail(node, path.Key("type"), "missing required key (one of: " + JoinNames(types) + ")");
  }
  const std::string name = ReadString(type->value, path.Key("type"), ctx);
  for (const auto& [type_name, decode] : kWorkloadTypes) {
    if (type_name == name) return decode(node, path, ctx);
  }
  ctx.Fail(
      type->value, path.Key("type"),
      fmt::format("unknown workload type {} (known: {})", Describe(type->value), JoinNames(types)));
}

CaptureSpec DecodeCapture(const Node& node, const Path& path, const Context& ctx) {
  const MapReader m(node, path, ctx, {"host", "timestamps", "snaplen", "buffer_mb"});
  CaptureSpec capture;
  capture.host = ReadNonEmptyString(m.Require("host"), m.At("host"), ctx);
  if (const Node* n = m.Find("timestamps")) {
    capture.timestamps = ReadEnum(*n, m.At("timestamps"), ctx, kTimestampNames);
  }
  if (const Node* n = m.Find("snaplen"))
    capture.snaplen = ReadInt(*n, m.At("snaplen"), ctx, 64, 65535);
  if (const Node* n = m.Find("buffer_mb")) {
    capture.buffer_mb = ReadInt(*n, m.At("buffer_mb"), ctx, 1, 1024);
  }
  return capture;
}

CpuSamplingSpec DecodeCpuSampling(const Node& node, const Path& path, const Context& ctx) {
  const MapReader m(node, path, ctx, {"enabled", "interval_s"}, true);
  CpuSamplingSpec spec;
  spec.enabled = true;
  if (const Node* n = m.Find("enabled")) spec.enabled = ReadBool(*n, m.At("enabled"), ctx);
  if (const Node* n = m.Find("interval_s"))
    spec.interval_s = ReadNumberIn(*n, m.At("interval_s"), ctx, 0.1, 60);
  return spec;
}

ReportSpec DecodeReport(const Node& node, const Path& path, const Context& ctx) {
  const MapReader m(node, path, ctx, {"metric", "unit", "baseline", "statistic", "reference"},
                    true);
  ReportSpec report;
  if (const Node* n = m.Find("metric")) report.metric = ReadNonEmptyString(*n, m.At("metric"), ctx);
  if (const Node* n = m.Find("unit")) report.unit = ReadNonEmptyString(*n, m.At("unit"), ctx);
  if (const Node* n = m.Find("baseline")) report.baseline = ReadString(*n, m.At("baseline"), ctx);
  if (const Node* n = m.Find("statistic")) {
    static constexpr std::pair<std::string_view, std::string_view> kStatistics[] = {
        {"median", "median"}, {"mean", "mean"}};
    report.statistic = std::string(ReadEnum(*n, m.At("statistic"), ctx, kStatistics));
  }
  if (const Node* n = m.Find("reference")) {
    const Path at = m.At("reference");
    if (!n->IsNull() && !n->IsMap()) Expected(*n, at, ctx, "a map of configuration to value");
    for (const Entry& entry : n->entries) {
      const double value = ReadNumber(entry.value, at.Key(entry.key), ctx);
      if (!(value > 0)) {
        ctx.Fail(entry.value, at.Key(entry.key),
                 fmt::format("expected a positive number, got {}", Excerpt(entry.value.scalar)));
      }
      report.reference.emplace_back(entry.key, value);
    }
  }
  return report;
}

// The results directory is named after the scenario.
bool IsScenarioName(std::string_view s) {
  if (s.empty() || s.size() > 64 || !IsAlnum(s[0])) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAlnum(c) || c == '.' || c == '_' || c == '-'; });
}

}  // namespace

std::vector<Profile> ReadProfiles(const Node& root, const Context& ctx) {
  std::vector<Profile> profiles;
  const Entry* section = root.FindEntry("profiles");
  if (section == nullptr || section->value.IsNull()) return profiles;
  const Path path = Path().Key("profiles");
  if (!section->value.IsMap())
    Expected(section->value, path, ctx, "a map of profile name to settings");
  for (const Entry& entry : section->value.entries) {
    const Path at = path.Key(entry.key);
    if (entry.key.empty()) ctx.Fail(entry.key_origin, path, "a profile name is empty");
    if (!entry.value.IsNull() && !entry.value.IsMap()) {
      Expected(entry.value, at, ctx, "a map of key path to value, like {workload.count: 300}");
    }
    Profile profile{entry.key, entry.key_origin, {}};
    for (const Entry& setting : entry.value.entries) {
      profile.settings.push_back(ProfileSetting{setting.key, setting.key_origin, &setting.value});
    }
    profiles.push_back(std::move(profile));
  }
  return profiles;
}

Scenario DecodeScenario(const Node& root, const Context& ctx) {
  if (root.IsNull()) {
    ctx.Fail(root, Path(), "the document is empty; expected a scenario map (schema, name, ...)");
  }
  if (!root.IsMap()) Expected(root, Path(), ctx, "a scenario map at the top level");
  Scenario s;
  // The version first: a file written for another schema would otherwise fail on whatever key
  // this version does not know, which hides the real problem.
  const Path schema_path = Path().Key("schema");
  const Entry* schema = root.FindEntry("schema");
  if (schema == nullptr) ctx.Fail(root, schema_path, "missing required key (use schema: 1)");
  s.schema = ReadInt(schema->value, schema_path, ctx, 0, std::numeric_limits<int>::max());
  if (s.schema != 1) {
    ctx.Fail(schema->value, schema_path,
             fmt::format("unsupported schema version {} (this nfbench reads schema 1)", s.schema));
  }

  const Path top;
  const MapReader m(root, top, ctx,
                    {"schema", "name", "description", "topology", "programs", "configurations",
                     "workload", "capture", "cpu_sampling", "repetitions", "order", "profiles",
                     "report"});
  const Node& name = m.Require("name");
  s.name = ReadString(name, m.At("name"), ctx);
  if (!IsScenarioName(s.name)) {
    ctx.Fail(name, m.At("name"),
             fmt::format("'{}' must match [A-Za-z0-9][A-Za-z0-9._-]{{0,63}} (it names the results "
                         "directory)",
                         Excerpt(s.name)));
  }
  if (const Node* n = m.Find("description"))
    s.description = ReadString(*n, m.At("description"), ctx);
  s.topology = DecodeTopology(m.Require("topology"), m.At("topology"), ctx);
  if (const Node* n = m.Find("programs")) s.programs = DecodePrograms(*n, m.At("programs"), ctx);

  const Node& configs =
      RequireList(m.Require("configurations"), m.At("configurations"), ctx, false);
  if (configs.items.empty())
    ctx.Fail(configs, m.At("configurations"), "expected at least one configuration");
  for (size_t i = 0; i < configs.items.size(); ++i) {
    s.configurations.push_back(
        DecodeConfiguration(configs.items[i], m.At("configurations").Index(i), ctx));
  }

  s.workload = DecodeWorkload(m.Require("workload"), m.At("workload"), ctx);
  if (const Node* n = m.Find("capture")) s.capture = DecodeCapture(*n, m.At("capture"), ctx);
  if (const Node* n = m.Find("cpu_sampling"))
    s.cpu_sampling = DecodeCpuSampling(*n, m.At("cpu_sampling"), ctx);
  if (const Node* n = m.Find("repetitions"))
    s.repetitions = ReadInt(*n, m.At("repetitions"), ctx, 1, 1000);
  if (const Node* n = m.Find("order")) s.order = ReadEnum(*n, m.At("order"), ctx, kOrderNames);
  for (const Profile& profile : ReadProfiles(root, ctx)) s.profiles.push_back(profile.name);
  if (const Node* n = m.Find("report")) s.report = DecodeReport(*n, m.At("report"), ctx);
  return s;
}

}  // namespace nfb::scenario::internal
