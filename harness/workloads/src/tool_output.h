// Reading what the tools the workloads start (iperf3, trafgen, pktgen's proc files) left behind,
// for parsing and for error messages.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace nfb::workloads::internal {

// Up to `limit` bytes from the start of `path`; empty when it cannot be read.
std::string ReadFile(const std::filesystem::path& path, size_t limit = 1 << 20);

// The end of a tool's stderr log (its last ~600 bytes, trailing newlines dropped), or
// "(nothing on stderr)".
std::string Tail(const std::filesystem::path& path);

}  // namespace nfb::workloads::internal
