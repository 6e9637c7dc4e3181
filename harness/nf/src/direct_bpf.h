// BPF programs the harness loads and attaches itself ("harness-direct"): at a guest's own eth0 or
// at dom0's NIC, at tc ingress, without the dispatcher.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "nfb/nf/install.h"
#include "objects.h"

namespace nfb::nf {

struct DirectTarget {
  scenario::InstallAt at = scenario::InstallAt::kGuest;
  std::string netns;      // the namespace holding `interface`
  std::string interface;  // attached at its tc ingress
  // Act only on traffic to this IPv4 address (network byte order), 0 for any: dom0's programs
  // share the NIC with the guests' traffic and must leave it alone.
  uint32_t only_daddr_be = 0;
  std::string only_daddr;  // the same, dotted, for Describe(); empty for any
};

// Loads `object` configured from `program`'s parameters (already checked) and attaches it.
// Throws RunError/PrerequisiteError (libbpf, netlink) with nothing left attached.
std::unique_ptr<InstalledFunction> InstallDirectBpf(const scenario::ProgramSpec& program,
                                                    const ObjectSpec& object,
                                                    const DirectTarget& target);

}  // namespace nfb::nf
