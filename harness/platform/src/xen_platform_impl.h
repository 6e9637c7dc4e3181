// The xen platform's implementation class, shared by its source files (xen_platform.cc:
// construction, provisioning order, guests' stop/start, teardown, description; xen_network.cc:
// bridge, emulated NIC and external hosts; xen_guests.cc: ramdisk, xl create, waiting for ping
// and SSH; xen_external.cc: external hosts that are machines over SSH, from an inventory). Not part of the platform's interface: use nfb/platform/xen_platform.h.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "links.h"
#include "nfb/core/cgroup.h"
#include "nfb/core/subprocess.h"
#include "nfb/platform/xen_platform.h"
#include "run_state.h"
#include "ssh_command.h"

namespace nfb::platform::internal {

using Clock = std::chrono::steady_clock;
using Lines = std::vector<std::vector<std::string>>;

inline constexpr const char* kDom0Bridge = "xenbr0";
inline constexpr const char* kSwitchBridge = "sw0";
inline constexpr const char* kSwitchMac = "06:fe:00:00:00:00";
inline constexpr auto kIpTimeout = std::chrono::seconds(60);
inline constexpr auto kXlTimeout = std::chrono::seconds(180);

// Small text helpers of the xen platform's files.
std::string ReadText(const std::filesystem::path& path);  // "" when unreadable
std::string Tail(const std::string& text, size_t lines);  // the last `lines` lines
double Seconds(Clock::duration d);

class XenPlatform final : public Platform {
 public:
  XenPlatform(const scenario::Topology& topology, RunId run_id, XenPlatformOptions options);
  XenPlatform(const XenPlatform&) = delete;
  XenPlatform& operator=(const XenPlatform&) = delete;
  ~XenPlatform() override { Teardown(); }

  std::string Name() const override { return "xen"; }
  void Provision() override;
  void Teardown() noexcept override;
  const HostInfo& Host(const std::string& name) const override { return Find(name).info; }
  std::string Dom0Netns() const override { return {}; }  // the harness's own namespace
  std::string Dom0NicInterface() const override { return nic_name_; }
  void StopGuests() override;
  void StartGuests() override;
  ProcessSpec Command(const std::string& host, std::vector<std::string> argv) const override;
  nlohmann::json Describe() const override;
  std::filesystem::path StateDirectory() const override { return RunDirectory(run_id_); }

 private:
  enum class Role { kDom0, kGuest, kExternal };
  struct Domain {
    Role role = Role::kDom0;
    HostInfo info;
    scenario::Ipv4Prefix address;
    std::vector<int> requested_cpus;
    CpuMapping mapping;
    // Guests:
    int scenario_domid = 0;
    int memory_mb = 0;
    std::string xl_name;  // <prefix>-<guest>
    std::string vif;      // vif<xen domid>.0 once created
    std::filesystem::path xl_config;
    std::string cmdline;
    double create_s = 0, ping_s = 0, ssh_s = 0;  // after `xl create` started
    Process ssh_master;
    // External hosts:
    std::string switch_port;  // namespaces behind the emulated NIC
    // ... or machines over SSH (inventory.h). What teardown undoes on them:
    bool configure = false;           // the harness sets address and MAC
    std::vector<std::string> ssh_options;
    std::string scenario_mac;         // info.mac may become the machine's own (configure: false)
    std::string original_mac;         // before the run (restored when changed)
    bool was_up = true;               // the interface's IFF_UP before the run
    bool address_added = false;       // the scenario's address was not there before
    std::vector<std::string> undo;    // ip -batch lines run there at teardown
  };

  const Domain& Find(const std::string& name) const;
  Domain& Dom0() { return domains_.front(); }
  const Domain& Dom0() const { return domains_.front(); }
  std::string SwitchNetns() const { return prefix_ + "-switch"; }
  SshTarget SshTargetOf(const Domain& d) const;
  void IpBatch(const std::string& netns, const Lines& lines);
  std::string ResolveRamdisk();
  void CheckFree();
  void BuildNetwork();
  void CreateGuest(Domain& g);
  void WaitForGuest(Domain& g, Clock::time_point created);
  void OpenSsh(Domain& g, Clock::time_point deadline);
  std::string GuestFailure(const Domain& g) const;
  void WaitUntilForwarding(const std::vector<std::pair<std::string, std::string>>& devices,
                           std::chrono::seconds timeout);
  // External machines (xen_external.cc).
  bool ExternalMachines() const { return !inventory_source_.empty(); }
  void CheckRealNic() const;
  void BuildMachineNetwork();
  void SetUpExternalMachine(Domain& d);
  void UndoExternalMachines() noexcept;

  RunId run_id_;
  std::string prefix_;
  XenPlatformOptions options_;
  std::string nic_name_, nic_mac_;
  std::vector<Domain> domains_;  // dom0, guests, external hosts

  std::string ip_, xl_, ramdisk_;
  std::map<std::string, std::string> xl_info_;
  std::vector<int> pcpus_;
  std::unique_ptr<RunState> state_;
  bool created_bridge_ = false;
  std::string inventory_source_;  // non-empty: external hosts are machines behind the real NIC
  std::vector<std::string> dom0_neighbours_;  // added on the host's own bridge for them
  bool guests_stopped_ = false;
  int batches_ = 0;
  double provision_s_ = 0, ramdisk_s_ = 0, network_s_ = 0;
};

}  // namespace nfb::platform::internal
