// The xen platform: a real Xen host driven from its dom0 (docs/platform-xen.md).
//
//   dom0       the machine the harness runs on (its own network namespace): bridge xenbr0 with
//              dom0's MAC and address, the "physical NIC" (peth0) and one vif<domid>.0 per guest
//              as its ports
//   guests     PV domains from generated xl configs (`xl create`), reached over SSH
//   external   either network namespaces in dom0 behind an emulated NIC: <prefix>-switch
//              (bridge sw0, the "wire"), whose port swp0 is the peer of peth0, and one
//              <prefix>-<host> per external host, as on the netns platform; or, when an inventory
//              names them (inventory.h), machines reached over SSH (HostAccess::kSsh) behind
//              dom0's real NIC, which must already be a port of xenbr0.
//
// Everything the run creates is recorded in its run state first (platform.h), so Teardown() and
// a later CleanupStale() remove guests (xl destroy), namespaces and the devices it added.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nfb/platform/inventory.h"
#include "nfb/platform/platform.h"

namespace nfb::platform {

// Where the guests' kernel command line and images come from. The defaults suit the lab's guest
// image (xen_setup/lab: it reads nfblab.name= and nfblab.ip=).
struct XenPlatformOptions {
  // The PV guest kernel (NFB_XEN_GUEST_KERNEL). Required.
  std::string guest_kernel;
  // The guests' ramdisk (NFB_XEN_GUEST_RAMDISK). It must hold the project's guest-side tools
  // (guest_files); or leave it empty and give ...
  std::string guest_ramdisk;
  // ... a command that prints a ramdisk path holding the given files, run with `--file PATH`
  // appended for each of guest_files (NFB_XEN_GUEST_RAMDISK_COMMAND, split at spaces; the lab
  // sets "nfblab-guest ramdisk").
  std::string guest_ramdisk_command;
  // The project's binaries the guests run (nfb-nf-attach, xenbpf-load), set by the runner. They
  // are expected on the guests' PATH.
  std::vector<std::string> guest_files;
  // Kernel command line template (NFB_XEN_GUEST_CMDLINE), expanded per guest: {name}, {address}
  // (198.18.0.11/24), {ip}, {prefix_len}, {netmask}, {mac}, {domain} (the Xen domain name).
  std::string guest_cmdline = "console=hvc0 nfblab.name={name} nfblab.ip={address}";
  // The vifs' hotplug script (NFB_XEN_VIF_SCRIPT); empty = xl's default, vif-bridge.
  std::string vif_script;
  // SSH into guests (NFB_XEN_SSH_USER); host keys and the client key come from ~/.ssh as for any
  // ssh command (the lab provisions both).
  std::string ssh_user = "root";
  // From `xl create` until a guest accepts SSH (NFB_XEN_GUEST_TIMEOUT, seconds).
  std::chrono::seconds guest_timeout{240};
  // External hosts that are machines over SSH (nfbench run --inventory FILE, or
  // NFB_XEN_INVENTORY=FILE). Without one, every external host is a namespace in dom0.
  std::optional<Inventory> inventory;

  // Reads the NFB_XEN_* variables over the defaults (NFB_XEN_INVENTORY is loaded and parsed).
  // Throws InputError for a malformed value or inventory.
  static XenPlatformOptions FromEnvironment();
};

// Nothing is touched until Provision(). Throws InputError if the topology cannot be realised
// (names, domids, CPUs) or the options are incomplete (no guest kernel, no ramdisk source).
// Provision() throws PrerequisiteError when this is not dom0 of a running Xen host (no `xl`, no
// /proc/xen/capabilities with control_d) or not root.
std::unique_ptr<Platform> MakeXenPlatform(const scenario::Topology& topology, const RunId& run_id,
                                          const XenPlatformOptions& options);

// Why this host cannot run the xen platform (empty when it can): `xl` missing, not dom0. Root is
// checked separately (by Provision and the run's prerequisites). For prerequisites and
// `nfbench doctor`; starts no process.
std::vector<std::string> XenHostProblems();

}  // namespace nfb::platform
