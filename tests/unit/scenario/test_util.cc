#include "test_util.h"

#include <fmt/core.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <variant>

#include "nfb/core/error.h"

namespace nfb::scenario::testing {

std::filesystem::path Fixture(const std::string& name) {
  return std::filesystem::path(NFB_SOURCE_DIR) / "tests/fixtures/scenario" / name;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string InputErrorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("<not an InputError: ") + e.what() + ">";
  } catch (...) {
    return "<not an InputError: unknown exception>";
  }
  return "<no error>";
}

namespace {

std::string Cpus(const std::vector<int>& cpus) {
  std::string out;
  for (int c : cpus) out += (out.empty() ? "" : ",") + std::to_string(c);
  return "[" + out + "]";
}

}  // namespace

std::string Dump(const Scenario& s) {
  std::string out;
  auto line = [&](const std::string& text) { out += text + "\n"; };
  line(fmt::format("schema={} name={} description={}", s.schema, s.name, s.description));
  const Dom0Spec& d = s.topology.dom0;
  line(fmt::format("dom0 cpus={} mac={} address={} nic={}/{}", Cpus(d.cpus), d.mac.ToString(),
                   d.address.ToString(), d.nic.name, d.nic.mac.ToString()));
  for (const GuestSpec& g : s.topology.guests) {
    line(fmt::format("guest {} domid={} vcpus={} memory_mb={} mac={} address={}", g.name, g.domid,
                     Cpus(g.vcpus), g.memory_mb, g.mac.ToString(), g.address.ToString()));
  }
  for (const ExternalHostSpec& h : s.topology.external_hosts) {
    line(fmt::format("external {} cpus={} mac={} address={}", h.name, Cpus(h.cpus),
                     h.mac.ToString(), h.address.ToString()));
  }
  for (const auto& [name, p] : s.programs) {
    line(fmt::format("program {} name={} object={} hook={}", name, p.name, p.object,
                     ToString(p.hook)));
  }
  for (const Configuration& c : s.configurations) {
    line(fmt::format("configuration '{}' target={} stop_guests={} install={}", c.name, c.target,
                     c.stop_guests,
                     c.install ? c.install->program + "@" + ToString(c.install->at) : "-"));
  }
  if (const auto* ping = std::get_if<PingWorkload>(&s.workload)) {
    line(fmt::format("ping from={} count={} warmup={} interval_ms={} timeout_s={}", ping->from,
                     ping->count, ping->warmup, ping->interval_ms, ping->timeout_s));
  }
  if (s.capture) {
    line(fmt::format("capture host={} timestamps={} snaplen={} buffer_mb={}", s.capture->host,
                     ToString(s.capture->timestamps), s.capture->snaplen, s.capture->buffer_mb));
  }
  line(fmt::format("repetitions={} order={}", s.repetitions, ToString(s.order)));
  std::string profiles;
  for (const std::string& p : s.profiles) profiles += " " + p;
  line("profiles:" + profiles);
  line(fmt::format("report metric={} unit={} baseline='{}'", s.report.metric, s.report.unit,
                   s.report.baseline));
  for (const auto& [name, value] : s.report.reference) {
    line(fmt::format("reference '{}'={}", name, value));
  }
  return out;
}

}  // namespace nfb::scenario::testing
