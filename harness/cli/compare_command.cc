#include <fmt/core.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "commands.h"
#include "nfb/core/error.h"
#include "nfb/report/platform_comparison.h"

namespace nfb::cli {

struct CompareOptions {
  std::vector<std::string> run_dirs;
  bool csv = false;
  bool json = false;
  std::string out;
};

void SetupCompareCommand(CLI::App& app) {
  auto options = std::make_shared<CompareOptions>();
  CLI::App* cmd = app.add_subcommand(
      "compare",
      "runs of one scenario (e.g. netns and xen) side by side with the thesis: per configuration "
      "each run's median and ratio to the baseline, and the orderings");
  cmd->add_option("run_dirs", options->run_dirs, "results/<scenario>/<run> ... (one or more)")
      ->required()
      ->check(CLI::ExistingDirectory);
  CLI::Option* csv = cmd->add_flag("--csv", options->csv, "tidy CSV instead of the table");
  cmd->add_flag("--json", options->json, "JSON instead of the table")->excludes(csv);
  cmd->add_option("--out", options->out, "write to this file instead of stdout");
  cmd->callback([options] {
    std::vector<report::RunComparison> runs;
    for (const std::string& dir : options->run_dirs) {
      runs.push_back(report::LoadRunComparison(dir));
    }
    report::PlatformComparison comparison = report::ComparePlatforms(runs);
    std::ostringstream text;
    if (options->csv) {
      report::WritePlatformComparisonCsv(text, comparison);
    } else if (options->json) {
      text << report::PlatformComparisonJson(comparison).dump(2) << '\n';
    } else {
      text << report::FormatPlatformComparison(comparison);
    }
    if (options->out.empty()) {
      fmt::print("{}", text.str());
      return;
    }
    std::ofstream out(options->out, std::ios::binary | std::ios::trunc);
    out << text.str();
    out.close();
    if (!out) throw InputError(options->out + ": cannot write");
  });
}

}  // namespace nfb::cli
