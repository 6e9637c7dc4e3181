// The xen platform's guests (xen_platform.h): their ramdisk, `xl create` from a generated config,
// and waiting until each answers ping and then SSH over the run's master connection.
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "nfb/core/cancel.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "xen_platform_impl.h"
#include "xl_config.h"

namespace nfb::platform::internal {
namespace fs = std::filesystem;

std::string XenPlatform::ResolveRamdisk() {
  if (!options_.guest_ramdisk.empty()) return options_.guest_ramdisk;
  std::vector<std::string> argv;
  std::istringstream words(options_.guest_ramdisk_command);
  for (std::string w; words >> w;) argv.push_back(w);
  for (const std::string& f : options_.guest_files) {
    argv.push_back("--file");
    argv.push_back(f);
  }
  log::Info("xen: building the guests' ramdisk: {}", CommandLine(argv));
  ProcessSpec spec(argv);
  spec.interruptible = true;
  ProcessResult r = RunProcess(spec, std::chrono::minutes(10));
  if (!r.Succeeded()) {
    throw RunError(fmt::format("'{}' failed ({}): {}", CommandLine(argv), r.Status(),
                               Tail(r.err, 10)));
  }
  std::string path;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (!Trim(line).empty()) path = Trim(line);
  }
  std::error_code ec;
  if (path.empty() || !fs::is_regular_file(path, ec)) {
    throw RunError(fmt::format("'{}' printed no ramdisk path (got '{}')", CommandLine(argv), path));
  }
  return path;
}

void XenPlatform::CreateGuest(Domain& g) {
  XlGuest xl;
  xl.name = g.xl_name;
  xl.kernel = options_.guest_kernel;
  xl.ramdisk = ramdisk_;
  xl.cmdline = g.cmdline;
  xl.memory_mb = g.memory_mb;
  xl.vcpus = static_cast<int>(g.requested_cpus.size());
  xl.cpus = g.mapping.mapped;
  xl.mac = g.info.mac;
  xl.bridge = kDom0Bridge;
  xl.vif_script = options_.vif_script;
  g.xl_config = state_->dir() / "xl" / (g.info.name + ".cfg");
  std::ofstream(g.xl_config) << XlConfig(xl);

  state_->Record("xl-domain", g.xl_name);
  log::Info("xen: creating guest {} (domain {}, {} MiB, {} vCPU(s))", g.info.name, g.xl_name,
            g.memory_mb, xl.vcpus);
  const auto t = Clock::now();
  ProcessSpec create({xl_, "create", "-q", g.xl_config.string()});
  create.interruptible = true;
  ProcessResult r = RunProcess(create, kXlTimeout);
  if (!r.Succeeded()) {
    throw RunError(fmt::format("xl create {} failed ({}): {}", g.xl_config.string(), r.Status(),
                               Tail(r.err + r.out, 15)));
  }
  g.create_s = Seconds(Clock::now() - t);
  const std::map<std::string, int> domains = ListXenDomains();
  const auto found = domains.find(g.xl_name);
  if (found == domains.end()) {
    throw RunError(fmt::format("guest {} vanished right after xl create{}", g.info.name,
                               GuestFailure(g)));
  }
  g.info.xen_domid = found->second;
  g.vif = fmt::format("vif{}.0", g.info.xen_domid);
  g.info.dom0_vif = g.vif;
}

std::string XenPlatform::GuestFailure(const Domain& g) const {
  // xenconsoled logs guests' consoles when started with --log=guest (the lab does).
  const fs::path console = fmt::format("/var/log/xen/console/guest-{}.log", g.xl_name);
  std::error_code ec;
  if (!fs::exists(console, ec)) return {};
  return fmt::format("; last console lines ({}):\n{}", console.string(),
                     Tail(ReadText(console), 20));
}

// ping first, then SSH: a ping per 10 s window costs the booting guest far less than SSH
// attempts, each of which makes the guest fork and do a key exchange.
void XenPlatform::WaitForGuest(Domain& g, Clock::time_point created) {
  const auto deadline = created + options_.guest_timeout;
  for (;;) {
    ProcessSpec ping({"ping", "-n", "-q", "-c", "1", "-w", "10", g.info.address});
    ping.interruptible = true;
    if (RunProcess(ping, std::chrono::seconds(30)).Succeeded()) break;
    if (!ListXenDomains().contains(g.xl_name)) {
      throw RunError(fmt::format("guest {} is gone (crashed?){}", g.info.name, GuestFailure(g)));
    }
    if (Clock::now() > deadline) {
      throw RunError(fmt::format("guest {} did not answer ping within {} s{}", g.info.name,
                                 options_.guest_timeout.count(), GuestFailure(g)));
    }
  }
  g.ping_s = Seconds(Clock::now() - created);
  OpenSsh(g, deadline);
  g.ssh_s = Seconds(Clock::now() - created);

  // The guest's neighbours, as everywhere else: one ip process in the guest, fed by a here-doc.
  std::string batch;
  for (const Domain& other : domains_) {
    if (&other == &g || !g.address.Contains(other.address.address)) continue;
    batch += fmt::format("neigh replace {} lladdr {} dev {} nud permanent\n", other.info.address,
                         other.info.mac, g.info.interface);
  }
  if (!batch.empty()) {
    RunChecked(Command(g.info.name, {"sh", "-c", "exec ip -batch - <<'EOF'\n" + batch + "EOF\n"}),
               std::chrono::seconds(60));
  }
  WaitUntilForwarding({{"", g.vif}}, std::chrono::seconds(30));
  log::Info("xen: guest {} up: domain id {}, xl create {:.1f} s, ping after {:.1f} s, SSH after "
            "{:.1f} s",
            g.info.name, g.info.xen_domid, g.create_s, g.ping_s, g.ssh_s);
}

// The master connection is the harness's child (see ssh_command.h). It is ready once its control
// socket exists; a master that exits (dropbear not started yet) is retried until the deadline.
void XenPlatform::OpenSsh(Domain& g, Clock::time_point deadline) {
  const SshTarget target = SshTargetOf(g);
  const fs::path log_path = state_->dir() / "ssh" / (g.info.name + ".log");
  std::string last_error;
  for (;;) {
    std::error_code ec;
    fs::remove(target.control_path, ec);
    ProcessSpec spec(SshMasterArgv(target));
    spec.stdout_path = log_path;
    spec.stderr_path = log_path;
    g.ssh_master = Process::Start(spec);
    const auto attempt_end = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < attempt_end) {
      if (fs::exists(target.control_path, ec)) {
        ProcessResult r = RunProcess(Command(g.info.name, {"true"}), std::chrono::seconds(30));
        if (r.Succeeded()) return;
        last_error = r.Status() + " " + r.err;
        break;
      }
      if (g.ssh_master.Wait(std::chrono::milliseconds(200))) break;
      ThrowIfInterrupted();
    }
    if (g.ssh_master.running()) g.ssh_master.Terminate(std::chrono::seconds(2));
    const std::string master_log = Trim(ReadText(log_path));
    if (!master_log.empty()) {
      last_error = master_log + (last_error.empty() ? "" : "; " + last_error);
    }
    if (Clock::now() > deadline) {
      if (g.role != Role::kGuest) {
        throw RunError(fmt::format("external host {} does not accept SSH as {}: {}", g.info.name,
                                   target.destination, last_error));
      }
      throw RunError(fmt::format("guest {} answers ping but not SSH as {} within {} s: {}{}",
                                 g.info.name, target.destination,
                                 options_.guest_timeout.count(), last_error, GuestFailure(g)));
    }
    if (!SleepFor(std::chrono::seconds(2))) ThrowIfInterrupted();
  }
}

// Waits until each (namespace, device) is up and, for bridge ports, forwarding. "" is dom0's own
// namespace, read through the harness's /sys.

}  // namespace nfb::platform::internal
