#include <memory>

#include "commands.h"
#include "nfb/runner/run.h"

namespace nfb::cli {

void SetupPlotCommand(CLI::App& app) {
  auto run_dir = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("plot", "(re)draw the figures of a finished run");
  cmd->add_option("run_dir", *run_dir, "results/<scenario>/<run>")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->callback([run_dir] { runner::PlotRun(*run_dir); });
}

}  // namespace nfb::cli
