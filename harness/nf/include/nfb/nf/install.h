// Installing a configuration's network function: which program, where, and through which path.
// The objects returned own everything they attached; destroying them removes it again.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <vector>

#include "nfb/platform/platform.h"
#include "nfb/scenario/scenario.h"

namespace nfb::nf {

class InstalledFunction {
 public:
  virtual ~InstalledFunction() = default;
  // Where the program runs and how it got there: {"at", "program", "path", ...}; BPF programs
  // add "object", "hook", "interface", "netns", "parameters", iptables programs "kind":
  // "iptables", "rules", "comments", "host", "netns".
  // "path" is "none", "harness-direct" (the harness loaded and attached it, or ran iptables,
  // itself) or "bpfd" (a loader in the guest asked bpfd in dom0 over the guest's channel).
  virtual nlohmann::json Describe() const = 0;
  // The program's own counters, read now: icmp_echo {answered, passed}; udp_drop {dropped,
  // passed}; iptables {rules: [{rule, packets, bytes}], packets, bytes, dropped (DROP rules)};
  // offloaded programs add bpfd's accounting (packets, bytes, cpu_ns, ... and
  // dispatcher_slot_packets), guest_rx_packets_during_install and
  // guest_icmp_echo_requests_during_install. Throws RunError when they cannot be read.
  virtual nlohmann::json Counters() const = 0;
};

// Throws InputError when the configuration cannot be installed: an unknown BPF object (known:
// icmp_echo, udp_drop), a hook other than tc, a parameter the object does not take (the message
// names the known ones) or out of range, a required one missing (udp_drop: port, 1..65535), an
// iptables program offloaded or with a rule that does not start with a chain. Touches nothing,
// so the runner calls it for every configuration before provisioning.
void CheckInstallable(const scenario::Scenario& scenario, const scenario::Configuration& config);

// Installs `config` on a provisioned platform; the logs of helper processes (bpfd, the guest's
// loader) go to `log_dir`. Configurations without `install` get an object that describes
// "none". By kind and place:
//  - BPF at guest: loaded and attached at the guest's eth0 tc ingress by the harness (by
//    nfb-nf-attach in the guest when the guest is reached over SSH);
//  - BPF at dom0: the same at dom0's NIC, acting only on traffic to dom0's own address;
//  - BPF at offload (XenBPF): bpfd in dom0 and `xenbpf-load load <object> --set <config> --hold`
//    in the guest, which configures the program through bpfd's map updates;
//  - iptables at guest or dom0: `iptables -w -A <rule>` in that host's namespace, each rule
//    tagged with an nfbench comment, deleted again (-D, reverse order) on destruction.
// Throws PrerequisiteError (no privileges, iptables missing) or RunError (libbpf, netlink, bpfd,
// iptables) with nothing left installed.
// The project binaries Install() runs inside guests reached over SSH (nfb-nf-attach for BPF at a
// guest's interface, xenbpf-load for XenBPF), as built here. A remote guest's image must have
// them on PATH; the xen platform puts them into the guests' ramdisk.
std::vector<std::filesystem::path> GuestTools();

std::unique_ptr<InstalledFunction> Install(const scenario::Scenario& scenario,
                                           const scenario::Configuration& config,
                                           platform::Platform& platform,
                                           const std::filesystem::path& log_dir);

}  // namespace nfb::nf
