// The xen platform (xen_platform.h, docs/platform-xen.md): dom0 is this machine, guests are PV
// domains made with `xl create` and reached over SSH, external hosts are namespaces behind an
// emulated NIC. Every process started here is expensive in a PV dom0 under TCG (each fork's page
// table updates are hypercalls), so links are configured with one `ip -batch` per namespace and
// phase, and sysfs/procfs are read and written directly.
#include "nfb/platform/xen_platform.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "nfb/core/cancel.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/core/text_file.h"
#include "xen_platform_impl.h"
#include "xl_config.h"

namespace nfb::platform {
namespace fs = std::filesystem;
namespace internal {
using json = nlohmann::json;

std::string ReadText(const fs::path& path) { return ReadTextFile(path).value_or(""); }

std::string Tail(const std::string& text, size_t lines) {
  size_t pos = text.size();
  while (lines-- > 0 && pos > 0) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

namespace {
bool ValidHostName(const std::string& name) {
  static const std::regex kName("[A-Za-z0-9][A-Za-z0-9_.-]{0,31}");
  return std::regex_match(name, kName);
}

// "key : value" lines of `xl info`.
std::map<std::string, std::string> ParseXlInfo(const std::string& text) {
  std::map<std::string, std::string> info;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = Trim(line.substr(0, colon));
    std::string value = line.substr(colon + 1);
    value.erase(0, std::min(value.size(), value.find_first_not_of(' ')));
    info[key] = Trim(value);
  }
  return info;
}

std::string DottedNetmask(const scenario::Ipv4Prefix& p) {
  const uint32_t m = p.Netmask();
  return fmt::format("{}.{}.{}.{}", m >> 24, (m >> 16) & 0xff, (m >> 8) & 0xff, m & 0xff);
}

}  // namespace


XenPlatform::XenPlatform(const scenario::Topology& topology, RunId run_id,
                         XenPlatformOptions options)
    : run_id_(std::move(run_id)), options_(std::move(options)) {
  if (!IsRunHex(run_id_.hex)) {
    throw InputError(fmt::format("invalid run id '{}'", run_id_.hex));
  }
  prefix_ = run_id_.Prefix();
  if (options_.guest_kernel.empty() && !topology.guests.empty()) {
    throw InputError(
        "the xen platform needs a PV guest kernel: set NFB_XEN_GUEST_KERNEL (and "
        "NFB_XEN_GUEST_RAMDISK or NFB_XEN_GUEST_RAMDISK_COMMAND); the lab sets them");
  }
  if (options_.guest_ramdisk.empty() && options_.guest_ramdisk_command.empty() &&
      !topology.guests.empty()) {
    throw InputError(
        "the xen platform needs the guests' ramdisk with the project's guest tools: set "
        "NFB_XEN_GUEST_RAMDISK or NFB_XEN_GUEST_RAMDISK_COMMAND");
  }
  const scenario::Dom0Spec& d0 = topology.dom0;
  nic_name_ = d0.nic.name;
  // External hosts are machines when the inventory names them: all of them or none (the
  // emulated NIC and a real one cannot both be dom0's port to the outside).
  if (options_.inventory) {
    const Inventory& inv = *options_.inventory;
    std::vector<std::string> listed, missing;
    for (const scenario::ExternalHostSpec& e : topology.external_hosts) {
      (inv.Find(e.name) != nullptr ? listed : missing).push_back(e.name);
    }
    if (!listed.empty() && !missing.empty()) {
      throw InputError(fmt::format(
          "the inventory {} names the external host(s) {} but not {}: on the xen platform either "
          "every external host is a machine over SSH or none is",
          inv.source, fmt::join(listed, ", "), fmt::join(missing, ", ")));
    }
    for (const ExternalMachine& m : inv.hosts) {
      bool known = false;
      for (const scenario::ExternalHostSpec& e : topology.external_hosts) known |= e.name == m.name;
      if (!known) {
        log::Info("inventory {}: '{}' is not an external host of this scenario; not used",
                  inv.source, m.name);
      }
    }
    if (!listed.empty()) {
      inventory_source_ = inv.source;
      if (!inv.nic.empty()) nic_name_ = inv.nic;
    }
  }
  nic_mac_ = d0.nic.mac.ToString();
  if (!IsInterfaceName(nic_name_) || nic_name_ == kDom0Bridge ||
      nic_name_.rfind("vif", 0) == 0 || nic_name_ == "lo") {
    throw InputError(fmt::format("dom0 NIC name '{}' cannot be used", nic_name_));
  }

  std::set<std::string> names{"dom0", "switch"};
  auto claim = [&](const std::string& name, const char* what) {
    if (!ValidHostName(name) || !names.insert(name).second) {
      throw InputError(fmt::format(
          "{} name '{}' is unusable or taken (1-32 characters of [A-Za-z0-9_.-]; dom0, switch "
          "and every host name distinct)",
          what, name));
    }
  };
  Domain dom0;
  dom0.role = Role::kDom0;
  dom0.info.name = "dom0";
  dom0.info.interface = kDom0Bridge;
  dom0.info.address = d0.address.AddressString();
  dom0.info.mac = d0.mac.ToString();
  dom0.address = d0.address;
  dom0.requested_cpus = d0.cpus;
  domains_.push_back(std::move(dom0));

  std::set<int> domids;
  for (const scenario::GuestSpec& g : topology.guests) {
    claim(g.name, "guest");
    if (g.domid < 1 || !domids.insert(g.domid).second) {
      throw InputError(fmt::format("guest '{}': domid {} must be positive and unique", g.name,
                                   g.domid));
    }
    if (g.vcpus.empty()) throw InputError(fmt::format("guest '{}' has no vCPUs", g.name));
    Domain guest;
    guest.role = Role::kGuest;
    guest.info.name = g.name;
    guest.info.interface = "eth0";
    guest.info.address = g.address.AddressString();
    guest.info.mac = g.mac.ToString();
    guest.info.access = HostAccess::kSsh;
    guest.info.ssh_destination = options_.ssh_user + "@" + guest.info.address;
    guest.address = g.address;
    guest.requested_cpus = g.vcpus;
    guest.scenario_domid = g.domid;
    guest.memory_mb = g.memory_mb;
    guest.xl_name = prefix_ + "-" + g.name;
    guest.cmdline = ExpandCmdline(
        options_.guest_cmdline, {{"name", g.name},
                                 {"address", g.address.ToString()},
                                 {"ip", g.address.AddressString()},
                                 {"prefix_len", std::to_string(g.address.prefix_len)},
                                 {"netmask", DottedNetmask(g.address)},
                                 {"mac", g.mac.ToString()},
                                 {"domain", guest.xl_name}});
    domains_.push_back(std::move(guest));
  }
  int port = 1;  // swp0 is the NIC's
  for (const scenario::ExternalHostSpec& e : topology.external_hosts) {
    claim(e.name, "external host");
    Domain host;
    host.role = Role::kExternal;
    host.info.name = e.name;
    host.info.netns = prefix_ + "-" + e.name;
    host.info.interface = "eth0";
    host.info.address = e.address.AddressString();
    host.info.mac = e.mac.ToString();
    host.address = e.address;
    host.requested_cpus = e.cpus;
    host.scenario_mac = host.info.mac;
    if (ExternalMachines()) {
      const ExternalMachine& m = *options_.inventory->Find(e.name);
      host.info.netns.clear();
      host.info.interface = m.interface;
      host.info.access = HostAccess::kSsh;
      host.info.ssh_destination = m.ssh;
      host.configure = m.configure;
      host.ssh_options = m.ssh_options;
    } else {
      host.switch_port = fmt::format("swp{}", port++);
    }
    domains_.push_back(std::move(host));
  }
}

const XenPlatform::Domain& XenPlatform::Find(const std::string& name) const {
  for (const Domain& d : domains_) {
    if (d.info.name == name) return d;
  }
  std::vector<std::string> known;
  for (const Domain& d : domains_) known.push_back(d.info.name);
  throw InputError(fmt::format("unknown host '{}' (known: {})", name, fmt::join(known, ", ")));
}

SshTarget XenPlatform::SshTargetOf(const Domain& d) const {
  SshTarget target;
  target.destination = d.info.ssh_destination;
  target.control_path = RunDirectory(run_id_) / "ssh" / d.info.name;
  target.extra_options = d.ssh_options;
  return target;
}

ProcessSpec XenPlatform::Command(const std::string& host, std::vector<std::string> argv) const {
  const Domain& d = Find(host);
  ProcessSpec spec;
  if (d.info.IsLocal()) {
    spec.argv = std::move(argv);
    spec.netns = d.info.netns;
    return spec;
  }
  spec.argv = SshArgv(SshTargetOf(d), RemoteCommandLine(argv));
  return spec;
}

void XenPlatform::CheckFree() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kRunRoot, ec)) {
    const std::string other = entry.path().filename().string();
    if (other != run_id_.hex && IsRunHex(other) && RunId{other}.Prefix() == prefix_) {
      throw RunError(fmt::format("run {} already uses the name prefix {}; retry", other, prefix_));
    }
  }
  for (const auto& entry : fs::directory_iterator("/run/netns", ec)) {
    if (entry.path().filename().string().rfind(prefix_ + "-", 0) == 0) {
      throw RunError("network namespace " + entry.path().filename().string() +
                     " exists already (`nfbench cleanup` removes what dead runs left)");
    }
  }
  for (const auto& [name, id] : ListXenDomains()) {
    if (name.rfind(prefix_ + "-", 0) == 0) {
      throw RunError("Xen domain " + name + " exists already (`nfbench cleanup`)");
    }
  }
  if (ExternalMachines()) {
    CheckRealNic();
  } else if (fs::exists(fs::path("/sys/class/net") / nic_name_, ec)) {
    throw RunError(fmt::format(
        "dom0 already has a device '{}': the xen platform creates the NIC and the external hosts "
        "behind it itself (in the lab, `nfblab-net down` removes the lab's own)",
        nic_name_));
  }
}

void XenPlatform::Provision() {
  if (state_) throw RunError("the xen platform is already provisioned");
  std::vector<std::string> problems = XenHostProblems();
  if (::geteuid() != 0) problems.insert(problems.begin(), "root privileges (xl, bridges, BPF)");
  if (!problems.empty()) {
    throw PrerequisiteError("the xen platform cannot run here; missing:\n  - " +
                            fmt::format("{}", fmt::join(problems, "\n  - ")));
  }
  bool any_guest = false;
  for (const Domain& d : domains_) any_guest |= d.role == Role::kGuest;
  std::error_code ec;
  if (any_guest && !fs::is_regular_file(options_.guest_kernel, ec)) {
    throw PrerequisiteError("guest kernel " + options_.guest_kernel +
                            " does not exist (NFB_XEN_GUEST_KERNEL)");
  }
  const auto start = Clock::now();
  ip_ = IpCommand();
  xl_ = FindCommand("xl");

  {
    ProcessResult info = RunProcess(ProcessSpec({xl_, "info"}), std::chrono::seconds(60));
    if (!info.Succeeded()) {
      throw PrerequisiteError(fmt::format("`xl info` failed ({}): {}", info.Status(),
                                          Tail(info.err, 5)));
    }
    xl_info_ = ParseXlInfo(info.out);
  }
  int nr_cpus = 0;
  try {
    nr_cpus = std::stoi(xl_info_["nr_cpus"]);
  } catch (const std::exception&) {
  }
  if (nr_cpus < 1) throw RunError("`xl info` gave no nr_cpus");
  pcpus_.clear();
  for (int i = 0; i < nr_cpus; ++i) pcpus_.push_back(i);
  for (Domain& d : domains_) {
    d.mapping = MapCpus(d.requested_cpus, pcpus_);
    // Only guests' vCPUs are placed (xl `cpus=`); dom0's and the external namespaces' CPUs are
    // recorded as requested (Describe says so).
    if (d.role == Role::kGuest) d.info.cpus = d.mapping.cpus;
  }

  if (any_guest) {
    const auto t = Clock::now();
    ramdisk_ = ResolveRamdisk();
    ramdisk_s_ = Seconds(Clock::now() - t);
  }
  ThrowIfInterrupted();

  {
    GlobalLock lock;
    CheckFree();
    state_ = RunState::Create(run_id_);
  }
  fs::create_directories(state_->dir() / "ssh");
  fs::permissions(state_->dir() / "ssh", fs::perms::owner_all, fs::perm_options::replace);
  fs::create_directories(state_->dir() / "xl");

  auto t = Clock::now();
  BuildNetwork();
  network_s_ = Seconds(Clock::now() - t);
  ThrowIfInterrupted();

  // All guests are created before waiting for any: they boot side by side.
  std::vector<Clock::time_point> created;
  for (Domain& d : domains_) {
    if (d.role != Role::kGuest) continue;
    created.push_back(Clock::now());
    CreateGuest(d);
    ThrowIfInterrupted();
  }
  size_t i = 0;
  for (Domain& d : domains_) {
    if (d.role == Role::kGuest) WaitForGuest(d, created[i++]);
  }
  provision_s_ = Seconds(Clock::now() - start);
  log::Info("xen platform {}: {} domains provisioned in {:.1f} s (ramdisk {:.1f} s, network "
            "{:.1f} s)",
            prefix_, domains_.size(), provision_s_, ramdisk_s_, network_s_);
}

void XenPlatform::StopGuests() {
  if (!state_) throw RunError("StopGuests: the platform is not provisioned");
  if (guests_stopped_) return;
  // Off the bridge first, so nothing is queued towards a paused guest, then paused: the guest's
  // vCPUs no longer run (the netns platform's freezer).
  Lines down;
  for (const Domain& d : domains_) {
    if (d.role == Role::kGuest) down.push_back({"link", "set", d.vif, "down"});
  }
  IpBatch("", down);
  for (const Domain& d : domains_) {
    if (d.role == Role::kGuest) RunChecked(ProcessSpec({xl_, "pause", d.xl_name}), kXlTimeout);
  }
  guests_stopped_ = true;
  log::Debug("guests paused and off the bridge");
}

void XenPlatform::StartGuests() {
  if (!state_) throw RunError("StartGuests: the platform is not provisioned");
  if (!guests_stopped_) return;
  Lines up;
  std::vector<std::pair<std::string, std::string>> vifs;
  for (const Domain& d : domains_) {
    if (d.role != Role::kGuest) continue;
    RunChecked(ProcessSpec({xl_, "unpause", d.xl_name}), kXlTimeout);
    up.push_back({"link", "set", d.vif, "up"});
    vifs.push_back({"", d.vif});
  }
  IpBatch("", up);
  WaitUntilForwarding(vifs, std::chrono::seconds(30));
  guests_stopped_ = false;
  log::Debug("guests running and on the bridge again");
}

void XenPlatform::Teardown() noexcept {
  if (!state_) return;
  TeardownScope teardown;
  const auto start = Clock::now();
  // What the run set on external machines goes first, while their SSH masters still run.
  UndoExternalMachines();
  // SSH masters first: they would otherwise wait on a vanished guest for their keep-alive limit.
  for (Domain& d : domains_) {
    try {
      if (d.ssh_master.running()) d.ssh_master.Terminate(std::chrono::seconds(2));
    } catch (const std::exception& e) {
      log::Warn("stopping the SSH connection to {}: {}", d.info.name, e.what());
    }
  }
  std::vector<std::string> removed;
  DestroyObjects(run_id_.hex, state_->objects(), &removed);
  try {
    GlobalLock lock;
    state_->Remove();
  } catch (const std::exception& e) {
    log::Warn("run {}: {}", run_id_.hex, e.what());
    state_->Remove();
  }
  state_.reset();
  guests_stopped_ = false;
  log::Info("xen platform {}: torn down in {:.1f} s ({})", prefix_, Seconds(Clock::now() - start),
            removed.empty() ? "nothing left" : fmt::format("{}", fmt::join(removed, ", ")));
}

json XenPlatform::Describe() const {
  json hosts = json::array();
  for (const Domain& d : domains_) {
    json host = {
        {"name", d.info.name},
        {"role", d.role == Role::kDom0    ? "dom0"
                 : d.role == Role::kGuest ? "guest"
                                          : "external"},
        {"access", d.info.IsLocal() ? "local" : "ssh"},
        {"netns", d.info.netns},
        {"interface", d.info.interface},
        {"address", d.address.ToString()},
        {"mac", d.info.mac},
        {"cpus_requested", d.requested_cpus},
        {"cpus", d.info.cpus},  // as on netns: the real CPUs, empty where nothing was placed
    };
    if (d.role == Role::kDom0 && ExternalMachines()) {
      host["nic"] = {{"name", nic_name_},
                     {"mac", Trim(ReadText(fs::path("/sys/class/net") / nic_name_ / "address"))},
                     {"kind", "the host's NIC, a port of xenbr0 (external hosts are machines "
                              "behind it, reached over SSH)"}};
      host["bridge"] = {{"name", kDom0Bridge}, {"created_by_run", created_bridge_}};
      host["cpu_placement"] = "not placed (dom0's vCPUs are Xen's dom0_max_vcpus)";
      host["neighbours_added"] = dom0_neighbours_;
    } else if (d.role == Role::kDom0) {
      host["nic"] = {{"name", nic_name_}, {"mac", nic_mac_}, {"switch_port", "swp0"},
                     {"kind", "veth (emulated NIC; external hosts are namespaces behind it)"}};
      host["bridge"] = {{"name", kDom0Bridge}, {"created_by_run", created_bridge_}};
      host["cpu_placement"] = "not placed (dom0's vCPUs are Xen's dom0_max_vcpus)";
    } else if (d.role == Role::kGuest) {
      std::vector<json> mapping;
      for (size_t i = 0; i < d.mapping.requested.size(); ++i) {
        mapping.push_back({{"vcpu", i}, {"requested", d.mapping.requested[i]},
                           {"pcpu", d.mapping.mapped[i]}});
      }
      host["ssh"] = d.info.ssh_destination;
      host["xl_domain"] = d.xl_name;
      host["xen_domid"] = d.info.xen_domid;
      host["scenario_domid"] = d.scenario_domid;
      host["vif"] = d.vif;
      host["memory_mb"] = d.memory_mb;
      host["vcpu_pinning"] = mapping;
      host["cpu_placement"] = "xl cpus= (vCPUs pinned to these physical CPUs)";
      host["kernel_cmdline"] = d.cmdline;
      host["xl_config"] = d.xl_config.empty() ? "" : ReadText(d.xl_config);
      host["timing_s"] = {{"xl_create", d.create_s}, {"ping", d.ping_s}, {"ssh", d.ssh_s}};
    } else if (!d.info.IsLocal()) {
      host["ssh"] = d.info.ssh_destination;
      host["ssh_options"] = d.ssh_options;
      host["in_dom0"] = false;
      host["configure"] = d.configure;
      host["scenario_mac"] = d.scenario_mac;
      host["original_mac"] = d.original_mac;
      host["cpu_placement"] = "a machine of its own (its CPUs are not placed by the harness)";
    } else {
      host["switch_port"] = d.switch_port;
      host["in_dom0"] = true;
      host["cpu_placement"] = "not placed (a namespace in dom0, on dom0's vCPUs)";
    }
    hosts.push_back(std::move(host));
  }
  json xen = json::object();
  for (const char* key : {"xen_version", "xen_caps", "xen_scheduler", "nr_cpus", "total_memory",
                          "free_memory", "xen_commandline", "release"}) {
    if (const auto it = xl_info_.find(key); it != xl_info_.end()) xen[key] = it->second;
  }
  return {
      {"platform", "xen"},
      {"run_id", run_id_.hex},
      {"prefix", prefix_},
      {"xen", xen},
      {"guest_image",
       {{"kernel", options_.guest_kernel},
        {"ramdisk", ramdisk_},
        {"ramdisk_command", options_.guest_ramdisk_command},
        {"cmdline_template", options_.guest_cmdline},
        {"vif_script", options_.vif_script.empty() ? "vif-bridge (xl default)"
                                                    : options_.vif_script}}},
      {"switch", ExternalMachines() ? json(nullptr)
                                    : json{{"netns", SwitchNetns()}, {"bridge", kSwitchBridge}}},
      {"inventory", inventory_source_.empty() ? json(nullptr) : json(inventory_source_)},
      {"hosts", hosts},
      {"neighbours", "permanent ARP entries between all hosts of a subnet"},
      {"provision_s", provision_s_},
      {"ramdisk_s", ramdisk_s_},
      {"network_s", network_s_},
      {"emulated",
       ExternalMachines()
           ? json::array()
           : json{"the physical NIC: peth0 is a veth into a switch namespace, not hardware",
                  "external hosts: network namespaces in dom0 (they share dom0's CPUs)"}},
  };
}

}  // namespace internal

XenPlatformOptions XenPlatformOptions::FromEnvironment() {
  XenPlatformOptions o;
  auto env = [](const char* name, std::string& into) {
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') into = value;
  };
  env("NFB_XEN_GUEST_KERNEL", o.guest_kernel);
  env("NFB_XEN_GUEST_RAMDISK", o.guest_ramdisk);
  env("NFB_XEN_GUEST_RAMDISK_COMMAND", o.guest_ramdisk_command);
  env("NFB_XEN_GUEST_CMDLINE", o.guest_cmdline);
  env("NFB_XEN_VIF_SCRIPT", o.vif_script);
  env("NFB_XEN_SSH_USER", o.ssh_user);
  std::string inventory;
  env("NFB_XEN_INVENTORY", inventory);
  if (!inventory.empty()) o.inventory = LoadInventory(inventory);
  std::string timeout;
  env("NFB_XEN_GUEST_TIMEOUT", timeout);
  if (!timeout.empty()) {
    char* end = nullptr;
    const long s = std::strtol(timeout.c_str(), &end, 10);
    if (*end != '\0' || s < 10 || s > 3600) {
      throw InputError("NFB_XEN_GUEST_TIMEOUT must be 10..3600 seconds (got '" + timeout + "')");
    }
    o.guest_timeout = std::chrono::seconds(s);
  }
  return o;
}

std::vector<std::string> XenHostProblems() {
  std::vector<std::string> problems;
  if (internal::FindCommand("xl").empty()) {
    problems.push_back("the 'xl' command (Xen's toolstack; Debian package xen-utils)");
  }
  std::error_code ec;
  if (!fs::exists("/proc/xen/capabilities", ec)) {
    problems.push_back(
        "a Xen dom0: /proc/xen/capabilities does not exist (not running under Xen, or xenfs is "
        "not mounted)");
  } else if (!internal::IsXenDom0()) {
    problems.push_back(
        "a Xen dom0: /proc/xen/capabilities does not say control_d (this is a guest, not dom0)");
  }
  return problems;
}

std::unique_ptr<Platform> MakeXenPlatform(const scenario::Topology& topology, const RunId& run_id,
                                          const XenPlatformOptions& options) {
  return std::make_unique<internal::XenPlatform>(topology, run_id, options);
}

}  // namespace nfb::platform
