#include "platform_test_util.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "nfb/core/cancel.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"

namespace nfb::platform::testing {
namespace fs = std::filesystem;

namespace {

scenario::Mac M(const char* text) { return *scenario::Mac::Parse(text); }
scenario::Ipv4Prefix A(const char* text) { return *scenario::Ipv4Prefix::Parse(text); }

}  // namespace

scenario::Topology PingTopology() {
  scenario::Topology t;
  t.dom0.cpus = {0};
  t.dom0.mac = M("02:00:00:00:00:01");
  t.dom0.address = A("198.18.0.1/24");
  t.dom0.nic.name = "peth0";
  t.dom0.nic.mac = M("02:00:00:00:00:02");

  scenario::GuestSpec domu1;
  domu1.name = "domu1";
  domu1.domid = 1;
  domu1.vcpus = {1};
  domu1.mac = M("02:00:00:00:01:01");
  domu1.address = A("198.18.0.11/24");
  scenario::GuestSpec domu2 = domu1;
  domu2.name = "domu2";
  domu2.domid = 2;
  domu2.mac = M("02:00:00:00:02:01");
  domu2.address = A("198.18.0.12/24");
  t.guests = {domu1, domu2};

  scenario::ExternalHostSpec loadgen;
  loadgen.name = "loadgen";
  loadgen.cpus = {0};
  loadgen.mac = M("02:00:00:00:10:01");
  loadgen.address = A("198.18.0.100/24");
  t.external_hosts = {loadgen};
  return t;
}

ProcessResult Ping(const Platform& platform, const std::string& host, const std::string& address,
                   int count) {
  ProcessSpec spec = platform.Command(
      host, {"ping", "-n", "-q", "-c", std::to_string(count), "-i", "0.01", "-W", "1", address});
  return RunProcess(spec, std::chrono::seconds(20));
}

LinkCounters Counters(const std::string& netns, const std::string& device) {
  ProcessResult r =
      RunChecked(ProcessSpec({"ip", "-n", netns, "-s", "-j", "link", "show", "dev", device}),
                 std::chrono::seconds(10));
  nlohmann::json links = nlohmann::json::parse(r.out);
  const nlohmann::json& stats = links.at(0).at("stats64");
  return {stats.at("rx").at("packets").get<uint64_t>(),
          stats.at("tx").at("packets").get<uint64_t>()};
}

std::vector<std::string> NamespacesWithPrefix(const std::string& prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/run/netns", ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0) out.push_back(name);
  }
  return out;
}

std::vector<fs::path> RunCgroups(const std::string& hex) {
  std::vector<fs::path> out;
  std::error_code ec;
  std::vector<fs::path> parents{"/sys/fs/cgroup/nfbench"};
  for (const auto& entry : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    parents.push_back(entry.path() / "nfbench");
  }
  for (const fs::path& parent : parents) {
    if (fs::exists(parent / hex, ec)) out.push_back(parent / hex);
  }
  return out;
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void SuitePlatform::Provision() {
  if (::geteuid() != 0) return;
  if (std::getenv("NFB_TEST_DEBUG")) log::SetLevel(log::Level::kDebug);
  ClearInterrupt();
  run_id_ = RunId::Generate();
  platform_ = std::make_unique<NetnsPlatform>(PingTopology(), *run_id_);
  platform_->Provision();
}

std::vector<std::string> SuitePlatform::Teardown() {
  if (!platform_) return {};
  platform_->Teardown();
  platform_.reset();
  return NamespacesWithPrefix(run_id_->Prefix() + "-");
}

}  // namespace nfb::platform::testing
