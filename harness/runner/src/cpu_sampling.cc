#include "nfb/runner/cpu_sampling.h"

#include <algorithm>
#include <iterator>

#include "nfb/collectors/xentop_sampler.h"
#include "nfb/core/error.h"

namespace nfb::runner {
namespace {

using json = nlohmann::json;

}  // namespace

std::map<std::string, std::string> GuestXlNames(const json& description) {
  std::map<std::string, std::string> out;
  if (!description.is_object() || !description.contains("hosts") ||
      !description["hosts"].is_array()) {
    return out;
  }
  for (const json& host : description["hosts"]) {
    if (!host.is_object() || host.value("role", "") != "guest") continue;
    const std::string name = host.value("name", "");
    if (name.empty() || !host.contains("xl_domain") || !host["xl_domain"].is_string()) continue;
    const std::string xl = host["xl_domain"].get<std::string>();
    if (!xl.empty() && xl != name) out[name] = xl;
  }
  return out;
}

std::vector<std::string> ExternalHostsInDom0(const json& description) {
  std::vector<std::string> out;
  if (!description.is_object() || !description.contains("hosts") ||
      !description["hosts"].is_array()) {
    return out;
  }
  for (const json& host : description["hosts"]) {
    if (!host.is_object() || host.value("role", "") != "external") continue;
    const std::string name = host.value("name", "");
    if (name.empty()) continue;
    bool in_dom0 = false;
    if (host.contains("in_dom0") && host["in_dom0"].is_boolean()) {
      in_dom0 = host["in_dom0"].get<bool>();
    } else if (host.contains("ssh") || host.value("access", "") == "ssh") {
      in_dom0 = false;
    } else if (host.contains("netns") && host["netns"].is_string()) {
      in_dom0 = !host["netns"].get<std::string>().empty();
    }
    if (in_dom0) out.push_back(name);
  }
  return out;
}

DomainCpuSampling DomainCpuSampling::ForPlatform(const platform::Platform& platform,
                                                 const scenario::Topology& topology) {
  DomainCpuSampling s;
  const json description = platform.Describe();
  if (platform.Name() == "xen") {
    s.xen_ = true;
    for (const scenario::GuestSpec& g : topology.guests) s.guests_.push_back(g.name);
    for (const scenario::ExternalHostSpec& e : topology.external_hosts) {
      s.external_hosts_.push_back(e.name);
    }
    s.external_in_dom0_ = ExternalHostsInDom0(description);
    s.xl_names_ = GuestXlNames(description);
    // Only the scenario's guests: a description naming others is not this run's.
    for (auto it = s.xl_names_.begin(); it != s.xl_names_.end();) {
      bool known = std::find(s.guests_.begin(), s.guests_.end(), it->first) != s.guests_.end();
      it = known ? std::next(it) : s.xl_names_.erase(it);
    }
    s.work_dir_ = platform.StateDirectory();
  } else {
    s.sources_ = collectors::CpuSourcesFromPlatformDescription(description);
  }
  return s;
}

void DomainCpuSampling::SetExternalHostsInDom0(bool in_dom0) {
  external_in_dom0_ = in_dom0 ? external_hosts_ : std::vector<std::string>{};
}

json DomainCpuSampling::Describe() const {
  if (!xen_) {
    json sources = json::array();
    for (const collectors::CpuSource& source : sources_) {
      sources.push_back(collectors::ToJson(source));
    }
    return {{"method", Method()}, {"sources", sources}};
  }
  return {{"method", Method()},
          {"domains",
           [&] {
             std::vector<std::string> d = {"dom0"};
             d.insert(d.end(), guests_.begin(), guests_.end());
             return d;
           }()},
          {"xl_names", xl_names_},
          {"external_hosts", external_hosts_},
          {"external_hosts_in_dom0", external_in_dom0_},
          {"note",
           "xentop reports Xen domains only: external hosts get no rows; those in dom0 "
           "(namespaces, as in the lab) are inside dom0's figure (its rows are flagged "
           "includes_external_hosts), the others are other machines, not sampled"}};
}

std::unique_ptr<collectors::DomainCpuSampler> DomainCpuSampling::Start(
    const DomainCpuSamplingOptions& options) const {
  if (!xen_) {
    collectors::CpuSamplerOptions o;
    o.sources = sources_;
    o.interval = options.interval;
    o.on_interval = options.on_interval;
    return collectors::CpuSampler::Start(std::move(o));
  }
  collectors::XentopSamplerOptions o;
  o.interval = options.interval;
  o.xentop = options.xentop;
  o.guests = guests_;
  o.xl_names = xl_names_;
  o.external_hosts_in_dom0 = external_in_dom0_;
  if (!options.raw_dir.empty()) o.raw_output = options.raw_dir / "xentop.txt";
  // The FIFO goes to the run's state directory (removed with the run) when it exists.
  std::error_code ec;
  if (!work_dir_.empty() && std::filesystem::is_directory(work_dir_, ec)) o.work_dir = work_dir_;
  o.on_interval = options.on_interval;
  return collectors::XentopSampler::Start(std::move(o));
}

std::unique_ptr<collectors::DomainCpuSampler> StartDomainCpuSampler(
    const platform::Platform& platform, const scenario::Topology& topology,
    const DomainCpuSamplingOptions& options) {
  return DomainCpuSampling::ForPlatform(platform, topology).Start(options);
}

}  // namespace nfb::runner
