// Run ids and the removal of stale state (the platform-independent parts of platform.h).
#include "nfb/platform/platform.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <set>
#include <sstream>

#include "nfb/core/cgroup.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/core/text_file.h"
#include "run_state.h"

namespace nfb::platform {
namespace fs = std::filesystem;

RunId RunId::Generate() {
  unsigned char bytes[8];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      ThrowSystemError("getrandom", errno);
    }
    got += size_t(n);
  }
  std::string hex;
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  return RunId{hex};
}

std::string RunId::Prefix() const { return "nfb" + hex.substr(0, 6); }

fs::path RunDirectory(const RunId& run_id) { return fs::path(internal::kRunRoot) / run_id.hex; }

namespace {

struct RunEntry {
  std::string hex;
  fs::path dir;
  int lock_fd = -1;  // held for dead runs while they are removed
  bool live = false;
};

std::string ReadText(const fs::path& path) { return ReadTextFile(path).value_or(""); }

}  // namespace

CleanupReport CleanupStale(bool everything) {
  CleanupReport report;
  try {
    internal::GlobalLock lock;
    std::vector<RunEntry> runs;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(internal::kRunRoot, ec)) {
      RunEntry run{entry.path().filename().string(), entry.path()};
      if (!internal::IsRunHex(run.hex) || !entry.is_directory(ec)) continue;
      // A run directory without a lock file was cut short before it took the lock; since runs
      // are claimed under the global lock we hold, it cannot be one in progress.
      run.lock_fd = ::open((run.dir / "lock").c_str(), O_RDWR | O_CLOEXEC);
      if (run.lock_fd >= 0 && ::flock(run.lock_fd, LOCK_EX | LOCK_NB) != 0) {
        run.live = true;
        ::close(run.lock_fd);
        run.lock_fd = -1;
      }
      runs.push_back(std::move(run));
    }

    std::set<std::string> live_runs, live_prefixes;
    for (RunEntry& run : runs) {
      if (run.live && !everything) {
        live_runs.insert(run.hex);
        live_prefixes.insert(RunId{run.hex}.Prefix());
        log::Debug("run {} is live; leaving it alone", run.hex);
        continue;
      }
      internal::StateFile state = internal::ParseStateFile(ReadText(run.dir / "state"));
      if (run.live) {
        log::Warn("removing the objects of run {} (pid {}) although it still holds its lock",
                  run.hex, state.pid);
      } else {
        log::Info("removing the state of dead run {} (pid {})", run.hex, state.pid);
      }
      internal::DestroyObjects(run.hex, state.objects, &report.removed);
      if (internal::RemoveRunDirectory(run.dir)) {
        report.removed.push_back("run directory " + run.dir.string());
      }
      if (run.lock_fd >= 0) ::close(run.lock_fd);
    }

    // Orphans: objects named like ours that no live run owns (their run directory is gone, or
    // was never written because the run died first). Xen domains first: their vifs are ports of
    // a bridge removed below. ListXenDomains is empty, without starting anything, off Xen.
    for (const auto& [name, id] : internal::ListXenDomains()) {
      if (!internal::IsOurNetnsName(name) || live_prefixes.contains(name.substr(0, 9))) continue;
      if (internal::DestroyXenDomain(name)) report.removed.push_back("Xen domain " + name);
    }
    for (const auto& entry : fs::directory_iterator("/run/netns", ec)) {
      std::string name = entry.path().filename().string();
      if (!internal::IsOurNetnsName(name) || live_prefixes.contains(name.substr(0, 9))) continue;
      internal::KillNetnsProcesses(name);
      if (internal::DeleteNetns(name)) report.removed.push_back("network namespace " + name);
    }
    // Devices the xen platform added to the host's own namespace carry their run's alias.
    for (const auto& [name, hex] : internal::OwnedLinks()) {
      if (live_runs.contains(hex)) continue;
      if (internal::DeleteOwnedLink(hex, name)) report.removed.push_back("device " + name);
    }
    std::optional<CgroupLayout> layout;
    try {
      layout = CgroupLayout::Detect();
    } catch (const Error& e) {
      log::Debug("no cgroups to clean: {}", e.what());
    }
    if (layout) {
      std::vector<fs::path> orphans;
      for (const auto& h : layout->hierarchies) {
        for (const auto& entry : fs::directory_iterator(h.root / kCgroupParent, ec)) {
          std::string name = entry.path().filename().string();
          if (entry.is_directory(ec) && internal::IsRunHex(name) && !live_runs.contains(name)) {
            orphans.push_back(entry.path());
          }
        }
      }
      // All hierarchies at once: a task frozen in one only dies once thawed there.
      RemoveCgroupTrees(orphans);
      for (const fs::path& dir : orphans) {
        if (!fs::exists(dir, ec)) report.removed.push_back("cgroup " + dir.string());
      }
      RemoveCgroupParentIfEmpty(*layout);
    }
    ::rmdir(internal::kRunRoot);  // only succeeds when no run is left
  } catch (const std::exception& e) {
    log::Warn("cleaning up stale runs: {}", e.what());
  }
  return report;
}

}  // namespace nfb::platform
