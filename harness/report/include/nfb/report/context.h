// The context block of a run (context.json): everything needed to judge whether two runs are
// comparable. Collection never fails a run: what cannot be read is recorded as such.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nfb::report {

// Hostname, kernel, CPU model and count, governor per CPU, clocksource, memory, cgroup version.
nlohmann::json CollectHostContext();

// Runs a version command and returns the first line it prints (stdout, or stderr where some
// tools print their version; possibly empty), or nullopt when the tool cannot run.
std::optional<std::string> ToolVersionLine(std::vector<std::string> argv);

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
