// Tree -> typed Scenario. Decoding checks what one value can say about itself (kind, type,
// range, format); validation checks what values say about each other (uniqueness, references).
// Both throw InputError through the Context, pointing at the offending node.
#pragma once

#include <string>
#include <vector>

#include "nfb/scenario/scenario.h"
#include "tree.h"

namespace nfb::scenario::internal {

// One `key.path: value` line of a profile.
struct ProfileSetting {
  std::string path;
  Origin key_origin;
  const Node* value;  // points into the document the profiles were read from
};

struct Profile {
  std::string name;
  Origin origin;
  std::vector<ProfileSetting> settings;
};

// Reads the `profiles:` section of `root` (absent: none). Checks its shape only; the settings are
// checked when applied.
std::vector<Profile> ReadProfiles(const Node& root, const Context& ctx);

// Decodes the whole document. Throws InputError for unknown or missing keys, wrong types,
// out-of-range or malformed values.
Scenario DecodeScenario(const Node& root, const Context& ctx);

// Checks the relations between decoded values; `root` is the tree `scenario` was decoded from,
// used to point at the offending node. Throws InputError.
void ValidateScenario(const Scenario& scenario, const Node& root, const Context& ctx);

}  // namespace nfb::scenario::internal
