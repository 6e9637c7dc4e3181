// The receiving application of the flood experiments' "Unfiltered" configuration: nfb-udp-sink
// (tools/udp_sink.cc) bound to the attacked port in a host, counting what it reads and what its
// socket dropped.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "nfb/core/subprocess.h"
#include "nfb/platform/platform.h"

namespace nfb::workloads {

class UdpSink {
 public:
  // Starts the sink in `host` through Platform::Command and returns once it is bound (its output
  // goes to raw_dir/udp-sink.json). Throws RunError when it does not start within 5 s.
  UdpSink(const platform::Platform& platform, const std::string& host, int port,
          const std::filesystem::path& raw_dir);

  // Stops it and returns its report: {"port", "received_packets", "received_bytes",
  // "socket_drops", "duration_s"}. Throws RunError when it left none.
  nlohmann::json Stop();

 private:
  std::filesystem::path output_;
  Process process_;
};

}  // namespace nfb::workloads
