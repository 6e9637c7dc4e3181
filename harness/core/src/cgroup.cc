#include "nfb/core/cgroup.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "nfb/core/error.h"
#include "nfb/core/log.h"

namespace nfb {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

std::string Trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\n\r");
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(" \t\n\r");
  return std::string(text.substr(begin, end - begin + 1));
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    out.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(std::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() &&
        std::all_of(field.begin() + long(i) + 1, field.begin() + long(i) + 4,
                    [](char c) { return c >= '0' && c <= '7'; })) {
      out.push_back(static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                                      (field[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(field[i]);
    }
  }
  return out;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  if (!in) ThrowSystemError("read " + path.string(), errno ? errno : EIO);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Cgroup control files exist or not; never create one (O_CREAT would make a plain file if the
// directory were not on a cgroup filesystem).
void WriteFile(const fs::path& path, std::string_view value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) ThrowSystemError(fmt::format("write '{}' to {}", value, path.string()), errno);
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size())) {
    ThrowSystemError(fmt::format("write '{}' to {}", value, path.string()), n < 0 ? err : EIO);
  }
}

void MakeDir(const fs::path& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    ThrowSystemError("create cgroup " + path.string(), errno);
  }
}

bool ValidName(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.';
  });
}

bool IsLowerHex(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

std::vector<pid_t> ReadPids(const fs::path& procs) {
  std::vector<pid_t> pids;
  std::ifstream in(procs);
  pid_t pid;
  while (in >> pid) pids.push_back(pid);
  return pids;
}

// Directories of the tree rooted at `dir`, parents before children.
std::vector<fs::path> TreePreOrder(const fs::path& dir) {
  std::vector<fs::path> out{dir};
  for (size_t i = 0; i < out.size(); ++i) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(out[i], ec)) {
      std::error_code type_ec;
      if (entry.is_directory(type_ec) && !entry.is_symlink(type_ec)) out.push_back(entry.path());
    }
  }
  return out;
}

void Thaw(const fs::path& dir) {
  std::error_code ec;
  try {
    if (fs::exists(dir / "freezer.state", ec)) WriteFile(dir / "freezer.state", "THAWED");
    if (fs::exists(dir / "cgroup.freeze", ec)) WriteFile(dir / "cgroup.freeze", "0");
  } catch (const Error& e) {
    log::Warn("cannot thaw {}: {}", dir.string(), e.what());
  }
}

}  // namespace

std::vector<CgroupMount> ParseCgroupMounts(std::string_view mountinfo) {
  std::vector<CgroupMount> mounts;
  for (std::string_view line : Split(mountinfo, '\n')) {
    size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    std::vector<std::string_view> before = Split(line.substr(0, dash), ' ');
    std::vector<std::string_view> after = Split(line.substr(dash + 3), ' ');
    if (before.size() < 5 || after.size() < 3) continue;
    CgroupMount mount;
    mount.path = Unescape(before[4]);
    if (after[0] == "cgroup2") {
      mount.version = 2;
    } else if (after[0] == "cgroup") {
      mount.version = 1;
      for (std::string_view option : Split(after[2], ',')) {
        if (option == "rw" || option == "ro" || option.find('=') != std::string_view::npos) {
          continue;
        }
        mount.controllers.emplace_back(option);
      }
    } else {
      continue;
    }
    mounts.push_back(std::move(mount));
  }
  return mounts;
}

CgroupLayout CgroupLayout::FromMounts(const std::vector<CgroupMount>& mounts,
                                      std::string_view v2_root_controllers) {
  auto find_v1 = [&](std::string_view controller) -> const CgroupMount* {
    for (const auto& m : mounts) {
      if (m.version == 1 && std::find(m.controllers.begin(), m.controllers.end(), controller) !=
                                m.controllers.end()) {
        return &m;
      }
    }
    return nullptr;
  };
  CgroupLayout layout;
  if (const CgroupMount* cpuset = find_v1("cpuset")) {
    layout.version = 1;
    auto slot = [&](const CgroupMount* m) -> CgroupHierarchy& {
      for (auto& h : layout.hierarchies) {
        if (h.root == m->path) return h;
      }
      layout.hierarchies.push_back(CgroupHierarchy{m->path, 1});
      return layout.hierarchies.back();
    };
    slot(cpuset).cpuset = true;
    if (const CgroupMount* m = find_v1("cpuacct")) slot(m).cpuacct = true;
    if (const CgroupMount* m = find_v1("freezer")) slot(m).freezer = true;
    return layout;
  }
  const CgroupMount* v2 = nullptr;
  for (const auto& m : mounts) {
    if (m.version == 2) {
      v2 = &m;
      break;
    }
  }
  if (v2 == nullptr) {
    throw PrerequisiteError("no cgroup filesystem with a cpuset controller is mounted");
  }
  const std::string offered = Trim(v2_root_controllers);
  std::vector<std::string_view> controllers = Split(offered, ' ');
  if (std::find(controllers.begin(), controllers.end(), "cpuset") == controllers.end()) {
    throw PrerequisiteError(fmt::format(
        "the cpuset cgroup controller is unavailable: no v1 cpuset hierarchy, and the cgroup2 "
        "root {} offers only '{}'",
        v2->path.string(), Trim(v2_root_controllers)));
  }
  layout.version = 2;
  // cpu.stat (usage) and cgroup.freeze are core files of every non-root v2 cgroup.
  layout.hierarchies.push_back(CgroupHierarchy{v2->path, 2, true, true, true});
  return layout;
}

CgroupLayout CgroupLayout::Detect() {
  std::vector<CgroupMount> mounts = ParseCgroupMounts(ReadFile("/proc/self/mountinfo"));
  std::string v2_controllers;
  bool has_v1_cpuset = false;
  for (const auto& m : mounts) {
    if (m.version == 1 &&
        std::find(m.controllers.begin(), m.controllers.end(), "cpuset") != m.controllers.end()) {
      has_v1_cpuset = true;
    }
  }
  if (!has_v1_cpuset) {
    for (const auto& m : mounts) {
      if (m.version == 2) {
        std::error_code ec;
        if (fs::exists(m.path / "cgroup.controllers", ec)) {
          v2_controllers = ReadFile(m.path / "cgroup.controllers");
        }
        break;
      }
    }
  }
  return FromMounts(mounts, v2_controllers);
}

std::vector<int> ParseCpuList(std::string_view text) {
  std::set<int> cpus;
  std::string trimmed = Trim(text);
  if (trimmed.empty()) return {};
  auto parse_int = [&](std::string_view s) {
    int value = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || ptr != s.data() + s.size() || s.empty() || value < 0) {
      throw InputError(fmt::format("invalid CPU list '{}'", trimmed));
    }
    return value;
  };
  for (std::string_view item : Split(trimmed, ',')) {
    size_t dash = item.find('-');
    if (dash == std::string_view::npos) {
      cpus.insert(parse_int(item));
      continue;
    }
    int first = parse_int(item.substr(0, dash));
    int last = parse_int(item.substr(dash + 1));
    if (last < first || last - first > 65536) {
      throw InputError(fmt::format("invalid CPU list '{}'", trimmed));
    }
    for (int cpu = first; cpu <= last; ++cpu) cpus.insert(cpu);
  }
  return {cpus.begin(), cpus.end()};
}

std::string FormatCpuList(const std::vector<int>& cpus) {
  std::vector<int> sorted(cpus);
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::string out;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += j == i ? fmt::format("{}", sorted[i]) : fmt::format("{}-{}", sorted[i], sorted[j]);
    i = j + 1;
  }
  return out;
}

std::string FormatCpuMask(const std::vector<int>& cpus) {
  int max_cpu = -1;
  for (int cpu : cpus) max_cpu = std::max(max_cpu, cpu);
  if (max_cpu < 0) return "0";
  std::vector<uint32_t> words(size_t(max_cpu / 32 + 1), 0);
  for (int cpu : cpus) {
    if (cpu >= 0) words[size_t(cpu / 32)] |= uint32_t{1} << (cpu % 32);
  }
  // Most significant word first, 32-bit groups separated by commas, as the kernel prints them.
  std::string out = fmt::format("{:x}", words.back());
  for (size_t i = words.size() - 1; i-- > 0;) out += fmt::format(",{:08x}", words[i]);
  return out;
}

bool CpuMapping::Folded() const { return requested != mapped; }

CpuMapping MapCpus(const std::vector<int>& requested, const std::vector<int>& available) {
  if (available.empty()) throw RunError("no CPUs available for cpusets");
  CpuMapping mapping;
  mapping.requested = requested;
  std::set<int> distinct;
  for (int cpu : requested) {
    if (cpu < 0) throw InputError(fmt::format("invalid CPU number {}", cpu));
    int real = available[size_t(cpu) % available.size()];
    mapping.mapped.push_back(real);
    distinct.insert(real);
  }
  mapping.cpus.assign(distinct.begin(), distinct.end());
  return mapping;
}

std::vector<int> AvailableCpus(const CgroupLayout& layout) {
  std::vector<fs::path> candidates;
  for (const auto& h : layout.hierarchies) {
    if (!h.cpuset) continue;
    if (h.version == 1) {
      candidates.push_back(h.root / "cpuset.effective_cpus");
      candidates.push_back(h.root / "cpuset.cpus");
    } else {
      candidates.push_back(h.root / "cpuset.cpus.effective");
    }
  }
  candidates.emplace_back("/sys/devices/system/cpu/online");
  for (const auto& path : candidates) {
    std::error_code ec;
    if (!fs::exists(path, ec)) continue;
    std::vector<int> cpus = ParseCpuList(ReadFile(path));
    if (!cpus.empty()) return cpus;
  }
  throw RunError("cannot determine the available CPUs");
}

std::vector<fs::path> DomainCgroup::ProcsFiles() const {
  std::vector<fs::path> out;
  for (const auto& dir : dirs_) out.push_back(dir.path / "cgroup.procs");
  return out;
}

uint64_t DomainCgroup::CpuUsageNs() const {
  for (const auto& dir : dirs_) {
    if (!dir.hierarchy.cpuacct) continue;
    if (dir.hierarchy.version == 1) {
      std::string text = Trim(ReadFile(dir.path / "cpuacct.usage"));
      uint64_t ns = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), ns);
      if (ec != std::errc()) throw RunError("unexpected cpuacct.usage in " + dir.path.string());
      return ns;
    }
    std::istringstream stat(ReadFile(dir.path / "cpu.stat"));
    std::string key;
    uint64_t value;
    while (stat >> key >> value) {
      if (key == "usage_usec") return value * 1000;
    }
    throw RunError("no usage_usec in " + (dir.path / "cpu.stat").string());
  }
  throw RunError("no cgroup hierarchy accounts CPU time for domain " + name_);
}

bool DomainCgroup::SetFrozen(bool frozen) const {
  for (const auto& dir : dirs_) {
    if (!dir.hierarchy.freezer) continue;
    fs::path file;
    std::string want;
    if (dir.hierarchy.version == 1) {
      file = dir.path / "freezer.state";
      want = frozen ? "FROZEN" : "THAWED";
    } else {
      file = dir.path / "cgroup.freeze";
      want = frozen ? "1" : "0";
    }
    WriteFile(file, want);
    // v1 passes through FREEZING while tasks reach a safe point; wait briefly so callers may
    // assume the state holds when this returns.
    if (dir.hierarchy.version == 1) {
      auto deadline = Clock::now() + std::chrono::seconds(2);
      while (Trim(ReadFile(file)) != want && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      if (Trim(ReadFile(file)) != want) {
        log::Warn("{} still reads '{}' after writing {}", file.string(), Trim(ReadFile(file)),
                  want);
      }
    }
    return true;
  }
  return false;
}

std::vector<pid_t> DomainCgroup::Pids() const {
  if (dirs_.empty()) return {};
  return ReadPids(dirs_.front().path / "cgroup.procs");
}

CgroupRun::CgroupRun(CgroupLayout layout, std::string run, std::string parent)
    : layout_(std::move(layout)), run_(std::move(run)), parent_(std::move(parent)) {
  if (!IsLowerHex(run_) || run_.size() > 64) {
    throw InputError(fmt::format("invalid run id '{}' for cgroups (lower-case hex)", run_));
  }
  if (!ValidName(parent_)) throw InputError(fmt::format("invalid cgroup name '{}'", parent_));
}

std::vector<fs::path> CgroupRun::RunDirs() const {
  std::vector<fs::path> out;
  for (const auto& h : layout_.hierarchies) out.push_back(h.root / parent_ / run_);
  return out;
}

std::vector<fs::path> CgroupRun::DomainDirs(const std::string& domain) const {
  if (!ValidName(domain)) throw InputError(fmt::format("invalid cgroup name '{}'", domain));
  std::vector<fs::path> out;
  for (const auto& dir : RunDirs()) out.push_back(dir / domain);
  return out;
}

void CgroupRun::CreateRun(const std::vector<int>& available) {
  for (const auto& h : layout_.hierarchies) {
    const fs::path parent = h.root / parent_;
    const fs::path run = parent / run_;
    if (h.cpuset && h.version == 2) {
      // Every ancestor of a cgroup that sets cpuset.cpus must delegate the controller.
      const std::string root_control = Trim(ReadFile(h.root / "cgroup.subtree_control"));
      std::vector<std::string_view> enabled = Split(root_control, ' ');
      if (std::find(enabled.begin(), enabled.end(), "cpuset") == enabled.end()) {
        log::Info("enabling the cpuset controller in {}",
                  (h.root / "cgroup.subtree_control").string());
        WriteFile(h.root / "cgroup.subtree_control", "+cpuset");
      }
    }
    for (const fs::path& dir : {parent, run}) {
      MakeDir(dir);
      if (!h.cpuset) continue;
      if (h.version == 1) {
        // Only fill in empty values: the parent may be shared with a live run.
        if (Trim(ReadFile(dir / "cpuset.cpus")).empty()) {
          WriteFile(dir / "cpuset.cpus", FormatCpuList(available));
        }
        if (Trim(ReadFile(dir / "cpuset.mems")).empty()) {
          std::string mems = Trim(ReadFile(dir.parent_path() / "cpuset.effective_mems"));
          if (mems.empty()) mems = Trim(ReadFile(dir.parent_path() / "cpuset.mems"));
          WriteFile(dir / "cpuset.mems", mems);
        }
      } else {
        WriteFile(dir / "cgroup.subtree_control", "+cpuset");
      }
    }
  }
}

DomainCgroup CgroupRun::CreateDomain(const std::string& domain, const std::vector<int>& cpus) {
  if (cpus.empty()) throw RunError("domain " + domain + " has no CPUs");
  std::vector<fs::path> paths = DomainDirs(domain);
  std::vector<DomainCgroup::Dir> dirs;
  for (size_t i = 0; i < paths.size(); ++i) {
    const CgroupHierarchy& h = layout_.hierarchies[i];
    MakeDir(paths[i]);
    if (h.cpuset) {
      if (h.version == 1) {
        WriteFile(paths[i] / "cpuset.cpu_exclusive", "0");
        WriteFile(paths[i] / "cpuset.cpus", FormatCpuList(cpus));
        WriteFile(paths[i] / "cpuset.mems", Trim(ReadFile(paths[i].parent_path() / "cpuset.mems")));
      } else {
        WriteFile(paths[i] / "cpuset.cpus", FormatCpuList(cpus));
      }
    }
    dirs.push_back({paths[i], h});
  }
  log::Debug("cgroup {} on CPUs {}", domain, FormatCpuList(cpus));
  return DomainCgroup(domain, cpus, std::move(dirs));
}

bool CgroupRun::Remove() noexcept { return RemoveCgroupTrees(RunDirs()); }

bool KillCgroupTasks(const std::vector<fs::path>& dirs) noexcept {
  try {
    std::vector<fs::path> tree;
    for (const fs::path& dir : dirs) {
      std::error_code ec;
      if (!fs::exists(dir, ec)) continue;
      for (fs::path& d : TreePreOrder(dir)) tree.push_back(std::move(d));
    }
    if (tree.empty()) return true;
    // Thaw everything first, parents before children: a frozen ancestor keeps its descendants
    // frozen, and a frozen v1 task does not die from SIGKILL.
    for (const auto& d : tree) Thaw(d);
    const pid_t self = ::getpid();
    auto deadline = Clock::now() + std::chrono::seconds(5);
    bool warned_self = false;
    while (true) {
      std::set<pid_t> pids;
      for (const auto& d : tree) {
        for (pid_t pid : ReadPids(d / "cgroup.procs")) {
          if (pid != self) {
            pids.insert(pid);
          } else if (!warned_self) {
            log::Warn("not killing the harness itself, which is in cgroup {}", d.string());
            warned_self = true;
          }
        }
      }
      if (pids.empty()) return true;
      if (Clock::now() > deadline) {
        log::Warn("processes {} in {} did not exit after SIGKILL", fmt::join(pids, ","),
                  tree.front().string());
        return false;
      }
      for (pid_t pid : pids) ::kill(pid, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  } catch (const std::exception& e) {
    log::Warn("cannot stop the tasks of cgroups: {}", e.what());
    return false;
  }
}

bool RemoveCgroupTrees(const std::vector<fs::path>& dirs) noexcept {
  KillCgroupTasks(dirs);
  bool ok = true;
  for (const fs::path& dir : dirs) {
    try {
      std::error_code ec;
      if (!fs::exists(dir, ec)) continue;
      std::vector<fs::path> tree = TreePreOrder(dir);
      for (auto it = tree.rbegin(); it != tree.rend(); ++it) {
        auto rm_deadline = Clock::now() + std::chrono::seconds(2);
        // A task that just exited may keep the cgroup busy for a moment.
        while (::rmdir(it->c_str()) != 0) {
          if (errno == ENOENT) break;
          if (errno != EBUSY || Clock::now() > rm_deadline) {
            log::Warn("cannot remove cgroup {}: {}", it->string(), std::strerror(errno));
            ok = false;
            break;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
      }
      log::Debug("removed cgroup {}", dir.string());
    } catch (const std::exception& e) {
      log::Warn("cannot remove cgroup {}: {}", dir.string(), e.what());
      ok = false;
    }
  }
  return ok;
}

void RemoveCgroupParentIfEmpty(const CgroupLayout& layout, std::string_view parent_name) noexcept {
  if (!ValidName(parent_name)) return;
  for (const auto& h : layout.hierarchies) {
    fs::path parent = h.root / parent_name;
    // Fails harmlessly (ENOTEMPTY/EBUSY) while another run still has a directory there.
    if (::rmdir(parent.c_str()) == 0) log::Debug("removed cgroup {}", parent.string());
  }
}

}  // namespace nfb
