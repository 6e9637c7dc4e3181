// XenBPF through the real mechanism: bpfd runs in dom0 with the dispatcher at dom0's NIC, the
// guest is registered over bpfd's control socket, and a loader inside the guest offloads the
// guest's program over the guest's own channel (libxenbpf), staying connected for the
// measurement because bpfd removes a domain's programs when it disconnects.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "nfb/core/subprocess.h"
#include "nfb/nf/install.h"

namespace nfb::nf {

class BpfdOffload : public InstalledFunction {
 public:
  // Starts bpfd and the guest's loader; throws RunError (with the tail of their logs) when
  // either fails, after stopping whatever it started.
  BpfdOffload(platform::Platform& platform, const scenario::GuestSpec& guest,
              const std::string& program, const std::filesystem::path& object,
              const std::filesystem::path& log_dir);
  ~BpfdOffload() override;

  nlohmann::json Describe() const override;
  // bpfd's accounting for the guest (slot packets, estimated CPU) and how many packets reached
  // the guest's own interface since the program was installed.
  nlohmann::json Counters() const override;

 private:
  void Stop() noexcept;
  uint64_t GuestRxPackets() const;

  platform::Platform& platform_;
  std::string guest_, netns_, interface_, program_;
  std::filesystem::path object_, log_dir_, control_dir_, control_path_;
  Process bpfd_, loader_;
  nlohmann::json loaded_;  // the loader's answer: guest-visible program and map IDs
  uint64_t guest_rx_at_install_ = 0;
};

}  // namespace nfb::nf
