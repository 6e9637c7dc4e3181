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

#include "host_files.h"
#include "nfb/bpfd/control.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/core/text_file.h"

namespace nfb::nf {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

// Where copies of BPF objects go in a remote guest.
constexpr const char* kGuestDir = "/tmp/nfbench";

std::string Tail(const fs::path& path, size_t max_bytes = 2000) {
  std::string s = ReadTextFile(path).value_or("");
  return s.size() > max_bytes ? s.substr(s.size() - max_bytes) : s;
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
      // bpfd calibrates its CPU accounting before it answers: seconds in a dom0 under TCG.
      bpfd::ControlClient::WaitReady(control_path_, g.IsLocal() ? std::chrono::seconds(20)
                                                                : std::chrono::seconds(120));
    } catch (const Error&) {
      throw RunError("bpfd did not become ready: " + Tail(daemon.stderr_path));
    }
    bpfd::ControlClient control(control_path_);
    bpfd::DomainSpec domain;
    domain.name = guest.name;
    domain.mac = g.mac;
    if (g.xen_domid >= 0) {
      domain.domid = g.xen_domid;  // a vchan for this domain
      channel_ = {{"kind", "vchan"}, {"domid", g.xen_domid},
                  {"xenstore", fmt::format("/local/domain/{}/data/xenbpf", g.xen_domid)}};
    } else {
      domain.netns = g.netns;  // an abstract socket in the guest's namespace
      channel_ = {{"kind", "abstract socket"}, {"netns", g.netns}};
    }
    control.Register(domain);

    guest_rx_at_install_ = GuestRxPackets();
    guest_echo_at_install_ = GuestEchoRequests();
    std::vector<std::string> argv = {ToolOnHost(g, NFB_XENBPF_LOAD_PATH), "--json"};
    if (g.xen_domid >= 0) argv.insert(argv.end(), {"--channel", "vchan:"});
    // Remote guests get their own copy of the object (bpfd loads what the guest sends).
    argv.insert(argv.end(), {"load", FileOnHost(platform, guest.name, object_.path, kGuestDir)});
    for (const std::string& setting : settings_) {
      argv.push_back("--set");
      argv.push_back(setting);
    }
    argv.push_back("--hold");
    loader_ = std::make_unique<LineSession>(platform.Command(guest.name, argv),
                                            control_dir_ / "xenbpf-load.in", loader_out_,
                                            loader_err_, "xenbpf-load in " + guest_);
    // Over SSH in a guest under TCG the loader's start, the channel's set-up and bpfd's load and
    // verification take seconds; locally well under one.
    loaded_ = loader_->NextLine(g.IsLocal() ? 30s : 180s);
    if (!loaded_.contains("program_id")) {
      throw RunError("xenbpf-load in the guest could not offload " + program_ + ": " +
                     loaded_.dump() + " " + loader_->ErrTail());
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

uint64_t BpfdOffload::GuestEchoRequests() const {
  ProcessResult r =
      RunProcess(platform_.Command(guest_, {"cat", "/proc/net/snmp"}), std::chrono::seconds(60));
  if (r.exit_code != 0) throw RunError("cannot read the guest's /proc/net/snmp: " + r.err);
  // Two "Icmp:" lines: the names, then the values.
  std::istringstream lines(r.out);
  std::string line, header;
  while (std::getline(lines, line)) {
    if (line.rfind("Icmp: ", 0) != 0) continue;
    if (header.empty()) {
      header = line;
      continue;
    }
    std::istringstream names(header.substr(6)), values(line.substr(6));
    std::string name;
    uint64_t value = 0;
    while (names >> name && values >> value) {
      if (name == "InEchos") return value;
    }
    break;
  }
  throw RunError("no Icmp InEchos in the guest's /proc/net/snmp");
}

uint64_t BpfdOffload::GuestRxPackets() const {
  // Over SSH into a guest under TCG this takes a second or two.
  ProcessResult r =
      RunProcess(platform_.Command(guest_, {"ip", "-s", "-j", "link", "show", "eth0"}),
                 std::chrono::seconds(60));
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
          {"channel", channel_},
          {"object_path", object_.path.string()},
          {"loaded", loaded_}};
}

json BpfdOffload::Counters() const {
  bpfd::ControlClient control(control_path_);
  bpfd::DomainStatus s = control.Stats(guest_);
  json c = s;  // packets, bytes, cpu_ns, cost_ps, method ... as bpfd reports them
  c["dispatcher_slot_packets"] = s.packets;
  c["guest_rx_packets_during_install"] = GuestRxPackets() - guest_rx_at_install_;
  // Echo requests that still reached the guest's kernel: 0 when the offloaded responder answered
  // all of them. (The packet count above also includes the harness's own SSH traffic on Xen.)
  c["guest_icmp_echo_requests_during_install"] = GuestEchoRequests() - guest_echo_at_install_;
  if (stats_map_id_ != 0) {
    // Key 0 of the per-CPU counter map, all of dom0's CPUs, through the guest's session.
    const json lookup = loader_->Ask(fmt::format("map lookup {} 00000000", stats_map_id_), 30s);
    c.update(DecodeStats(object_, FromHex(lookup.value("value", ""))));
  }
  return c;
}

void BpfdOffload::Stop() noexcept {
  // The loader's input closing makes it disconnect, and bpfd unloads the guest's program; then
  // bpfd itself detaches the dispatcher and exits.
  try {
    if (loader_) {
      loader_->Close();
      loader_.reset();
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
