// What both platforms do to their links: `ip -batch` files and waiting until links forward.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace nfb::platform::internal {

// Trailing spaces and newlines removed (sysfs values, tool output).
std::string Trim(std::string text);

// One `ip -batch` in `netns` (empty: the harness's own namespace) instead of one process per
// command: provisioning cost is dominated by process start-up on a loaded box, and more so in a
// PV dom0 under TCG. The lines go to `file`, which the caller keeps in the run directory as a
// record of what was done. Nothing happens for no lines. Throws RunError.
void RunIpBatch(const std::string& ip, const std::string& netns,
                const std::vector<std::vector<std::string>>& lines,
                const std::filesystem::path& file, std::chrono::milliseconds timeout);

struct ForwardingWait {
  std::chrono::milliseconds timeout{10000};
  std::chrono::milliseconds poll{2};
  // True where a device may not exist yet (netback's vif appears once the guest's frontend
  // connects); otherwise a missing device is an error at once.
  bool missing_is_waiting = false;
};

// Waits until every {netns, device} is up and, when it is a bridge port, forwarding (netns empty:
// the harness's own /sys). Throws RunError naming the links still waiting after the timeout, and
// InterruptedError on Ctrl-C.
void WaitUntilForwarding(const std::vector<std::pair<std::string, std::string>>& devices,
                         const ForwardingWait& wait);

}  // namespace nfb::platform::internal
