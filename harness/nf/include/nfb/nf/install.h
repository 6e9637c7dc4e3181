// Installing a configuration's network function: which program, where, and through which path.
// The objects returned own everything they attached; destroying them removes it again.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>

#include "nfb/platform/platform.h"
#include "nfb/scenario/scenario.h"

namespace nfb::nf {

class InstalledFunction {
 public:
  virtual ~InstalledFunction() = default;
  // Where the program runs and how it got there: {"at", "hook", "interface", "netns", "path"}.
  // "path" is "none", "harness-direct" (the harness loaded and attached it itself) or, once the
  // offload daemon is used, "bpfd".
  virtual nlohmann::json Describe() const = 0;
  // The program's own counters (answered, passed, dispatcher slot packets ...), read now.
  virtual nlohmann::json Counters() const = 0;
};

// Throws InputError when the configuration cannot be installed (unknown BPF object, unsupported
// hook); touches nothing, so the runner calls it for every configuration before provisioning.
void CheckInstallable(const scenario::Scenario& scenario, const scenario::Configuration& config);

// Installs `config` on a provisioned platform. Configurations without `install` get an object
// that describes "none". Throws RunError (libbpf, netlink) with nothing left attached.
std::unique_ptr<InstalledFunction> Install(const scenario::Scenario& scenario,
                                           const scenario::Configuration& config,
                                           platform::Platform& platform);

}  // namespace nfb::nf
