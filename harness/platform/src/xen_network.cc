// The xen platform's network in dom0 (xen_platform.h): the bridge, the emulated NIC with the
// switch namespace behind it, the external hosts' namespaces, neighbours, and waiting until links
// forward. One `ip -batch` per namespace and phase: every process is expensive in a PV dom0
// under TCG.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>

#include "netns_files.h"
#include "nfb/core/cancel.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "xen_platform_impl.h"

namespace nfb::platform::internal {
namespace fs = std::filesystem;

namespace {
std::string SwitchPortMac(int index) { return fmt::format("06:fe:00:00:01:{:02x}", index); }
}  // namespace

// One `ip -batch` per namespace and phase (links.h); the batch files stay in the run directory
// until teardown as a record of what was done.
void XenPlatform::IpBatch(const std::string& netns, const Lines& lines) {
  if (lines.empty()) return;
  const fs::path file = state_->dir() / fmt::format("ip-{:02}-{}.batch", ++batches_,
                                                     netns.empty() ? "dom0" : netns);
  RunIpBatch(ip_, netns, lines, file, kIpTimeout);
}

void XenPlatform::BuildNetwork() {
  if (ExternalMachines()) {  // no emulated NIC: the machines are behind dom0's own (xen_external.cc)
    BuildMachineNetwork();
    return;
  }
  const std::string sw = SwitchNetns();
  const std::string alias = LinkAlias(run_id_.hex);
  std::vector<std::string> namespaces{sw};
  for (const Domain& d : domains_) {
    if (d.role == Role::kExternal) namespaces.push_back(d.info.netns);
  }
  // 1. Namespaces for the wire and the external hosts, each recorded before it exists, IPv6 off
  // before any interface exists (no DAD, router or MLD solicitations in captures).
  Lines add;
  for (const std::string& ns : namespaces) {
    state_->Record("netns", ns);
    add.push_back({"netns", "add", ns});
  }
  IpBatch("", add);
  for (const std::string& ns : namespaces) {
    WriteNetSysctl(ns, "ipv6/conf/default/disable_ipv6", "1");
    WriteNetSysctl(ns, "ipv6/conf/all/disable_ipv6", "1");
  }

  // 2. Devices. The bridge is dom0's if it exists already (a real Xen host has one, with the
  // NIC); otherwise it is made like the netns platform's: no STP, no forwarding delay, no
  // multicast snooping. Devices in dom0's own namespace carry the run's alias, which is what
  // teardown and stale cleanup check before deleting (their names are not the run's).
  std::error_code ec;
  created_bridge_ = !fs::exists(fs::path("/sys/class/net") / kDom0Bridge, ec);
  Lines devices;
  if (created_bridge_) {
    state_->Record("link", kDom0Bridge);
    devices.push_back({"link", "add", "name", kDom0Bridge, "address", Dom0().info.mac, "type",
                       "bridge", "forward_delay", "0", "stp_state", "0", "mcast_snooping", "0"});
    devices.push_back({"link", "set", "dev", kDom0Bridge, "alias", alias});
  }
  state_->Record("link", nic_name_);
  devices.push_back({"link", "add", "name", nic_name_, "address", nic_mac_, "type", "veth", "peer",
                     "name", "swp0", "netns", sw, "address", SwitchPortMac(0)});
  devices.push_back({"link", "set", "dev", nic_name_, "alias", alias});
  for (const Domain& d : domains_) {
    if (d.role != Role::kExternal) continue;
    devices.push_back({"link", "add", "name", "eth0", "netns", d.info.netns, "address",
                       d.info.mac, "type", "veth", "peer", "name", d.switch_port, "netns", sw,
                       "address", SwitchPortMac(std::stoi(d.switch_port.substr(3)))});
  }
  IpBatch("", devices);
  for (const char* dev : {created_bridge_ ? kDom0Bridge : nullptr, nic_name_.c_str()}) {
    if (dev == nullptr) continue;
    std::ofstream(fmt::format("/proc/sys/net/ipv6/conf/{}/disable_ipv6", dev)) << "1\n";
  }

  // 3. Addresses, ports, links up, and permanent neighbour entries between all hosts of a subnet
  // (no ARP exchange or re-probe inside a measurement). dom0's entries only on a bridge this run
  // made: on a host's own bridge they would outlive the run.
  Lines dom0_setup;
  if (created_bridge_) {
    dom0_setup.push_back({"addr", "add", Dom0().address.ToString(), "dev", kDom0Bridge});
    dom0_setup.push_back({"link", "set", kDom0Bridge, "up"});
  } else {
    ProcessResult r = RunProcess(ProcessSpec({ip_, "-o", "-4", "addr", "show", "dev", kDom0Bridge}),
                                 std::chrono::seconds(30));
    if (r.out.find("inet " + Dom0().address.ToString() + " ") == std::string::npos) {
      throw RunError(fmt::format("dom0's bridge {} exists but does not have the scenario's "
                                 "address {} (it has: {})",
                                 kDom0Bridge, Dom0().address.ToString(), Trim(r.out)));
    }
  }
  dom0_setup.push_back({"link", "set", nic_name_, "master", kDom0Bridge, "up"});
  Lines switch_setup{{"link", "set", "lo", "up"},
                     {"link", "add", "name", kSwitchBridge, "address", kSwitchMac, "type",
                      "bridge", "forward_delay", "0", "stp_state", "0", "mcast_snooping", "0"},
                     {"link", "set", kSwitchBridge, "up"},
                     {"link", "set", "swp0", "master", kSwitchBridge, "up"}};
  for (const Domain& d : domains_) {
    if (d.role == Role::kExternal) {
      switch_setup.push_back({"link", "set", d.switch_port, "master", kSwitchBridge, "up"});
    }
  }
  auto neighbours = [&](const Domain& d, Lines& lines) {
    for (const Domain& other : domains_) {
      if (&other == &d || !d.address.Contains(other.address.address)) continue;
      lines.push_back({"neigh", "replace", other.info.address, "lladdr", other.info.mac, "dev",
                       d.info.interface, "nud", "permanent"});
    }
  };
  if (created_bridge_) neighbours(Dom0(), dom0_setup);
  IpBatch("", dom0_setup);
  IpBatch(sw, switch_setup);
  for (const Domain& d : domains_) {
    if (d.role != Role::kExternal) continue;
    Lines setup{{"link", "set", "lo", "up"},
                {"addr", "add", d.address.ToString(), "dev", "eth0"},
                {"link", "set", "eth0", "up"}};
    neighbours(d, setup);
    IpBatch(d.info.netns, setup);
  }

  std::vector<std::pair<std::string, std::string>> links{{"", nic_name_}, {sw, "swp0"}};
  for (const Domain& d : domains_) {
    if (d.role != Role::kExternal) continue;
    links.push_back({sw, d.switch_port});
    links.push_back({d.info.netns, "eth0"});
  }
  WaitUntilForwarding(links, std::chrono::seconds(20));
}

// Netback's vifs say "unknown" until the guest's frontend connects, and may not exist yet.
void XenPlatform::WaitUntilForwarding(
    const std::vector<std::pair<std::string, std::string>>& devices,
    std::chrono::seconds timeout) {
  internal::WaitUntilForwarding(devices, {.timeout = timeout,
                                          .poll = std::chrono::milliseconds(50),
                                          .missing_is_waiting = true});
}

}  // namespace nfb::platform::internal
