#include "bpfd_offload.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "nfb/bpfd/control.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"

namespace nfb::nf {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

std::string Tail(const fs::path& path, size_t max_bytes = 2000) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max_bytes ? s.substr(s.size() - max_bytes) : s;
}

// Complete lines of a file (a last line without its newline is still being written).
std::vector<std::string> CompleteLines(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::vector<std::string> lines;
  for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos;
       start = end + 1) {
    lines.push_back(text.substr(start, end - start));
  }
  return lines;
}

std::vector<uint8_t> FromHex(const std::string& hex) {
  std::vector<uint8_t> bytes;
  if (hex.size() % 2 != 0) throw RunError("xenbpf-load printed an odd-length hex value");
  for (size_t i = 0; i < hex.size(); i += 2) {
    bytes.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

}  // namespace

BpfdOffload::BpfdOffload(platform::Platform& platform, const scenario::GuestSpec& guest,
                         const scenario::ProgramSpec& program, const ObjectSpec& object,
                         const fs::path& log_dir)
    : platform_(platform),
      guest_(guest.name),
      netns_(platform.Dom0Netns()),
      interface_(platform.Dom0NicInterface()),
      program_(program.name),
      object_(object),
      parameters_(ParametersJson(program)),
      settings_(OffloadSettings(object, program)),
      log_dir_(log_dir),
      loader_out_(log_dir / "xenbpf-load.log"),
      loader_err_(log_dir / "xenbpf-load.stderr.log") {
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

    // The loader reads commands from a FIFO: opened read-write here, so neither side blocks on
    // open, and the loader sees the end of its input only when this end is closed.
    const fs::path fifo = control_dir_ / "xenbpf-load.in";
    fs::remove(fifo);
    if (::mkfifo(fifo.c_str(), 0600) != 0) ThrowSystemError("mkfifo " + fifo.string(), errno);
    commands_fd_ = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
    if (commands_fd_ < 0) ThrowSystemError("open " + fifo.string(), errno);

    guest_rx_at_install_ = GuestRxPackets();
    // sh only redirects stdin and execs the loader: `exec "$@" <"$0"`, no quoting involved.
    std::vector<std::string> argv = {
        "sh",     "-c",   "exec \"$@\" <\"$0\"", fifo.string(), NFB_XENBPF_LOAD_PATH,
        "--json", "load", object_.path.string()};
    for (const std::string& setting : settings_) {
      argv.push_back("--set");
      argv.push_back(setting);
    }
    argv.push_back("--hold");
    ProcessSpec load = platform.Command(guest.name, argv);
    load.stdout_path = loader_out_;
    load.stderr_path = loader_err_;
    loader_ = Process::Start(load);
    loaded_ = NextLine(30s);
    if (!loaded_.contains("program_id")) {
      throw RunError("xenbpf-load in the guest could not offload " + program_ + ": " +
                     loaded_.dump() + " " + Tail(loader_err_));
    }
    for (const json& map : loaded_.value("maps", json::array())) {
      if (map.value("name", "") == object_.stats_map) stats_map_id_ = map.value("id", 0u);
    }
    log::Debug("offloaded {} for {} through bpfd: {}", program_, guest_, loaded_.dump());
  } catch (...) {
    Stop();
    throw;
  }
}

BpfdOffload::~BpfdOffload() { Stop(); }

json BpfdOffload::NextLine(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::vector<std::string> lines = CompleteLines(loader_out_);
    if (lines.size() > lines_read_) {
      const std::string& line = lines[lines_read_++];
      json answer = json::parse(line, nullptr, false);
      if (answer.is_discarded()) throw RunError("xenbpf-load printed '" + line + "', not JSON");
      return answer;
    }
    if (const std::optional<ProcessResult> done = loader_.Wait(0ms)) {
      throw RunError(fmt::format("xenbpf-load in the guest ended ({}): {}", done->Status(),
                                 Tail(loader_err_)));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw RunError(fmt::format("xenbpf-load in the guest gave no answer within {} ms: {}",
                                 timeout.count(), Tail(loader_err_)));
    }
    std::this_thread::sleep_for(20ms);
  }
}

json BpfdOffload::Ask(const std::string& line) const {
  const std::string text = line + "\n";
  if (::write(commands_fd_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    ThrowSystemError("write a command to xenbpf-load", errno);
  }
  json answer = NextLine(10s);
  if (answer.contains("error")) {
    throw RunError(fmt::format("xenbpf-load '{}' failed: {}", line, answer["error"].dump()));
  }
  return answer;
}

uint64_t BpfdOffload::GuestRxPackets() const {
  ProcessResult r =
      RunProcess(platform_.Command(guest_, {"ip", "-s", "-j", "link", "show", "eth0"}),
                 std::chrono::seconds(10));
  json links = json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || !links.is_array() || links.empty()) {
    throw RunError("cannot read the guest's interface counters: " + r.err);
  }
  return links[0]["stats64"]["rx"]["packets"].get<uint64_t>();
}

json BpfdOffload::Describe() const {
  return {{"at", "offload"},
          {"program", program_},
          {"object", object_.name},
          {"hook", "tc ingress (dispatcher tail call)"},
          {"netns", netns_},
          {"interface", interface_},
          {"parameters", parameters_},
          {"path", "bpfd"},
          {"object_path", object_.path.string()},
          {"loaded", loaded_}};
}

json BpfdOffload::Counters() const {
  bpfd::ControlClient control(control_path_);
  bpfd::DomainStatus s = control.Stats(guest_);
  json c = s;  // packets, bytes, cpu_ns, cost_ps, method ... as bpfd reports them
  c["dispatcher_slot_packets"] = s.packets;
  c["guest_rx_packets_during_install"] = GuestRxPackets() - guest_rx_at_install_;
  if (stats_map_id_ != 0) {
    // Key 0 of the per-CPU counter map, all of dom0's CPUs, through the guest's session.
    const json lookup = Ask(fmt::format("map lookup {} 00000000", stats_map_id_));
    c.update(DecodeStats(object_, FromHex(lookup.value("value", ""))));
  }
  return c;
}

void BpfdOffload::Stop() noexcept {
  // The loader's disconnect makes bpfd unload the guest's program; then bpfd itself detaches
  // the dispatcher and exits.
  try {
    if (loader_.running()) loader_.Terminate(std::chrono::seconds(5));
    if (commands_fd_ >= 0) {
      ::close(commands_fd_);
      commands_fd_ = -1;
    }
    if (bpfd_.running()) {
      ProcessResult r = bpfd_.Terminate(std::chrono::seconds(10));
      if (r.exit_code != 0) {
        log::Warn("bpfd exited with {} (log: {})", r.Status(),
                  (log_dir_ / "bpfd.stderr.log").string());
      }
    }
  } catch (const std::exception& e) {
    log::Error("stopping bpfd: {}", e.what());
  }
  std::error_code ec;
  if (!control_dir_.empty()) fs::remove_all(control_dir_, ec);
}

}  // namespace nfb::nf
