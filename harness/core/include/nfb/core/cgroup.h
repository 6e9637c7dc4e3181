// Per-domain CPU placement and accounting through cgroups, on cgroup v1 and v2.
//
// Each emulated domain (dom0, a guest, an external host) gets a cgroup `nfbench/<run>/<domain>`
// whose cpuset holds the domain's CPUs; the processes the harness starts for that domain are
// placed there before exec (ProcessSpec::cgroup_procs), and its CPU time is read back like xentop.
//
// v1 (also the "hybrid" layout): controllers live in separate hierarchies, so a domain is one
// directory per hierarchy (cpuset, cpuacct, freezer) and a process joins all of them. A fresh v1
// cpuset has empty cpuset.cpus and cpuset.mems and refuses tasks until both are set, at every
// level. cpuset.cpu_exclusive stays off because domains may share CPUs (dom0 and a load generator
// on CPU 0 of a 2-CPU box).
// v2: one hierarchy; +cpuset must be enabled in the subtree_control of every ancestor, and CPU
// usage comes from cpu.stat (always present), freezing from cgroup.freeze.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nfb {

// Name of the directory under each hierarchy root that holds all nfbench runs.
inline constexpr std::string_view kCgroupParent = "nfbench";

// A cgroup filesystem mount, as listed in /proc/self/mountinfo.
struct CgroupMount {
  std::filesystem::path path;
  int version = 1;                       // 1 (fstype cgroup) or 2 (cgroup2)
  std::vector<std::string> controllers;  // v1: from the mount options; v2: empty
};

// Cgroup mounts found in mountinfo text. Malformed lines are skipped.
std::vector<CgroupMount> ParseCgroupMounts(std::string_view mountinfo);

// One hierarchy the harness uses, and what it uses it for.
struct CgroupHierarchy {
  std::filesystem::path root;
  int version = 1;
  bool cpuset = false;   // CPU placement
  bool cpuacct = false;  // CPU usage
  bool freezer = false;  // freezing
};

struct CgroupLayout {
  std::vector<CgroupHierarchy> hierarchies;
  int version = 1;  // of the cpuset hierarchy, i.e. what the run reports as "cgroup version"

  // Reads /proc/self/mountinfo (and the cgroup2 root's cgroup.controllers). Throws
  // PrerequisiteError if no cpuset controller is usable.
  static CgroupLayout Detect();
  // The pure part of Detect: v1 cpuset/cpuacct/freezer hierarchies when a v1 cpuset is mounted,
  // otherwise the cgroup2 mount if `v2_root_controllers` (its cgroup.controllers) lists cpuset.
  // Throws PrerequisiteError when neither applies.
  static CgroupLayout FromMounts(const std::vector<CgroupMount>& mounts,
                                 std::string_view v2_root_controllers);
};

// "0-2,4" -> {0,1,2,4} (sorted, unique). Empty or blank text is the empty set. Throws InputError.
std::vector<int> ParseCpuList(std::string_view text);
// {0,1,2,4} -> "0-2,4".
std::string FormatCpuList(const std::vector<int>& cpus);
// A sysfs CPU bitmap as rps_cpus takes it: {0} -> "1", {0,1} -> "3", {32} -> "1,00000000".
std::string FormatCpuMask(const std::vector<int>& cpus);

// How requested CPU numbers were placed on the host's CPUs.
struct CpuMapping {
  std::vector<int> requested;  // as the scenario asked
  std::vector<int> mapped;     // element-wise: available[requested % available.size()]
  std::vector<int> cpus;       // the distinct real CPUs, sorted
  bool Folded() const;         // some requested CPU landed on a different number
};
// Maps requested CPUs modulo the available ones, so a scenario written for a larger host still
// runs (with the folding recorded). Throws InputError for negative CPUs, RunError when
// `available` is empty.
CpuMapping MapCpus(const std::vector<int>& requested, const std::vector<int>& available);

// The CPUs the hierarchy's root cpuset allows (the host's online CPUs unless restricted).
// Throws RunError if it cannot be read.
std::vector<int> AvailableCpus(const CgroupLayout& layout);

// One domain's cgroup: a directory per hierarchy.
class DomainCgroup {
 public:
  struct Dir {
    std::filesystem::path path;
    CgroupHierarchy hierarchy;
  };
  DomainCgroup() = default;
  DomainCgroup(std::string name, std::vector<int> cpus, std::vector<Dir> dirs)
      : name_(std::move(name)), cpus_(std::move(cpus)), dirs_(std::move(dirs)) {}

  const std::string& name() const { return name_; }
  const std::vector<int>& cpus() const { return cpus_; }
  const std::vector<Dir>& dirs() const { return dirs_; }
  // The cgroup.procs files a process must be written to, one per hierarchy.
  std::vector<std::filesystem::path> ProcsFiles() const;

  // Total CPU time of the domain's tasks in nanoseconds (cpuacct.usage or cpu.stat usage_usec).
  // Throws RunError if unreadable or if no hierarchy accounts CPU.
  uint64_t CpuUsageNs() const;
  // Freezes or thaws the tasks. Returns false if no freezer is available; throws RunError if
  // the write fails.
  bool SetFrozen(bool frozen) const;
  // Processes currently in the domain (from the first hierarchy).
  std::vector<pid_t> Pids() const;

 private:
  std::string name_;
  std::vector<int> cpus_;
  std::vector<Dir> dirs_;
};

// The cgroups of one run: nfbench/<run>/ in every hierarchy of the layout.
class CgroupRun {
 public:
  // No I/O. Throws InputError if `run` is not a lower-case hex string or `parent` is not a
  // plain name. Tests use their own parent so that CleanupStale never mistakes them for a run.
  CgroupRun(CgroupLayout layout, std::string run, std::string parent = std::string(kCgroupParent));

  const CgroupLayout& layout() const { return layout_; }
  // <parent>/<run> in each hierarchy: what to record before creating anything. No I/O.
  std::vector<std::filesystem::path> RunDirs() const;
  // <parent>/<run>/<domain> in each hierarchy. No I/O. Throws InputError for a bad domain name.
  std::vector<std::filesystem::path> DomainDirs(const std::string& domain) const;

  // Creates <parent>/ (if needed) and <parent>/<run>/ everywhere, giving new v1 cpusets all of
  // `available` and the root's memory nodes and enabling +cpuset below them on v2 (and in the
  // root's subtree_control if it was not). Throws RunError.
  void CreateRun(const std::vector<int>& available);
  // Creates <parent>/<run>/<domain> with `cpus` (real CPU numbers). Throws RunError.
  DomainCgroup CreateDomain(const std::string& domain, const std::vector<int>& cpus);
  // Removes <parent>/<run> and everything below it (see RemoveCgroupTree). Returns false if
  // something stayed behind.
  bool Remove() noexcept;

 private:
  CgroupLayout layout_;
  std::string run_;
  std::string parent_;
};

// Thaws the given cgroup directories and their descendants, SIGKILLs every task in them (never
// the calling process) and waits up to 5 s for them to leave. Works on v1 and v2 directories
// alike. Pass all hierarchies' directories of a domain together: a task frozen by the v1 freezer
// ignores SIGKILL until its freezer cgroup is thawed. Returns true when no task is left.
bool KillCgroupTasks(const std::vector<std::filesystem::path>& dirs) noexcept;

// KillCgroupTasks(dirs), then removes the directories bottom-up. Missing directories count as
// removed. Returns false (after logging why) if something could not be removed.
bool RemoveCgroupTrees(const std::vector<std::filesystem::path>& dirs) noexcept;
inline bool RemoveCgroupTree(const std::filesystem::path& dir) noexcept {
  return RemoveCgroupTrees({dir});
}

// Removes the `parent` directory in every hierarchy if no run uses it any more. Never fails.
void RemoveCgroupParentIfEmpty(const CgroupLayout& layout,
                               std::string_view parent = kCgroupParent) noexcept;

}  // namespace nfb
