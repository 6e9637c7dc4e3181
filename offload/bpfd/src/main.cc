// bpfd: the XenBPF daemon in dom0 (docs/bpfd.md).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nfb/bpfd/control.h"
#include "nfb/bpfd/daemon.h"
#include "nfb/bpfd/libbpf_backend.h"
#include "nfb/bpfd/service.h"
#include "nfb/bpfd/vchan_transport.h"
#include "nfb/bpfd/xen_discovery.h"
#include "nfb/bpfd/xenstore.h"
#include "nfb/core/cancel.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/offload/channel.h"
#include "nfb/offload/client.h"

namespace {

struct Options {
  nfb::bpfd::LibbpfBackendOptions backend;
  nfb::bpfd::Quotas quotas;
  nfb::bpfd::DaemonOptions daemon;
  std::string socket_name = nfb::offload::proto::kDefaultSocketName;
  std::optional<double> cost_ns;
  std::vector<std::string> domains;
  bool xenstore = false;
  std::string log_level = "info";
};

nfb::bpfd::DomainSpec ParseDomainOption(const std::string& text) {
  // NAME,NETNS,MAC
  const size_t first = text.find(',');
  const size_t second = first == std::string::npos ? first : text.find(',', first + 1);
  if (second == std::string::npos) {
    throw nfb::InputError("--domain takes NAME,NETNS,MAC, got '" + text + "'");
  }
  nfb::bpfd::DomainSpec spec;
  spec.name = text.substr(0, first);
  spec.netns = text.substr(first + 1, second - first - 1);
  spec.mac = text.substr(second + 1);
  return spec;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"bpfd: loads guests' BPF programs behind the XenBPF dispatcher in dom0"};
  app.add_option("--interface", o.backend.interface,
                 "dom0's NIC; the dispatcher goes to its tc ingress")
      ->required();
  app.add_option("--netns", o.backend.netns, "network namespace of the NIC (default: bpfd's own)");
  app.add_option("--control", o.daemon.control_path,
                 "path of the dom0 control socket (register/unregister/list/stats)")
      ->required();
  app.add_option("--socket-name", o.socket_name,
                 "abstract Unix socket name created in each domain's netns")
      ->capture_default_str();
  app.add_option("--domain", o.domains,
                 "register a domain at start-up: NAME,NETNS,MAC (repeatable)");
  app.add_flag("--xenstore", o.xenstore,
               "Xen: serve every guest domain in XenStore over its own vchan, registering and "
               "unregistering domains as they come and go (MAC from dom0's vif backend)");
  app.add_option("--max-programs", o.quotas.max_programs, "per-domain program quota")
      ->capture_default_str();
  app.add_option("--max-maps", o.quotas.max_maps, "per-domain map quota")->capture_default_str();
  app.add_option("--max-map-memory", o.quotas.max_map_memory,
                 "per-domain map memory quota in bytes (estimated, see docs/bpfd.md)")
      ->capture_default_str();
  int64_t frame_timeout_ms = o.daemon.frame_timeout.count();
  app.add_option("--frame-timeout-ms", frame_timeout_ms,
                 "close a session whose frame stays incomplete this long")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--cost-ns", o.cost_ns,
                 "per-packet CPU cost for accounting instead of calibrating at start")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--calibration-repeat", o.backend.calibration_repeat,
                 "runs per BPF_PROG_TEST_RUN in the calibration")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--log-level", o.log_level, "debug, info, warn or error")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : static_cast<int>(nfb::ExitCode::kBadInput);
  }

  using nfb::log::Level;
  nfb::log::SetLevel(o.log_level == "debug"   ? Level::kDebug
                     : o.log_level == "warn"  ? Level::kWarn
                     : o.log_level == "error" ? Level::kError
                                              : Level::kInfo);
  o.daemon.frame_timeout = std::chrono::milliseconds(frame_timeout_ms);
  if (o.cost_ns) o.backend.fixed_cost_ps = static_cast<uint64_t>(*o.cost_ns * 1000.0 + 0.5);

  // Writes to a session whose peer vanished must fail with EPIPE, not kill the daemon.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    nfb::InterruptScope interrupts;
    std::vector<nfb::bpfd::DomainSpec> domains;
    for (const std::string& text : o.domains) domains.push_back(ParseDomainOption(text));
    // Checked before the dispatcher is touched: a --xenstore without Xen fails at once.
    std::unique_ptr<nfb::bpfd::XenStore> xenstore;
    if (o.xenstore) {
      if (!nfb::bpfd::VchanAvailable()) {
        throw nfb::PrerequisiteError(
            "--xenstore: this bpfd was built without libxenvchan (install libxen-dev and rebuild)");
      }
      xenstore = nfb::bpfd::OpenXenStore();
    }
    // Order matters for teardown too: the daemon (sessions) goes first, then the service (the
    // domains' programs and slots), then the backend (the dispatcher and its attachment).
    nfb::bpfd::LibbpfBackend backend(o.backend, nfb::bpfd::MakeOffloadVerifier());
    nfb::bpfd::OffloadService service(backend, o.quotas);
    nfb::bpfd::Daemon daemon(service, nfb::bpfd::DefaultListenerFactory(o.socket_name), o.daemon);
    for (const auto& spec : domains) daemon.RegisterDomain(spec);
    nfb::bpfd::DaemonRegistry registry(daemon);
    std::optional<nfb::bpfd::XenStoreDiscovery> discovery;
    bool xenstore_lost = false;
    if (xenstore) {
      discovery.emplace(*xenstore, registry);
      discovery->Start();
      daemon.AddWatch(xenstore->fd(), [&] {
        try {
          discovery->OnEvents();
        } catch (const std::bad_alloc&) {
          throw;
        } catch (const std::exception& e) {
          // Without XenStore bpfd can no longer tell guests coming and going: stop.
          nfb::log::Error("bpfd: XenStore: {}; stopping", e.what());
          xenstore_lost = true;
          daemon.Stop();
        }
      });
      nfb::log::Info(
          "bpfd ready: control socket {}, {} guest domain(s) from XenStore; guests "
          "connect over the vchan published at /local/domain/<domid>/{}",
          o.daemon.control_path, discovery->registered().size(),
          nfb::offload::proto::kDefaultVchanPath);
    } else {
      nfb::log::Info("bpfd ready: control socket {}, guests connect to @{} in their netns",
                     o.daemon.control_path, o.socket_name);
    }
    daemon.Run();
    nfb::log::Info("bpfd stopping: removing every domain's programs and the dispatcher");
    if (discovery) {
      daemon.RemoveWatch(xenstore->fd());
      discovery->UnregisterAll();
    }
    if (xenstore_lost) return static_cast<int>(nfb::ExitCode::kRunFailed);
  } catch (const nfb::Error& e) {
    nfb::log::Error("bpfd: {}", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    nfb::log::Error("bpfd: {}", e.what());
    return static_cast<int>(nfb::ExitCode::kRunFailed);
  }
  return 0;
}
