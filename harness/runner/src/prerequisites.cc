#include "nfb/runner/prerequisites.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <variant>

#include "nfb/core/error.h"
#include "nfb/platform/xen_platform.h"
#include "nfb/workloads/cpu_benchmark.h"
#include "nfb/workloads/flood_generator.h"

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

void CheckRunPrerequisites(const scenario::Scenario& scenario, const std::string& platform_name) {
  std::vector<std::string> missing;
  if (platform_name == "xen") {
    for (const std::string& problem : platform::XenHostProblems()) missing.push_back(problem);
  }
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
    // The generator's own detection, so this check and the run agree on what "auto" picks.
    try {
      const workloads::FloodTool tool = flood->attack.generator == scenario::GeneratorKind::kAuto
                                            ? workloads::DetectGenerator()
                                            : flood->attack.generator;
      if (tool == scenario::GeneratorKind::kPktgen && !fs::exists("/proc/net/pktgen/pgctrl")) {
        missing.push_back("the kernel's pktgen (/proc/net/pktgen; modprobe pktgen)");
      }
      if (tool == scenario::GeneratorKind::kTrafgen && FindExecutable("trafgen").empty()) {
        missing.push_back("the 'trafgen' command (netsniff-ng)");
      }
    } catch (const PrerequisiteError& e) {
      missing.push_back(std::string("an attack generator: ") + e.what());
    }
    if (flood->cotenant) {
      workloads::CpuBenchmarkOptions benchmark;
      benchmark.kind = flood->cotenant->benchmark;
      benchmark.unixbench_dir = flood->cotenant->unixbench_dir;
      const workloads::CpuBenchmarkKind kind = workloads::ResolveCpuBenchmarkKind(benchmark);
      if (kind != scenario::CpuBenchmarkKind::kUnixBench &&
          FindExecutable(scenario::ToString(kind)).empty()) {
        missing.push_back(std::string("the '") + scenario::ToString(kind) +
                          "' command (the co-tenant's benchmark)");
      }
    }
  }
  if (needs_bpf && !fs::exists("/sys/kernel/btf/vmlinux")) {
    missing.push_back("kernel BTF (/sys/kernel/btf/vmlinux)");
  }
  if (!fs::exists("/usr/bin/python3")) missing.push_back("/usr/bin/python3 (figures)");
  if (!missing.empty()) {
    std::string text = "this host cannot run '" + scenario.name + "' on the " + platform_name +
                       " platform; missing:";
    for (const auto& m : missing) text += "\n  - " + m;
    text += "\n(`nfbench doctor` lists what the host offers; scripts/install-deps.sh installs tools)";
    throw PrerequisiteError(text);
  }
}

}  // namespace nfb::runner
