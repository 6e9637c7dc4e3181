// Profiles (`profiles:` + LoadOptions::profile), `-o key.path=value` overrides and --repetitions.
#include <gtest/gtest.h>

#include "nfb/scenario/loader.h"
#include "test_util.h"

namespace nfb::scenario {
namespace {

using testing::Dump;
using testing::Fixture;
using testing::InputErrorOf;

const PingWorkload& Ping(const Scenario& s) { return std::get<PingWorkload>(s.workload); }

LoadedScenario Load(const std::string& fixture, const std::string& profile,
                    const std::vector<std::string>& overrides = {},
                    std::optional<int> repetitions = std::nullopt) {
  return LoadScenarioFile(Fixture(fixture), LoadOptions{profile, overrides, repetitions});
}

std::string ErrorOf(const std::string& fixture, const std::string& profile,
                    const std::vector<std::string>& overrides,
                    std::optional<int> repetitions = std::nullopt) {
  return InputErrorOf([&] { Load(fixture, profile, overrides, repetitions); });
}

const std::string kBase = Fixture("valid/base.yaml").string();

TEST(ProfileTest, QuickScalesDownOnlyWhatItNames) {
  const LoadedScenario quick = Load("valid/base.yaml", "quick");
  EXPECT_EQ(quick.profile, "quick");
  EXPECT_EQ(Ping(quick.scenario).count, 300u);
  EXPECT_EQ(Ping(quick.scenario).warmup, 20u);
  EXPECT_EQ(quick.scenario.profiles, (std::vector<std::string>{"paper", "quick"}));

  // Everything else is the base file.
  LoadedScenario base = Load("valid/base.yaml", "");
  auto& ping = std::get<PingWorkload>(base.scenario.workload);
  ping.count = 300;
  ping.warmup = 20;
  EXPECT_EQ(Dump(quick.scenario), Dump(base.scenario));
}

TEST(ProfileTest, EmptyProfileIsTheBase) {
  const LoadedScenario paper = Load("valid/base.yaml", "paper");
  const LoadedScenario base = Load("valid/base.yaml", "");
  EXPECT_EQ(Dump(paper.scenario), Dump(base.scenario));
  EXPECT_EQ(paper.resolved_yaml, base.resolved_yaml);
}

TEST(ProfileTest, ResolvedYamlHasTheValuesAndKeepsTheSection) {
  const std::string resolved = Load("valid/base.yaml", "quick").resolved_yaml;
  EXPECT_NE(resolved.find("\n  count: 300\n  warmup: 20\n"), std::string::npos) << resolved;
  EXPECT_NE(resolved.find("\nprofiles:\n  paper: {}\n  quick:\n    workload.count: 300\n"),
            std::string::npos)
      << resolved;
}

TEST(ProfileTest, ListIndicesAndBracketsInProfileKeys) {
  const Scenario s = Load("valid/full.yaml", "smoke").scenario;
  EXPECT_EQ(Ping(s).count, 1u);
  EXPECT_EQ(s.topology.guests[1].vcpus, std::vector<int>{2});
  EXPECT_EQ(s.configurations[0].install->at, InstallAt::kGuest);
  // The alias source the guest shared is untouched.
  EXPECT_EQ(s.topology.dom0.cpus, (std::vector<int>{0, 2}));
}

TEST(ProfileTest, UnknownProfileListsTheDefinedOnes) {
  EXPECT_EQ(ErrorOf("valid/base.yaml", "fast", {}),
            kBase + ": --profile 'fast': unknown profile (the file defines: paper, quick)");
  EXPECT_EQ(ErrorOf("valid/minimal.yaml", "quick", {}),
            Fixture("valid/minimal.yaml").string() +
                ": --profile 'quick': unknown profile (the file defines no profiles)");
}

TEST(OverrideTest, SetsScalarsListsAndMaps) {
  const Scenario s = Load("valid/base.yaml", "",
                          {"workload.count=42", "topology.guests.0.vcpus=[0, 1]",
                           "topology.dom0.nic={name: eth9, mac: \"02:00:00:00:00:09\"}",
                           "report.reference.domU plain=0.25", "order=sequential"})
                         .scenario;
  EXPECT_EQ(Ping(s).count, 42u);
  EXPECT_EQ(s.topology.guests[0].vcpus, (std::vector<int>{0, 1}));
  EXPECT_EQ(s.topology.dom0.nic.name, "eth9");
  EXPECT_EQ(s.topology.dom0.nic.mac.ToString(), "02:00:00:00:00:09");
  EXPECT_DOUBLE_EQ(s.report.reference[0].second, 0.25);
  EXPECT_EQ(s.order, Order::kSequential);
}

TEST(OverrideTest, BracketIndexSyntax) {
  const Scenario s =
      Load("valid/base.yaml", "",
           {"topology.guests[0].vcpus=[1, 0]", "configurations[1].install.at=offload"})
          .scenario;
  EXPECT_EQ(s.topology.guests[0].vcpus, (std::vector<int>{1, 0}));
  EXPECT_EQ(s.configurations[1].install->at, InstallAt::kOffload);
}

TEST(OverrideTest, AddsKeysThatWereDefaulted) {
  const LoadedScenario loaded =
      Load("valid/minimal.yaml", "",
           {"capture.snaplen=256", "report.baseline=dom0 plain", "topology.dom0.nic.name=eth1"});
  EXPECT_EQ(loaded.scenario.capture->snaplen, 256);
  EXPECT_EQ(loaded.scenario.report.baseline, "dom0 plain");
  EXPECT_EQ(loaded.scenario.report.metric, "rtt");  // still the default
  EXPECT_EQ(loaded.scenario.topology.dom0.nic.name, "eth1");
  EXPECT_NE(loaded.resolved_yaml.find("  snaplen: 256\n"), std::string::npos);
  EXPECT_NE(loaded.resolved_yaml.find("report:\n  baseline: dom0 plain\n"), std::string::npos)
      << loaded.resolved_yaml;
}

TEST(OverrideTest, OverrideWinsOverProfileAndLaterOverrideWins) {
  const Scenario s =
      Load("valid/base.yaml", "quick",
           {"workload.count=500", "workload.interval_ms=0.5", "workload.interval_ms=2"})
          .scenario;
  EXPECT_EQ(Ping(s).count, 500u);
  EXPECT_EQ(Ping(s).warmup, 20u);  // from the profile
  EXPECT_DOUBLE_EQ(Ping(s).interval_ms, 2.0);
}

TEST(OverrideTest, QuotedValueIsAString) {
  EXPECT_EQ(ErrorOf("valid/base.yaml", "", {"workload.count=\"5\""}),
            kBase +
                ": override 'workload.count=\"5\"': workload.count: expected an unsigned "
                "integer, got the quoted string \"5\"");
  const Scenario s = Load("valid/base.yaml", "", {"description=\"42\""}).scenario;
  EXPECT_EQ(s.description, "42");
}

TEST(OverrideTest, Errors) {
  struct Case {
    std::vector<std::string> overrides;
    std::string expected;  // after "<file>: "
  };
  const Case cases[] = {
      {{"workload.count=abc"},
       "override 'workload.count=abc': workload.count: expected an unsigned integer, got 'abc'"},
      {{"workload.count=0"},
       "override 'workload.count=0': workload.count: 0 is out of range (allowed 1..10000000)"},
      {{"workload.cnt=5"},
       "override 'workload.cnt=5': workload.cnt: unknown key (did you mean "
       "'count'?)"},
      {{"workloads.count=5"},
       "override 'workloads.count=5': workloads: unknown key (did you mean 'workload'?)"},
      {{"topology.dom0={cpus: [0], bogus: 1}"},
       "override 'topology.dom0={cpus: [0], bogus: 1}': topology.dom0.bogus: unknown key"},
      {{"workload.count"}, "override 'workload.count': expected key.path=value"},
      {{"=5"}, "override '=5': invalid key path '': it is empty"},
      {{"workload..count=5"},
       "override 'workload..count=5': invalid key path 'workload..count': a component is empty"},
      {{"topology.guests[x].vcpus=[1]"},
       "override 'topology.guests[x].vcpus=[1]': invalid key path 'topology.guests[x].vcpus': "
       "expected [<index>]"},
      {{"topology.guests.1.vcpus=[1]"},
       "override 'topology.guests.1.vcpus=[1]': topology.guests[1]: index out of range (the list "
       "has 1 item)"},
      {{"topology.guests.first.vcpus=[1]"},
       "override 'topology.guests.first.vcpus=[1]': topology.guests: is a list; 'first' is not an "
       "index"},
      {{"topology[0]=1"}, "override 'topology[0]=1': topology: is a map, not a list"},
      {{"workload.count.max=1"},
       "override 'workload.count.max=1': workload.count: is '10000', not a map or a list, so it "
       "has no 'max'"},
      {{"capture.snaplen=[1"},
       "override 'capture.snaplen=[1': capture.snaplen: YAML syntax error: "},
      {{"topology.guests.0={a: 1, a: 2}"},
       "override 'topology.guests.0={a: 1, a: 2}': topology.guests[0].a: duplicate key"},
      {{"report.baseline="},
       "override 'report.baseline=': report.baseline: expected a string, got null"},
      {{"profiles.quick.workload.count=1"},
       "override 'profiles.quick.workload.count=1': profiles: cannot be set by a profile or an "
       "override"},
      {{"topology.guests.0.mac=02:00:00:00:00:01"},
       "override 'topology.guests.0.mac=02:00:00:00:00:01': topology.guests[0].mac: MAC "
       "02:00:00:00:00:01 is already used by topology.dom0.mac"},
      {{"workload.from=nobody"},
       "override 'workload.from=nobody': workload.from: 'nobody' is not an external host "
       "(external hosts: loadgen)"},
      {{"schema=2"},
       "override 'schema=2': schema: unsupported schema version 2 (this nfbench reads schema 1)"},
      // The first bad one is reported, even when a later one would be fine.
      {{"workload.count=5", "workload.warmup=-1", "workload.count=6"},
       "override 'workload.warmup=-1': workload.warmup: -1 is out of range (allowed 0..1000000)"},
  };
  for (const Case& c : cases) {
    const std::string expected = kBase + ": " + c.expected;
    const std::string actual = ErrorOf("valid/base.yaml", "", c.overrides);
    EXPECT_EQ(actual.substr(0, expected.size()), expected) << "full message: " << actual;
  }
}

TEST(OverrideTest, ErrorsInTheBaseFileAreReportedBeforeOverrides) {
  const std::string text = testing::ReadFile(Fixture("valid/minimal.yaml")) + "repetitions: 0\n";
  EXPECT_EQ(InputErrorOf([&] {
              LoadScenarioString(text, "m.yaml", LoadOptions{"", {"repetitions=2"}, {}});
            }),
            "m.yaml:21:14: repetitions: 0 is out of range (allowed 1..1000)");
}

TEST(RepetitionsTest, AppliedLast) {
  const LoadedScenario loaded = Load("valid/base.yaml", "quick", {"repetitions=3"}, 7);
  EXPECT_EQ(loaded.scenario.repetitions, 7);
  EXPECT_NE(loaded.resolved_yaml.find("\nrepetitions: 7\n"), std::string::npos);
  EXPECT_EQ(Load("valid/minimal.yaml", "", {}, 5).scenario.repetitions, 5);
}

TEST(RepetitionsTest, OutOfRange) {
  EXPECT_EQ(ErrorOf("valid/base.yaml", "", {}, 0),
            kBase + ": --repetitions 0: repetitions: 0 is out of range (allowed 1..1000)");
  EXPECT_EQ(ErrorOf("valid/base.yaml", "", {}, 1001),
            kBase + ": --repetitions 1001: repetitions: 1001 is out of range (allowed 1..1000)");
}

}  // namespace
}  // namespace nfb::scenario
