#include "direct_bpf.h"

#include <optional>
#include <utility>

#include "nfb/bpf/attach.h"
#include "nfb/bpf/icmp_echo.h"
#include "nfb/bpf/udp_drop.h"
#include "nfb/core/error.h"
#include "nfb/core/netns.h"

namespace nfb::nf {
namespace {

using json = nlohmann::json;

json CountersJson(const bpf::IcmpEchoProgram& program) {
  const bpf::IcmpEchoCounters c = program.Counters();
  return {{"answered", c.answered}, {"passed", c.passed}};
}

json CountersJson(const bpf::UdpDropProgram& program) {
  const bpf::UdpDropCounters c = program.Counters();
  return {{"dropped", c.dropped}, {"passed", c.passed}};
}

// One loaded program (IcmpEchoProgram, UdpDropProgram) at one tc ingress hook. The attachment is
// destroyed before the program, so nothing runs a program being released.
template <typename Program>
class DirectTc : public InstalledFunction {
 public:
  DirectTc(Program program, json description, const DirectTarget& target)
      : description_(std::move(description)), program_(std::move(program)) {
    NetnsScope in(target.netns);
    attachment_.emplace(bpf::TcIngressAttachment::Attach(target.interface, program_.tc_fd()));
  }
  json Describe() const override { return description_; }
  json Counters() const override { return CountersJson(program_); }

 private:
  json description_;
  Program program_;
  std::optional<bpf::TcIngressAttachment> attachment_;
};

}  // namespace

std::unique_ptr<InstalledFunction> InstallDirectBpf(const scenario::ProgramSpec& program,
                                                    const ObjectSpec& object,
                                                    const DirectTarget& target) {
  json description = {{"at", scenario::ToString(target.at)},
                      {"program", program.name},
                      {"object", object.name},
                      {"hook", "tc ingress"},
                      {"netns", target.netns},
                      {"interface", target.interface},
                      {"parameters", ParametersJson(program)},
                      {"path", "harness-direct"}};
  if (!target.only_daddr.empty()) description["only_daddr"] = target.only_daddr;
  if (object.name == "icmp_echo") {
    return std::make_unique<DirectTc<bpf::IcmpEchoProgram>>(
        bpf::IcmpEchoProgram(bpf::IcmpEchoProgram::Options{.only_daddr_be = target.only_daddr_be}),
        std::move(description), target);
  }
  if (object.name == "udp_drop") {
    const bpf::UdpDropConfig config{
        .port = static_cast<uint16_t>(Parameter(program, "port").value_or(0)),
        .only_daddr_be = target.only_daddr_be};
    return std::make_unique<DirectTc<bpf::UdpDropProgram>>(bpf::UdpDropProgram(config),
                                                           std::move(description), target);
  }
  throw InputError("BPF object '" + object.name + "' cannot be installed by the harness");
}

}  // namespace nfb::nf
