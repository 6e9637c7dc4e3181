// The runner's choice of per-domain CPU sampler (cpu_sampling.h): xentop on the xen platform,
// the netns sampler otherwise, behind one interface. The xen case runs the fake xentop of
// tests/data/xentop.
#include "nfb/runner/cpu_sampling.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "nfb/core/error.h"
#include "run_cpu_sampler.h"

namespace nfb::runner {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

class FakePlatform : public platform::Platform {
 public:
  FakePlatform(std::string name, json description, fs::path state)
      : name_(std::move(name)), description_(std::move(description)), state_(std::move(state)) {}
  std::string Name() const override { return name_; }
  void Provision() override {}
  void Teardown() noexcept override {}
  const platform::HostInfo& Host(const std::string&) const override { return host_; }
  std::string Dom0Netns() const override { return ""; }
  std::string Dom0NicInterface() const override { return "peth0"; }
  void StopGuests() override {}
  void StartGuests() override {}
  ProcessSpec Command(const std::string&, std::vector<std::string> argv) const override {
    return ProcessSpec(std::move(argv));
  }
  json Describe() const override { return description_; }
  fs::path StateDirectory() const override { return state_; }

 private:
  std::string name_;
  json description_;
  fs::path state_;
  platform::HostInfo host_;
};

scenario::Topology Topology() {
  scenario::Topology t;
  scenario::GuestSpec g;
  g.name = "selftest1";
  t.guests.push_back(g);
  scenario::ExternalHostSpec e;
  e.name = "loadgen";
  t.external_hosts.push_back(e);
  return t;
}

TEST(ExternalHostsInDom0Test, ReadsTheDescription) {
  json d = {{"hosts",
             {{{"name", "dom0"}, {"role", "dom0"}, {"netns", ""}},
              {{"name", "ns-host"}, {"role", "external"}, {"netns", "nfblab-ext"}},
              {{"name", "remote"}, {"role", "external"}, {"ssh", "root@10.0.0.2"}},
              {{"name", "said-so"}, {"role", "external"}, {"in_dom0", true}},
              {{"name", "said-not"}, {"role", "external"}, {"netns", "x"}, {"in_dom0", false}}}}};
  EXPECT_THAT(ExternalHostsInDom0(d), ::testing::ElementsAre("ns-host", "said-so"));
  d["hosts"].push_back(
      {{"name", "by-access"}, {"role", "external"}, {"access", "ssh"}, {"netns", "x"}});
  EXPECT_EQ(ExternalHostsInDom0(d).size(), 2u);
  EXPECT_TRUE(ExternalHostsInDom0(json::object()).empty());
  EXPECT_TRUE(ExternalHostsInDom0(json("nonsense")).empty());
}

TEST(GuestXlNamesTest, ReadsTheDescription) {
  json d = {{"hosts",
             {{{"name", "dom0"}, {"role", "dom0"}},
              {{"name", "domu1"}, {"role", "guest"}, {"xl_domain", "nfb1a2b3c-domu1"}},
              {{"name", "domu2"}, {"role", "guest"}, {"xl_domain", "domu2"}},
              {{"name", "domu3"}, {"role", "guest"}}}}};
  EXPECT_EQ(GuestXlNames(d), (std::map<std::string, std::string>{{"domu1", "nfb1a2b3c-domu1"}}));
}

TEST(DomainCpuSamplingTest, XenPlatformSamplesWithXentop) {
  fs::path state = fs::temp_directory_path() / ("nfb-cpu-sampling-" + std::to_string(::getpid()));
  fs::remove_all(state);
  fs::create_directories(state / "raw");
  const fs::path data = fs::path(NFB_SOURCE_DIR) / "tests/data/xentop";
  ::setenv("FAKE_XENTOP_OUTPUT", (data / "xentop_4.17_lab.txt").c_str(), 1);
  ::setenv("FAKE_XENTOP_DELAY", "0.1", 1);
  json description = {
      {"hosts",
       {{{"name", "selftest1"}, {"role", "guest"}, {"xl_domain", "selftest1"}},
        {{"name", "loadgen"}, {"role", "external"}, {"access", "local"}, {"netns", "nfb-x"}}}}};
  FakePlatform xen("xen", description, state);
  DomainCpuSampling sampling = DomainCpuSampling::ForPlatform(xen, Topology());
  EXPECT_EQ(sampling.Method(), "xentop");
  json described = sampling.Describe();
  EXPECT_EQ(described["domains"], json({"dom0", "selftest1"}));
  EXPECT_EQ(described["external_hosts_in_dom0"], json({"loadgen"}));

  DomainCpuSamplingOptions o;
  o.raw_dir = state / "raw";
  o.xentop = data / "fake-xentop";
  std::unique_ptr<collectors::DomainCpuSampler> sampler = sampling.Start(o);
  EXPECT_EQ(sampler->Method(), "xentop");
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  collectors::CpuSamplerReport report = sampler->Stop();
  ASSERT_EQ(report.rows.size(), 4u);  // frames 1 and 2 of the lab's capture
  EXPECT_EQ(report.rows[0].domain, "dom0");
  EXPECT_EQ(report.rows[0].flags, "includes_external_hosts");
  EXPECT_EQ(report.rows[1].domain, "selftest1");
  EXPECT_TRUE(fs::exists(state / "raw/xentop.txt"));
  json summary = collectors::SummaryJson(report);
  EXPECT_EQ(summary["method"], "xentop");
  EXPECT_EQ(summary["rows"], 4);
  // The FIFO's directory lived in the state directory and is gone.
  for (const auto& e : fs::directory_iterator(state)) {
    EXPECT_NE(e.path().filename().string().rfind("nfb-xentop-", 0), 0u) << e.path();
  }
  ::unsetenv("FAKE_XENTOP_OUTPUT");
  ::unsetenv("FAKE_XENTOP_DELAY");
  fs::remove_all(state);
}

TEST(DomainCpuSamplingTest, OtherPlatformsSampleWithTheNetnsSampler) {
  json description = {{"switch", {{"netns", "nfbtest-sw"}}},
                      {"hosts",
                       {{{"name", "dom0"},
                         {"role", "dom0"},
                         {"netns", "nfbtest-dom0"},
                         {"cgroups", json::array()},
                         {"cpus", {0}},
                         {"rps_cpus", {{"peth0", "1"}}},
                         {"nic", {{"switch_port", "swp0"}}}}}}};
  FakePlatform netns("netns", description, fs::temp_directory_path());
  DomainCpuSampling sampling = DomainCpuSampling::ForPlatform(netns, Topology());
  EXPECT_EQ(sampling.Method(), "netns");
  EXPECT_EQ(sampling.Describe()["sources"].size(), 1u);
  DomainCpuSamplingOptions o;
  o.interval = std::chrono::milliseconds(20);
  auto sampler = StartDomainCpuSampler(netns, Topology(), o);
  EXPECT_EQ(sampler->Method(), "netns");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  collectors::CpuSamplerReport report = sampler->Stop();
  EXPECT_EQ(report.method, "netns");
  EXPECT_GE(report.intervals, 1);
  EXPECT_EQ(report.rows.size(), size_t(report.intervals) * 3);  // dom0, unattributed, total
}

TEST(DomainCpuSamplingTest, XenRejectsAFractionalInterval) {
  FakePlatform xen("xen", json::object(), fs::temp_directory_path());
  DomainCpuSamplingOptions o;
  o.interval = std::chrono::milliseconds(500);
  EXPECT_THROW(StartDomainCpuSampler(xen, Topology(), o), InputError);
}


// The run-wide sampler (run_cpu_sampler.h) replaces a xentop that dies (xentop 4.17 segfaulted
// after 149 s in the lab): every segment's rows are kept on the run's clock, each failure is
// recorded, and the restarts stop after ten segments.
TEST(RunCpuSamplerTest, ReplacesADeadXentopAndKeepsEverySegmentsRows) {
  fs::path state = fs::temp_directory_path() / ("nfb-run-cpu-" + std::to_string(::getpid()));
  fs::remove_all(state);
  fs::create_directories(state / "bin");
  fs::create_directories(state / "raw");
  const fs::path data = fs::path(NFB_SOURCE_DIR) / "tests/data/xentop";
  fs::create_symlink(data / "fake-xentop", state / "bin/xentop");
  const std::string old_path = ::getenv("PATH");
  ::setenv("PATH", (state.string() + "/bin:" + old_path).c_str(), 1);
  ::setenv("FAKE_XENTOP_OUTPUT", (data / "xentop_4.17_lab.txt").c_str(), 1);
  ::setenv("FAKE_XENTOP_DELAY", "0.1", 1);
  ::setenv("FAKE_XENTOP_THEN", "kill", 1);  // every xentop dies after its frames

  json description = {
      {"hosts", {{{"name", "selftest1"}, {"role", "guest"}, {"xl_domain", "selftest1"}}}}};
  FakePlatform xen("xen", description, state);
  scenario::Scenario s;
  s.topology = Topology();
  s.cpu_sampling.enabled = true;
  RunRecord record;
  json context;
  {
    RunCpuSampler sampler(xen, s, state / "raw", record, context);
    sampler.BeginStep("A", 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    sampler.EndStep();
    sampler.Finish();
  }
  ::setenv("PATH", old_path.c_str(), 1);
  for (const char* v : {"FAKE_XENTOP_OUTPUT", "FAKE_XENTOP_DELAY", "FAKE_XENTOP_THEN"}) {
    ::unsetenv(v);
  }

  const json& segments = context["segments"];
  ASSERT_GE(segments.size(), 2u) << context.dump(1);
  EXPECT_LE(segments.size(), 10u);
  size_t rows = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    // Each one died, but the last may have been stopped before it could.
    if (i + 1 < segments.size()) {
      EXPECT_TRUE(segments[i].contains("error")) << segments[i].dump();
    }
    rows += segments[i]["rows"].get<size_t>();
  }
  EXPECT_TRUE(context.contains("error"));
  // Rows of every segment, in time order on the run's clock, all in step A's window.
  std::vector<double> t;
  for (const auto& [key, group] : record.cpu) {
    EXPECT_EQ(key, (std::vector<std::string>{"A", "1"}));
    for (const auto& row : group) t.push_back(row.t_s);
  }
  EXPECT_EQ(t.size(), rows);
  EXPECT_GT(rows, 2u);  // more than one segment's frames
  EXPECT_TRUE(std::is_sorted(t.begin(), t.end()));
  EXPECT_GT(t.back(), segments[1]["start_s"].get<double>());
  EXPECT_TRUE(fs::exists(state / "raw/xentop.txt"));
  EXPECT_TRUE(fs::exists(state / "raw/cpu-segment-2/xentop.txt"));
  fs::remove_all(state);
}

}  // namespace
}  // namespace nfb::runner
