// The inventory of the xen platform: which of a scenario's external hosts are machines of their
// own, reached over SSH, rather than network namespaces in dom0 behind an emulated NIC
// (docs/platform-xen.md, "External hosts on real hardware"). Scenario files do not change: the
// inventory only says where the hosts they name are.
//
//   # hosts.yaml (nfbench run ... --platform xen --inventory hosts.yaml, or NFB_XEN_INVENTORY)
//   nic: eth1                        # optional: dom0's NIC, already a port of xenbr0
//                                    # (default: the scenario's dom0.nic.name)
//   hosts:
//     loadgen:                       # an external host of the scenario
//       ssh: root@192.0.2.10         # SSH destination (a management network, not the NIC)
//       interface: enp3s0f0          # its interface cabled to dom0's NIC
//       configure: true              # put the scenario's address and MAC on it (and remove them
//                                    # at teardown); false: it has the address already
//       ssh_options: [-p, "2222"]    # optional, more ssh arguments, verbatim
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace nfb::platform {

struct ExternalMachine {
  std::string name;       // the scenario's external host
  std::string ssh;        // destination: [user@]host
  std::string interface;  // faces dom0's NIC
  bool configure = true;  // the harness sets address and MAC (false: the machine has them)
  std::vector<std::string> ssh_options;
};

struct Inventory {
  std::string source;  // file name, for messages and the results' context
  std::string nic;     // dom0's NIC; empty = the scenario's dom0.nic.name
  std::vector<ExternalMachine> hosts;

  // nullptr when the inventory does not name the host.
  const ExternalMachine* Find(const std::string& name) const;
};

// Parses an inventory. Throws InputError naming `source`, the line and column, and what is wrong:
// not YAML, unknown keys (typos are not ignored), a host without ssh or interface, a malformed
// interface name or destination, duplicate hosts, no hosts at all.
Inventory ParseInventory(const std::string& text, const std::string& source);

// Reads and parses a file. Throws InputError when it cannot be read or parsed.
Inventory LoadInventory(const std::filesystem::path& path);

}  // namespace nfb::platform
