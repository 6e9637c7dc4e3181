#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "commands.h"
#include "nfb/core/error.h"
#include "nfb/scenario/loader.h"

namespace nfb::cli {

void SetupListCommand(CLI::App& app) {
  auto files = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = app.add_subcommand(
      "list", "list scenarios with their configurations and profiles (default: scenarios/*.yaml)");
  cmd->add_option("files", *files, "scenario files");
  cmd->callback([files] {
    std::vector<std::string> paths = *files;
    if (paths.empty()) {
      if (!std::filesystem::is_directory("scenarios")) {
        throw InputError("no scenario files given and no scenarios/ directory here");
      }
      for (const auto& e : std::filesystem::directory_iterator("scenarios")) {
        if (e.path().extension() == ".yaml") paths.push_back(e.path().string());
      }
      std::sort(paths.begin(), paths.end());
    }
    for (const std::string& p : paths) {
      scenario::LoadedScenario l = scenario::LoadScenarioFile(p);
      const auto& s = l.scenario;
      fmt::print("{}  ({})\n  {}\n  configurations:", s.name, p, s.description);
      for (const auto& c : s.configurations) fmt::print(" [{}]", c.name);
      fmt::print("\n  profiles:");
      for (const auto& pr : s.profiles) fmt::print(" {}", pr);
      fmt::print("\n  repetitions: {}\n", s.repetitions);
    }
  });
}

}  // namespace nfb::cli
