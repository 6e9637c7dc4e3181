// What a run on a real Xen host records about the host, for context.json: the hypervisor
// (version, capabilities, scheduler, command line), dom0's and the guests' kernels, and whether
// Xen itself runs under emulation (the lab: Xen under QEMU/TCG, where timings mean little).
// Like the rest of the context, collection never fails a run: what cannot be read is recorded as
// such.
//
// Typical use on the xen platform, in dom0 (where the harness runs):
//
//   report::XenContextOptions o;
//   o.guests = {"domu1", "domu2"};
//   o.guest_kernel = [&](const std::string& guest) {   // `uname -r` in the guest
//     return RunChecked(platform.Command(guest, {"uname", "-r"}), std::chrono::seconds(30)).out;
//   };
//   context["xen"] = report::CollectXenContext(o);
//
// The emulation verdict (xen_setup/README.md, "What a run records on Xen"): from dom0, CPUID's
// hypervisor leaf is Xen itself, so it cannot tell what Xen runs on. The firmware can: Xen passes
// the machine's DMI tables through to dom0, so /sys/class/dmi/id says "QEMU" (or VMware,
// VirtualBox, ...) when the "hardware" is a virtual machine, and the CPU model QEMU gives its TCG
// CPU ("QEMU TCG CPU version ...", seen by dom0 through Xen's CPUID) says the CPU is emulated
// rather than run by KVM. So: machine from DMI, accelerator from the CPU model, hypervisor from
// /sys/hypervisor. Verified in the lab (tests/integration/collectors/xen_dom0_test.cc).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nfb::report {

// `xl info` output ("key<spaces>: value" per line; values may hold ':' or be empty) as a map.
// Keys are lower-case words ([a-z0-9_]); other lines are ignored, so warnings mixed into the
// output cannot add keys. Values are trimmed. The first occurrence of a key wins.
std::map<std::string, std::string> ParseXlInfo(std::string_view text);

// Everything the context is made from, as read on the host. Plain text, so tests can give
// saved output.
struct XenContextInputs {
  std::optional<std::string> xl_info;  // stdout of `xl info`; nullopt: it could not run
  std::string xl_info_error;           // why not (status, stderr)
  // /sys/class/dmi/id/<key>, trimmed: sys_vendor, product_name, product_version, bios_vendor,
  // bios_version, board_vendor (the ones readable).
  std::map<std::string, std::string> dmi;
  std::optional<std::string> sys_hypervisor_type;  // /sys/hypervisor/type ("xen" in dom0)
  std::optional<std::string> cpu_model;            // the first "model name" of /proc/cpuinfo
  // Per guest: `uname -r` (trimmed) or, in guest_kernel_errors, why it could not be had.
  std::map<std::string, std::string> guest_kernels;
  std::map<std::string, std::string> guest_kernel_errors;
};

// The verdict on what Xen runs on (see the header comment):
//   {"hypervisor": "xen"|"none"|"unknown", "machine": "qemu"|"vmware"|"virtualbox"|"hyper-v"|
//    "xen-hvm"|"aws"|"gce"|"hardware"|"unknown", "accelerator": "tcg"|"unknown"|null,
//    "summary": e.g. "xen under QEMU/TCG", "xen on hardware", "evidence": {...}}
// "hardware" means DMI names no known virtual machine; "unknown" that DMI could not be read.
nlohmann::json DetectEmulation(const XenContextInputs& inputs);

// The context block: {"xl_info": {...all keys...}, "xen": {version, major, minor, extra, caps,
// virt_caps, scheduler, commandline, changeset, compiler, build_id}, "host": {nr_cpus, nr_nodes,
// cores_per_socket, threads_per_core, cpu_mhz, total_memory_mib, free_memory_mib, hw_caps},
// "dom0": {kernel_release, kernel_version, machine, hostname}, "guests": {name: {kernel_release}
// or {error}}, "emulation": DetectEmulation(...), "errors": [...]}. Keys whose source is missing
// are null; numbers are numbers when they parse.
nlohmann::json XenContextFromInputs(const XenContextInputs& inputs);

struct XenContextOptions {
  std::vector<std::string> guests;
  // Returns `uname -r` run in the guest (surrounding whitespace is trimmed). May throw; the
  // message is recorded. Null: guests' kernels are not collected (recorded as an error).
  std::function<std::string(const std::string& guest)> guest_kernel;
  std::vector<std::string> xl_info_command = {"xl", "info"};
  // Where /sys and /proc are read from ("/" on the host; a directory tree in tests).
  std::filesystem::path root = "/";
  // For `xl info` (seconds under QEMU/TCG, where every process start is slow).
  std::chrono::milliseconds timeout{60000};
};

// Reads the inputs on this host (dom0). Never throws.
XenContextInputs ReadXenContextInputs(const XenContextOptions& options);

// XenContextFromInputs(ReadXenContextInputs(options)). Never throws.
nlohmann::json CollectXenContext(const XenContextOptions& options);

}  // namespace nfb::report
