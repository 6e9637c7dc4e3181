// XenBPF through the real mechanism: bpfd runs in dom0 with the dispatcher at dom0's NIC, the
// guest is registered over bpfd's control socket, and a loader inside the guest offloads the
// guest's program over the guest's own channel (libxenbpf), configures it through bpfd's map
// updates (xenbpf-load --set) and stays connected for the measurement, because bpfd removes a
// domain's programs when it disconnects. The loader is a LineSession, so the program's own
// counters can be read through that same session (bpfd allows one per guest).
//
// The guest's channel: on the netns platform an abstract socket in the guest's namespace
// (registered with `netns`); on Xen the vchan bpfd serves for the guest's domain id (registered
// with `domid`, published in the guest's XenStore home) and the loader, run over SSH, is told
// `--channel vchan:`. The object file is copied into a remote guest first.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <memory>

#include "line_session.h"
#include "nfb/core/subprocess.h"
#include "nfb/nf/install.h"
#include "objects.h"

namespace nfb::nf {

class BpfdOffload : public InstalledFunction {
 public:
  // Starts bpfd and the guest's loader for `program` (an object with checked parameters);
  // throws RunError (with the tail of their logs) when either fails, after stopping whatever it
  // started.
  BpfdOffload(platform::Platform& platform, const scenario::GuestSpec& guest,
              const scenario::ProgramSpec& program, const ObjectSpec& object,
              const std::filesystem::path& log_dir);
  ~BpfdOffload() override;

  nlohmann::json Describe() const override;
  // bpfd's accounting for the guest (slot packets, estimated CPU), how many packets and ICMP echo
  // requests reached the guest's own interface and kernel since the program was installed, and
  // the program's own counters
  // (udp_drop: dropped, passed; icmp_echo: answered, passed) read through the loader's session.
  nlohmann::json Counters() const override;

 private:
  void Stop() noexcept;
  uint64_t GuestRxPackets() const;
  uint64_t GuestEchoRequests() const;  // Icmp InEchos of the guest's kernel

  platform::Platform& platform_;
  std::string guest_, netns_, interface_, program_;
  const ObjectSpec& object_;
  nlohmann::json parameters_;
  std::vector<std::string> settings_;  // xenbpf-load --set arguments
  std::filesystem::path log_dir_, control_dir_, control_path_, loader_out_, loader_err_;
  nlohmann::json channel_;  // how the guest reaches bpfd, for Describe()
  Process bpfd_;
  std::unique_ptr<LineSession> loader_;
  nlohmann::json loaded_;          // the loader's answer: guest-visible program and map IDs
  uint32_t stats_map_id_ = 0;      // guest-visible ID of the object's counter map, 0 if none
  uint64_t guest_rx_at_install_ = 0;
  uint64_t guest_echo_at_install_ = 0;
};

}  // namespace nfb::nf
