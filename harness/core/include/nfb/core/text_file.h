// Reading a whole (small) file: state files, tool logs, /sys and /proc entries, CSV and JSON
// results. One place, so every reader treats a missing or unreadable file the same way.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace nfb {

// The file's bytes, unchanged; nullopt when it cannot be opened or a read fails.
std::optional<std::string> ReadTextFile(const std::filesystem::path& path);

}  // namespace nfb
