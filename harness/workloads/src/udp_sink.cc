#include "nfb/workloads/udp_sink.h"

#include <csignal>
#include <chrono>
#include <fstream>

#include "held_remote.h"
#include "nfb/core/error.h"

namespace nfb::workloads {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::filesystem::path UdpSinkBinary() { return NFB_UDP_SINK_PATH; }

UdpSink::UdpSink(const platform::Platform& platform, const std::string& host, int port,
                 const fs::path& raw_dir)
    : output_(raw_dir / "udp-sink.json") {
  const fs::path stderr_path = raw_dir / "udp-sink.stderr.log";
  std::chrono::seconds ready_timeout(5);
  if (platform.Host(host).IsLocal()) {
    ProcessSpec spec =
        platform.Command(host, {NFB_UDP_SINK_PATH, "--port", std::to_string(port)});
    spec.stdout_path = output_;
    spec.stderr_path = stderr_path;
    process_ = Process::Start(spec);
  } else {
    // A guest reached over SSH: the sink is on its PATH (a guest tool, appended to its ramdisk),
    // and it is stopped by the end of its stdin (held_remote.h), not by a signal to ssh. Starting
    // a process there can take seconds under QEMU/TCG.
    remote_stdin_ = std::make_unique<HeldStdin>(
        internal::HeldStdinPath(platform, host, "udp-sink"));
    process_ = internal::StartHeldRemote(platform, host,
                                         {UdpSinkBinary().filename().string(), "--port",
                                          std::to_string(port)},
                                         *remote_stdin_, output_, stderr_path, false);
    ready_timeout = std::chrono::seconds(60);
  }
  // The sink prints {"ready":true} once bound; the attack must not start before that.
  const auto deadline = Clock::now() + ready_timeout;
  while (Clock::now() < deadline) {
    std::ifstream in(output_);
    std::string line;
    if (std::getline(in, line) && line.find("\"ready\"") != std::string::npos) return;
    if (process_.Wait(std::chrono::milliseconds(20))) break;
  }
  throw RunError("nfb-udp-sink did not start in " + host + " (see " + stderr_path.string() + ")");
}

UdpSink::~UdpSink() = default;

nlohmann::json UdpSink::Stop() {
  if (remote_stdin_) {
    remote_stdin_->Close();  // the remote shell sends the sink SIGTERM
    process_.Wait(std::chrono::seconds(30));
  } else {
    process_.Signal(SIGTERM);
    process_.Wait(std::chrono::seconds(5));
  }
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
