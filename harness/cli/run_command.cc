#include <memory>

#include "commands.h"
#include "nfb/runner/run.h"

namespace nfb::cli {
namespace {
// CLI11 treats std::filesystem::path as a container of characters; bind strings and convert.
struct RunArgs {
  std::vector<std::string> scenarios;
  std::string out = "results";
  std::string inventory;
  runner::RunOptions options;
};
}  // namespace

void SetupRunCommand(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  runner::RunOptions& o = args->options;
  CLI::App* run = app.add_subcommand("run", "run scenarios and write results, tables and figures");
  run->add_option("scenarios", args->scenarios, "scenario files (YAML)")
      ->required()
      ->check(CLI::ExistingFile);
  run->add_option("--profile", o.load.profile,
                  "a profile of the scenario (e.g. quick, paper); default: the file's values");
  run->add_option("-o,--override", o.load.overrides,
                  "override a scenario value, key.path=value (repeatable; after the profile)");
  run->add_option("--repetitions", o.load.repetitions, "repetitions per configuration")
      ->check(CLI::Range(1, 1000));
  run->add_option("--out", args->out, "results base directory")->capture_default_str();
  run->add_option("--platform", o.platform,
                  "netns (emulated Xen host) or xen (dom0 of a real Xen host; guest images from "
                  "NFB_XEN_GUEST_KERNEL, NFB_XEN_GUEST_RAMDISK[_COMMAND], see "
                  "docs/platform-xen.md)")
      ->check(CLI::IsMember({"netns", "xen"}))
      ->capture_default_str();
  run->add_option("--inventory", args->inventory,
                  "xen: a YAML file naming the external hosts that are machines reached over SSH "
                  "(ssh destination, interface facing dom0's NIC); default NFB_XEN_INVENTORY; see "
                  "docs/platform-xen.md")
      ->check(CLI::ExistingFile);
  run->add_flag("--dry-run,--dry_run", o.dry_run,
                "load and check everything, print the plan, touch nothing");
  run->add_flag("!--no-plot", o.plot, "skip the figures");
  run->callback([args] {
    args->options.scenarios.assign(args->scenarios.begin(), args->scenarios.end());
    args->options.out = args->out;
    args->options.inventory = args->inventory;
    g_exit_status = runner::RunScenarios(args->options);
  });
}

}  // namespace nfb::cli
