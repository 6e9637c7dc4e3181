// Loading valid files: every checked-in scenario, and fixtures whose decoded values are known.
#include "nfb/scenario/loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "nfb/core/error.h"
#include "test_util.h"

namespace nfb::scenario {
namespace {

namespace fs = std::filesystem;
using testing::Dump;
using testing::Fixture;
using testing::InputErrorOf;
using testing::ReadFile;

// Like falco's schema_validate_config: nothing under scenarios/ may rot. Each file must load as
// written and with each profile it defines, and its resolved form must load to the same thing.
TEST(ScenarioFilesTest, EveryScenarioLoadsWithEveryProfile) {
  const fs::path dir = fs::path(NFB_SOURCE_DIR) / "scenarios";
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << "no scenario files under " << dir;
  ASSERT_NE(std::find(files.begin(), files.end(), dir / "ping_latency.yaml"), files.end());
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.string());
    LoadedScenario loaded;
    ASSERT_NO_THROW(loaded = LoadScenarioFile(file))
        << InputErrorOf([&] { LoadScenarioFile(file); });
    EXPECT_EQ(loaded.source, file.string());
    EXPECT_FALSE(loaded.scenario.configurations.empty());
    std::vector<std::string> profiles = loaded.scenario.profiles;
    profiles.push_back("");
    for (const std::string& profile : profiles) {
      SCOPED_TRACE("profile '" + profile + "'");
      LoadOptions options;
      options.profile = profile;
      const LoadedScenario with_profile = LoadScenarioFile(file, options);
      EXPECT_EQ(with_profile.profile, profile);
      const LoadedScenario again = LoadScenarioString(with_profile.resolved_yaml, "resolved.yaml");
      EXPECT_EQ(Dump(again.scenario), Dump(with_profile.scenario));
      EXPECT_EQ(again.resolved_yaml, with_profile.resolved_yaml);
    }
  }
}

TEST(LoaderTest, DecodesThePingScenario) {
  const LoadedScenario loaded = LoadScenarioFile(Fixture("valid/base.yaml"));
  const Scenario& s = loaded.scenario;
  EXPECT_EQ(loaded.profile, "");
  EXPECT_EQ(s.schema, 1);
  EXPECT_EQ(s.name, "ping-latency");
  EXPECT_EQ(s.description, "ICMP echo RTT per offload configuration (thesis Figure 6.1)");

  EXPECT_EQ(s.topology.dom0.cpus, std::vector<int>{0});
  EXPECT_EQ(s.topology.dom0.mac.ToString(), "02:00:00:00:00:01");
  EXPECT_EQ(s.topology.dom0.address.ToString(), "198.18.0.1/24");
  EXPECT_EQ(s.topology.dom0.nic.name, "peth0");
  EXPECT_EQ(s.topology.dom0.nic.mac.ToString(), "02:00:00:00:00:02");
  ASSERT_EQ(s.topology.guests.size(), 1u);
  const GuestSpec& g = s.topology.guests[0];
  EXPECT_EQ(g.name, "domu1");
  EXPECT_EQ(g.domid, 1);
  EXPECT_EQ(g.vcpus, std::vector<int>{1});
  EXPECT_EQ(g.memory_mb, 1024);
  EXPECT_EQ(g.mac.ToString(), "02:00:00:00:01:01");
  EXPECT_EQ(g.address.ToString(), "198.18.0.11/24");
  ASSERT_EQ(s.topology.external_hosts.size(), 1u);
  EXPECT_EQ(s.topology.external_hosts[0].name, "loadgen");
  EXPECT_EQ(s.topology.external_hosts[0].address.AddressString(), "198.18.0.100");

  ASSERT_EQ(s.programs.size(), 1u);
  const ProgramSpec& p = s.programs.at("icmp_echo");
  EXPECT_EQ(p.name, "icmp_echo");
  EXPECT_EQ(p.object, "icmp_echo");
  EXPECT_EQ(p.hook, Hook::kTc);

  ASSERT_EQ(s.configurations.size(), 5u);
  EXPECT_EQ(s.configurations[0].name, "domU plain");
  EXPECT_EQ(s.configurations[0].target, "domu1");
  EXPECT_FALSE(s.configurations[0].stop_guests);
  EXPECT_FALSE(s.configurations[0].install.has_value());
  ASSERT_TRUE(s.configurations[1].install.has_value());
  EXPECT_EQ(s.configurations[1].install->program, "icmp_echo");
  EXPECT_EQ(s.configurations[1].install->at, InstallAt::kGuest);
  EXPECT_EQ(s.configurations[2].name, "XenBPF");
  EXPECT_EQ(s.configurations[2].install->at, InstallAt::kOffload);
  EXPECT_EQ(s.configurations[3].target, "dom0");
  EXPECT_TRUE(s.configurations[3].stop_guests);
  EXPECT_EQ(s.configurations[4].install->at, InstallAt::kDom0);

  const auto* ping = std::get_if<PingWorkload>(&s.workload);
  ASSERT_NE(ping, nullptr);
  EXPECT_EQ(ping->from, "loadgen");
  EXPECT_EQ(ping->count, 10000u);
  EXPECT_EQ(ping->warmup, 100u);
  EXPECT_DOUBLE_EQ(ping->interval_ms, 1.0);
  EXPECT_DOUBLE_EQ(ping->timeout_s, 2.0);

  EXPECT_EQ(s.capture->host, "loadgen");
  EXPECT_EQ(s.capture->timestamps, TimestampRequest::kAuto);
  EXPECT_EQ(s.capture->snaplen, 128);
  EXPECT_EQ(s.capture->buffer_mb, 32);
  EXPECT_EQ(s.repetitions, 1);
  EXPECT_EQ(s.order, Order::kInterleaved);
  EXPECT_EQ(s.profiles, (std::vector<std::string>{"paper", "quick"}));

  EXPECT_EQ(s.report.metric, "rtt");
  EXPECT_EQ(s.report.unit, "ms");
  EXPECT_EQ(s.report.baseline, "domU plain");
  const std::vector<std::pair<std::string, double>> reference = {{"domU plain", 0.18},
                                                                 {"domU BPF", 0.18},
                                                                 {"XenBPF", 0.14},
                                                                 {"dom0 plain", 0.145},
                                                                 {"dom0 BPF", 0.14}};
  EXPECT_EQ(s.report.reference, reference);
}

TEST(LoaderTest, AppliesDefaultsToAMinimalFile) {
  const Scenario s = LoadScenarioFile(Fixture("valid/minimal.yaml")).scenario;
  const Scenario defaults;
  EXPECT_EQ(s.name, "minimal");
  EXPECT_EQ(s.description, "");
  EXPECT_EQ(s.topology.dom0.cpus, std::vector<int>{0});
  EXPECT_EQ(s.topology.dom0.nic.name, "peth0");
  EXPECT_TRUE(s.topology.guests.empty());
  ASSERT_EQ(s.topology.external_hosts.size(), 1u);
  EXPECT_EQ(s.topology.external_hosts[0].cpus, std::vector<int>{0});
  EXPECT_TRUE(s.programs.empty());
  ASSERT_EQ(s.configurations.size(), 1u);
  EXPECT_FALSE(s.configurations[0].stop_guests);
  EXPECT_FALSE(s.configurations[0].install.has_value());
  const auto* ping = std::get_if<PingWorkload>(&s.workload);
  ASSERT_NE(ping, nullptr);
  EXPECT_EQ(ping->from, "gen");
  EXPECT_EQ(ping->count, 10000u);
  EXPECT_EQ(ping->warmup, 100u);
  EXPECT_DOUBLE_EQ(ping->interval_ms, 1.0);
  EXPECT_DOUBLE_EQ(ping->timeout_s, 2.0);
  EXPECT_EQ(s.capture->host, "gen");
  EXPECT_EQ(s.capture->timestamps, TimestampRequest::kAuto);
  EXPECT_EQ(s.capture->snaplen, 128);
  EXPECT_EQ(s.capture->buffer_mb, 32);
  EXPECT_EQ(s.repetitions, 1);
  EXPECT_EQ(s.order, Order::kInterleaved);
  EXPECT_TRUE(s.profiles.empty());
  EXPECT_EQ(s.report.metric, "rtt");
  EXPECT_EQ(s.report.unit, "ms");
  EXPECT_EQ(s.report.baseline, "");
  EXPECT_TRUE(s.report.reference.empty());
  EXPECT_EQ(s.repetitions, defaults.repetitions);
}

TEST(LoaderTest, DecodesEveryKeyOfTheFullFixture) {
  const Scenario s = LoadScenarioFile(Fixture("valid/full.yaml")).scenario;
  EXPECT_EQ(Dump(s),
            "schema=1 name=full.scenario_2 description=Every key, non-default values\n"
            "dom0 cpus=[0,2] mac=02:00:00:00:00:0a address=198.19.0.1/16 "
            "nic=eth_out/06:00:00:00:00:02\n"
            "guest web domid=5 vcpus=[3,1] memory_mb=2048 mac=02:00:00:00:01:05 "
            "address=198.19.1.5/16\n"
            "guest cache_2 domid=32751 vcpus=[0,2] memory_mb=64 mac=02:00:00:00:01:07 "
            "address=198.19.255.254/16\n"
            "external gen_a cpus=[1023] mac=02:00:00:00:10:01 address=198.19.2.1/16\n"
            "external sink cpus=[0,2] mac=02:00:00:00:10:02 address=198.19.2.2/16\n"
            "program drop name=drop object=udp_drop hook=tc\n"
            "program fast_path name=fast_path object=icmp_echo hook=xdp\n"
            "configuration 'offloaded' target=web stop_guests=false install=fast_path@offload\n"
            "configuration 'in the guest' target=cache_2 stop_guests=false install=drop@guest\n"
            "configuration 'dom0' target=dom0 stop_guests=true install=fast_path@dom0\n"
            "ping from=gen_a count=10000000 warmup=0 interval_ms=0.001 timeout_s=600\n"
            "capture host=sink timestamps=adapter_unsynced snaplen=65535 buffer_mb=1024\n"
            "repetitions=1000 order=sequential\n"
            "profiles: smoke empty\n"
            "report metric=latency unit=us baseline=''\n"
            "reference 'dom0'=0.001\n"
            "reference 'in the guest'=12\n");
}

TEST(LoaderTest, ResolvedYamlIsStable) {
  const std::string text = ReadFile(Fixture("valid/base.yaml"));
  const LoadOptions options{"quick", {"workload.count=500", "topology.guests.0.vcpus=[0, 1]"}, 3};
  const LoadedScenario a = LoadScenarioString(text, "a.yaml", options);
  const LoadedScenario b = LoadScenarioString(text, "b.yaml", options);
  EXPECT_EQ(a.resolved_yaml, b.resolved_yaml);

  // Comments, blank lines and trailing spaces are not part of what runs.
  std::string noisy = "# a new leading comment\n\n";
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    const std::string line = text.substr(start, end - start);
    noisy += line + (line.empty() || line.back() == ':' ? "" : "   # noise") + "\n\n";
    if (end == std::string::npos) break;
    start = end + 1;
  }
  EXPECT_EQ(LoadScenarioString(noisy, "noisy.yaml", options).resolved_yaml, a.resolved_yaml);

  // A different value changes the bytes.
  LoadOptions other = options;
  other.overrides.push_back("workload.warmup=21");
  EXPECT_NE(LoadScenarioString(text, "a.yaml", other).resolved_yaml, a.resolved_yaml);
}

TEST(LoaderTest, ResolvedYamlIsAFixedPoint) {
  for (const char* fixture : {"valid/base.yaml", "valid/minimal.yaml", "valid/full.yaml"}) {
    SCOPED_TRACE(fixture);
    const LoadedScenario first = LoadScenarioFile(Fixture(fixture));
    const LoadedScenario second = LoadScenarioString(first.resolved_yaml, "resolved.yaml");
    EXPECT_EQ(second.resolved_yaml, first.resolved_yaml);
    EXPECT_EQ(Dump(second.scenario), Dump(first.scenario));
  }
}

TEST(LoaderTest, ResolvedYamlKeepsQuotedStringsQuotedAndAliasesExpanded) {
  const std::string resolved = LoadScenarioFile(Fixture("valid/full.yaml")).resolved_yaml;
  EXPECT_NE(resolved.find("    mac: \"06:00:00:00:00:02\"\n"), std::string::npos) << resolved;
  EXPECT_NE(resolved.find("  baseline: \"\"\n"), std::string::npos) << resolved;
  // `vcpus: *dom0_cpus` became a copy, so an override of one place cannot change another.
  EXPECT_EQ(resolved.find('&'), std::string::npos) << resolved;
  EXPECT_EQ(resolved.find('*'), std::string::npos) << resolved;
  const LoadedScenario edited =
      LoadScenarioFile(Fixture("valid/full.yaml"), LoadOptions{"", {"topology.dom0.cpus=[1]"}, {}});
  EXPECT_EQ(edited.scenario.topology.dom0.cpus, std::vector<int>{1});
  EXPECT_EQ(edited.scenario.topology.guests[1].vcpus, (std::vector<int>{0, 2}));
  EXPECT_EQ(edited.scenario.topology.external_hosts[1].cpus, (std::vector<int>{0, 2}));
}

TEST(LoaderTest, StringAndFileAgree) {
  const fs::path file = Fixture("valid/base.yaml");
  const LoadedScenario from_file = LoadScenarioFile(file);
  const LoadedScenario from_string = LoadScenarioString(ReadFile(file), "named.yaml");
  EXPECT_EQ(from_string.source, "named.yaml");
  EXPECT_EQ(from_string.resolved_yaml, from_file.resolved_yaml);
  EXPECT_EQ(Dump(from_string.scenario), Dump(from_file.scenario));
}

TEST(LoaderTest, UnreadableFilesAreInputErrors) {
  EXPECT_EQ(InputErrorOf([] { LoadScenarioFile("/nonexistent/nfb.yaml"); }),
            "/nonexistent/nfb.yaml: cannot read: No such file or directory");
  const std::string dir = Fixture("valid").string();
  EXPECT_EQ(InputErrorOf([&] { LoadScenarioFile(dir); }),
            dir + ": cannot read: not a regular file");
}

}  // namespace
}  // namespace nfb::scenario
