// The emulated Xen host (docs/platform-netns.md).
//
//   <prefix>-switch   bridge sw0: the physical switch; external hosts and the NIC plug in here
//   <prefix>-dom0     bridge xenbr0 (dom0's MAC and address), the "physical NIC" (peth0) and one
//                     vif<domid>.0 per guest as its ports
//   <prefix>-<guest>  eth0, the peer of vif<domid>.0
//   <prefix>-<host>   eth0 of an external host, a port of sw0
//
// Every domain also gets a cgroup nfbench/<run>/<name> holding its CPUs, and its interfaces'
// receive processing is steered (RPS) onto those CPUs, so each domain's kernel work lands where
// its vCPUs are.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nfb/core/cgroup.h"
#include "nfb/platform/platform.h"

namespace nfb::platform {

namespace internal {
class RunState;
}

class NetnsPlatform final : public Platform {
 public:
  // Validates the topology for this platform; touches nothing. Throws InputError.
  NetnsPlatform(const scenario::Topology& topology, RunId run_id);
  NetnsPlatform(const NetnsPlatform&) = delete;
  NetnsPlatform& operator=(const NetnsPlatform&) = delete;
  ~NetnsPlatform() override;  // tears down whatever is still provisioned

  std::string Name() const override { return "netns"; }
  void Provision() override;
  void Teardown() noexcept override;
  const HostInfo& Host(const std::string& name) const override;
  std::string Dom0Netns() const override;
  std::string Dom0NicInterface() const override;
  void StopGuests() override;
  void StartGuests() override;
  ProcessSpec Command(const std::string& host, std::vector<std::string> argv) const override;
  nlohmann::json Describe() const override;
  std::filesystem::path StateDirectory() const override { return RunDirectory(run_id_); }

  const RunId& run_id() const { return run_id_; }
  // The namespace of the switch the NIC and the external hosts are plugged into.
  std::string SwitchNetns() const;
  // A domain's cgroup (CPU usage, pids); nullptr before Provision. Throws InputError if unknown.
  const DomainCgroup* Cgroup(const std::string& host) const;
  // How long the last Provision took (zero before).
  std::chrono::milliseconds provision_time() const { return provision_time_; }

 private:
  enum class Role { kDom0, kGuest, kExternal };
  struct Domain {
    Role role = Role::kDom0;
    HostInfo info;
    std::vector<int> requested_cpus;
    CpuMapping mapping;
    scenario::Ipv4Prefix address;
    int domid = 0;                         // guests
    std::string vif;                       // guests: vif<domid>.0 in dom0
    std::string switch_port;               // external hosts: their port on sw0
    std::vector<std::string> rps_devices;  // devices in info.netns steered to this domain's CPUs
    std::optional<DomainCgroup> cgroup;
  };

  Domain& Find(const std::string& name);
  const Domain& Find(const std::string& name) const;
  Domain& Dom0() { return domains_.front(); }
  const Domain& Dom0() const { return domains_.front(); }
  void Ip(std::vector<std::string> args);
  void IpBatch(const std::string& netns, const std::vector<std::vector<std::string>>& lines);
  std::vector<std::string> AllNetns() const;
  void CheckPrefixFree() const;
  void WaitUntilForwarding(const std::vector<std::pair<std::string, std::string>>& devices,
                           std::chrono::milliseconds timeout);
  void WaitForGuests();

  RunId run_id_;
  std::string prefix_;
  std::string nic_name_, nic_mac_;
  std::vector<Domain> domains_;  // dom0 first, then guests, then external hosts
  std::string ip_;               // path of iproute2's `ip`

  std::optional<CgroupLayout> layout_;
  std::vector<int> available_cpus_;
  std::optional<CgroupRun> cgroups_;
  std::unique_ptr<internal::RunState> state_;
  bool guests_stopped_ = false;
  int commands_ = 0;  // ip processes started by Provision
  int batches_ = 0;
  std::chrono::milliseconds provision_time_{0};
};

}  // namespace nfb::platform
