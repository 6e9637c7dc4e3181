#include "remote_bpf.h"

#include <fmt/format.h>

#include <chrono>
#include <optional>

#include "host_files.h"
#include "line_session.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"

namespace nfb::nf {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

class RemoteTc : public InstalledFunction {
 public:
  RemoteTc(platform::Platform& platform, const std::string& host,
           const scenario::ProgramSpec& program, const ObjectSpec& object,
           const DirectTarget& target, const std::filesystem::path& log_dir)
      : host_(host) {
    std::vector<std::string> argv = {ToolOnHost(platform.Host(host), NFB_NF_ATTACH_PATH),
                                     "--object", object.name, "--interface", target.interface};
    if (const std::optional<uint64_t> port = Parameter(program, "port")) {
      argv.insert(argv.end(), {"--port", std::to_string(*port)});
    }
    if (!target.only_daddr.empty()) argv.insert(argv.end(), {"--only-daddr", target.only_daddr});
    description_ = {{"at", scenario::ToString(target.at)},
                    {"program", program.name},
                    {"object", object.name},
                    {"hook", "tc ingress"},
                    {"host", host},
                    {"interface", target.interface},
                    {"parameters", ParametersJson(program)},
                    {"path", "harness-direct"},
                    {"loader", "nfb-nf-attach on the host, started through the platform ("
                               "SSH for remote hosts)"}};
    if (!target.only_daddr.empty()) description_["only_daddr"] = target.only_daddr;
    session_ = std::make_unique<LineSession>(
        platform.Command(host, argv), platform.StateDirectory() / ("nfb-nf-attach-" + host + ".in"),
        log_dir / "nfb-nf-attach.log", log_dir / "nfb-nf-attach.stderr.log",
        "nfb-nf-attach in " + host);
    // A process start and a BPF load in a guest under TCG take seconds.
    const json attached = session_->NextLine(120s);
    if (!attached.value("attached", false)) {
      throw RunError(fmt::format("nfb-nf-attach in {} did not attach {}: {} {}", host, object.name,
                                 attached.dump(), session_->ErrTail()));
    }
    description_["attached"] = attached;
    log::Debug("attached {} in {} through nfb-nf-attach: {}", object.name, host, attached.dump());
  }

  ~RemoteTc() override {
    if (const std::optional<ProcessResult> r = session_->Close(30s); r && !r->Succeeded()) {
      log::Warn("nfb-nf-attach in {} ended with {}: {}", host_, r->Status(), session_->ErrTail());
    }
  }

  json Describe() const override { return description_; }
  json Counters() const override { return session_->Ask("counters", 60s); }

 private:
  std::string host_;
  json description_;
  std::unique_ptr<LineSession> session_;
};

}  // namespace

std::unique_ptr<InstalledFunction> InstallRemoteBpf(platform::Platform& platform,
                                                    const std::string& host,
                                                    const scenario::ProgramSpec& program,
                                                    const ObjectSpec& object,
                                                    const DirectTarget& target,
                                                    const std::filesystem::path& log_dir) {
  return std::make_unique<RemoteTc>(platform, host, program, object, target, log_dir);
}

}  // namespace nfb::nf
