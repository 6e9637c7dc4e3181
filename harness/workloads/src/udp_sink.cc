#include "nfb/workloads/udp_sink.h"

#include <csignal>
#include <chrono>
#include <fstream>

#include "nfb/core/error.h"

namespace nfb::workloads {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

UdpSink::UdpSink(const platform::Platform& platform, const std::string& host, int port,
                 const fs::path& raw_dir)
    : output_(raw_dir / "udp-sink.json") {
  ProcessSpec spec = platform.Command(host, {NFB_UDP_SINK_PATH, "--port", std::to_string(port)});
  spec.stdout_path = output_;
  spec.stderr_path = raw_dir / "udp-sink.stderr.log";
  process_ = Process::Start(spec);
  // The sink prints {"ready":true} once bound; the attack must not start before that.
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline) {
    std::ifstream in(output_);
    std::string line;
    if (std::getline(in, line) && line.find("\"ready\"") != std::string::npos) return;
    if (process_.Wait(std::chrono::milliseconds(20))) break;
  }
  throw RunError("nfb-udp-sink did not start in " + host + " (see " + spec.stderr_path.string() +
                 ")");
}

nlohmann::json UdpSink::Stop() {
  process_.Signal(SIGTERM);
  process_.Wait(std::chrono::seconds(5));
  std::ifstream in(output_);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  nlohmann::json report = nlohmann::json::parse(last, nullptr, false);
  if (report.is_discarded() || !report.contains("received_packets")) {
    throw RunError("nfb-udp-sink left no report in " + output_.string());
  }
  return report;
}

}  // namespace nfb::workloads
