// The ping workload: iputils `ping` from an external host to a target address. RTTs are not
// taken from ping's output (it timestamps in user space); they come from the capture. ping's
// own counters are kept to cross-check the capture's accounting.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "nfb/platform/platform.h"
#include "nfb/scenario/scenario.h"

namespace nfb::workloads {

struct PingSummary {
  uint64_t transmitted = 0;
  uint64_t received = 0;
  uint64_t duplicates = 0;
  uint64_t errors = 0;
};

struct PingRun {
  std::vector<std::string> argv;
  PingSummary summary;
  uint16_t first_sequence = 1;  // iputils numbers probes from 1
  double duration_s = 0;
};

// argv for `count` probes (warm-up included) at the workload's interval.
std::vector<std::string> PingCommand(const scenario::PingWorkload& workload,
                                     const std::string& target_address);

// Parses ping's summary ("N packets transmitted, M received, +D duplicates, ..."). Throws
// InputError when the text has no summary line (ping failed before sending).
PingSummary ParsePingSummary(const std::string& output);

// Runs the workload from its external host to `target_address`, with ping's output in
// `raw_dir/ping.log`. Logs progress on long runs; throws InterruptedError on Ctrl-C and
// RunError when ping cannot run or sends nothing.
PingRun RunPing(const platform::Platform& platform, const scenario::PingWorkload& workload,
                const std::string& target_address, const std::filesystem::path& raw_dir);

}  // namespace nfb::workloads
