#include "nfb/report/xen_context.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "nfb/core/subprocess.h"
#include "nfb/core/text_file.h"

namespace nfb::report {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
    text.remove_suffix(1);
  }
  return std::string(text);
}

// Text from the host or a guest ends up in JSON, which must be valid UTF-8: keep printable
// ASCII and replace the rest.
std::string Printable(std::string_view text, size_t limit = 400) {
  std::string out;
  for (char c : text.substr(0, limit)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > limit) out += "...";
  return out;
}

std::optional<std::string> ReadTrimmed(const fs::path& path) {
  std::optional<std::string> text = ReadTextFile(path);
  if (!text) return std::nullopt;
  return Printable(Trim(*text));
}

bool IsKey(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// A number when the whole value parses as one, else the string; null when absent.
json Value(const std::map<std::string, std::string>& info, const std::string& key,
           bool numeric = false) {
  auto it = info.find(key);
  if (it == info.end()) return nullptr;
  if (numeric) {
    const std::string& v = it->second;
    long long i = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), i);
    if (ec == std::errc() && p == v.data() + v.size() && !v.empty()) return i;
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (!v.empty() && end == v.c_str() + v.size()) return d;
  }
  return it->second;
}

bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string Get(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? std::string() : it->second;
}

}  // namespace

std::map<std::string, std::string> ParseXlInfo(std::string_view text) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string key = Trim(line.substr(0, colon));
    if (!IsKey(key) || key.size() > 64) continue;
    out.emplace(key, Printable(Trim(line.substr(colon + 1)), 4096));
  }
  return out;
}

json DetectEmulation(const XenContextInputs& in) {
  json evidence = json::object();
  for (const auto& [k, v] : in.dmi) evidence["dmi." + k] = v;
  evidence["sys_hypervisor_type"] =
      in.sys_hypervisor_type ? json(*in.sys_hypervisor_type) : json(nullptr);
  evidence["cpu_model"] = in.cpu_model ? json(*in.cpu_model) : json(nullptr);

  std::string hypervisor = "unknown";
  if (in.sys_hypervisor_type) {
    hypervisor = in.sys_hypervisor_type->empty() ? "unknown" : *in.sys_hypervisor_type;
  } else if (in.xl_info) {
    hypervisor = "xen";  // xl talked to a hypervisor, though /sys/hypervisor is missing
  } else {
    hypervisor = "none";
  }

  const std::string vendor = Get(in.dmi, "sys_vendor");
  const std::string product = Get(in.dmi, "product_name");
  const std::string bios = Get(in.dmi, "bios_vendor");
  std::string machine = "unknown";
  if (vendor == "QEMU" || Contains(product, "QEMU") || product.rfind("Standard PC (", 0) == 0 ||
      product == "KVM") {
    machine = "qemu";
  } else if (vendor == "VMware, Inc." || Contains(product, "VMware")) {
    machine = "vmware";
  } else if (vendor == "innotek GmbH" || product == "VirtualBox") {
    machine = "virtualbox";
  } else if (vendor == "Microsoft Corporation" && product == "Virtual Machine") {
    machine = "hyper-v";
  } else if (vendor == "Xen" || bios == "Xen") {
    machine = "xen-hvm";
  } else if (vendor == "Amazon EC2" || bios == "Amazon EC2") {
    machine = "aws";
  } else if (vendor == "Google" && product == "Google Compute Engine") {
    machine = "gce";
  } else if (!in.dmi.empty()) {
    machine = "hardware";
  }

  json accelerator = nullptr;
  if (machine == "qemu") {
    // QEMU names its TCG CPU model so; under KVM the model is the host's or a named one.
    accelerator = in.cpu_model && Contains(*in.cpu_model, "QEMU TCG CPU") ? "tcg" : "unknown";
  }

  std::string summary;
  if (machine == "hardware") {
    summary = hypervisor + " on hardware";
  } else if (machine == "qemu") {
    summary = hypervisor + " under QEMU" + (accelerator == "tcg" ? "/TCG" : "");
  } else if (machine == "unknown") {
    summary = hypervisor + " on an unknown machine (no DMI)";
  } else {
    summary = hypervisor + " under " + machine;
  }
  return {{"hypervisor", hypervisor},
          {"machine", machine},
          {"accelerator", accelerator},
          {"summary", summary},
          {"evidence", evidence}};
}

json XenContextFromInputs(const XenContextInputs& in) {
  json errors = json::array();
  std::map<std::string, std::string> info;
  if (in.xl_info) {
    info = ParseXlInfo(*in.xl_info);
    if (info.empty()) errors.push_back("xl info printed no 'key : value' lines");
  } else {
    errors.push_back("xl info: " + Printable(in.xl_info_error));
  }
  json raw = json::object();
  for (const auto& [k, v] : info) raw[k] = v;

  json xen = {
      {"version", Value(info, "xen_version")},
      {"major", Value(info, "xen_major", true)},
      {"minor", Value(info, "xen_minor", true)},
      {"extra", Value(info, "xen_extra")},
      {"caps", info.count("xen_caps") ? json(Words(info["xen_caps"])) : json(nullptr)},
      {"virt_caps", info.count("virt_caps") ? json(Words(info["virt_caps"])) : json(nullptr)},
      {"scheduler", Value(info, "xen_scheduler")},
      {"commandline", Value(info, "xen_commandline")},
      {"changeset", Value(info, "xen_changeset")},
      {"compiler", Value(info, "cc_compiler")},
      {"build_id", Value(info, "build_id")}};
  json host = {{"nr_cpus", Value(info, "nr_cpus", true)},
               {"nr_nodes", Value(info, "nr_nodes", true)},
               {"cores_per_socket", Value(info, "cores_per_socket", true)},
               {"threads_per_core", Value(info, "threads_per_core", true)},
               {"cpu_mhz", Value(info, "cpu_mhz", true)},
               {"total_memory_mib", Value(info, "total_memory", true)},
               {"free_memory_mib", Value(info, "free_memory", true)},
               {"hw_caps", Value(info, "hw_caps")}};
  // xl info's release/version/machine/host are dom0's uname.
  json dom0 = {{"kernel_release", Value(info, "release")},
               {"kernel_version", Value(info, "version")},
               {"machine", Value(info, "machine")},
               {"hostname", Value(info, "host")}};
  json guests = json::object();
  for (const auto& [g, release] : in.guest_kernels) guests[g] = {{"kernel_release", release}};
  for (const auto& [g, error] : in.guest_kernel_errors) guests[g] = {{"error", error}};
  return {{"xen", xen},
          {"host", host},
          {"dom0", dom0},
          {"guests", guests},
          {"emulation", DetectEmulation(in)},
          {"xl_info", raw},
          {"errors", errors}};
}

XenContextInputs ReadXenContextInputs(const XenContextOptions& o) {
  XenContextInputs in;
  try {
    ProcessSpec spec(o.xl_info_command);
    ProcessResult r = RunProcess(spec, o.timeout);
    if (r.Succeeded()) {
      in.xl_info = r.out;
    } else {
      std::string err = Trim(r.err);
      in.xl_info_error = r.Status() + (err.empty() ? "" : ": " + err.substr(0, 400));
    }
  } catch (const std::exception& e) {
    in.xl_info_error = e.what();
  }
  for (const char* key : {"sys_vendor", "product_name", "product_version", "bios_vendor",
                          "bios_version", "board_vendor"}) {
    if (auto v = ReadTrimmed(o.root / "sys/class/dmi/id" / key)) in.dmi[key] = *v;
  }
  in.sys_hypervisor_type = ReadTrimmed(o.root / "sys/hypervisor/type");
  {
    std::ifstream cpuinfo(o.root / "proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);) {
      if (line.rfind("model name", 0) != 0) continue;
      auto colon = line.find(':');
      if (colon != std::string::npos) in.cpu_model = Printable(Trim(line.substr(colon + 1)));
      break;
    }
  }
  for (const std::string& g : o.guests) {
    if (!o.guest_kernel) {
      in.guest_kernel_errors[g] = "not collected (no way to run commands in guests was given)";
      continue;
    }
    try {
      std::string release = Printable(Trim(o.guest_kernel(g)));
      if (release.empty()) {
        in.guest_kernel_errors[g] = "uname -r printed nothing";
      } else {
        in.guest_kernels[g] = release;
      }
    } catch (const std::exception& e) {
      in.guest_kernel_errors[g] = Printable(e.what());
    }
  }
  return in;
}

json CollectXenContext(const XenContextOptions& options) {
  try {
    return XenContextFromInputs(ReadXenContextInputs(options));
  } catch (const std::exception& e) {
    return {{"errors", {std::string("collecting the Xen context: ") + e.what()}}};
  }
}

}  // namespace nfb::report
