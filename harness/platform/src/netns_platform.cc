#include "nfb/platform/netns_platform.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "links.h"
#include "netns_files.h"
#include "nfb/core/cancel.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/core/netns.h"
#include "run_state.h"

namespace nfb::platform {
namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// Xen's netback gives every vif this address so the bridge never adopts it as its own.
constexpr const char* kVifMac = "fe:ff:ff:ff:ff:ff";
// Locally administered MACs for the switch's own ports (nothing addresses them); fixed so that
// runs are identical.
std::string SwitchPortMac(int index) { return fmt::format("06:fe:00:00:01:{:02x}", index); }
constexpr const char* kSwitchMac = "06:fe:00:00:00:00";
constexpr const char* kSwitchBridge = "sw0";
constexpr const char* kDom0Bridge = "xenbr0";
constexpr auto kIpTimeout = std::chrono::seconds(30);

bool ValidHostName(const std::string& name) {
  static const std::regex kName("[A-Za-z0-9][A-Za-z0-9_.-]{0,31}");
  return std::regex_match(name, kName);
}

bool ValidInterfaceName(const std::string& name) {
  static const std::regex kName("[A-Za-z0-9][A-Za-z0-9_.-]{0,14}");
  return std::regex_match(name, kName);
}

}  // namespace

NetnsPlatform::NetnsPlatform(const scenario::Topology& topology, RunId run_id)
    : run_id_(std::move(run_id)) {
  if (!internal::IsRunHex(run_id_.hex)) {
    throw InputError(
        fmt::format("invalid run id '{}' (6 to 32 lower-case hex digits)", run_id_.hex));
  }
  prefix_ = run_id_.Prefix();
  const scenario::Dom0Spec& d0 = topology.dom0;
  nic_name_ = d0.nic.name;
  nic_mac_ = d0.nic.mac.ToString();
  if (!ValidInterfaceName(nic_name_) || nic_name_ == "lo" || nic_name_ == kDom0Bridge ||
      nic_name_.rfind("vif", 0) == 0) {
    throw InputError(fmt::format(
        "dom0 NIC name '{}' cannot be used (1-15 characters of [A-Za-z0-9_.-], not lo, {} or "
        "vif*)",
        nic_name_, kDom0Bridge));
  }

  std::set<std::string> names{"dom0", "switch"};
  auto claim = [&](const std::string& name, const char* what) {
    if (!ValidHostName(name)) {
      throw InputError(fmt::format(
          "{} name '{}' cannot name a network namespace (1-32 characters of [A-Za-z0-9_.-], "
          "starting with a letter or digit)",
          what, name));
    }
    if (!names.insert(name).second) {
      throw InputError(
          fmt::format("{} name '{}' is taken (dom0, switch and every host name must "
                      "be distinct)",
                      what, name));
    }
  };

  Domain dom0;
  dom0.role = Role::kDom0;
  dom0.info = {
      "dom0", prefix_ + "-dom0", kDom0Bridge, d0.address.AddressString(), d0.mac.ToString(), {},
      {}};
  dom0.requested_cpus = d0.cpus;
  dom0.address = d0.address;
  dom0.rps_devices = {nic_name_};
  domains_.push_back(std::move(dom0));

  std::set<int> domids;
  for (const scenario::GuestSpec& g : topology.guests) {
    claim(g.name, "guest");
    if (g.domid < 1 || !domids.insert(g.domid).second) {
      throw InputError(
          fmt::format("guest '{}': domid {} must be positive and unique", g.name, g.domid));
    }
    Domain guest;
    guest.role = Role::kGuest;
    guest.info = {
        g.name, prefix_ + "-" + g.name, "eth0", g.address.AddressString(), g.mac.ToString(), {},
        {}};
    guest.requested_cpus = g.vcpus;
    guest.address = g.address;
    guest.domid = g.domid;
    guest.vif = fmt::format("vif{}.0", g.domid);
    if (!ValidInterfaceName(guest.vif)) {
      throw InputError(fmt::format("guest '{}': domid {} is too large", g.name, g.domid));
    }
    guest.info.dom0_vif = guest.vif;
    guest.rps_devices = {"eth0"};
    // The vif's receive work (the guest's transmissions) belongs to dom0, as netback runs there.
    domains_.front().rps_devices.push_back(guest.vif);
    domains_.push_back(std::move(guest));
  }
  int port = 1;  // swp0 is the NIC's
  for (const scenario::ExternalHostSpec& e : topology.external_hosts) {
    claim(e.name, "external host");
    Domain host;
    host.role = Role::kExternal;
    host.info = {
        e.name, prefix_ + "-" + e.name, "eth0", e.address.AddressString(), e.mac.ToString(), {},
        {}};
    host.requested_cpus = e.cpus;
    host.address = e.address;
    host.switch_port = fmt::format("swp{}", port++);
    host.rps_devices = {"eth0"};
    domains_.push_back(std::move(host));
  }
  for (const Domain& d : domains_) {
    if (d.requested_cpus.empty()) {
      throw InputError(fmt::format("{} has no CPUs", d.info.name));
    }
    for (int cpu : d.requested_cpus) {
      if (cpu < 0) throw InputError(fmt::format("{}: invalid CPU {}", d.info.name, cpu));
    }
  }
}

NetnsPlatform::~NetnsPlatform() { Teardown(); }

NetnsPlatform::Domain& NetnsPlatform::Find(const std::string& name) {
  return const_cast<Domain&>(static_cast<const NetnsPlatform*>(this)->Find(name));
}

const NetnsPlatform::Domain& NetnsPlatform::Find(const std::string& name) const {
  for (const Domain& d : domains_) {
    if (d.info.name == name) return d;
  }
  std::vector<std::string> known;
  for (const Domain& d : domains_) known.push_back(d.info.name);
  throw InputError(fmt::format("unknown host '{}' (known: {})", name, fmt::join(known, ", ")));
}

const HostInfo& NetnsPlatform::Host(const std::string& name) const { return Find(name).info; }
std::string NetnsPlatform::Dom0Netns() const { return Dom0().info.netns; }
std::string NetnsPlatform::Dom0NicInterface() const { return nic_name_; }
std::string NetnsPlatform::SwitchNetns() const { return prefix_ + "-switch"; }

const DomainCgroup* NetnsPlatform::Cgroup(const std::string& host) const {
  const Domain& d = Find(host);
  return d.cgroup ? &*d.cgroup : nullptr;
}

ProcessSpec NetnsPlatform::Command(const std::string& host, std::vector<std::string> argv) const {
  const Domain& d = Find(host);
  ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.netns = d.info.netns;
  spec.cgroup_procs = d.info.cgroup_procs;
  return spec;
}

void NetnsPlatform::Ip(std::vector<std::string> args) {
  args.insert(args.begin(), ip_);
  ++commands_;
  ProcessSpec spec;
  spec.argv = std::move(args);
  RunChecked(spec, kIpTimeout);
}

std::vector<std::string> NetnsPlatform::AllNetns() const {
  std::vector<std::string> out{SwitchNetns()};
  for (const Domain& d : domains_) out.push_back(d.info.netns);
  return out;
}

// One `ip -batch` per namespace and phase (links.h); the batch files stay in the run directory
// (removed at teardown).
void NetnsPlatform::IpBatch(const std::string& netns,
                            const std::vector<std::vector<std::string>>& lines) {
  const fs::path file =
      state_->dir() / fmt::format("ip-{:02}-{}.batch", ++batches_, netns.empty() ? "host" : netns);
  ++commands_;
  internal::RunIpBatch(ip_, netns, lines, file, kIpTimeout);
}

void NetnsPlatform::CheckPrefixFree() const {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(internal::kRunRoot, ec)) {
    std::string other = entry.path().filename().string();
    if (other != run_id_.hex && internal::IsRunHex(other) && RunId{other}.Prefix() == prefix_) {
      throw RunError(
          fmt::format("run {} already uses the name prefix {}; retry, or run "
                      "`nfbench cleanup` if that run is dead",
                      other, prefix_));
    }
  }
  if (fs::exists(RunDirectory(run_id_), ec)) {
    throw RunError("run directory " + RunDirectory(run_id_).string() + " already exists");
  }
  for (const auto& entry : fs::directory_iterator("/run/netns", ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(prefix_ + "-", 0) == 0) {
      throw RunError(
          fmt::format("network namespace {} exists already: a dead run left it "
                      "(`nfbench cleanup` removes it)",
                      name));
    }
  }
  for (const fs::path& dir : cgroups_->RunDirs()) {
    if (fs::exists(dir, ec)) throw RunError("cgroup " + dir.string() + " exists already");
  }
}

void NetnsPlatform::Provision() {
  if (state_) throw RunError("the netns platform is already provisioned");
  if (::geteuid() != 0) {
    throw PrerequisiteError("the netns platform needs root (network namespaces, cgroups)");
  }
  const auto start = Clock::now();
  auto phase = [&](const char* what) {
    log::Debug("provision: {} done after {} ms", what,
               std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
  };
  commands_ = 0;
  batches_ = 0;
  ip_ = internal::IpCommand();
  layout_ = CgroupLayout::Detect();
  available_cpus_ = AvailableCpus(*layout_);
  for (Domain& d : domains_) {
    d.mapping = MapCpus(d.requested_cpus, available_cpus_);
    d.info.cpus = d.mapping.cpus;
    if (d.mapping.Folded()) {
      log::Warn("{}: CPUs {} mapped to {} (this host offers CPUs {})", d.info.name,
                FormatCpuList(d.mapping.requested), fmt::join(d.mapping.mapped, ","),
                FormatCpuList(available_cpus_));
    }
  }
  cgroups_.emplace(*layout_, run_id_.hex);

  {
    // Claiming the run (directory, lock) and the shared cgroup parents happens under the global
    // lock, so CleanupStale never sees a run half-claimed nor removes a parent we are about to use.
    internal::GlobalLock lock;
    CheckPrefixFree();
    state_ = internal::RunState::Create(run_id_);
    for (const fs::path& dir : cgroups_->RunDirs()) state_->Record("cgroup", dir.string());
    cgroups_->CreateRun(available_cpus_);
  }
  phase("run directory and cgroup parents");

  for (Domain& d : domains_) {
    for (const fs::path& dir : cgroups_->DomainDirs(d.info.name)) {
      state_->Record("cgroup", dir.string());
    }
    d.cgroup = cgroups_->CreateDomain(d.info.name, d.info.cpus);
    d.info.cgroup_procs = d.cgroup->ProcsFiles();
  }
  phase("domain cgroups");
  ThrowIfInterrupted();

  const std::string sw = SwitchNetns();
  const std::string dom0 = Dom0().info.netns;
  using Lines = std::vector<std::vector<std::string>>;

  // 1. Namespaces, each recorded before it exists.
  Lines namespaces;
  for (const std::string& ns : AllNetns()) {
    state_->Record("netns", ns);
    namespaces.push_back({"netns", "add", ns});
  }
  IpBatch("", namespaces);
  for (const std::string& ns : AllNetns()) {
    // Before any interface exists, so every interface inherits it: no IPv6 means no DAD, router
    // or MLD solicitations in the captures.
    internal::WriteNetSysctl(ns, "ipv6/conf/default/disable_ipv6", "1");
    internal::WriteNetSysctl(ns, "ipv6/conf/all/disable_ipv6", "1");
  }
  phase("namespaces");
  ThrowIfInterrupted();

  // 2. Devices, created from here directly inside their namespaces (veth pairs included), so
  // nothing ever appears in the host's namespace. Bridges: no STP and no forwarding delay, so a
  // port forwards as soon as its link is up; no multicast snooping, whose "all snoopers" group
  // membership makes each bridge send IGMP reports into the captures.
  //
  // Every veth end gets its own interface index, unique in the run. Two ends of a pair with the
  // same index (easy across namespaces: both the 3rd device of theirs) make the kernel treat
  // their carrier change as non-urgent, and the bridge then waits up to a second before it
  // forwards through the port. Fixed indexes also make runs identical.
  int next_index = 10;
  auto index = [&] { return std::to_string(next_index++); };
  Lines devices{
      {"link", "add", "name", kSwitchBridge, "netns", sw, "address", kSwitchMac, "type", "bridge",
       "forward_delay", "0", "stp_state", "0", "mcast_snooping", "0"},
      {"link", "add", "name", kDom0Bridge, "netns", dom0, "address", Dom0().info.mac, "type",
       "bridge", "forward_delay", "0", "stp_state", "0", "mcast_snooping", "0"},
      {"link", "add",     "name",   nic_name_, "index", index(),   "netns",
       dom0,   "address", nic_mac_, "type",    "veth",  "peer",    "name",
       "swp0", "index",   index(),  "netns",   sw,      "address", SwitchPortMac(0)},
  };
  Lines switch_setup{{"link", "set", "lo", "up"},
                     {"link", "set", kSwitchBridge, "up"},
                     {"link", "set", "swp0", "master", kSwitchBridge, "up"}};
  Lines dom0_setup{{"link", "set", "lo", "up"},
                   {"addr", "add", Dom0().address.ToString(), "dev", kDom0Bridge},
                   {"link", "set", kDom0Bridge, "up"},
                   {"link", "set", nic_name_, "master", kDom0Bridge, "up"}};
  int port = 1;
  for (const Domain& d : domains_) {
    if (d.role == Role::kGuest) {
      devices.push_back({"link", "add",     "name",  d.vif,   "index",      index(),   "netns",
                         dom0,   "address", kVifMac, "type",  "veth",       "peer",    "name",
                         "eth0", "index",   index(), "netns", d.info.netns, "address", d.info.mac});
      dom0_setup.push_back({"link", "set", d.vif, "master", kDom0Bridge, "up"});
    } else if (d.role == Role::kExternal) {
      devices.push_back({"link",     "add",        "name",
                         "eth0",     "index",      index(),
                         "netns",    d.info.netns, "address",
                         d.info.mac, "type",       "veth",
                         "peer",     "name",       d.switch_port,
                         "index",    index(),      "netns",
                         sw,         "address",    SwitchPortMac(port++)});
      switch_setup.push_back({"link", "set", d.switch_port, "master", kSwitchBridge, "up"});
    }
  }
  IpBatch("", devices);
  phase("devices");
  ThrowIfInterrupted();

  // 3. Inside each namespace: ports, addresses, links up, and permanent neighbour entries, so no
  // ARP exchange (or re-probe of a stale entry) ever lands in a measurement or a capture.
  IpBatch(sw, switch_setup);
  for (const Domain& d : domains_) {
    Lines setup;
    if (d.role != Role::kDom0) {
      setup = {{"link", "set", "lo", "up"},
               {"addr", "add", d.address.ToString(), "dev", "eth0"},
               {"link", "set", "eth0", "up"}};
    }
    Lines& lines = d.role == Role::kDom0 ? dom0_setup : setup;
    for (const Domain& other : domains_) {
      if (&other == &d || !d.address.Contains(other.address.address)) continue;
      lines.push_back({"neigh", "replace", other.info.address, "lladdr", other.info.mac, "dev",
                       d.info.interface, "nud", "permanent"});
    }
    IpBatch(d.info.netns, lines);
    ThrowIfInterrupted();
  }
  phase("addresses, ports and neighbours");

  // Receive Packet Steering: a veth's receive work otherwise runs on the sender's CPU, so a
  // flooded guest would never cost its own vCPUs anything (docs/platform-netns.md).
  for (const Domain& d : domains_) {
    internal::NetnsSysfs sysfs(d.info.netns);
    for (const std::string& dev : d.rps_devices) {
      sysfs.Write("class/net/" + dev + "/queues/rx-0/rps_cpus", FormatCpuMask(d.info.cpus));
    }
  }

  std::vector<std::pair<std::string, std::string>> links{{sw, "swp0"}, {dom0, nic_name_}};
  for (const Domain& d : domains_) {
    if (d.role == Role::kGuest) links.push_back({dom0, d.vif});
    if (d.role == Role::kExternal) links.push_back({sw, d.switch_port});
    if (d.role != Role::kDom0) links.push_back({d.info.netns, "eth0"});
  }
  phase("receive packet steering");
  WaitUntilForwarding(links, std::chrono::seconds(10));
  phase("links forwarding");

  provision_time_ = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  log::Info("netns platform {}: {} domains provisioned in {} ms ({} ip commands)", prefix_,
            domains_.size(), provision_time_.count(), commands_);
}

// Waits until each (namespace, device) is operationally up and, for bridge ports, forwarding.
// Until then a freshly enabled veth may still drop what it is asked to send (its qdisc is only
// attached once the link watcher has seen the carrier).
void NetnsPlatform::WaitUntilForwarding(
    const std::vector<std::pair<std::string, std::string>>& devices,
    std::chrono::milliseconds timeout) {
  internal::WaitUntilForwarding(devices,
                                {.timeout = timeout, .poll = std::chrono::milliseconds(2)});
}

void NetnsPlatform::StopGuests() {
  if (!state_) throw RunError("StopGuests: the platform is not provisioned");
  for (Domain& d : domains_) {
    if (d.role != Role::kGuest) continue;
    Ip({"-n", Dom0().info.netns, "link", "set", d.vif, "down"});
    if (d.cgroup && !d.cgroup->SetFrozen(true)) {
      log::Debug("no cgroup freezer: guest {} is off the bridge but its processes still run",
                 d.info.name);
    }
  }
  guests_stopped_ = true;
  log::Debug("guests stopped");
}

void NetnsPlatform::StartGuests() {
  if (!state_) throw RunError("StartGuests: the platform is not provisioned");
  for (Domain& d : domains_) {
    if (d.role != Role::kGuest) continue;
    if (d.cgroup) d.cgroup->SetFrozen(false);
    Ip({"-n", Dom0().info.netns, "link", "set", d.vif, "up"});
  }
  WaitForGuests();
  guests_stopped_ = false;
  log::Debug("guests started");
}

void NetnsPlatform::WaitForGuests() {
  std::vector<std::pair<std::string, std::string>> links;
  for (const Domain& d : domains_) {
    if (d.role != Role::kGuest) continue;
    links.push_back({Dom0().info.netns, d.vif});
    links.push_back({d.info.netns, "eth0"});
  }
  WaitUntilForwarding(links, std::chrono::seconds(10));
}

void NetnsPlatform::Teardown() noexcept {
  if (!state_) return;
  TeardownScope teardown;
  const auto start = Clock::now();
  std::vector<std::string> removed;
  internal::DestroyObjects(run_id_.hex, state_->objects(), &removed);
  try {
    internal::GlobalLock lock;
    if (layout_) RemoveCgroupParentIfEmpty(*layout_);
    state_->Remove();
  } catch (const std::exception& e) {
    log::Warn("run {}: {}", run_id_.hex, e.what());
    state_->Remove();
  }
  state_.reset();
  cgroups_.reset();
  for (Domain& d : domains_) {
    d.cgroup.reset();
    d.info.cgroup_procs.clear();
  }
  guests_stopped_ = false;
  log::Info("netns platform {}: torn down in {} ms ({} objects)", prefix_,
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count(),
            removed.size());
}

json NetnsPlatform::Describe() const {
  json hosts = json::array();
  for (const Domain& d : domains_) {
    json rps = json::object();
    for (const std::string& dev : d.rps_devices) rps[dev] = FormatCpuMask(d.info.cpus);
    json cgroups = json::array();
    for (const fs::path& p : d.info.cgroup_procs) cgroups.push_back(p.parent_path().string());
    json host = {
        {"name", d.info.name},
        {"role", d.role == Role::kDom0    ? "dom0"
                 : d.role == Role::kGuest ? "guest"
                                          : "external"},
        {"netns", d.info.netns},
        {"interface", d.info.interface},
        {"address", d.address.ToString()},
        {"mac", d.info.mac},
        {"cpus_requested", d.requested_cpus},
        {"cpus", d.info.cpus},
        {"cpu_mapping", json::array()},
        {"cgroups", cgroups},
        {"rps_cpus", rps},
    };
    for (size_t i = 0; i < d.mapping.requested.size(); ++i) {
      host["cpu_mapping"].push_back(
          {{"requested", d.mapping.requested[i]}, {"cpu", d.mapping.mapped[i]}});
    }
    if (d.role == Role::kDom0) {
      host["nic"] = {{"name", nic_name_}, {"mac", nic_mac_}, {"switch_port", "swp0"}};
      host["bridge"] = kDom0Bridge;
    } else if (d.role == Role::kGuest) {
      host["domid"] = d.domid;
      host["vif"] = {{"name", d.vif}, {"mac", kVifMac}};
    } else {
      host["switch_port"] = d.switch_port;
    }
    hosts.push_back(std::move(host));
  }
  json cgroup = {{"version", layout_ ? layout_->version : 0}, {"hierarchies", json::array()}};
  if (layout_) {
    for (const auto& h : layout_->hierarchies) {
      cgroup["hierarchies"].push_back({{"root", h.root.string()},
                                       {"version", h.version},
                                       {"cpuset", h.cpuset},
                                       {"cpuacct", h.cpuacct},
                                       {"freezer", h.freezer}});
    }
  }
  return {
      {"platform", "netns"},
      {"run_id", run_id_.hex},
      {"prefix", prefix_},
      {"switch", {{"netns", SwitchNetns()}, {"bridge", kSwitchBridge}}},
      {"hosts", hosts},
      {"available_cpus", available_cpus_},
      {"cgroup", cgroup},
      {"bridges", "STP off, forward delay 0, multicast snooping off"},
      {"neighbours", "permanent ARP entries between all hosts of a subnet (no ARP traffic)"},
      {"ipv6", "disabled in every namespace"},
      {"provision_ms", provision_time_.count()},
      {"not_emulated",
       {"the hypervisor's scheduler: vCPUs are cpusets on shared host CPUs",
        "netback/netfront: vif<->eth0 is a veth pair, no copy between domains, no grant tables",
        "event channels and interrupts: receive work is steered with RPS instead",
        "the physical NIC: peth0 is a veth; no hardware queues, offloads or timestamps",
        "the wire: sw0 is a Linux bridge whose forwarding runs on the sender's CPU",
        "guest memory size (memory_mb is informational)"}},
  };
}

std::unique_ptr<Platform> MakeNetnsPlatform(const scenario::Topology& topology,
                                            const RunId& run_id) {
  return std::make_unique<NetnsPlatform>(topology, run_id);
}

}  // namespace nfb::platform
