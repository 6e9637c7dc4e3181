#include "links.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <map>
#include <memory>

#include "netns_files.h"
#include "nfb/core/cancel.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/core/subprocess.h"

namespace nfb::platform::internal {

std::string Trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

void RunIpBatch(const std::string& ip, const std::string& netns,
                const std::vector<std::vector<std::string>>& lines,
                const std::filesystem::path& file, std::chrono::milliseconds timeout) {
  if (lines.empty()) return;
  std::string text;
  for (const auto& line : lines) {
    const std::string command = CommandLine(line);
    log::Debug("ip{}: {}", netns.empty() ? "" : " -n " + netns, command);
    text += command + "\n";
  }
  std::ofstream(file) << text;
  ProcessSpec spec;
  spec.argv = {ip};
  if (!netns.empty()) spec.argv.insert(spec.argv.end(), {"-n", netns});
  spec.argv.insert(spec.argv.end(), {"-batch", file.string()});
  RunChecked(spec, timeout);
}

void WaitUntilForwarding(const std::vector<std::pair<std::string, std::string>>& devices,
                         const ForwardingWait& wait) {
  std::map<std::string, std::unique_ptr<NetnsSysfs>> sysfs;
  for (const auto& [ns, dev] : devices) {
    if (!ns.empty() && !sysfs.contains(ns)) sysfs[ns] = std::make_unique<NetnsSysfs>(ns);
  }
  auto read = [&](const std::string& ns, const std::string& relative) -> std::string {
    if (!ns.empty()) return Trim(sysfs[ns]->Read(relative));
    std::ifstream in("/sys/" + relative);
    if (!in) throw RunError("cannot read /sys/" + relative);
    std::string text;
    std::getline(in, text);
    return Trim(text);
  };
  const auto start = std::chrono::steady_clock::now();
  bool reported = false;
  for (;;) {
    std::vector<std::string> waiting;
    for (const auto& [ns, dev] : devices) {
      const std::string base = "class/net/" + dev + "/";
      bool up = false;
      try {
        up = read(ns, base + "operstate") == "up";
      } catch (const RunError&) {
        if (!wait.missing_is_waiting) throw;
      }
      if (up) {
        try {
          up = read(ns, base + "brport/state") == "3";  // BR_STATE_FORWARDING
        } catch (const RunError&) {
          // not a bridge port: being up is enough
        }
      }
      if (!up) waiting.push_back((ns.empty() ? "dom0" : ns) + ":" + dev);
    }
    if (waiting.empty()) return;
    const auto waited = std::chrono::steady_clock::now() - start;
    if (!reported && waited > std::chrono::milliseconds(100)) {
      log::Debug("waiting for links to forward: {}", fmt::join(waiting, ", "));
      reported = true;
    }
    if (waited > wait.timeout) {
      throw RunError(fmt::format("links not forwarding after {} ms: {}", wait.timeout.count(),
                                 fmt::join(waiting, ", ")));
    }
    if (!SleepFor(wait.poll)) ThrowIfInterrupted();
  }
}

}  // namespace nfb::platform::internal
