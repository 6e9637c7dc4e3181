// Per-domain CPU sampling for a run, whatever the platform: xentop on `xen`, the cgroup and
// softirq sampler on `netns` (docs/cpu-accounting.md). Both give the same rows (cpu.csv)
// behind collectors::DomainCpuSampler.
//
//   // once, after Provision():
//   runner::DomainCpuSampling sampling = runner::DomainCpuSampling::ForPlatform(platform,
//   topology); context["cpu_sampling"] = sampling.Describe();
//   // per step:
//   runner::DomainCpuSamplingOptions o;
//   o.interval = std::chrono::seconds(1);
//   o.raw_dir = step.raw;                       // xen: keeps xentop's output as xentop.txt
//   auto sampler = sampling.Start(o);
//   ...
//   collectors::CpuSamplerReport cpu = sampler->Stop();
//   step.step["cpu_sampler"] = collectors::SummaryJson(cpu);
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nfb/collectors/cpu_sampler.h"
#include "nfb/collectors/domain_cpu_sampler.h"
#include "nfb/platform/platform.h"
#include "nfb/scenario/scenario.h"

namespace nfb::runner {

struct DomainCpuSamplingOptions {
  // netns: at least 10 ms; xen: a whole number of seconds (xentop's -d).
  std::chrono::milliseconds interval{1000};
  // xen: xentop's output is kept as raw_dir/xentop.txt. Empty: not kept.
  std::filesystem::path raw_dir;
  std::function<void(const std::vector<collectors::CpuSeriesRow>&)> on_interval;
  // xen: the xentop program (looked up in PATH unless it holds a '/').
  std::filesystem::path xentop = "xentop";
};

// How a run samples per-domain CPU, decided once per run from the platform.
class DomainCpuSampling {
 public:
  // After Provision(). netns: the sources from platform.Describe() (dom0, guests, external
  // hosts with their cgroups, CPUs and weighing interfaces). xen: the scenario's guests, with
  // their Xen domain names from the description (GuestXlNames); external hosts in dom0 when the
  // description says so (ExternalHostsInDom0). Throws InputError as
  // CpuSourcesFromPlatformDescription does.
  static DomainCpuSampling ForPlatform(const platform::Platform& platform,
                                       const scenario::Topology& topology);

  // "xentop" (platform "xen") or "netns" (any other platform).
  std::string_view Method() const { return xen_ ? "xentop" : "netns"; }

  // For context.json: the method, and the netns sources or the xentop domains.
  nlohmann::json Describe() const;

  // Starts sampling now. Throws as CpuSampler::Start / XentopSampler::Start do (InputError for
  // a bad interval, PrerequisiteError without xentop, RunError if it cannot start).
  std::unique_ptr<collectors::DomainCpuSampler> Start(
      const DomainCpuSamplingOptions& options) const;

  // Overrides what the xen platform's description says about external hosts: true when they are
  // all namespaces in dom0 (the lab), false when they are other machines.
  void SetExternalHostsInDom0(bool in_dom0);

 private:
  bool xen_ = false;
  std::vector<collectors::CpuSource> sources_;   // netns
  std::vector<std::string> guests_;              // xen
  std::map<std::string, std::string> xl_names_;  // xen: guest -> its Xen domain's name
  std::vector<std::string> external_hosts_;      // xen: all of them
  std::vector<std::string> external_in_dom0_;    // xen: those that are namespaces in dom0
  std::filesystem::path work_dir_;               // xen: for the FIFO (the run's state directory)
};

// External hosts of a xen platform that live in dom0, from its description's "hosts" entries
// with role "external": "in_dom0": true/false when given; otherwise an entry with an "ssh" key
// is another machine and one with a non-empty "netns" is a namespace in dom0 (the lab). Anything
// else counts as not in dom0.
std::vector<std::string> ExternalHostsInDom0(const nlohmann::json& description);

// Guests' Xen domain names from a xen platform's description ("hosts" entries with role
// "guest" and an "xl_domain" that differs from the name): guest -> xl name.
std::map<std::string, std::string> GuestXlNames(const nlohmann::json& description);

// DomainCpuSampling::ForPlatform(platform, topology).Start(options), for one-off use.
std::unique_ptr<collectors::DomainCpuSampler> StartDomainCpuSampler(
    const platform::Platform& platform, const scenario::Topology& topology,
    const DomainCpuSamplingOptions& options);

}  // namespace nfb::runner
