#include "objects.h"

#include <fmt/format.h>

#include <algorithm>

#include "nfb/bpf/icmp_echo.h"
#include "nfb/bpf/objects.h"
#include "nfb/bpf/udp_drop.h"
#include "nfb/core/error.h"

namespace nfb::nf {
namespace {

using json = nlohmann::json;

std::string Hex(const std::vector<uint8_t>& bytes) {
  std::string out;
  for (const uint8_t b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

}  // namespace

const std::vector<ObjectSpec>& KnownObjects() {
  static const std::vector<ObjectSpec> objects = {
      {.name = "icmp_echo",
       .path = bpf::kIcmpEchoObjectPath,
       .parameters = {},
       .stats_map = "icmp_echo_stats"},
      {.name = "udp_drop",
       .path = bpf::kUdpDropObjectPath,
       .parameters = {{.name = "port",
                       .min = 1,
                       .max = 65535,
                       .required = true,
                       .meaning = "the UDP destination port to drop",
                       .example = 9999}},
       .stats_map = bpf::kUdpDropStatsMap},
  };
  return objects;
}

const ObjectSpec* FindObject(const std::string& name) {
  for (const ObjectSpec& object : KnownObjects()) {
    if (object.name == name) return &object;
  }
  return nullptr;
}

void CheckParameters(const ObjectSpec& object, const scenario::ProgramSpec& program,
                     const std::string& where) {
  std::string known;
  for (const ParameterSpec& p : object.parameters) {
    known += fmt::format("{}{} ({}, {}..{})", known.empty() ? "" : ", ", p.name, p.meaning, p.min,
                         p.max);
  }
  for (const auto& [name, value] : program.parameters) {
    const auto spec = std::find_if(object.parameters.begin(), object.parameters.end(),
                                   [&](const ParameterSpec& p) { return p.name == name; });
    if (spec == object.parameters.end()) {
      throw InputError(fmt::format("{}: BPF object '{}' has no parameter '{}' ({})", where,
                                   object.name, name,
                                   known.empty() ? "it takes no parameters" : "known: " + known));
    }
    if (value < spec->min || value > spec->max) {
      throw InputError(fmt::format("{}: parameter '{}' of '{}' is {}; expected {}..{} ({})", where,
                                   name, object.name, value, spec->min, spec->max, spec->meaning));
    }
  }
  for (const ParameterSpec& p : object.parameters) {
    if (p.required && !Parameter(program, p.name)) {
      throw InputError(
          fmt::format("{}: BPF object '{}' needs parameter '{}' ({}, {}..{}), e.g. "
                      "parameters: {{{}: {}}}",
                      where, object.name, p.name, p.meaning, p.min, p.max, p.name, p.example));
    }
  }
}

std::optional<uint64_t> Parameter(const scenario::ProgramSpec& program, const std::string& name) {
  for (const auto& [key, value] : program.parameters) {
    if (key == name) return value;
  }
  return std::nullopt;
}

json ParametersJson(const scenario::ProgramSpec& program) {
  json parameters = json::object();
  for (const auto& [name, value] : program.parameters) parameters[name] = value;
  return parameters;
}

std::vector<std::string> OffloadSettings(const ObjectSpec& object,
                                         const scenario::ProgramSpec& program) {
  if (object.name != "udp_drop") return {};
  // Any destination address: behind the dispatcher the program sees only the guest's frames.
  const std::vector<uint8_t> value = bpf::EncodeUdpDropConfig(
      {.port = static_cast<uint16_t>(Parameter(program, "port").value_or(0))});
  return {fmt::format("{}:0=0x{}", bpf::kUdpDropConfigMap, Hex(value))};
}

json DecodeStats(const ObjectSpec& object, std::span<const uint8_t> per_cpu_value) {
  if (object.name == "udp_drop") {
    const bpf::UdpDropCounters c = bpf::SumUdpDropCounters(per_cpu_value);
    return {{"dropped", c.dropped}, {"passed", c.passed}};
  }
  if (object.name == "icmp_echo") {
    const bpf::IcmpEchoCounters c = bpf::SumIcmpEchoCounters(per_cpu_value);
    return {{"answered", c.answered}, {"passed", c.passed}};
  }
  throw RunError("no counter layout known for BPF object '" + object.name + "'");
}

}  // namespace nfb::nf
