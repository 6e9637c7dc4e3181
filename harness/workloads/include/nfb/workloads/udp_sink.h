// The receiving application of the flood experiments' "Unfiltered" configuration: nfb-udp-sink
// (tools/udp_sink.cc) bound to the attacked port in a host, counting what it reads and what its
// socket dropped.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "nfb/core/held_stdin.h"
#include "nfb/core/subprocess.h"
#include "nfb/platform/platform.h"

namespace nfb::workloads {


// The sink's binary in the build tree. A guest reached over SSH runs it by its file name from its
// PATH: the runner has the platform add it to the guest's image (XenPlatformOptions::guest_files).
std::filesystem::path UdpSinkBinary();

class UdpSink {
 public:
  // Starts the sink in `host` through Platform::Command and returns once it is bound (its output
  // goes to raw_dir/udp-sink.json). Throws RunError when it does not start within 5 s (60 s in a
  // host reached over SSH, where it runs under a shell that stops it when its stdin ends).
  UdpSink(const platform::Platform& platform, const std::string& host, int port,
          const std::filesystem::path& raw_dir);
  ~UdpSink();

  // Stops it and returns its report: {"port", "received_packets", "received_bytes",
  // "socket_drops", "duration_s"}. Throws RunError when it left none.
  nlohmann::json Stop();

 private:
  std::filesystem::path output_;
  std::unique_ptr<HeldStdin> remote_stdin_;  // a remote sink's stdin (before process_:
                                                        // destroyed after it, ssh killed first)
  Process process_;
};

}  // namespace nfb::workloads
