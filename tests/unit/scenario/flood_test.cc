// The udp_flood workload, iptables programs, BPF parameters and per-configuration attack
// switches: the shipped flood and co-tenant scenarios decode to what they say, and each misuse
// fails with a message at the right place.
#include <gtest/gtest.h>

#include <string>

#include "nfb/core/error.h"
#include "nfb/scenario/loader.h"
#include "test_util.h"

namespace nfb::scenario {
namespace {

std::filesystem::path ScenarioFile(const std::string& name) {
  return std::filesystem::path(NFB_SOURCE_DIR) / "scenarios" / name;
}

TEST(FloodScenarioTest, ShippedFloodScenarioDecodes) {
  const Scenario s = LoadScenarioFile(ScenarioFile("flood.yaml"), {}).scenario;
  const auto& flood = std::get<UdpFloodWorkload>(s.workload);
  ASSERT_TRUE(flood.flow);
  EXPECT_EQ(flood.flow->from, "loadgen");
  EXPECT_DOUBLE_EQ(flood.flow->rate_mbit, 1000);
  EXPECT_EQ(flood.flow->datagram_bytes, 1448);
  EXPECT_DOUBLE_EQ(flood.flow->duration_s, 180);
  EXPECT_EQ(flood.attack.from, "attacker");
  EXPECT_EQ(flood.attack.frame_bytes, 72);
  EXPECT_EQ(flood.attack.packets, 25'000'000u);
  EXPECT_DOUBLE_EQ(flood.attack.start_s, 45);
  EXPECT_EQ(flood.attack.generator, GeneratorKind::kAuto);
  EXPECT_FALSE(flood.cotenant);
  EXPECT_FALSE(s.capture);
  EXPECT_TRUE(s.cpu_sampling.enabled);

  const ProgramSpec& drop = s.programs.at("udp_drop");
  EXPECT_EQ(drop.kind, ProgramKind::kBpf);
  ASSERT_EQ(drop.parameters.size(), 1u);
  EXPECT_EQ(drop.parameters[0].first, "port");
  EXPECT_EQ(drop.parameters[0].second, 9999u);
  const ProgramSpec& iptables = s.programs.at("iptables_drop");
  EXPECT_EQ(iptables.kind, ProgramKind::kIptables);
  ASSERT_EQ(iptables.iptables_rules.size(), 1u);
  EXPECT_EQ(iptables.iptables_rules[0], "INPUT -p udp --dport 9999 -j DROP");

  ASSERT_EQ(s.configurations.size(), 5u);
  EXPECT_FALSE(s.configurations[0].receiver);
  EXPECT_TRUE(s.configurations[1].receiver);
  for (const Configuration& c : s.configurations) EXPECT_TRUE(c.attack) << c.name;
}

TEST(FloodScenarioTest, QuickProfileScalesTheRunDown) {
  LoadOptions options;
  options.profile = "quick";
  const Scenario s = LoadScenarioFile(ScenarioFile("flood.yaml"), options).scenario;
  const auto& flood = std::get<UdpFloodWorkload>(s.workload);
  EXPECT_DOUBLE_EQ(flood.flow->duration_s, 16);
  EXPECT_DOUBLE_EQ(flood.attack.start_s, 5);
  EXPECT_EQ(flood.attack.packets, 2'000'000u);
}

TEST(FloodScenarioTest, ShippedCotenantScenarioDecodes) {
  const Scenario s = LoadScenarioFile(ScenarioFile("cotenant.yaml"), {}).scenario;
  const auto& flood = std::get<UdpFloodWorkload>(s.workload);
  EXPECT_FALSE(flood.flow);
  ASSERT_TRUE(flood.cotenant);
  EXPECT_EQ(flood.cotenant->guest, "domu2");
  EXPECT_EQ(flood.cotenant->benchmark, CpuBenchmarkKind::kAuto);
  EXPECT_EQ(flood.attack.packets, 0u);
  EXPECT_EQ(s.repetitions, 5);
  ASSERT_EQ(s.configurations.size(), 6u);
  EXPECT_FALSE(s.configurations[0].attack);  // No Traffic
  EXPECT_TRUE(s.configurations[1].attack);
}

// Replaces `from` with `to` in the shipped flood scenario and returns the load error.
std::string FloodError(const std::string& file, const std::string& from, const std::string& to) {
  std::string text = testing::ReadFile(ScenarioFile(file));
  const size_t at = text.find(from);
  if (at == std::string::npos) return "fixture text not found: " + from;
  text.replace(at, from.size(), to);
  try {
    LoadScenarioString(text, file);
  } catch (const InputError& e) {
    return e.what();
  }
  return "loaded";
}

TEST(FloodScenarioTest, MisusesFailAtTheirKey) {
  struct Case {
    std::string file, from, to, expected;
  } cases[] = {
      {"flood.yaml", "install: {program: udp_drop, at: offload}",
       "install: {program: iptables_drop, at: offload}",
       "configurations[4].install.at: 'iptables_drop' is an iptables program"},
      {"flood.yaml", "    port: 9999\n    frame_bytes", "    port: 5201\n    frame_bytes",
       "workload.attack.port: 5201 is also the flow's port"},
      {"flood.yaml", "    from: attacker", "    from: loadgen",
       "workload.attack.from: the attacker and the flow's sender must be different hosts"},
      {"flood.yaml", "    start_s: 45", "    start_s: 200",
       "workload.attack.start_s: the attack would start after the flow ends"},
      {"flood.yaml", "    frame_bytes: 72", "    frame_bytes: 59",
       "workload.attack.frame_bytes: 59 is out of range (allowed 60..1514)"},
      {"flood.yaml", "generator: auto", "generator: pktgn",
       "workload.attack.generator: expected one of auto, pktgen, trafgen; got 'pktgn' (did you "
       "mean 'pktgen'?)"},
      {"flood.yaml", "iptables: [\"INPUT -p udp --dport 9999 -j DROP\"]",
       "iptables: [\"INPUT -p udp --dport 9999 -j DROP; reboot\"]",
       "programs.iptables_drop.iptables[0]: rules are split on spaces"},
      {"flood.yaml", "iptables: [\"INPUT -p udp --dport 9999 -j DROP\"]",
       "iptables: [\"INPUT -p udp --dport 9999\"]",
       "programs.iptables_drop.iptables[0]: 'INPUT -p udp --dport 9999' has no target"},
      {"flood.yaml", "iptables: [\"INPUT -p udp --dport 9999 -j DROP\"]",
       "iptables: [\"INPUT -j DROP\"]\n    hook: tc",
       "programs.iptables_drop.hook: an iptables program has no BPF object"},
      {"flood.yaml", "parameters: {port: 9999}", "parameters: {Port: 9999}",
       "programs.udp_drop.parameters.Port: expected a name matching"},
      {"flood.yaml", "parameters: {port: 9999}", "parameters: {port: -1}",
       "programs.udp_drop.parameters.port: -1 is out of range"},
      {"flood.yaml", "  - name: Unfiltered\n    target: domu1",
       "  - name: Unfiltered\n    target: dom0",
       "configurations[1].target: a udp_flood workload targets a guest"},
      {"flood.yaml", "  flow:\n", "  flaw:\n", "workload.flaw: unknown key (did you mean 'flow'?)"},
      {"cotenant.yaml", "    guest: domu2", "    guest: domu1",
       "workload.cotenant.guest: 'domu1' is the flooded target of configuration 'No Traffic'"},
      {"cotenant.yaml", "    guest: domu2", "    guest: domu3",
       "workload.cotenant.guest: 'domu3' is not a guest"},
      {"cotenant.yaml", "    benchmark: auto", "    benchmark: unixbench",
       "workload.cotenant.unixbench_dir: benchmark unixbench needs unixbench_dir"},
      {"cotenant.yaml", "  cotenant:\n    guest: domu2", "  cotenant_off:\n    guest: domu2",
       "workload.cotenant_off: unknown key"},
  };
  for (const Case& c : cases) {
    const std::string error = FloodError(c.file, c.from, c.to);
    EXPECT_NE(error.find(c.expected), std::string::npos)
        << c.file << ": " << c.to << "\n  got: " << error << "\n  want: " << c.expected;
  }
}

TEST(FloodScenarioTest, AttackSwitchesOnlyApplyToFloods) {
  std::string text = testing::ReadFile(ScenarioFile("ping_latency.yaml"));
  const std::string from = "  - name: domU plain\n    target: domu1\n";
  ASSERT_NE(text.find(from), std::string::npos);
  text.replace(text.find(from), from.size(), from + "    receiver: true\n");
  try {
    LoadScenarioString(text, "ping.yaml");
    FAIL() << "loaded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "configurations[0].receiver: attack and receiver only apply to a udp_flood"),
              std::string::npos)
        << e.what();
  }
}

TEST(FloodScenarioTest, AFloodMeasuresSomething) {
  std::string text = testing::ReadFile(ScenarioFile("cotenant.yaml"));
  const size_t from = text.find("  cotenant:\n");
  const size_t to = text.find("cpu_sampling:");
  ASSERT_NE(from, std::string::npos);
  text.erase(from, to - from);
  try {
    LoadScenarioString(text, "cotenant.yaml");
    FAIL() << "loaded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("give a flow, a cotenant or both"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace nfb::scenario
