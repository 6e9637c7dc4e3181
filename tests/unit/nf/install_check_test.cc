// CheckInstallable for every kind of program, and the helpers the installers are built from.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "iptables_rules.h"
#include "nfb/core/error.h"
#include "nfb/nf/install.h"
#include "nfb/scenario/loader.h"
#include "objects.h"

namespace nfb::nf {
namespace {

namespace fs = std::filesystem;
using scenario::Configuration;
using scenario::InstallAt;
using scenario::ProgramKind;
using scenario::ProgramSpec;
using scenario::Scenario;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// One configuration installing `program` at `at` (target domu1, or dom0 for at: dom0).
struct Fixture {
  Scenario scenario;
  Configuration config;

  Fixture(ProgramSpec program, InstallAt at) {
    scenario::GuestSpec guest;
    guest.name = "domu1";
    scenario.topology.guests.push_back(guest);
    config.name = "c";
    config.target = at == InstallAt::kDom0 ? "dom0" : "domu1";
    config.install = scenario::InstallSpec{.program = program.name, .at = at};
    scenario.programs.emplace(program.name, std::move(program));
  }
};

ProgramSpec Bpf(std::string object, std::vector<std::pair<std::string, uint64_t>> parameters = {}) {
  ProgramSpec p;
  p.name = "prog";
  p.kind = ProgramKind::kBpf;
  p.object = std::move(object);
  p.parameters = std::move(parameters);
  return p;
}

ProgramSpec Iptables(std::vector<std::string> rules) {
  ProgramSpec p;
  p.name = "iptables_drop";
  p.kind = ProgramKind::kIptables;
  p.iptables_rules = std::move(rules);
  return p;
}

// The InputError message of CheckInstallable, or "" when it accepts.
std::string Refusal(const ProgramSpec& program, InstallAt at) {
  const Fixture f(program, at);
  try {
    CheckInstallable(f.scenario, f.config);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

constexpr InstallAt kEverywhere[] = {InstallAt::kGuest, InstallAt::kDom0, InstallAt::kOffload};

TEST(CheckInstallableTest, UdpDropWithAPortInstallsEverywhere) {
  for (const InstallAt at : kEverywhere) {
    EXPECT_EQ(Refusal(Bpf("udp_drop", {{"port", 9999}}), at), "") << scenario::ToString(at);
    EXPECT_EQ(Refusal(Bpf("udp_drop", {{"port", 1}}), at), "");
    EXPECT_EQ(Refusal(Bpf("udp_drop", {{"port", 65535}}), at), "");
  }
}

TEST(CheckInstallableTest, IcmpEchoTakesNoParameters) {
  for (const InstallAt at : kEverywhere) EXPECT_EQ(Refusal(Bpf("icmp_echo"), at), "");
  EXPECT_THAT(
      Refusal(Bpf("icmp_echo", {{"port", 9999}}), InstallAt::kGuest),
      AllOf(HasSubstr("configuration 'c': program 'prog'"),
            HasSubstr("'icmp_echo' has no parameter 'port'"), HasSubstr("it takes no parameters")));
}

TEST(CheckInstallableTest, UnknownObjectNamesTheKnownOnes) {
  EXPECT_THAT(Refusal(Bpf("tcp_drop"), InstallAt::kGuest),
              AllOf(HasSubstr("BPF object 'tcp_drop' is not known"),
                    HasSubstr("known: icmp_echo, udp_drop")));
}

TEST(CheckInstallableTest, UnknownParameterNamesTheKnownOnes) {
  EXPECT_THAT(Refusal(Bpf("udp_drop", {{"port", 9999}, {"prot", 17}}), InstallAt::kOffload),
              AllOf(HasSubstr("'udp_drop' has no parameter 'prot'"),
                    HasSubstr("known: port (the UDP destination port to drop, 1..65535)")));
}

TEST(CheckInstallableTest, MissingOrOutOfRangePort) {
  EXPECT_THAT(Refusal(Bpf("udp_drop"), InstallAt::kGuest),
              AllOf(HasSubstr("'udp_drop' needs parameter 'port'"), HasSubstr("1..65535"),
                    HasSubstr("parameters: {port: 9999}")));
  EXPECT_THAT(Refusal(Bpf("udp_drop", {{"port", 0}}), InstallAt::kGuest),
              HasSubstr("parameter 'port' of 'udp_drop' is 0; expected 1..65535"));
  EXPECT_THAT(Refusal(Bpf("udp_drop", {{"port", 65536}}), InstallAt::kDom0),
              HasSubstr("is 65536; expected 1..65535"));
}

TEST(CheckInstallableTest, OnlyTheTcHook) {
  ProgramSpec p = Bpf("udp_drop", {{"port", 9999}});
  p.hook = scenario::Hook::kXdp;
  EXPECT_THAT(Refusal(p, InstallAt::kGuest), HasSubstr("only the tc hook"));
}

TEST(CheckInstallableTest, IptablesAtGuestOrDom0NeverOffloaded) {
  const ProgramSpec p = Iptables({"INPUT -p udp --dport 9999 -j DROP"});
  EXPECT_EQ(Refusal(p, InstallAt::kGuest), "");
  EXPECT_EQ(Refusal(p, InstallAt::kDom0), "");
  EXPECT_THAT(Refusal(p, InstallAt::kOffload), HasSubstr("cannot be offloaded"));
  EXPECT_THAT(Refusal(Iptables({"-p udp --dport 9999 -j DROP"}), InstallAt::kGuest),
              HasSubstr("must start with a chain name"));
  EXPECT_THAT(Refusal(Iptables({"INPUT -j DROP -t"}), InstallAt::kGuest),
              HasSubstr("names no table after -t"));
}

TEST(CheckInstallableTest, NoInstallIsAlwaysFine) {
  Fixture f(Bpf("nonsense"), InstallAt::kGuest);
  f.config.install.reset();
  EXPECT_NO_THROW(CheckInstallable(f.scenario, f.config));
}

TEST(CheckInstallableTest, EveryConfigurationOfTheShippedScenarios) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(NFB_SOURCE_DIR) / "scenarios")) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().filename().string());
    const scenario::LoadedScenario loaded = scenario::LoadScenarioFile(entry.path());
    for (const Configuration& c : loaded.scenario.configurations) {
      EXPECT_NO_THROW(CheckInstallable(loaded.scenario, c)) << c.name;
      ++checked;
    }
  }
  EXPECT_GE(checked, 10);
}

TEST(IptablesRulesTest, SplitIntoArgumentsWithACommentAfterTheChain) {
  ProgramSpec p = Iptables({"INPUT -p udp  --dport 9999 -j DROP", "FORWARD -t filter -j ACCEPT"});
  p.name = "drop it";
  const std::vector<IptablesRule> rules = PrepareIptablesRules(p);
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].text, "INPUT -p udp  --dport 9999 -j DROP");
  EXPECT_EQ(rules[0].chain, "INPUT");
  EXPECT_EQ(rules[0].table, "filter");
  EXPECT_EQ(rules[0].comment, "nfbench:drop_it:1");
  EXPECT_THAT(rules[0].args, ElementsAre("INPUT", "-m", "comment", "--comment", "nfbench:drop_it:1",
                                         "-p", "udp", "--dport", "9999", "-j", "DROP"));
  EXPECT_EQ(rules[1].chain, "FORWARD");
  EXPECT_EQ(rules[1].comment, "nfbench:drop_it:2");
  EXPECT_EQ(PrepareIptablesRules(Iptables({"PREROUTING -t raw -j NOTRACK"}))[0].table, "raw");
  EXPECT_EQ(PrepareIptablesRules(Iptables({"PREROUTING --table=mangle -j ACCEPT"}))[0].table,
            "mangle");
}

// As printed by iptables v1.8.9 (nf_tables) in Debian 12.
constexpr char kListing[] =
    "Chain INPUT (policy ACCEPT 12 packets, 840 bytes)\n"
    "    pkts      bytes target     prot opt in     out     source               destination   \n"
    "       5      300 ACCEPT     6    --  *      *       0.0.0.0/0            0.0.0.0/0           "
    " "
    "tcp dpt:22\n"
    "   10000   720000 DROP       17   --  *      *       0.0.0.0/0            0.0.0.0/0           "
    " "
    "/* nfbench:iptables_drop:1 */ udp dpt:9999\n"
    "       7      504 DROP       17   --  *      *       0.0.0.0/0            0.0.0.0/0           "
    " "
    "/* nfbench:iptables_drop:10 */ udp dpt:9998\n";

TEST(IptablesRulesTest, FindsCountersByComment) {
  auto c = FindIptablesCounter(kListing, "nfbench:iptables_drop:1");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->packets, 10000u);
  EXPECT_EQ(c->bytes, 720000u);
  c = FindIptablesCounter(kListing, "nfbench:iptables_drop:10");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->packets, 7u);
  EXPECT_FALSE(FindIptablesCounter(kListing, "nfbench:iptables_drop:2").has_value());
  EXPECT_FALSE(FindIptablesCounter("", "nfbench:x:1").has_value());
}

TEST(IptablesRulesTest, FindsCountersWithLineNumbersAndRefusesGarbage) {
  const std::string numbered =
      "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)\n"
      "num      pkts      bytes target     prot opt in     out     source    destination\n"
      "1          42     3024 DROP       17   --  *      *       0.0.0.0/0 0.0.0.0/0  "
      "/* nfbench:p:1 */ udp dpt:9999\n";
  const auto c = FindIptablesCounter(numbered, "nfbench:p:1");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->packets, 42u);
  EXPECT_EQ(c->bytes, 3024u);
  EXPECT_THROW(FindIptablesCounter("   12K  1M DROP /* nfbench:p:1 */\n", "nfbench:p:1"), RunError);
  EXPECT_THROW(
      FindIptablesCounter("99999999999999999999 1 DROP /* nfbench:p:1 */\n", "nfbench:p:1"),
      RunError);
}

TEST(OffloadSettingsTest, UdpDropPortBecomesAConfigMapEntry) {
  ProgramSpec p = Bpf("udp_drop", {{"port", 9999}});
  EXPECT_THAT(OffloadSettings(*FindObject("udp_drop"), p),
              ElementsAre("udp_drop_config:0=0x00000000270f0000"));
  EXPECT_TRUE(OffloadSettings(*FindObject("icmp_echo"), Bpf("icmp_echo")).empty());
}

TEST(OffloadSettingsTest, DecodesPerCpuCountersOfEitherObject) {
  std::vector<uint8_t> two_cpus(32, 0);
  two_cpus[0] = 2;
  two_cpus[16] = 3;
  two_cpus[24] = 1;
  EXPECT_EQ(DecodeStats(*FindObject("udp_drop"), two_cpus),
            (nlohmann::json{{"dropped", 5}, {"passed", 1}}));
  EXPECT_EQ(DecodeStats(*FindObject("icmp_echo"), two_cpus),
            (nlohmann::json{{"answered", 5}, {"passed", 1}}));
  EXPECT_THROW(DecodeStats(*FindObject("udp_drop"), std::vector<uint8_t>(20, 0)), RunError);
}

}  // namespace
}  // namespace nfb::nf
