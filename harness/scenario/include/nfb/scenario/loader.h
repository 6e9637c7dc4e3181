// Loading scenario files: YAML -> profile and overrides applied -> typed, validated Scenario.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nfb/scenario/scenario.h"

namespace nfb::scenario {

struct LoadOptions {
  std::string profile;                 // empty: the file's base values
  std::vector<std::string> overrides;  // "key.path=value", applied after the profile
  std::optional<int> repetitions;      // --repetitions, applied last
};

struct LoadedScenario {
  Scenario scenario;
  std::string source;         // file path (or the name given for a string)
  std::string profile;        // profile applied, empty for none
  std::string resolved_yaml;  // the document after profile and overrides: exactly what runs
};

// Loads, applies the profile and overrides, decodes and validates (docs/scenario-format.md).
// Throws InputError whose message starts with "<file>:<line>:<column>: " and names the key, for
// syntax errors, unknown keys, wrong types, out-of-range values and dangling references; nothing
// outside the process is touched. A value set by a profile is also blamed on it
// ("<file>:<line>:<column>: profile 'quick': workload.count: ..."); one set on the command line
// has no position: "<file>: override 'workload.count=abc': workload.count: ...",
// "<file>: --profile 'x': ...", "<file>: --repetitions 0: ...". Every profile the file defines is
// validated, not only the selected one. An unreadable file gives "<file>: cannot read: ...".
LoadedScenario LoadScenarioFile(const std::filesystem::path& path, const LoadOptions& options = {});
LoadedScenario LoadScenarioString(std::string_view text, std::string_view source_name,
                                  const LoadOptions& options = {});

}  // namespace nfb::scenario
