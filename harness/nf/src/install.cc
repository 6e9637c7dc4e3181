#include "nfb/nf/install.h"

#include "bpfd_offload.h"

#include <arpa/inet.h>

#include <optional>

#include "nfb/bpf/icmp_echo.h"
#include "nfb/bpf/objects.h"
#include "nfb/bpf/attach.h"
#include "nfb/core/error.h"
#include "nfb/core/netns.h"

namespace nfb::nf {
namespace {

using json = nlohmann::json;
using scenario::InstallAt;

class NoFunction : public InstalledFunction {
 public:
  json Describe() const override { return {{"at", "none"}, {"path", "none"}}; }
  json Counters() const override { return json::object(); }
};

json EchoCounters(const bpf::IcmpEchoProgram& program) {
  bpf::IcmpEchoCounters c = program.Counters();
  return {{"answered", c.answered}, {"passed", c.passed}};
}

// icmp_echo at a tc ingress hook, without the dispatcher (in a guest, or in dom0).
class DirectEcho : public InstalledFunction {
 public:
  DirectEcho(InstallAt at, std::string netns, std::string interface, uint32_t only_daddr_be)
      : at_(at),
        netns_(std::move(netns)),
        interface_(std::move(interface)),
        program_(bpf::IcmpEchoProgram::Options{.only_daddr_be = only_daddr_be}) {
    NetnsScope in(netns_);
    attachment_.emplace(bpf::TcIngressAttachment::Attach(interface_, program_.tc_fd()));
  }
  json Describe() const override {
    return {{"at", scenario::ToString(at_)}, {"program", "icmp_echo"}, {"hook", "tc ingress"},
            {"netns", netns_}, {"interface", interface_}, {"path", "harness-direct"}};
  }
  json Counters() const override { return EchoCounters(program_); }

 private:
  InstallAt at_;
  std::string netns_, interface_;
  bpf::IcmpEchoProgram program_;
  std::optional<bpf::TcIngressAttachment> attachment_;
};

uint32_t AddressBe(const std::string& dotted) {
  in_addr a{};
  if (::inet_pton(AF_INET, dotted.c_str(), &a) != 1) throw RunError("bad address " + dotted);
  return a.s_addr;
}

}  // namespace

void CheckInstallable(const scenario::Scenario& scenario, const scenario::Configuration& config) {
  if (!config.install) return;
  const scenario::ProgramSpec& program = scenario.programs.at(config.install->program);
  if (program.object != "icmp_echo") {
    throw InputError("configuration '" + config.name + "': BPF object '" + program.object +
                     "' is not known to this version of nfbench (known: icmp_echo)");
  }
  if (program.hook != scenario::Hook::kTc) {
    throw InputError("configuration '" + config.name + "': program '" + program.name +
                     "': only the tc hook is supported by the harness so far");
  }
}

std::unique_ptr<InstalledFunction> Install(const scenario::Scenario& scenario,
                                           const scenario::Configuration& config,
                                           platform::Platform& platform,
                                           const std::filesystem::path& log_dir) {
  CheckInstallable(scenario, config);
  if (!config.install) return std::make_unique<NoFunction>();
  switch (config.install->at) {
    case InstallAt::kGuest: {
      const platform::HostInfo& guest = platform.Host(config.target);
      return std::make_unique<DirectEcho>(InstallAt::kGuest, guest.netns, guest.interface, 0);
    }
    case InstallAt::kDom0: {
      // Only dom0's own address is answered: guests' traffic crosses the same NIC.
      const platform::HostInfo& dom0 = platform.Host("dom0");
      return std::make_unique<DirectEcho>(InstallAt::kDom0, platform.Dom0Netns(),
                                          platform.Dom0NicInterface(), AddressBe(dom0.address));
    }
    case InstallAt::kOffload: {
      const scenario::GuestSpec* guest = scenario.topology.FindGuest(config.target);
      if (guest == nullptr) throw InputError("offload target '" + config.target + "' is not a guest");
      return std::make_unique<BpfdOffload>(platform, *guest, config.install->program,
                                           bpf::kIcmpEchoObjectPath, log_dir);
    }
  }
  throw InputError("configuration '" + config.name + "': unknown install location");
}

}  // namespace nfb::nf
