#include "bpfd_offload.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "nfb/bpfd/control.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"

namespace nfb::nf {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string Tail(const fs::path& path, size_t max_bytes = 2000) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max_bytes ? s.substr(s.size() - max_bytes) : s;
}

// The loader prints one JSON line once the program is loaded and attached, then holds.
json WaitForLoaderLine(Process& loader, const fs::path& out, const fs::path& err,
                       std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(out);
    std::string line;
    if (std::getline(in, line) && !in.eof()) {  // a complete line
      json answer = json::parse(line, nullptr, false);
      if (answer.is_discarded()) throw RunError("xenbpf-load printed '" + line + "', not JSON");
      return answer;
    }
    if (auto done = loader.Wait(std::chrono::milliseconds(50))) {
      throw RunError(fmt::format("xenbpf-load in the guest failed ({}): {}", done->Status(),
                                 Tail(err)));
    }
  }
  throw RunError("xenbpf-load did not load within " + std::to_string(timeout.count()) + " s");
}

}  // namespace

BpfdOffload::BpfdOffload(platform::Platform& platform, const scenario::GuestSpec& guest,
                         const std::string& program, const fs::path& object,
                         const fs::path& log_dir)
    : platform_(platform),
      guest_(guest.name),
      netns_(platform.Dom0Netns()),
      interface_(platform.Dom0NicInterface()),
      program_(program),
      object_(object),
      log_dir_(log_dir) {
  // The control socket is dom0's own: in the run's private directory, so that even a killed
  // run's socket is removed by the next run's cleanup.
  control_dir_ = platform.StateDirectory() / "bpfd";
  fs::create_directories(control_dir_);
  fs::permissions(control_dir_, fs::perms::owner_all, fs::perm_options::replace);
  control_path_ = control_dir_ / "bpfd.ctl";
  try {
    const platform::HostInfo& g = platform.Host(guest.name);
    ProcessSpec daemon = platform.Command(
        "dom0", {NFB_BPFD_PATH, "--interface", interface_, "--control", control_path_.string()});
    daemon.stdout_path = log_dir_ / "bpfd.log";
    daemon.stderr_path = log_dir_ / "bpfd.stderr.log";
    bpfd_ = Process::Start(daemon);
    try {
      bpfd::ControlClient::WaitReady(control_path_, std::chrono::seconds(20));
    } catch (const Error&) {
      throw RunError("bpfd did not become ready: " + Tail(daemon.stderr_path));
    }
    bpfd::ControlClient control(control_path_);
    bpfd::DomainSpec domain;
    domain.name = guest.name;
    domain.netns = g.netns;
    domain.mac = g.mac;
    control.Register(domain);

    guest_rx_at_install_ = GuestRxPackets();
    ProcessSpec load = platform.Command(
        guest.name, {NFB_XENBPF_LOAD_PATH, "--json", "load", object_.string(), "--hold"});
    load.stdout_path = log_dir_ / "xenbpf-load.log";
    load.stderr_path = log_dir_ / "xenbpf-load.stderr.log";
    loader_ = Process::Start(load);
    loaded_ = WaitForLoaderLine(loader_, load.stdout_path, load.stderr_path,
                                std::chrono::seconds(30));
    log::Debug("offloaded {} for {} through bpfd: {}", program_, guest_, loaded_.dump());
  } catch (...) {
    Stop();
    throw;
  }
}

BpfdOffload::~BpfdOffload() { Stop(); }

uint64_t BpfdOffload::GuestRxPackets() const {
  ProcessResult r = RunProcess(
      platform_.Command(guest_, {"ip", "-s", "-j", "link", "show", "eth0"}), std::chrono::seconds(10));
  json links = json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || !links.is_array() || links.empty()) {
    throw RunError("cannot read the guest's interface counters: " + r.err);
  }
  return links[0]["stats64"]["rx"]["packets"].get<uint64_t>();
}

json BpfdOffload::Describe() const {
  return {{"at", "offload"},
          {"program", program_},
          {"hook", "tc ingress (dispatcher tail call)"},
          {"netns", netns_},
          {"interface", interface_},
          {"path", "bpfd"},
          {"object", object_.string()},
          {"loaded", loaded_}};
}

json BpfdOffload::Counters() const {
  bpfd::ControlClient control(control_path_);
  bpfd::DomainStatus s = control.Stats(guest_);
  json c = s;  // packets, bytes, cpu_ns, cost_ps, method ... as bpfd reports them
  c["dispatcher_slot_packets"] = s.packets;
  c["guest_rx_packets_during_install"] = GuestRxPackets() - guest_rx_at_install_;
  return c;
}

void BpfdOffload::Stop() noexcept {
  // The loader's disconnect makes bpfd unload the guest's program; then bpfd itself detaches
  // the dispatcher and exits.
  try {
    if (loader_.running()) loader_.Terminate(std::chrono::seconds(5));
    if (bpfd_.running()) {
      ProcessResult r = bpfd_.Terminate(std::chrono::seconds(10));
      if (r.exit_code != 0) {
        log::Warn("bpfd exited with {} (log: {})", r.Status(), (log_dir_ / "bpfd.stderr.log").string());
      }
    }
  } catch (const std::exception& e) {
    log::Error("stopping bpfd: {}", e.what());
  }
  std::error_code ec;
  if (!control_dir_.empty()) fs::remove_all(control_dir_, ec);
}

}  // namespace nfb::nf
