// xl domain configurations for the xen platform's guests, generated from the scenario. Pure
// functions, tested without Xen (tests/unit/platform).
//
// Guests are PV with a kernel and ramdisk given to the platform (no disk: nothing to set up per
// guest, and the ramdisk carries the project's binaries, see xen_setup/lab/README.md). The kernel
// command line comes from a template so that any guest image can learn its name and address.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace nfb::platform::internal {

struct XlGuest {
  std::string name;                // Xen domain name (the run's prefix + the guest's name)
  std::string kernel, ramdisk;     // paths in dom0; ramdisk may be empty
  std::string cmdline;             // `extra`, already expanded
  int memory_mb = 256;
  int vcpus = 1;
  std::vector<int> cpus;           // physical CPUs the vCPUs may run on; empty = any
  std::string mac;                 // 02:...
  std::string bridge;              // xenbr0
  std::string vif_script;          // hotplug script; empty = xl's default (vif-bridge)
};

// The text of an xl config file. Strings are double-quoted with `\` and `"` escaped, as xl's
// parser reads them. Throws InputError for values xl would misread (a newline anywhere; a ',' or
// '=' in a vif field, which the vif spec uses as separators; memory or vCPUs below 1).
std::string XlConfig(const XlGuest& guest);

// Expands {name}, {address} (198.18.0.11/24), {ip} (198.18.0.11), {prefix_len}, {netmask},
// {mac} and {domain} in a kernel command line template; "{{" and "}}" are literal braces.
// Throws InputError naming an unknown placeholder or an unbalanced brace.
std::string ExpandCmdline(const std::string& text,
                          const std::map<std::string, std::string>& values);

// `xl list` output ("Name ID Mem VCPUs State Time(s)") -> name -> domain id. The header and
// lines that do not parse are skipped.
std::map<std::string, int> ParseXlList(const std::string& text);

}  // namespace nfb::platform::internal
