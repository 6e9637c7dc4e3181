// Platforms: where a scenario's topology (dom0, guests, external hosts) comes to life.
//
// `netns` (netns_platform.h) emulates a Xen host with network namespaces, veth pairs, bridges and
// cgroups on any Linux box; `xen` (xen_platform.h) drives a real one from its dom0. The runner
// only sees this interface: hosts by name, commands to run in them, and a description for the
// results' context.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nfb/core/subprocess.h"
#include "nfb/scenario/scenario.h"

namespace nfb::platform {

// Identifies one run of the harness; names every object the run creates on the host.
struct RunId {
  std::string hex;  // 16 lower-case hex digits from the kernel's random pool

  // A fresh random id. Throws RunError if getrandom fails.
  static RunId Generate();
  // "nfb" + the first 6 hex digits: the prefix of the run's namespace names ("nfb1a2b3c-dom0").
  std::string Prefix() const;
};

// How the harness reaches a host.
//  - kLocal: processes start on this machine inside the host's network namespace (`netns`, empty
//    for the harness's own): every domain of the netns platform; dom0 and the emulated external
//    hosts of the xen platform. Code that enters a namespace in-process (libpcap captures, libbpf
//    attachments through NetnsScope) works only for these.
//  - kSsh: over SSH to `ssh_destination` (Xen guests; external machines on real hardware). Run
//    things there through Platform::Command, never through `netns`.
enum class HostAccess { kLocal, kSsh };

// One machine of the topology as the platform realised it.
struct HostInfo {
  std::string name;       // "dom0", a guest or an external host
  std::string netns;      // its network namespace (kLocal; empty = the harness's own)
  std::string interface;  // data interface: eth0 for guests/external hosts, xenbr0 for dom0
  std::string address;    // dotted quad
  std::string mac;        // of `interface`
  std::vector<int> cpus;  // real CPUs after mapping (empty before Provision)
  std::vector<std::filesystem::path> cgroup_procs;  // for ProcessSpec (empty before Provision)
  HostAccess access = HostAccess::kLocal;
  std::string ssh_destination{};  // kSsh: "root@198.18.0.11"
  // Xen guests: the domain id Xen assigned at `xl create` (not the scenario's `domid`, which Xen
  // cannot be asked for); -1 elsewhere, including the netns platform's emulated guests.
  int xen_domid = -1;
  // Guests: their backend interface in dom0 ("vif<domid>.0", with the domain id the platform
  // really used: the scenario's on netns, Xen's on xen); empty for other hosts.
  std::string dom0_vif{};

  bool IsLocal() const { return access == HostAccess::kLocal; }
};

// Not thread-safe: provision, drive and tear down from one thread.
class Platform {
 public:
  virtual ~Platform() = default;
  virtual std::string Name() const = 0;  // "netns"
  // Creates everything. Throws PrerequisiteError (not root, tool or cgroup controller missing),
  // RunError, or InterruptedError at a step boundary after Ctrl-C; whatever was created is still
  // removed by Teardown().
  virtual void Provision() = 0;
  // Removes everything this run created: idempotent, safe after a partial Provision, never throws
  // (problems are logged). A second Ctrl-C does not cut it short.
  virtual void Teardown() noexcept = 0;
  // "dom0", a guest or an external host; throws InputError if unknown.
  virtual const HostInfo& Host(const std::string& name) const = 0;
  virtual std::string Dom0Netns() const = 0;
  // The "physical NIC" inside dom0 (the scenario's nic name, peth0 by default).
  virtual std::string Dom0NicInterface() const = 0;
  // For dom0-only configurations: guests off the bridge (vif down) and their cgroups frozen where
  // a freezer exists. Idempotent. Throws RunError.
  virtual void StopGuests() = 0;
  // Undoes StopGuests and waits until the vifs forward again. Idempotent. Throws RunError.
  virtual void StartGuests() = 0;
  // A spec that runs argv on that host: in its network namespace and cgroups (kLocal), or
  // through SSH (kSsh: argv is quoted for the remote shell; stdin, stdout, stderr and the exit
  // status are the remote command's; SSH's own failures exit 255). Callers may redirect
  // stdout/stderr and set `interruptible`; `env` and `netns` of the spec apply only to the local
  // process. Throws InputError if the host is unknown.
  virtual ProcessSpec Command(const std::string& host, std::vector<std::string> argv) const = 0;
  // Names, interfaces, MACs, CPU mapping, RPS masks, cgroup version and what is not emulated, for
  // the results' context.json.
  virtual nlohmann::json Describe() const = 0;
  // A private directory for this run's sockets and state files (mode 0700), removed by
  // Teardown() and by CleanupStale() after a killed run.
  virtual std::filesystem::path StateDirectory() const = 0;
};

// The emulated Xen host (see docs/platform-netns.md). Nothing is touched until Provision().
// Throws InputError if the topology cannot be emulated (duplicate or reserved host names, names
// unusable for namespaces or interfaces) or the run id is malformed.
std::unique_ptr<Platform> MakeNetnsPlatform(const scenario::Topology& topology,
                                            const RunId& run_id);

struct CleanupReport {
  std::vector<std::string> removed;  // one line per object, e.g. "network namespace nfb1a2b3c-dom0"
};

// Removes what runs whose owner is gone left behind: their recorded namespaces, cgroups and run
// directories, plus orphaned `nfb<6 hex>-*` namespaces and `nfbench/<hex>` cgroups that no live
// run owns. A run is live while its lock file is locked. Never touches a live run's objects or
// anything outside the nfbench naming, unless `everything` is set: then live runs are removed
// too (for when the user knows no run is active). Problems are logged, not thrown.
CleanupReport CleanupStale(bool everything = false);

// Where a run keeps its lock, state and other per-run files (sockets, pins): /run/nfbench/<hex>.
std::filesystem::path RunDirectory(const RunId& run_id);

}  // namespace nfb::platform
