// Checks between decoded values: unique names, MACs, addresses and domids, one subnet, and every
// reference (targets, programs, hosts, baseline) resolving.
#include <fmt/core.h>

#include <map>
#include <variant>

#include "decode.h"

namespace nfb::scenario::internal {
namespace {

class Validator {
 public:
  Validator(const Scenario& s, const Node& root, const Context& ctx)
      : s_(s), root_(root), ctx_(ctx) {}

  void Run() {
    CheckHosts();
    CheckConfigurations();
    CheckWorkload();
    CheckReport();
  }

 private:
  [[noreturn]] void Fail(const Path& path, std::string_view message, bool at_key = false) const {
    ctx_.Fail(Locate(root_, path, at_key), path, message);
  }

  // "'x' is not <what> (did you mean 'y'?)" or "... (<list_name>: a, b)".
  [[noreturn]] void Undefined(const Path& path, const std::string& value, std::string_view what,
                              std::string_view list_name, const std::vector<std::string>& known,
                              bool at_key = false) const {
    const std::string hint = ClosestMatch(value, known);
    Fail(path,
         fmt::format("'{}' is not {} ({})", Excerpt(value), what,
                     hint.empty() ? fmt::format("{}: {}", list_name, JoinNames(known))
                                  : fmt::format("did you mean '{}'?", hint)),
         at_key);
  }

  // Records `key` as used at `path`; a second use is an error naming the first.
  template <typename K>
  void Unique(std::map<K, Path>& used, const K& key, const Path& path, std::string_view what,
              const std::string& shown) const {
    auto [it, inserted] = used.emplace(key, path);
    if (!inserted) {
      Fail(path, fmt::format("{} {} is already used by {}", what, shown, it->second.str()));
    }
  }

  void CheckHosts() {
    const Topology& t = s_.topology;
    const Path topo = Path().Key("topology");
    const Path dom0 = topo.Key("dom0");
    // Guests and external hosts share one name space: both become namespace names.
    std::map<std::string, Path> names;
    std::map<int, Path> domids;
    std::map<std::string, Path> macs;
    std::map<uint32_t, Path> addresses;
    const Ipv4Prefix& subnet = t.dom0.address;

    auto check_address = [&](const Ipv4Prefix& address, const Path& path) {
      if (address.prefix_len != subnet.prefix_len || address.Network() != subnet.Network()) {
        Fail(path, fmt::format("{} is not in dom0's subnet {}/{} (all hosts share one subnet)",
                               address.ToString(), Ipv4Prefix{subnet.Network(), 0}.AddressString(),
                               subnet.prefix_len));
      }
      Unique(addresses, address.address, path, "address", address.AddressString());
    };

    Unique(macs, t.dom0.mac.ToString(), dom0.Key("mac"), "MAC", t.dom0.mac.ToString());
    Unique(macs, t.dom0.nic.mac.ToString(), dom0.Key("nic").Key("mac"), "MAC",
           t.dom0.nic.mac.ToString());
    check_address(t.dom0.address, dom0.Key("address"));
    for (size_t i = 0; i < t.guests.size(); ++i) {
      const GuestSpec& g = t.guests[i];
      const Path p = topo.Key("guests").Index(i);
      Unique(names, g.name, p.Key("name"), "name", "'" + g.name + "'");
      Unique(domids, g.domid, p.Key("domid"), "domid", std::to_string(g.domid));
      Unique(macs, g.mac.ToString(), p.Key("mac"), "MAC", g.mac.ToString());
      check_address(g.address, p.Key("address"));
    }
    for (size_t i = 0; i < t.external_hosts.size(); ++i) {
      const ExternalHostSpec& h = t.external_hosts[i];
      const Path p = topo.Key("external_hosts").Index(i);
      Unique(names, h.name, p.Key("name"), "name", "'" + h.name + "'");
      Unique(macs, h.mac.ToString(), p.Key("mac"), "MAC", h.mac.ToString());
      check_address(h.address, p.Key("address"));
    }
  }

  std::vector<std::string> GuestNames() const {
    std::vector<std::string> names;
    for (const GuestSpec& g : s_.topology.guests) names.push_back(g.name);
    return names;
  }

  std::vector<std::string> ExternalNames() const {
    std::vector<std::string> names;
    for (const ExternalHostSpec& h : s_.topology.external_hosts) names.push_back(h.name);
    return names;
  }

  std::vector<std::string> ConfigurationNames() const {
    std::vector<std::string> names;
    for (const Configuration& c : s_.configurations) names.push_back(c.name);
    return names;
  }

  void CheckConfigurations() {
    std::map<std::string, Path> names;
    std::vector<std::string> targets = GuestNames();
    targets.insert(targets.begin(), "dom0");
    std::vector<std::string> programs;
    for (const auto& [name, program] : s_.programs) programs.push_back(name);

    for (size_t i = 0; i < s_.configurations.size(); ++i) {
      const Configuration& c = s_.configurations[i];
      const Path p = Path().Key("configurations").Index(i);
      Unique(names, c.name, p.Key("name"), "name", "'" + c.name + "'");
      const bool at_dom0 = c.target == "dom0";
      if (!at_dom0 && s_.topology.FindGuest(c.target) == nullptr) {
        Undefined(p.Key("target"), c.target, "dom0 or a guest", "targets", targets);
      }
      if (c.stop_guests && !at_dom0) {
        Fail(
            p.Key("stop_guests"),
            fmt::format("true needs target dom0 (it would stop the target '{}' itself)", c.target));
      }
      if (!c.install) continue;
      const Path install = p.Key("install");
      if (s_.programs.find(c.install->program) == s_.programs.end()) {
        Undefined(install.Key("program"), c.install->program, "a program defined in programs",
                  "defined", programs);
      }
      const ProgramSpec& program = s_.programs.at(c.install->program);
      if (program.kind == ProgramKind::kIptables && c.install->at == InstallAt::kOffload) {
        Fail(install.Key("at"), fmt::format("'{}' is an iptables program; only BPF programs can be "
                                            "offloaded (use at: guest or at: dom0)",
                                            program.name));
      }
      const bool needs_dom0 = c.install->at == InstallAt::kDom0;
      if (needs_dom0 != at_dom0) {
        Fail(install.Key("at"),
             fmt::format("'{}' needs {}, but the target is '{}'", ToString(c.install->at),
                         needs_dom0 ? "target dom0" : "a guest as target", c.target));
      }
    }
  }

  void CheckExternal(const Path& path, const std::string& name) const {
    if (s_.topology.FindExternal(name) == nullptr) {
      Undefined(path, name, "an external host", "external hosts", ExternalNames());
    }
  }

  void CheckWorkload() {
    const Path w = Path().Key("workload");
    const auto* flood = std::get_if<UdpFloodWorkload>(&s_.workload);
    if (const auto* ping = std::get_if<PingWorkload>(&s_.workload)) {
      CheckExternal(w.Key("from"), ping->from);
      if (!s_.capture) Fail(Path().Key("capture"), "a ping workload needs a capture section");
    }
    if (flood != nullptr) CheckFlood(*flood, w);
    for (size_t i = 0; i < s_.configurations.size(); ++i) {
      const Configuration& c = s_.configurations[i];
      const Path p = Path().Key("configurations").Index(i);
      if (flood == nullptr && (c.receiver || !c.attack)) {
        Fail(p.Key(c.receiver ? "receiver" : "attack"),
             "attack and receiver only apply to a udp_flood workload");
      }
    }
    if (s_.capture) CheckExternal(Path().Key("capture").Key("host"), s_.capture->host);
  }

  void CheckFlood(const UdpFloodWorkload& flood, const Path& w) {
    if (flood.flow) {
      CheckExternal(w.Key("flow").Key("from"), flood.flow->from);
      if (flood.flow->port == flood.attack.port) {
        Fail(w.Key("attack").Key("port"),
             fmt::format("{} is also the flow's port; the attack must be told apart",
                         flood.attack.port));
      }
      if (flood.attack.start_s >= flood.flow->duration_s) {
        Fail(w.Key("attack").Key("start_s"),
             fmt::format("the attack would start after the flow ends ({} s)",
                         flood.flow->duration_s));
      }
    }
    CheckExternal(w.Key("attack").Key("from"), flood.attack.from);
    if (flood.flow && flood.flow->from == flood.attack.from) {
      Fail(w.Key("attack").Key("from"),
           "the attacker and the flow's sender must be different hosts (as in the thesis), or "
           "one would slow the other down");
    }
    for (size_t i = 0; i < s_.configurations.size(); ++i) {
      const Configuration& c = s_.configurations[i];
      if (s_.topology.FindGuest(c.target) == nullptr) {
        Fail(Path().Key("configurations").Index(i).Key("target"),
             "a udp_flood workload targets a guest (its iperf3 server and the attack's port)");
      }
    }
    if (!flood.cotenant) return;
    const Path co = w.Key("cotenant");
    if (s_.topology.FindGuest(flood.cotenant->guest) == nullptr) {
      Undefined(co.Key("guest"), flood.cotenant->guest, "a guest", "guests", GuestNames());
    }
    for (const Configuration& c : s_.configurations) {
      if (c.target == flood.cotenant->guest) {
        Fail(co.Key("guest"), fmt::format("'{}' is the flooded target of configuration '{}'; the "
                                          "co-tenant must be another guest",
                                          c.target, c.name));
      }
    }
  }

  void CheckReport() {
    const Path r = Path().Key("report");
    const std::vector<std::string> configs = ConfigurationNames();
    if (!s_.report.baseline.empty() && s_.FindConfiguration(s_.report.baseline) == nullptr) {
      Undefined(r.Key("baseline"), s_.report.baseline, "a configuration", "configurations",
                configs);
    }
    for (const auto& [name, value] : s_.report.reference) {
      if (s_.FindConfiguration(name) == nullptr) {
        Undefined(r.Key("reference").Key(name), name, "a configuration", "configurations", configs,
                  /*at_key=*/true);
      }
    }
  }

  const Scenario& s_;
  const Node& root_;
  const Context& ctx_;
};

}  // namespace

void ValidateScenario(const Scenario& scenario, const Node& root, const Context& ctx) {
  Validator(scenario, root, ctx).Run();
}

}  // namespace nfb::scenario::internal
