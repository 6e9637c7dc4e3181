// The xen platform's external hosts that are machines of their own (an inventory names them,
// inventory.h): dom0's real NIC, already a port of xenbr0, faces them; the harness reaches them
// over SSH, puts the scenario's address and MAC on their interface when asked to, and sets
// permanent neighbour entries there and in dom0. Teardown undoes exactly what it set.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <sstream>

#include "nfb/core/cancel.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "xen_platform_impl.h"

namespace nfb::platform::internal {
namespace fs = std::filesystem;

namespace {
std::string BatchScript(const std::vector<std::string>& lines, bool force) {
  std::string script = force ? "exec ip -force -batch - <<'EOF'\n" : "exec ip -batch - <<'EOF'\n";
  for (const std::string& line : lines) script += line + "\n";
  return script + "EOF\n";
}
}  // namespace

void XenPlatform::CheckRealNic() const {
  const fs::path sys("/sys/class/net");
  std::error_code ec;
  if (!fs::exists(sys / kDom0Bridge, ec)) {
    throw RunError(fmt::format(
        "the external hosts are machines (inventory {}), so dom0's NIC must already be a port of "
        "the bridge {}, as on a real Xen host; dom0 has no {}",
        inventory_source_, kDom0Bridge, kDom0Bridge));
  }
  if (!fs::exists(sys / nic_name_, ec)) {
    throw RunError(fmt::format(
        "dom0 has no device '{}', the NIC that faces the external machines (name it with `nic:` "
        "in the inventory {} or the scenario's dom0.nic.name)",
        nic_name_, inventory_source_));
  }
  const fs::path master = fs::read_symlink(sys / nic_name_ / "master", ec);
  if (ec || master.filename() != kDom0Bridge) {
    throw RunError(fmt::format(
        "dom0's NIC '{}' is not a port of {} (its master: {}); the external hosts are machines "
        "(inventory {}) and reach the guests through it: enslave it as a Xen host does (`ip link "
        "set {} master {}`, or bridge_ports in /etc/network/interfaces)",
        nic_name_, kDom0Bridge, ec ? "none" : master.filename().string(), inventory_source_,
        nic_name_, kDom0Bridge));
  }
}

void XenPlatform::SetUpExternalMachine(Domain& d) {
  const std::string& ifname = d.info.interface;
  log::Info("xen: external host {} is {} ({}), over SSH", d.info.name, d.info.ssh_destination,
            ifname);
  OpenSsh(d, Clock::now() + std::chrono::seconds(60));

  ProcessResult r = RunProcess(
      Command(d.info.name, {"sh", "-c",
                            "cat /sys/class/net/\"$0\"/address /sys/class/net/\"$0\"/flags && "
                            "ip -o -4 addr show dev \"$0\"",
                            ifname}),
      std::chrono::seconds(60));
  if (!r.Succeeded()) {
    throw RunError(fmt::format("external host {} ({}): cannot read its interface '{}' ({}): {}",
                               d.info.name, d.info.ssh_destination, ifname, r.Status(),
                               Tail(r.err, 5)));
  }
  std::istringstream lines(r.out);
  std::string flags;
  std::getline(lines, d.original_mac);
  std::getline(lines, flags);
  d.original_mac = Trim(d.original_mac);
  try {
    d.was_up = (std::stoul(Trim(flags), nullptr, 16) & 0x1) != 0;  // IFF_UP
  } catch (const std::exception&) {
    throw RunError(fmt::format("external host {}: unreadable flags '{}' of {}", d.info.name,
                               Trim(flags), ifname));
  }
  const bool has_address =
      r.out.find("inet " + d.address.ToString() + " ") != std::string::npos;

  std::vector<std::string> setup;
  if (d.configure) {
    if (d.original_mac != d.scenario_mac) {
      setup.push_back(fmt::format("link set dev {} down", ifname));
      setup.push_back(fmt::format("link set dev {} address {}", ifname, d.scenario_mac));
    }
    if (!has_address) {
      setup.push_back(fmt::format("addr add {} dev {}", d.address.ToString(), ifname));
      d.address_added = true;
    }
    setup.push_back(fmt::format("link set dev {} up", ifname));
  } else {
    if (!has_address) {
      throw RunError(fmt::format(
          "external host {} ({}): '{}' does not have the scenario's address {} (configure: false "
          "in the inventory {} says it would; set configure: true to let the harness add it)",
          d.info.name, d.info.ssh_destination, ifname, d.address.ToString(), inventory_source_));
    }
    if (d.original_mac != d.scenario_mac) {
      log::Info("xen: external host {} keeps its own MAC {} (the scenario says {})", d.info.name,
                d.original_mac, d.scenario_mac);
    }
    d.info.mac = d.original_mac;
  }
  // Undo, recorded before anything is set: neighbours, the address if it was added, the MAC,
  // the link state as it was. `ip -force` goes on past entries that are already gone.
  std::vector<std::string> undo;
  for (const Domain& other : domains_) {
    if (&other == &d || !d.address.Contains(other.address.address)) continue;
    setup.push_back(fmt::format("neigh replace {} lladdr {} dev {} nud permanent",
                                other.info.address, other.info.mac, ifname));
    undo.push_back(fmt::format("neigh del {} dev {}", other.info.address, ifname));
  }
  if (d.address_added) {
    undo.push_back(fmt::format("addr del {} dev {}", d.address.ToString(), ifname));
  }
  if (d.configure && d.original_mac != d.scenario_mac) {
    undo.push_back(fmt::format("link set dev {} down", ifname));
    undo.push_back(fmt::format("link set dev {} address {}", ifname, d.original_mac));
  }
  if (d.configure) undo.push_back(fmt::format("link set dev {} {}", ifname, d.was_up ? "up" : "down"));
  d.undo = std::move(undo);

  for (const std::string& line : setup) log::Debug("ip on {}: {}", d.info.name, line);
  RunChecked(Command(d.info.name, {"sh", "-c", BatchScript(setup, false)}),
             std::chrono::seconds(60));
}

// The machines' network for the run: their interfaces, then dom0's neighbour entries for the
// run's hosts on the host's own bridge (removed again at teardown), then the NIC forwarding.
void XenPlatform::BuildMachineNetwork() {
  ProcessResult r = RunProcess(ProcessSpec({ip_, "-o", "-4", "addr", "show", "dev", kDom0Bridge}),
                               std::chrono::seconds(30));
  if (r.out.find("inet " + Dom0().address.ToString() + " ") == std::string::npos) {
    throw RunError(fmt::format("dom0's bridge {} does not have the scenario's address {} (it has: "
                               "{})",
                               kDom0Bridge, Dom0().address.ToString(), Trim(r.out)));
  }
  for (Domain& d : domains_) {
    if (d.role == Role::kExternal) SetUpExternalMachine(d);
    ThrowIfInterrupted();
  }
  Lines neighbours;
  for (const Domain& other : domains_) {
    if (&other == &Dom0() || !Dom0().address.Contains(other.address.address)) continue;
    dom0_neighbours_.push_back(other.info.address);
    neighbours.push_back({"neigh", "replace", other.info.address, "lladdr", other.info.mac, "dev",
                          kDom0Bridge, "nud", "permanent"});
  }
  IpBatch("", neighbours);
  WaitUntilForwarding({{"", nic_name_}}, std::chrono::seconds(20));
}

void XenPlatform::UndoExternalMachines() noexcept {
  for (Domain& d : domains_) {
    if (d.role != Role::kExternal || d.info.IsLocal() || d.undo.empty()) continue;
    try {
      ProcessResult r = RunProcess(
          Command(d.info.name, {"sh", "-c", BatchScript(d.undo, true)}), std::chrono::seconds(60));
      if (!r.Succeeded()) {
        log::Warn("external host {}: undoing the run's settings failed ({}): {}", d.info.name,
                  r.Status(), Tail(r.err, 5));
      } else {
        log::Debug("external host {}: {} setting(s) undone", d.info.name, d.undo.size());
      }
    } catch (const std::exception& e) {
      log::Warn("external host {}: undoing the run's settings: {}", d.info.name, e.what());
    }
    d.undo.clear();
  }
  if (!dom0_neighbours_.empty()) {
    for (const std::string& address : dom0_neighbours_) {
      try {
        ProcessResult r = RunProcess(ProcessSpec({ip_, "neigh", "del", address, "dev", kDom0Bridge}),
                                     std::chrono::seconds(30));
        if (!r.Succeeded()) {
          log::Warn("dom0: removing the neighbour entry {} on {} failed ({}): {}", address,
                    kDom0Bridge, r.Status(), Tail(r.err, 3));
        }
      } catch (const std::exception& e) {
        log::Warn("dom0: removing the neighbour entry {}: {}", address, e.what());
      }
    }
    dom0_neighbours_.clear();
  }
}

}  // namespace nfb::platform::internal
