#include <fmt/core.h>

#include <memory>

#include "commands.h"
#include "nfb/platform/platform.h"

namespace nfb::cli {

void SetupCleanupCommand(CLI::App& app) {
  auto everything = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "cleanup", "remove namespaces, cgroups and run state left by killed runs");
  cmd->add_flag("--all", *everything,
                "also remove the objects of runs that look alive (only when none is running)");
  cmd->callback([everything] {
    platform::CleanupReport report = platform::CleanupStale(*everything);
    for (const std::string& what : report.removed) fmt::print("removed {}\n", what);
    if (report.removed.empty()) fmt::print("nothing to clean up\n");
  });
}

}  // namespace nfb::cli
