// XenBPF through the real mechanism: bpfd runs in dom0 with the dispatcher at dom0's NIC, the
// guest is registered over bpfd's control socket, and a loader inside the guest offloads the
// guest's program over the guest's own channel (libxenbpf), configures it through bpfd's map
// updates (xenbpf-load --set) and stays connected for the measurement, because bpfd removes a
// domain's programs when it disconnects. The loader's stdin is a FIFO the harness writes to, so
// the program's own counters can be read through that same session (bpfd allows one per guest).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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
  // bpfd's accounting for the guest (slot packets, estimated CPU), how many packets reached the
  // guest's own interface since the program was installed, and the program's own counters
  // (udp_drop: dropped, passed; icmp_echo: answered, passed) read through the loader's session.
  nlohmann::json Counters() const override;

 private:
  void Stop() noexcept;
  uint64_t GuestRxPackets() const;
  // Sends one command line to the holding loader and returns its JSON answer.
  nlohmann::json Ask(const std::string& line) const;
  // The loader's next result line (stdout), parsed; throws RunError when none comes in time.
  nlohmann::json NextLine(std::chrono::milliseconds timeout) const;

  platform::Platform& platform_;
  std::string guest_, netns_, interface_, program_;
  const ObjectSpec& object_;
  nlohmann::json parameters_;
  std::vector<std::string> settings_;  // xenbpf-load --set arguments
  std::filesystem::path log_dir_, control_dir_, control_path_, loader_out_, loader_err_;
  Process bpfd_;
  mutable Process loader_;  // Wait() reaps it: NextLine() (const) notices a loader that ended
  int commands_fd_ = -1;    // write end of the loader's stdin FIFO
  mutable size_t lines_read_ = 0;  // result lines of the loader consumed so far
  nlohmann::json loaded_;          // the loader's answer: guest-visible program and map IDs
  uint32_t stats_map_id_ = 0;      // guest-visible ID of the object's counter map, 0 if none
  uint64_t guest_rx_at_install_ = 0;
};

}  // namespace nfb::nf
