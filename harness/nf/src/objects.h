// The BPF objects of nf_programs/ the harness can install, what parameters each takes, and how
// those become map entries and counters. The one place that knows an object by name.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "nfb/scenario/scenario.h"

namespace nfb::nf {

struct ParameterSpec {
  std::string name;
  uint64_t min = 0;
  uint64_t max = 0;
  bool required = false;
  std::string meaning;   // for error messages: "the UDP destination port to drop"
  uint64_t example = 0;  // a value shown in error messages
};

struct ObjectSpec {
  std::string name;                       // "udp_drop": nf_programs/udp_drop.bpf.c
  std::filesystem::path path;             // the compiled ELF, which bpfd loads for a guest
  std::vector<ParameterSpec> parameters;  // the names a scenario may set under `parameters:`
  std::string stats_map;                  // its PERCPU_ARRAY of counters (key 0)
};

// Every object the harness knows, in name order.
const std::vector<ObjectSpec>& KnownObjects();
// nullptr when unknown.
const ObjectSpec* FindObject(const std::string& name);

// Checks `program`'s parameters against its object: every name known, every value in range,
// every required one present. Throws InputError naming `where`, the parameter and the known
// ones.
void CheckParameters(const ObjectSpec& object, const scenario::ProgramSpec& program,
                     const std::string& where);

// The value of a parameter (after CheckParameters), or nullopt when not set.
std::optional<uint64_t> Parameter(const scenario::ProgramSpec& program, const std::string& name);

// The program's parameters as a JSON object, for Describe().
nlohmann::json ParametersJson(const scenario::ProgramSpec& program);

// The map entries that configure `program` when a guest offloads it, as xenbpf-load --set
// arguments (MAP:KEY=VALUE): udp_drop's port; nothing for icmp_echo.
std::vector<std::string> OffloadSettings(const ObjectSpec& object,
                                         const scenario::ProgramSpec& program);

// Named counters from the per-CPU value of the object's stats map at key 0, as a lookup through
// bpfd returns it (all of dom0's possible CPUs). Throws RunError when the size does not fit.
nlohmann::json DecodeStats(const ObjectSpec& object, std::span<const uint8_t> per_cpu_value);

}  // namespace nfb::nf
