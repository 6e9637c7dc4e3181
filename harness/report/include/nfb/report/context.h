// The context block of a run (context.json): everything needed to judge whether two runs are
// comparable. Collection never fails a run: what cannot be read is recorded as such.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace nfb::report {

// Hostname, kernel, CPU model and count, governor per CPU, clocksource, memory, cgroup version.
nlohmann::json CollectHostContext();

// Versions of the external tools and libraries a run uses; a missing tool is "not found".
nlohmann::json CollectToolVersions();

// `ethtool -k <ifname>` inside a namespace, as {feature: "on"|"off"[ fixed]}.
nlohmann::json CollectNicOffloads(const std::string& netns, const std::string& ifname);

// {"sha": ..., "dirty": bool} of the source tree the binary was built from, or {"sha": null}.
nlohmann::json CollectGitState();

// Lower-case hex SHA-256 of a byte string (the scenario hash).
std::string Sha256Hex(std::string_view bytes);

// The current UTC time, ISO 8601 with seconds ("2026-11-21T20:35:07Z").
std::string UtcNowIso8601();

}  // namespace nfb::report
