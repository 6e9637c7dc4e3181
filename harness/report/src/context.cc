#include "nfb/report/context.h"

#include <bpf/libbpf.h>
#include <openssl/evp.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "nfb/core/subprocess.h"
#include "nfb/core/text_file.h"

// <pcap/pcap.h> and libbpf both define struct bpf_insn; only this one function of libpcap is
// needed here, so it is declared rather than included.
extern "C" const char* pcap_lib_version(void);

namespace nfb::report {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string ReadTrimmed(const fs::path& path) {
  std::string s = ReadTextFile(path).value_or("");
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string FirstLine(const std::string& text) {
  auto end = text.find('\n');
  return text.substr(0, end);
}

json ToolVersion(std::vector<std::string> argv) {
  std::optional<std::string> line = ToolVersionLine(std::move(argv));
  if (!line) return "not found";
  return line->empty() ? "unknown" : *line;
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown";
}

}  // namespace

std::optional<std::string> ToolVersionLine(std::vector<std::string> argv) {
  try {
    ProcessSpec spec;
    spec.argv = std::move(argv);
    ProcessResult r = RunProcess(spec, std::chrono::seconds(10));
    return FirstLine(!r.out.empty() ? r.out : r.err);
  } catch (const std::exception&) {
    return std::nullopt;  // the tool cannot run (not installed, not executable)
  }
}

json CollectHostContext() {
  json host;
  char name[256] = {};
  ::gethostname(name, sizeof(name) - 1);
  host["hostname"] = name;
  struct utsname u {};
  if (::uname(&u) == 0) {
    host["kernel"] = {{"release", u.release}, {"version", u.version}, {"machine", u.machine}};
  }
  host["cpu_model"] = CpuModel();
  host["cpus_online"] = ::sysconf(_SC_NPROCESSORS_ONLN);
  json governors = json::object();
  for (long cpu = 0; cpu < ::sysconf(_SC_NPROCESSORS_ONLN); ++cpu) {
    std::string g = ReadTrimmed("/sys/devices/system/cpu/cpu" + std::to_string(cpu) +
                                "/cpufreq/scaling_governor");
    governors[std::to_string(cpu)] = g.empty() ? json("unavailable (no cpufreq)") : json(g);
  }
  host["governor"] = governors;
  host["clocksource"] =
      ReadTrimmed("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  host["memory_total_kb"] = [] {
    std::ifstream in("/proc/meminfo");
    std::string key;
    long long kb = 0;
    in >> key >> kb;
    return kb;
  }();
  // Idle states decide how fast a sleeping CPU answers a wake-up, which dominates cross-CPU
  // paths (a guest on its own vCPU); record what was in force.
  host["cpuidle"] = {
      {"driver", ReadTrimmed("/sys/devices/system/cpu/cpuidle/current_driver")},
      {"governor", ReadTrimmed("/sys/devices/system/cpu/cpuidle/current_governor_ro")},
  };
  host["cgroup"] = fs::exists("/sys/fs/cgroup/cgroup.controllers") ? "v2" : "v1";
  host["virtualization"] = ToolVersion({"systemd-detect-virt"});
  return host;
}

json CollectToolVersions() {
  json tools;
  tools["ping"] = ToolVersion({"ping", "-V"});
  tools["ip"] = ToolVersion({"ip", "-V"});
  tools["ethtool"] = ToolVersion({"ethtool", "--version"});
  tools["clang"] = ToolVersion({"clang", "--version"});
  tools["bpftool"] = ToolVersion({"bpftool", "version"});
  tools["python3"] = ToolVersion({"/usr/bin/python3", "--version"});
  tools["libbpf"] = libbpf_version_string();
  tools["libpcap"] = pcap_lib_version();
  tools["compiler"] = __VERSION__;
  return tools;
}

json CollectNicOffloads(const std::string& netns, const std::string& ifname) {
  json features = json::object();
  try {
    ProcessSpec spec;
    spec.argv = {"ethtool", "-k", ifname};
    spec.netns = netns;
    ProcessResult r = RunProcess(spec, std::chrono::seconds(10));
    if (r.exit_code != 0) return {{"error", FirstLine(r.err)}};
    std::istringstream in(r.out);
    std::string line;
    std::getline(in, line);  // "Features for eth0:"
    while (std::getline(in, line)) {
      auto colon = line.find(':');
      if (colon == std::string::npos || line.empty() || line[0] == '\t') continue;
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(value.begin());
      features[line.substr(0, colon)] = value;
    }
  } catch (const std::exception& e) {
    return {{"error", e.what()}};
  }
  return features;
}

json CollectGitState() {
  try {
    ProcessSpec spec;
    spec.argv = {"git", "-C", NFB_SOURCE_DIR, "rev-parse", "HEAD"};
    ProcessResult r = RunProcess(spec, std::chrono::seconds(10));
    if (r.exit_code != 0) return {{"sha", nullptr}};
    spec.argv = {"git", "-C", NFB_SOURCE_DIR, "status", "--porcelain", "--untracked-files=no"};
    ProcessResult dirty = RunProcess(spec, std::chrono::seconds(10));
    return {{"sha", FirstLine(r.out)}, {"dirty", !dirty.out.empty()}};
  } catch (const std::exception&) {
    return {{"sha", nullptr}};
  }
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

std::string UtcNowIso8601() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace nfb::report
