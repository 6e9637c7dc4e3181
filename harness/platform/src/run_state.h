// Run ownership: the run directory, its lock and the state file listing what the run created.
//
// A run holds an flock on /run/nfbench/<hex>/lock for its whole lifetime; the kernel drops the
// lock when the process dies however it dies, so "lock free" reliably means "owner gone". Each
// object is appended to the state file *before* it is created, so a SIGKILL at any moment leaves
// a list that covers everything that exists (plus perhaps one object that never came to be).
// Creating a run and judging/removing stale ones happen under one global lock, so a cleaner never
// sees a run half-way through claiming its directory or its cgroup parents.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nfb/platform/platform.h"

namespace nfb::platform::internal {

inline constexpr const char* kRunRoot = "/run/nfbench";

// Path of iproute2's `ip`, looked up in PATH and then the usual sbin directories (sudo and cron
// often drop those from PATH). Throws PrerequisiteError if it is not installed.
std::string IpCommand();
// The same lookup for any command; empty when it is not installed.
std::string FindCommand(const std::string& name);

// True when this kernel runs as dom0 of a Xen host (/proc/xen/capabilities says control_d), so
// `xl` can manage domains.
bool IsXenDom0();

// True for names this project may create or remove: `nfb<6 hex>-<host>`.
bool IsOurNetnsName(const std::string& name);
// True for run ids: 6 to 32 lower-case hex digits.
bool IsRunHex(const std::string& text);
// True for names a network device may have: 1-15 characters of [A-Za-z0-9_.-].
bool IsInterfaceName(const std::string& name);

// Exclusive flock on /run/lock/nfbench.lock (blocking). Throws RunError if it cannot be taken.
class GlobalLock {
 public:
  GlobalLock();
  GlobalLock(const GlobalLock&) = delete;
  GlobalLock& operator=(const GlobalLock&) = delete;
  ~GlobalLock();

 private:
  int fd_ = -1;
};

struct RecordedObject {
  // "netns", "cgroup", "xl-domain" (a Xen domain, by name) or "link" (a device in the harness's
  // own network namespace, e.g. a bridge the xen platform created; removed only while it still
  // carries the run's LinkAlias, because such names are not unique to the run).
  std::string kind;
  std::string name;  // namespace name, cgroup directory, domain name or device name
  bool operator==(const RecordedObject&) const = default;
};

class RunState {
 public:
  // Creates RunDirectory(id) with its lock (held from here on) and state file. Call with the
  // GlobalLock held. Throws RunError (also if the directory already exists).
  static std::unique_ptr<RunState> Create(const RunId& id);
  RunState(const RunState&) = delete;
  RunState& operator=(const RunState&) = delete;
  // Releases the lock without removing anything (the run then looks dead to CleanupStale).
  ~RunState();

  // Appends the object to the state file. Call before creating it. Throws RunError.
  void Record(const std::string& kind, const std::string& name);
  const std::vector<RecordedObject>& objects() const { return objects_; }
  const std::filesystem::path& dir() const { return dir_; }
  // Removes the run directory (unmounting anything mounted inside) and releases the lock.
  void Remove() noexcept;

 private:
  RunState(RunId id, std::filesystem::path dir, int lock_fd, int state_fd)
      : id_(std::move(id)), dir_(std::move(dir)), lock_fd_(lock_fd), state_fd_(state_fd) {}
  RunId id_;
  std::filesystem::path dir_;
  int lock_fd_ = -1;
  int state_fd_ = -1;
  std::vector<RecordedObject> objects_;
};

struct StateFile {
  std::string hex;  // from the header line; empty if missing
  long pid = 0;
  std::vector<RecordedObject> objects;
};
// Parses a state file's text. Lines that are not valid records (a torn last line) are skipped.
StateFile ParseStateFile(const std::string& text);

// Removes a run's recorded objects in teardown order: Xen domains destroyed (their vifs go with
// them), processes in its cgroups and namespaces killed, then namespaces deleted, then links,
// then cgroups removed. Objects whose names do not belong to
// run `hex` are skipped with a warning. Describes what it removed in `removed`. Never throws.
void DestroyObjects(const std::string& hex, const std::vector<RecordedObject>& objects,
                    std::vector<std::string>* removed) noexcept;

// The interface alias (ifalias) marking a device in the harness's own namespace as run `hex`'s.
std::string LinkAlias(const std::string& hex);

// Deletes device `name` of the current namespace if its alias is LinkAlias(hex). Returns true if
// it is gone (or was never there); false if it belongs to someone else or deletion failed.
bool DeleteOwnedLink(const std::string& hex, const std::string& name) noexcept;

// Devices of the current namespace carrying an nfbench run alias: name -> run hex.
std::vector<std::pair<std::string, std::string>> OwnedLinks() noexcept;

// `xl destroy <name>`. Returns true if the domain is gone (or was never there).
bool DestroyXenDomain(const std::string& name) noexcept;

// Domain names -> ids from `xl list`; empty when this is not dom0 or xl fails.
std::map<std::string, int> ListXenDomains() noexcept;

// SIGKILLs every process whose network namespace is the named one (never the caller) and waits
// for them to go. Returns how many were signalled.
int KillNetnsProcesses(const std::string& netns) noexcept;

// Deletes a named network namespace (`ip netns del`). Returns true if it is gone.
bool DeleteNetns(const std::string& netns) noexcept;

// Removes a run directory and everything in it, unmounting mounts below it first.
bool RemoveRunDirectory(const std::filesystem::path& dir) noexcept;

}  // namespace nfb::platform::internal
