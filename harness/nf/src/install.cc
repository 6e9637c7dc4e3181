#include "nfb/nf/install.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include "bpfd_offload.h"
#include "direct_bpf.h"
#include "iptables_rules.h"
#include "nfb/core/error.h"
#include "objects.h"
#include "remote_bpf.h"

namespace nfb::nf {
namespace {

using json = nlohmann::json;
using scenario::InstallAt;
using scenario::ProgramKind;

class NoFunction : public InstalledFunction {
 public:
  json Describe() const override { return {{"at", "none"}, {"path", "none"}}; }
  json Counters() const override { return json::object(); }
};

uint32_t AddressBe(const std::string& dotted) {
  in_addr a{};
  if (::inet_pton(AF_INET, dotted.c_str(), &a) != 1) throw RunError("bad address " + dotted);
  return a.s_addr;
}

std::string KnownObjectNames() {
  std::string names;
  for (const ObjectSpec& object : KnownObjects()) {
    names += (names.empty() ? "" : ", ") + object.name;
  }
  return names;
}

}  // namespace

void CheckInstallable(const scenario::Scenario& scenario, const scenario::Configuration& config) {
  if (!config.install) return;
  const auto found = scenario.programs.find(config.install->program);
  if (found == scenario.programs.end()) {
    throw InputError(
        fmt::format("configuration '{}': no program '{}'", config.name, config.install->program));
  }
  const scenario::ProgramSpec& program = found->second;
  const std::string where =
      fmt::format("configuration '{}': program '{}'", config.name, program.name);
  if (program.kind == ProgramKind::kIptables) {
    if (config.install->at == InstallAt::kOffload) {
      throw InputError(where + ": iptables rules cannot be offloaded (use at: guest or at: dom0)");
    }
    if (program.iptables_rules.empty()) throw InputError(where + ": no iptables rules");
    PrepareIptablesRules(program);  // each rule starts with a chain
    return;
  }
  const ObjectSpec* object = FindObject(program.object);
  if (object == nullptr) {
    throw InputError(
        fmt::format("{}: BPF object '{}' is not known to this version of nfbench "
                    "(known: {})",
                    where, program.object, KnownObjectNames()));
  }
  if (program.hook != scenario::Hook::kTc) {
    throw InputError(where + ": only the tc hook is supported by the harness so far");
  }
  CheckParameters(*object, program, where);
}

std::vector<std::filesystem::path> GuestTools() {
  return {NFB_NF_ATTACH_PATH, NFB_XENBPF_LOAD_PATH};
}

std::unique_ptr<InstalledFunction> Install(const scenario::Scenario& scenario,
                                           const scenario::Configuration& config,
                                           platform::Platform& platform,
                                           const std::filesystem::path& log_dir) {
  CheckInstallable(scenario, config);
  if (!config.install) return std::make_unique<NoFunction>();
  const scenario::ProgramSpec& program = scenario.programs.at(config.install->program);
  const InstallAt at = config.install->at;
  if (program.kind == ProgramKind::kIptables) {
    return InstallIptables(platform, at == InstallAt::kDom0 ? "dom0" : config.target, at, program);
  }
  const ObjectSpec& object = *FindObject(program.object);
  switch (at) {
    case InstallAt::kGuest: {
      const platform::HostInfo& guest = platform.Host(config.target);
      const DirectTarget target{.at = at,
                                .netns = guest.netns,
                                .interface = guest.interface,
                                .only_daddr_be = 0,
                                .only_daddr = ""};
      // A guest reached over SSH (Xen) cannot be entered in-process: a tool in the guest attaches
      // the same program there.
      if (!guest.IsLocal()) {
        return InstallRemoteBpf(platform, config.target, program, object, target, log_dir);
      }
      return InstallDirectBpf(program, object, target);
    }
    case InstallAt::kDom0: {
      // Only traffic to dom0's own address: guests' traffic crosses the same NIC. dom0 is always
      // local (on Xen it is the machine the harness runs on).
      const platform::HostInfo& dom0 = platform.Host("dom0");
      return InstallDirectBpf(program, object,
                              {.at = at,
                               .netns = platform.Dom0Netns(),
                               .interface = platform.Dom0NicInterface(),
                               .only_daddr_be = AddressBe(dom0.address),
                               .only_daddr = dom0.address});
    }
    case InstallAt::kOffload: {
      const scenario::GuestSpec* guest = scenario.topology.FindGuest(config.target);
      if (guest == nullptr)
        throw InputError("offload target '" + config.target + "' is not a guest");
      return std::make_unique<BpfdOffload>(platform, *guest, program, object, log_dir);
    }
  }
  throw InputError("configuration '" + config.name + "': unknown install location");
}

}  // namespace nfb::nf
