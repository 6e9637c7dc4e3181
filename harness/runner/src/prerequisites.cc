#include "nfb/runner/prerequisites.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <variant>

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
  bool needs_iptables = false;
  for (const auto& c : scenario.configurations) {
    if (!c.install) continue;
    const bool iptables =
        scenario.programs.at(c.install->program).kind == scenario::ProgramKind::kIptables;
    needs_iptables |= iptables;
    needs_bpf |= !iptables;
  }
  if (needs_iptables && FindExecutable("iptables").empty()) {
    missing.push_back("the 'iptables' command (iptables configurations)");
  }
  if (const auto* flood = std::get_if<scenario::UdpFloodWorkload>(&scenario.workload)) {
    if (flood->flow && FindExecutable("iperf3").empty()) {
      missing.push_back("the 'iperf3' command (the valid flow)");
    }
    // pktgen is a kernel module; without it the attack needs trafgen (netsniff-ng).
    const bool pktgen = fs::exists("/proc/net/pktgen");
    if (flood->attack.generator == scenario::GeneratorKind::kPktgen && !pktgen) {
      missing.push_back("the kernel's pktgen (/proc/net/pktgen; modprobe pktgen)");
    }
    if (flood->attack.generator != scenario::GeneratorKind::kPktgen && !pktgen &&
        FindExecutable("trafgen").empty()) {
      missing.push_back("an attack generator: pktgen or the 'trafgen' command (netsniff-ng)");
    }
    if (flood->cotenant && flood->cotenant->unixbench_dir.empty()) {
      const bool stress = flood->cotenant->benchmark == scenario::CpuBenchmarkKind::kStressNg;
      const char* tool = stress ? "stress-ng" : "sysbench";
      if (FindExecutable(tool).empty()) {
        missing.push_back(std::string("the '") + tool + "' command (the co-tenant's benchmark)");
      }
    }
  }
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
