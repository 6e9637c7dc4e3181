#include <fmt/core.h>

#include <memory>

#include "commands.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/scenario/loader.h"

namespace nfb::cli {

struct ValidateOptions {
  std::vector<std::string> files;
  scenario::LoadOptions load;
};

void SetupValidateCommand(CLI::App& app) {
  auto options = std::make_shared<ValidateOptions>();
  CLI::App* cmd = app.add_subcommand("validate", "check scenario files without side effects");
  cmd->add_option("files", options->files, "scenario files")->required();
  cmd->add_option("--profile", options->load.profile, "also check this profile");
  cmd->add_option("-o,--override", options->load.overrides, "also apply these overrides");
  cmd->callback([options] {
    int bad = 0;
    for (const std::string& f : options->files) {
      try {
        scenario::LoadedScenario l = scenario::LoadScenarioFile(f, options->load);
        fmt::print("{}: ok ({}, {} configurations)\n", f, l.scenario.name,
                   l.scenario.configurations.size());
      } catch (const InputError& e) {
        log::Error("{}", e.what());
        ++bad;
      }
    }
    if (bad > 0) throw InputError(fmt::format("{} of {} files invalid", bad, options->files.size()));
  });
}

}  // namespace nfb::cli
