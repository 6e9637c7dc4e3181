// Installing a configuration's network function: which program, where, and through which path.
// The objects returned own everything they attached; destroying them removes it again.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>

#include "nfb/platform/platform.h"
#include "nfb/scenario/scenario.h"

namespace nfb::nf {

class InstalledFunction {
 public:
  virtual ~InstalledFunction() = default;
  // Where the program runs and how it got there: {"at", "hook", "interface", "netns", "path"}.
  // "path" is "none", "harness-direct" (the harness loaded and attached it itself) or "bpfd"
  // (a loader in the guest asked bpfd in dom0 over the guest's channel).
  virtual nlohmann::json Describe() const = 0;
  // The program's own counters (answered, passed, dispatcher slot packets ...), read now.
  virtual nlohmann::json Counters() const = 0;
};

// Throws InputError when the configuration cannot be installed (unknown BPF object, unsupported
// hook); touches nothing, so the runner calls it for every configuration before provisioning.
void CheckInstallable(const scenario::Scenario& scenario, const scenario::Configuration& config);

// Installs `config` on a provisioned platform; the logs of helper processes (bpfd, the guest's
// loader) go to `log_dir`. Configurations without `install` get an object that describes
// "none". Offloaded programs (XenBPF) go through bpfd and the guest's xenbpf-load; the others
// are loaded and attached by the harness itself ("harness-direct"). Throws RunError (libbpf,
// netlink, bpfd) with nothing left attached.
std::unique_ptr<InstalledFunction> Install(const scenario::Scenario& scenario,
                                           const scenario::Configuration& config,
                                           platform::Platform& platform,
                                           const std::filesystem::path& log_dir);

}  // namespace nfb::nf
