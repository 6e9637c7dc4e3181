#include <fmt/core.h>

#include "commands.h"
#include "nfb/core/error.h"
#include "nfb/runner/prerequisites.h"

namespace nfb::cli {

void SetupDoctorCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "doctor", "report what this host offers (root, BPF, tc, XDP, netns, cgroups, tools, timestamps)");
  cmd->callback([] {
    bool required_missing = false;
    for (const runner::DoctorCheck& c : runner::RunDoctor()) {
      const char* mark = c.ok ? "ok" : (c.required ? "MISSING" : "absent");
      fmt::print("{:<8} {:<14} {}\n", mark, c.name, c.detail);
      required_missing |= c.required && !c.ok;
    }
    if (required_missing) {
      fmt::print("\nthe netns platform needs every check marked MISSING\n");
      g_exit_status = static_cast<int>(ExitCode::kMissingPrerequisite);
    }
  });
}

}  // namespace nfb::cli
