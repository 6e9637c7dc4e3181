// nfbench: reproducible measurements of network functions offloaded from guests to the host.
#include <fmt/core.h>

#include "commands.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"

int main(int argc, char** argv) {
  CLI::App app{"nfbench: measures network functions in guests, in dom0 and offloaded (XenBPF)"};
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "log every step (commands, libbpf)");
  app.parse_complete_callback([&] {
    if (verbose) nfb::log::SetLevel(nfb::log::Level::kDebug);
  });
  nfb::cli::SetupRunCommand(app);
  nfb::cli::SetupValidateCommand(app);
  nfb::cli::SetupListCommand(app);
  nfb::cli::SetupDoctorCommand(app);
  nfb::cli::SetupCleanupCommand(app);
  nfb::cli::SetupPlotCommand(app);
  nfb::cli::SetupCompareCommand(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    // CLI11 returns 0 for --help; usage errors get the "bad input" code.
    return rc == 0 ? 0 : static_cast<int>(nfb::ExitCode::kBadInput);
  } catch (const nfb::Error& e) {
    nfb::log::Error("{}", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    nfb::log::Error("unexpected: {}", e.what());
    return static_cast<int>(nfb::ExitCode::kRunFailed);
  }
  return nfb::cli::g_exit_status;
}
