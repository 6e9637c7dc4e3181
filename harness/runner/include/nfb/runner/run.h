// Running scenarios end to end: load, check, provision, measure every configuration x
// repetition, tear down, analyse, report. Teardown runs on success, error and Ctrl-C.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "nfb/scenario/loader.h"

namespace nfb::runner {

struct RunOptions {
  std::vector<std::filesystem::path> scenarios;
  scenario::LoadOptions load;              // profile, -o overrides, --repetitions
  std::filesystem::path out = "results";  // results/<scenario>/<UTC time>-<run id>/
  std::string platform = "netns";
  // xen: external hosts that are machines over SSH (docs/platform-xen.md); empty = none, unless
  // NFB_XEN_INVENTORY names a file.
  std::filesystem::path inventory;
  bool dry_run = false;  // load, check and print the plan; touch nothing
  bool plot = true;
};

// Runs each scenario in turn and returns the process exit code (0 when all succeeded).
// Throws nfb::Error subclasses; their code() is the exit code to use.
int RunScenarios(const RunOptions& options);

// Regenerates the figures of a finished run from its result files. Throws RunError on failure.
void PlotRun(const std::filesystem::path& run_dir);

}  // namespace nfb::runner
