#include "nfb/runner/prerequisites.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "nfb/core/error.h"

namespace nfb::runner {

namespace fs = std::filesystem;

std::string FindExecutable(const std::string& name) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/sbin:/usr/local/sbin";
  std::istringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    fs::path candidate = fs::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

void CheckRunPrerequisites(const scenario::Scenario& scenario) {
  std::vector<std::string> missing;
  if (::geteuid() != 0) missing.push_back("root privileges (network namespaces, BPF, cgroups)");
  for (const char* tool : {"ip", "ping", "ethtool"}) {
    if (FindExecutable(tool).empty()) missing.push_back(std::string("the '") + tool + "' command");
  }
  bool needs_bpf = false;
  for (const auto& c : scenario.configurations) needs_bpf |= c.install.has_value();
  if (needs_bpf && !fs::exists("/sys/kernel/btf/vmlinux")) {
    missing.push_back("kernel BTF (/sys/kernel/btf/vmlinux)");
  }
  if (!fs::exists("/usr/bin/python3")) missing.push_back("/usr/bin/python3 (figures)");
  if (!missing.empty()) {
    std::string text = "this host cannot run '" + scenario.name + "'; missing:";
    for (const auto& m : missing) text += "\n  - " + m;
    text += "\n(`nfbench doctor` lists what the host offers; scripts/install-deps.sh installs tools)";
    throw PrerequisiteError(text);
  }
}

}  // namespace nfb::runner
