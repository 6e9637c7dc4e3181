#include "run_state.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "nfb/core/cgroup.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/core/netns.h"
#include "nfb/core/subprocess.h"
#include "xl_config.h"

namespace nfb::platform::internal {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

fs::path GlobalLockPath() {
  std::error_code ec;
  // /run/lock is the conventional place; a lock file there is not "state left behind".
  if (fs::is_directory("/run/lock", ec)) return "/run/lock/nfbench.lock";
  return "/run/nfbench.lock";
}

// Is `path` = <hierarchy root>/nfbench/<hex> or <hierarchy root>/nfbench/<hex>/<name>?
bool IsOurCgroupPath(const std::string& hex, const fs::path& path,
                     const std::vector<fs::path>& roots) {
  if (!path.is_absolute() || path.lexically_normal() != path) return false;
  for (const fs::path& root : roots) {
    fs::path run = root / kCgroupParent / hex;
    if (path == run) return true;
    if (path.parent_path() == run) {
      std::string name = path.filename().string();
      return !name.empty() && name != "." && name != "..";
    }
  }
  return false;
}

std::vector<fs::path> CgroupRoots() {
  std::vector<fs::path> roots;
  try {
    for (const auto& h : CgroupLayout::Detect().hierarchies) roots.push_back(h.root);
  } catch (const Error& e) {
    log::Debug("no cgroup layout: {}", e.what());
  }
  return roots;
}

struct NsId {
  dev_t dev;
  ino_t ino;
};

std::vector<pid_t> NetnsPids(const NsId& id) {
  std::vector<pid_t> pids;
  const pid_t self = ::getpid();
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return pids;
  while (struct dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (pid <= 0 || *end != '\0' || pid == self) continue;
    struct stat st {};
    std::string path = fmt::format("/proc/{}/ns/net", pid);
    if (::stat(path.c_str(), &st) == 0 && st.st_dev == id.dev && st.st_ino == id.ino) {
      pids.push_back(static_cast<pid_t>(pid));
    }
  }
  ::closedir(proc);
  return pids;
}

}  // namespace

std::string IpCommand() {
  std::string found = FindCommand("ip");
  if (found.empty()) {
    throw PrerequisiteError("iproute2's 'ip' command was not found (install iproute2)");
  }
  return found;
}

std::string FindCommand(const std::string& name) {
  std::string path;
  if (const char* env = std::getenv("PATH")) path = std::string(env) + ":";
  path += "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string candidate = path.substr(start, end - start) + "/" + name;
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

bool IsXenDom0() {
  std::ifstream caps("/proc/xen/capabilities");
  std::string text;
  std::getline(caps, text);
  return text.find("control_d") != std::string::npos;
}

bool IsOurNetnsName(const std::string& name) {
  static const std::regex kName("nfb[0-9a-f]{6}-[A-Za-z0-9][A-Za-z0-9_.-]*");
  return std::regex_match(name, kName);
}

bool IsRunHex(const std::string& text) {
  static const std::regex kHex("[0-9a-f]{6,32}");
  return std::regex_match(text, kHex);
}

GlobalLock::GlobalLock() {
  fs::path path = GlobalLockPath();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) ThrowSystemError("open " + path.string(), errno);
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno != EINTR) {
      int err = errno;
      ::close(fd_);
      ThrowSystemError("lock " + path.string(), err);
    }
  }
}

GlobalLock::~GlobalLock() {
  if (fd_ >= 0) ::close(fd_);  // closing drops the flock
}

std::unique_ptr<RunState> RunState::Create(const RunId& id) {
  fs::path dir = RunDirectory(id);
  std::error_code ec;
  fs::create_directories(kRunRoot, ec);
  if (ec) ThrowSystemError(std::string("create ") + kRunRoot, ec.value());
  if (::mkdir(dir.c_str(), 0755) != 0) {
    ThrowSystemError("create run directory " + dir.string(), errno);
  }
  int lock_fd = ::open((dir / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0) ThrowSystemError("create " + (dir / "lock").string(), errno);
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(lock_fd);
    ThrowSystemError("lock " + (dir / "lock").string(), err);
  }
  int state_fd =
      ::open((dir / "state").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (state_fd < 0) {
    int err = errno;
    ::close(lock_fd);
    ThrowSystemError("create " + (dir / "state").string(), err);
  }
  std::unique_ptr<RunState> state(new RunState(id, dir, lock_fd, state_fd));
  json header = {{"kind", "run"},
                 {"id", id.hex},
                 {"pid", ::getpid()},
                 {"started_unix", std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count()}};
  std::string line = header.dump() + "\n";
  if (::write(state_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    ThrowSystemError("write " + (dir / "state").string(), errno);
  }
  return state;
}

RunState::~RunState() {
  if (state_fd_ >= 0) ::close(state_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void RunState::Record(const std::string& kind, const std::string& name) {
  if (state_fd_ < 0) throw RunError("run state already removed");
  std::string line = json{{"kind", kind}, {"name", name}}.dump() + "\n";
  // One write per record with O_APPEND: a record is either wholly in the file or not at all.
  ssize_t n = ::write(state_fd_, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    ThrowSystemError("record " + name + " in " + (dir_ / "state").string(), n < 0 ? errno : EIO);
  }
  objects_.push_back({kind, name});
}

void RunState::Remove() noexcept {
  if (state_fd_ >= 0) ::close(state_fd_);
  state_fd_ = -1;
  RemoveRunDirectory(dir_);
  // Only now, with everything gone, may the run look dead.
  if (lock_fd_ >= 0) ::close(lock_fd_);
  lock_fd_ = -1;
}

StateFile ParseStateFile(const std::string& text) {
  StateFile state;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    json record = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!record.is_object() || !record.contains("kind") || !record["kind"].is_string()) {
      log::Warn("skipping a malformed state record: {}", line);
      continue;
    }
    const std::string kind = record["kind"];
    if (kind == "run") {
      if (record.contains("id") && record["id"].is_string()) state.hex = record["id"];
      if (record.contains("pid") && record["pid"].is_number_integer()) state.pid = record["pid"];
    } else if ((kind == "netns" || kind == "cgroup" || kind == "xl-domain" || kind == "link") &&
               record.contains("name") &&
               record["name"].is_string()) {
      state.objects.push_back({kind, record["name"]});
    } else {
      log::Warn("skipping an unknown state record: {}", line);
    }
  }
  return state;
}

// No spaces: the alias goes through `ip -batch` and is compared byte for byte.
std::string LinkAlias(const std::string& hex) { return "nfbench-run-" + hex; }

namespace {

std::string ReadAlias(const std::string& device) {
  std::ifstream in(fs::path("/sys/class/net") / device / "ifalias");
  std::string alias;
  std::getline(in, alias);
  return alias;
}

}  // namespace

bool IsInterfaceName(const std::string& name) {
  static const std::regex kName("[A-Za-z0-9][A-Za-z0-9_.-]{0,14}");
  return std::regex_match(name, kName);
}

bool DeleteOwnedLink(const std::string& hex, const std::string& name) noexcept {
  try {
    std::error_code ec;
    if (!fs::exists(fs::path("/sys/class/net") / name, ec)) return true;
    const std::string alias = ReadAlias(name);
    if (alias != LinkAlias(hex)) {
      log::Warn("not deleting device {}: its alias is '{}', not run {}'s", name, alias, hex);
      return false;
    }
    ProcessSpec spec;
    spec.argv = {IpCommand(), "link", "del", name};
    ProcessResult r = RunProcess(spec, std::chrono::seconds(30));
    if (!r.Succeeded() && fs::exists(fs::path("/sys/class/net") / name, ec)) {
      log::Warn("cannot delete device {}: {} {}", name, r.Status(), r.err);
      return false;
    }
    return true;
  } catch (const std::exception& e) {
    log::Warn("cannot delete device {}: {}", name, e.what());
    return false;
  }
}

std::vector<std::pair<std::string, std::string>> OwnedLinks() noexcept {
  std::vector<std::pair<std::string, std::string>> links;
  try {
    const std::string marker = LinkAlias("");
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/sys/class/net", ec)) {
      const std::string name = entry.path().filename().string();
      const std::string alias = ReadAlias(name);
      if (alias.rfind(marker, 0) != 0) continue;
      const std::string hex = alias.substr(marker.size());
      if (IsRunHex(hex) && IsInterfaceName(name)) links.emplace_back(name, hex);
    }
  } catch (const std::exception& e) {
    log::Warn("cannot list devices: {}", e.what());
  }
  return links;
}

bool DestroyXenDomain(const std::string& name) noexcept {
  try {
    const std::string xl = FindCommand("xl");
    if (xl.empty()) return true;
    ProcessSpec spec;
    spec.argv = {xl, "destroy", name};
    // Under TCG a destroy takes a few seconds; a wedged toolstack must not hang teardown.
    ProcessResult r = RunProcess(spec, std::chrono::seconds(60));
    if (!r.Succeeded() && ListXenDomains().contains(name)) {
      log::Warn("cannot destroy Xen domain {}: {} {}", name, r.Status(), r.err);
      return false;
    }
    return true;
  } catch (const std::exception& e) {
    log::Warn("cannot destroy Xen domain {}: {}", name, e.what());
    return false;
  }
}

std::map<std::string, int> ListXenDomains() noexcept {
  try {
    const std::string xl = FindCommand("xl");
    if (xl.empty() || !IsXenDom0()) return {};
    ProcessSpec spec;
    spec.argv = {xl, "list"};
    ProcessResult r = RunProcess(spec, std::chrono::seconds(30));
    if (!r.Succeeded()) {
      log::Warn("xl list failed: {} {}", r.Status(), r.err);
      return {};
    }
    return ParseXlList(r.out);
  } catch (const std::exception& e) {
    log::Warn("xl list: {}", e.what());
    return {};
  }
}

int KillNetnsProcesses(const std::string& netns) noexcept {
  try {
    struct stat st {};
    if (::stat(NamedNetnsPath(netns).c_str(), &st) != 0) return 0;
    NsId id{st.st_dev, st.st_ino};
    int signalled = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (true) {
      std::vector<pid_t> pids = NetnsPids(id);
      if (pids.empty()) break;
      if (std::chrono::steady_clock::now() > deadline) {
        log::Warn("processes {} in network namespace {} survived SIGKILL", fmt::join(pids, ","),
                  netns);
        break;
      }
      for (pid_t pid : pids) {
        if (::kill(pid, SIGKILL) == 0) ++signalled;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (signalled > 0) log::Debug("killed {} process(es) in {}", signalled, netns);
    return signalled;
  } catch (const std::exception& e) {
    log::Warn("cannot list processes of network namespace {}: {}", netns, e.what());
    return 0;
  }
}

bool DeleteNetns(const std::string& netns) noexcept {
  std::error_code ec;
  if (!fs::exists(NamedNetnsPath(netns), ec)) return true;
  try {
    ProcessSpec spec;
    spec.argv = {IpCommand(), "netns", "del", netns};
    ProcessResult r = RunProcess(spec, std::chrono::seconds(30));
    if (!r.Succeeded() && fs::exists(NamedNetnsPath(netns), ec)) {
      log::Warn("cannot delete network namespace {}: {} {}", netns, r.Status(), r.err);
      return false;
    }
    return true;
  } catch (const std::exception& e) {
    log::Warn("cannot delete network namespace {}: {}", netns, e.what());
    return false;
  }
}

void DestroyObjects(const std::string& hex, const std::vector<RecordedObject>& objects,
                    std::vector<std::string>* removed) noexcept {
  const std::string prefix = RunId{hex}.Prefix() + "-";
  const std::vector<fs::path> roots = CgroupRoots();
  std::vector<std::string> namespaces, domains, links;
  std::vector<fs::path> cgroups;
  for (const RecordedObject& object : objects) {
    if (object.kind == "netns" && IsOurNetnsName(object.name) &&
        object.name.rfind(prefix, 0) == 0) {
      namespaces.push_back(object.name);
    } else if (object.kind == "xl-domain" && IsOurNetnsName(object.name) &&
               object.name.rfind(prefix, 0) == 0) {
      domains.push_back(object.name);  // Xen domains are named like the run's namespaces
    } else if (object.kind == "link" && IsInterfaceName(object.name)) {
      links.push_back(object.name);  // removed only if it still carries the run's alias
    } else if (object.kind == "cgroup" && IsOurCgroupPath(hex, object.name, roots)) {
      cgroups.emplace_back(object.name);
    } else {
      log::Warn("not removing {} '{}': not named like an object of run {}", object.kind,
                object.name, hex);
    }
  }
  std::error_code ec;
  // 0. Xen domains: first, so their vifs leave the bridges before those are deleted.
  if (!domains.empty()) {
    const std::map<std::string, int> existing = ListXenDomains();
    for (const std::string& d : domains) {
      if (!existing.contains(d)) continue;
      if (DestroyXenDomain(d) && removed) removed->push_back("Xen domain " + d);
    }
  }
  // 1. Processes: whatever runs in the domains' cgroups, then anything else in the namespaces.
  KillCgroupTasks(cgroups);
  for (const std::string& ns : namespaces) KillNetnsProcesses(ns);
  // 2. Namespaces (their veths and bridges go with them).
  for (const std::string& ns : namespaces) {
    bool existed = fs::exists(NamedNetnsPath(ns), ec);
    if (DeleteNetns(ns) && existed && removed) removed->push_back("network namespace " + ns);
  }
  // 3. Devices in the harness's own namespace, newest first (ports before their bridge).
  for (auto it = links.rbegin(); it != links.rend(); ++it) {
    bool existed = fs::exists(fs::path("/sys/class/net") / *it, ec);
    if (DeleteOwnedLink(hex, *it) && existed && !fs::exists(fs::path("/sys/class/net") / *it, ec) &&
        removed) {
      removed->push_back("device " + *it);
    }
  }
  // 4. Cgroups (each tree bottom-up; the recorded order lists run directories first).
  std::vector<fs::path> existing;
  for (const fs::path& dir : cgroups) {
    if (fs::exists(dir, ec)) existing.push_back(dir);
  }
  RemoveCgroupTrees(existing);
  for (const fs::path& dir : existing) {
    if (!fs::exists(dir, ec) && removed) removed->push_back("cgroup " + dir.string());
  }
}

bool RemoveRunDirectory(const fs::path& dir) noexcept {
  try {
    std::error_code ec;
    if (!fs::exists(dir, ec)) return true;
    // Other components may mount inside the run directory (a bpffs for pins): unmount those
    // first, deepest first, so remove_all never descends into a live filesystem.
    std::vector<std::string> mounts;
    std::ifstream mountinfo("/proc/self/mountinfo");
    std::string line;
    const std::string under = dir.string() + "/";
    while (std::getline(mountinfo, line)) {
      std::istringstream fields(line);
      std::string id, parent, devno, root, mount_point;
      if (!(fields >> id >> parent >> devno >> root >> mount_point)) continue;
      if (mount_point.rfind(under, 0) == 0) mounts.push_back(mount_point);
    }
    std::sort(mounts.begin(), mounts.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const std::string& m : mounts) {
      if (::umount2(m.c_str(), MNT_DETACH) != 0) {
        log::Warn("cannot unmount {}: {}", m, std::strerror(errno));
      }
    }
    fs::remove_all(dir, ec);
    if (ec) {
      log::Warn("cannot remove run directory {}: {}", dir.string(), ec.message());
      return false;
    }
    return true;
  } catch (const std::exception& e) {
    log::Warn("cannot remove run directory {}: {}", dir.string(), e.what());
    return false;
  }
}

}  // namespace nfb::platform::internal
