// Invalid input: each case names the exact message prefix, "<file>:<line>:<column>: <key>: ...".
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "nfb/scenario/loader.h"
#include "test_util.h"

namespace nfb::scenario {
namespace {

namespace fs = std::filesystem;
using testing::Fixture;
using testing::InputErrorOf;
using testing::ReadFile;

// Each file under fixtures/scenario/invalid/ starts with "# expect: <line>:<col>: <message
// prefix>"; adding a case is adding a file.
TEST(InvalidFixturesTest, EachFileFailsWithItsExpectedMessage) {
  std::vector<fs::path> files;
  for (const fs::directory_entry& e : fs::directory_iterator(Fixture("invalid"))) {
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 10u);
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    const std::string text = ReadFile(file);
    const std::string marker = "# expect: ";
    ASSERT_EQ(text.rfind(marker, 0), 0u) << "first line must be " << marker << "...";
    const std::string expected =
        file.string() + ":" + text.substr(marker.size(), text.find('\n') - marker.size());
    const std::string actual = InputErrorOf([&] { LoadScenarioFile(file); });
    EXPECT_EQ(actual.substr(0, expected.size()), expected) << actual;
  }
}

// Cases made by replacing lines [first, last] of fixtures/scenario/valid/base.yaml (a frozen copy
// of the ping scenario) with `text`.
struct Mutation {
  int first;
  int last;  // 0: same as first
  const char* text;
  const char* expected;  // the message after "base.yaml:"
};

std::string Mutate(const std::string& base, const Mutation& m) {
  std::istringstream in(base);
  std::string out;
  std::string line;
  const int last = m.last == 0 ? m.first : m.last;
  for (int n = 1; std::getline(in, line); ++n) {
    if (n == m.first) out += std::string(m.text) + "\n";
    if (n < m.first || n > last) out += line + "\n";
  }
  return out;
}

const Mutation kMutations[] = {
    // Top level and types.
    {3, 0, "schema: 2", "3:9: schema: unsupported schema version 2 (this nfbench reads schema 1)"},
    {4, 0, "name: ping latency",
     "4:7: name: 'ping latency' must match [A-Za-z0-9][A-Za-z0-9._-]{0,63} (it names the results "
     "directory)"},
    {4, 0, "", "3:1: name: missing required key"},
    {4, 0, "nmae: ping-latency", "4:1: nmae: unknown key (did you mean 'name'?)"},
    {4, 0, "name: ping-latency\nfoo: 1",
     "5:1: foo: unknown key (expected one of: schema, name, description, topology, programs, "
     "configurations, workload, capture, cpu_sampling, repetitions, order, profiles, report)"},
    {5, 0, "description: [a]", "5:14: description: expected a string, got a list"},
    {7, 24, "topology: 5", "7:11: topology: expected a map, got '5'"},
    {31, 46, "configurations: []", "31:17: configurations: expected at least one configuration"},
    {31, 46, "configurations: {a: 1}", "31:17: configurations: expected a list, got a map"},
    {48, 54, "workload: [ping]", "48:11: workload: expected a map, got a list"},
    {56, 60, "", "3:1: capture: a ping workload needs a capture section"},
    {62, 0, "repetitions: 0", "62:14: repetitions: 0 is out of range (allowed 1..1000)"},
    {62, 0, "repetitions: [1]", "62:14: repetitions: expected an unsigned integer, got a list"},
    {62, 0, "repetitions: \"1\"",
     "62:14: repetitions: expected an unsigned integer, got the quoted string \"1\""},
    {63, 0, "order: random", "63:8: order: expected one of interleaved, sequential; got 'random'"},
    // dom0.
    {9, 0, "    cpus: 0",
     "9:11: topology.dom0.cpus: expected a list of CPU numbers like [0, 1], got '0'"},
    {9, 0, "    cpus: []", "9:11: topology.dom0.cpus: expected at least one CPU"},
    {9, 0, "    cpus: [0, 1024]",
     "9:15: topology.dom0.cpus[1]: 1024 is out of range (allowed 0..1023)"},
    {9, 0, "    cpus: [1, 1]", "9:15: topology.dom0.cpus[1]: CPU 1 is listed twice"},
    {9, 0,
     "    cpus:", "9:5: topology.dom0.cpus: expected a list of CPU numbers like [0, 1], got null"},
    {10, 0, "    mac: \"01:00:00:00:00:01\"",
     "10:10: topology.dom0.mac: 01:00:00:00:00:01 is not a locally administered unicast MAC (use "
     "02:xx:xx:xx:xx:xx)"},
    {10, 0, "    mac: 00:16:3e:00:00:01",
     "10:10: topology.dom0.mac: 00:16:3e:00:00:01 is not a locally administered unicast MAC"},
    {11, 0, "    address: 198.18.0.1",
     "11:14: topology.dom0.address: expected an IPv4 address with prefix length like "
     "198.18.0.11/24, got '198.18.0.1'"},
    {11, 0, "    address: 198.18.0.256/24",
     "11:14: topology.dom0.address: expected an IPv4 address with prefix length"},
    {11, 0, "    address: 10.0.0.1/24",
     "11:14: topology.dom0.address: 10.0.0.1 is outside 198.18.0.0/15 (the RFC 2544 benchmarking "
     "range, the only one the project uses)"},
    {11, 0, "    address: 198.18.0.1/14",
     "11:14: topology.dom0.address: prefix length /14 is outside /15../30"},
    {11, 0, "    address: 198.20.0.1/15",
     "11:14: topology.dom0.address: 198.20.0.1 is outside 198.18.0.0/15"},
    {11, 0, "    address: 198.18.0.1/8",
     "11:14: topology.dom0.address: prefix length /8 is outside /15../30"},
    {11, 0, "    address: 198.18.0.1/31",
     "11:14: topology.dom0.address: prefix length /31 is outside /15../30"},
    {11, 0, "    address: 198.18.0.0/24",
     "11:14: topology.dom0.address: 198.18.0.0 is the network address of its subnet"},
    {11, 0, "    address: 198.18.0.255/24",
     "11:14: topology.dom0.address: 198.18.0.255 is the broadcast address of its subnet"},
    {12, 0, "    nic: {name: peth0}", "12:10: topology.dom0.nic.mac: missing required key"},
    {12, 0, "    nic: {name: xenbr0, mac: \"02:00:00:00:00:02\"}",
     "12:17: topology.dom0.nic.name: 'xenbr0' is reserved"},
    {12, 0, "    nic: {name: \"\", mac: \"02:00:00:00:00:02\"}",
     "12:17: topology.dom0.nic.name: '' is not an interface name (1-15 of [A-Za-z0-9_-])"},
    {12, 0, "    nic: [peth0]", "12:10: topology.dom0.nic: expected a map, got a list"},
    {12, 0, "", "8:3: topology.dom0.nic: missing required key"},
    // Guests and external hosts.
    {14, 0, "    - name: Domu1",
     "14:13: topology.guests[0].name: 'Domu1' must match [a-z][a-z0-9_]{0,11} (it becomes part of "
     "namespace names)"},
    {14, 0, "    - name: domu_with_long_name",
     "14:13: topology.guests[0].name: 'domu_with_long_name' must match"},
    {14, 0, "    - name: dom0",
     "14:13: topology.guests[0].name: 'dom0' is reserved for the host domain"},
    {21, 0, "    - name: domu1",
     "21:13: topology.external_hosts[0].name: name 'domu1' is already used by "
     "topology.guests[0].name"},
    {15, 0, "      domid: 0",
     "15:14: topology.guests[0].domid: 0 is out of range (allowed 1..32751)"},
    {15, 0, "      domid: one",
     "15:14: topology.guests[0].domid: expected an unsigned integer, got 'one'"},
    {16, 0, "      vcpus: {a: 1}",
     "16:14: topology.guests[0].vcpus: expected a list of CPU numbers like [0, 1], got a map"},
    {16, 0, "      cpu: [1]", "16:7: topology.guests[0].cpu: unknown key (did you mean 'vcpus'?)"},
    {17, 0, "      memory_mb: 32",
     "17:18: topology.guests[0].memory_mb: 32 is out of range (allowed 64..1048576)"},
    {18, 0, "      mac: \"02:00:00:00:01\"",
     "18:12: topology.guests[0].mac: expected a MAC address like 02:00:00:00:00:01, got the quoted "
     "string \"02:00:00:00:01\""},
    {18, 0, "      mac: \"02:00:00:00:00:02\"",
     "18:12: topology.guests[0].mac: MAC 02:00:00:00:00:02 is already used by "
     "topology.dom0.nic.mac"},
    {18, 0, "", "14:7: topology.guests[0].mac: missing required key"},
    {19, 0, "      address: 198.18.1.11/24",
     "19:16: topology.guests[0].address: 198.18.1.11/24 is not in dom0's subnet 198.18.0.0/24 (all "
     "hosts share one subnet)"},
    {19, 0, "      address: 198.18.0.11/25",
     "19:16: topology.guests[0].address: 198.18.0.11/25 is not in dom0's subnet 198.18.0.0/24"},
    {19, 0, "      address: 198.18.0.1/24",
     "19:16: topology.guests[0].address: address 198.18.0.1 is already used by "
     "topology.dom0.address"},
    {22, 0, "      cpus: [0, x]",
     "22:17: topology.external_hosts[0].cpus[1]: expected an unsigned integer, got 'x'"},
    {13, 19, "  guests:",
     "27:13: configurations[0].target: 'domu1' is not dom0 or a guest (did you mean 'dom0'?)"},
    // Programs.
    {28, 0, "    object: icmp-echo",
     "28:13: programs.icmp_echo.object: expected a BPF object name matching [a-z0-9_]+, got "
     "'icmp-echo'"},
    {28, 0, "    obj: icmp_echo",
     "28:5: programs.icmp_echo.obj: unknown key (did you mean 'object'?)"},
    {29, 0, "    hook: tcx",
     "29:11: programs.icmp_echo.hook: expected one of tc, xdp; got 'tcx' (did you mean 'tc'?)"},
    {27, 29, "  icmp_echo: [tc]", "27:14: programs.icmp_echo: expected a map, got a list"},
    // Configurations.
    {33, 0, "    target: domu2",
     "33:13: configurations[0].target: 'domu2' is not dom0 or a guest (did you mean 'domu1'?)"},
    {33, 0, "    target: \"\"", "33:13: configurations[0].target: must not be empty"},
    {32, 0, "  - target: domu1",
     "33:5: configurations[0].target: duplicate key (first defined at line 32)"},
    {34, 0, "  - name: domU plain",
     "34:11: configurations[1].name: name 'domU plain' is already used by configurations[0].name"},
    {36, 0, "    install: {program: icmp_eco, at: guest}",
     "36:24: configurations[1].install.program: 'icmp_eco' is not a program defined in programs "
     "(did you mean 'icmp_echo'?)"},
    {36, 0, "    install: {program: icmp_echo, at: dom0}",
     "36:39: configurations[1].install.at: 'dom0' needs target dom0, but the target is 'domu1'"},
    {36, 0, "    install: {program: icmp_echo, at: guest, extra: 1}",
     "36:46: configurations[1].install.extra: unknown key (expected one of: program, at)"},
    {46, 0, "    install: {program: icmp_echo, at: offload}",
     "46:39: configurations[4].install.at: 'offload' needs a guest as target, but the target is "
     "'dom0'"},
    // `at` defaults to guest; with no `at` node the install map is blamed.
    {46, 0, "    install: {program: icmp_echo}",
     "46:14: configurations[4].install.at: 'guest' needs a guest as target, but the target is "
     "'dom0'"},
    {42, 0, "    stop_guests: yes",
     "42:18: configurations[3].stop_guests: expected true or false, got 'yes'"},
    {41, 0, "    target: domu1",
     "42:18: configurations[3].stop_guests: true needs target dom0 (it would stop the target "
     "'domu1' itself)"},
    // Workload.
    {49, 0, "  type: iperf", "49:9: workload.type: unknown workload type 'iperf' (known: ping, udp_flood)"},
    {49, 0, "  kind: ping", "48:1: workload.type: missing required key (one of: ping, udp_flood)"},
    {50, 0, "  from: domu1",
     "50:9: workload.from: 'domu1' is not an external host (external hosts: loadgen)"},
    {50, 0, "", "48:1: workload.from: missing required key"},
    {51, 0, "  count: 0", "51:10: workload.count: 0 is out of range (allowed 1..10000000)"},
    {51, 0, "  count: 10000001",
     "51:10: workload.count: 10000001 is out of range (allowed 1..10000000)"},
    {51, 0, "  count: -1", "51:10: workload.count: -1 is out of range (allowed 1..10000000)"},
    {51, 0, "  count: 99999999999999999999999",
     "51:10: workload.count: 99999999999999999999999 is out of range (allowed 1..10000000)"},
    {51, 0, "  count: 1e4", "51:10: workload.count: expected an unsigned integer, got '1e4'"},
    {51, 0, "  count: 1.5", "51:10: workload.count: expected an unsigned integer, got '1.5'"},
    {52, 0, "  warmup: 1000001",
     "52:11: workload.warmup: 1000001 is out of range (allowed 0..1000000)"},
    {53, 0, "  interval_ms: 0",
     "53:16: workload.interval_ms: 0 is out of range (allowed 0.001..60000)"},
    {53, 0, "  interval_ms: 60000.5",
     "53:16: workload.interval_ms: 60000.5 is out of range (allowed 0.001..60000)"},
    {53, 0, "  interval_ms: fast", "53:16: workload.interval_ms: expected a number, got 'fast'"},
    {53, 0, "  interval_ms: nan", "53:16: workload.interval_ms: expected a finite number, got nan"},
    {53, 0, "  interval_ms: 1e999",
     "53:16: workload.interval_ms: expected a finite number, got 1e999"},
    {54, 0, "  timeout_s: 601",
     "54:14: workload.timeout_s: 601 is out of range (allowed 0.1..600)"},
    {54, 0, "  timeout: 2", "54:3: workload.timeout: unknown key (did you mean 'timeout_s'?)"},
    // Capture.
    {57, 0, "  host: domu1",
     "57:9: capture.host: 'domu1' is not an external host (external hosts: loadgen)"},
    {58, 0, "  timestamps: hardware",
     "58:15: capture.timestamps: expected one of auto, adapter, adapter_unsynced, host; got "
     "'hardware'"},
    {59, 0, "  snaplen: 63", "59:12: capture.snaplen: 63 is out of range (allowed 64..65535)"},
    {60, 0, "  buffer_mb: 2048",
     "60:14: capture.buffer_mb: 2048 is out of range (allowed 1..1024)"},
    // Profiles (checked even when not selected).
    {66, 0, "  paper: [1]",
     "66:10: profiles.paper: expected a map of key path to value, like {workload.count: 300}, got "
     "a list"},
    {66, 0, "  paper: {profiles.quick: 1}",
     "66:11: profile 'paper': profiles: cannot be set by a profile or an override"},
    {66, 0, "  paper: {topology.guests.2.vcpus: [1]}",
     "66:11: profile 'paper': topology.guests[2]: index out of range (the list has 1 item)"},
    {66, 0, "  paper: {a..b: 1}",
     "66:11: profile 'paper': invalid key path 'a..b': a component is empty"},
    {68, 0, "    workload.count: 0",
     "68:21: profile 'quick': workload.count: 0 is out of range (allowed 1..10000000)"},
    {68, 0, "    workload.cnt: 300",
     "68:5: profile 'quick': workload.cnt: unknown key (did you mean 'count'?)"},
    {68, 0, "    workload.from: nobody",
     "68:20: profile 'quick': workload.from: 'nobody' is not an external host (external hosts: "
     "loadgen)"},
    // Report.
    {72, 0, "  metric: \"\"", "72:11: report.metric: must not be empty"},
    {74, 0, "  baseline: domU",
     "74:13: report.baseline: 'domU' is not a configuration (did you mean 'domU plain'?)"},
    {77, 0, "    domU planes: 0.18",
     "77:5: report.reference.\"domU planes\": 'domU planes' is not a configuration (did you mean "
     "'domU plain'?)"},
    {78, 0, "    domU BPF: 0",
     "78:15: report.reference.\"domU BPF\": expected a positive number, got 0"},
    {78, 0, "    domU BPF: -0.5",
     "78:15: report.reference.\"domU BPF\": expected a positive number, got -0.5"},
    {78, 0, "    domU BPF: .inf",
     "78:15: report.reference.\"domU BPF\": expected a number, got '.inf'"},
    {80, 0, "    dom0 plain: 0.145\n    dom0 plain: 1",
     "81:5: report.reference.\"dom0 plain\": duplicate key (first defined at line 80)"},
    {76, 81, "  reference: [1]",
     "76:14: report.reference: expected a map of configuration to value, got a list"},
    // YAML level.
    {9, 0, "\tcpus: [0]", "9:2: YAML syntax error: end of map not found"},
    {9, 0, "    cpus: *undefined", "9:11: YAML syntax error: the referenced anchor is not defined"},
};

class MutationTest : public ::testing::TestWithParam<Mutation> {};

TEST_P(MutationTest, FailsWithExpectedMessage) {
  const Mutation& m = GetParam();
  static const std::string base = ReadFile(Fixture("valid/base.yaml"));
  const std::string text = Mutate(base, m);
  ASSERT_NE(text, base);
  const std::string expected = std::string("base.yaml:") + m.expected;
  const std::string actual = InputErrorOf([&] { LoadScenarioString(text, "base.yaml"); });
  EXPECT_EQ(actual.substr(0, expected.size()), expected) << "full message: " << actual;
}

INSTANTIATE_TEST_SUITE_P(Base, MutationTest, ::testing::ValuesIn(kMutations),
                         [](const ::testing::TestParamInfo<Mutation>& info) {
                           return "line" + std::to_string(info.param.first) + "_case" +
                                  std::to_string(info.index);
                         });

TEST(BaseFixtureTest, IsValid) {
  EXPECT_EQ(InputErrorOf([] { LoadScenarioFile(Fixture("valid/base.yaml")); }), "<no error>");
}

}  // namespace
}  // namespace nfb::scenario
