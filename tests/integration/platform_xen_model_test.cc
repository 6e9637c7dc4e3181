// What the xen platform decides without Xen: xl configs, kernel command lines, commands wrapped
// for SSH (and how a remote shell reads them back), `xl list` parsing, state records of the new
// kinds, and the hosts it promises before Provision. No root needed (label unit).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "nfb/core/error.h"
#include "nfb/core/subprocess.h"
#include "nfb/platform/inventory.h"
#include "nfb/platform/platform.h"
#include "nfb/platform/xen_platform.h"
#include "platform_test_util.h"
#include "run_state.h"
#include "ssh_command.h"
#include "xl_config.h"

namespace nfb::platform {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::PingTopology;

internal::XlGuest Guest() {
  internal::XlGuest g;
  g.name = "nfb012345-domu1";
  g.kernel = "/usr/local/share/nfblab/guest/vmlinux";
  g.ramdisk = "/run/nfblab/ramdisks/abc.cpio";
  g.cmdline = "console=hvc0 nfblab.name=domu1 nfblab.ip=198.18.0.11/24";
  g.memory_mb = 1024;
  g.vcpus = 1;
  g.cpus = {1};
  g.mac = "02:00:00:00:01:01";
  g.bridge = "xenbr0";
  g.vif_script = "/work/main/xen_setup/lab/dom0/nfblab-vif";
  return g;
}

TEST(XlConfigTest, WritesAPvGuestWithItsVifPinningAndNoRestart) {
  const std::string text = internal::XlConfig(Guest());
  EXPECT_THAT(text, HasSubstr("name = \"nfb012345-domu1\"\n"));
  EXPECT_THAT(text, HasSubstr("type = \"pv\"\n"));
  EXPECT_THAT(text, HasSubstr("kernel = \"/usr/local/share/nfblab/guest/vmlinux\"\n"));
  EXPECT_THAT(text, HasSubstr("ramdisk = \"/run/nfblab/ramdisks/abc.cpio\"\n"));
  EXPECT_THAT(text, HasSubstr(
                        "extra = \"console=hvc0 nfblab.name=domu1 nfblab.ip=198.18.0.11/24\"\n"));
  EXPECT_THAT(text, HasSubstr("memory = 1024\n"));
  EXPECT_THAT(text, HasSubstr("vcpus = 1\n"));
  EXPECT_THAT(text, HasSubstr("cpus = \"1\"\n"));
  EXPECT_THAT(text, HasSubstr("vif = [ \"mac=02:00:00:00:01:01,bridge=xenbr0,"
                              "script=/work/main/xen_setup/lab/dom0/nfblab-vif\" ]\n"));
  for (const char* event : {"on_poweroff", "on_reboot", "on_crash"}) {
    EXPECT_THAT(text, HasSubstr(std::string(event) + " = \"destroy\"\n"));
  }
}

TEST(XlConfigTest, LeavesOutWhatIsNotGiven) {
  internal::XlGuest g = Guest();
  g.ramdisk.clear();
  g.cpus.clear();
  g.vif_script.clear();
  g.vcpus = 2;
  const std::string text = internal::XlConfig(g);
  EXPECT_THAT(text, Not(HasSubstr("ramdisk")));
  EXPECT_THAT(text, Not(HasSubstr("\ncpus =")));
  EXPECT_THAT(text, Not(HasSubstr("script=")));
  EXPECT_THAT(text, HasSubstr("vcpus = 2\n"));
  EXPECT_THAT(text, HasSubstr("vif = [ \"mac=02:00:00:00:01:01,bridge=xenbr0\" ]"));
}

TEST(XlConfigTest, EscapesQuotesAndRejectsWhatXlWouldMisread) {
  internal::XlGuest g = Guest();
  g.cmdline = R"(a="b c" d\e)";
  EXPECT_THAT(internal::XlConfig(g), HasSubstr(R"(extra = "a=\"b c\" d\\e")"));

  g = Guest();
  g.cmdline = "a\nmemory = 1";
  EXPECT_THROW(internal::XlConfig(g), InputError);
  g = Guest();
  g.bridge = "xenbr0,script=/tmp/evil";
  EXPECT_THROW(internal::XlConfig(g), InputError);
  g = Guest();
  g.vif_script = "/tmp/a\"b";
  EXPECT_THROW(internal::XlConfig(g), InputError);
  g = Guest();
  g.memory_mb = 0;
  EXPECT_THROW(internal::XlConfig(g), InputError);
  g = Guest();
  g.vcpus = 0;
  EXPECT_THROW(internal::XlConfig(g), InputError);
  g = Guest();
  g.kernel.clear();
  EXPECT_THROW(internal::XlConfig(g), InputError);
}

TEST(ExpandCmdlineTest, FillsPlaceholdersAndKeepsDoubledBraces) {
  const std::map<std::string, std::string> values = {
      {"name", "domu1"}, {"address", "198.18.0.11/24"}, {"ip", "198.18.0.11"}};
  EXPECT_EQ(internal::ExpandCmdline("console=hvc0 nfblab.name={name} nfblab.ip={address}", values),
            "console=hvc0 nfblab.name=domu1 nfblab.ip=198.18.0.11/24");
  EXPECT_EQ(internal::ExpandCmdline("ip={ip} x={{y}}", values), "ip=198.18.0.11 x={y}");
  EXPECT_EQ(internal::ExpandCmdline("", values), "");
  try {
    internal::ExpandCmdline("a={nmae}", values);
    ADD_FAILURE() << "accepted an unknown placeholder";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("{nmae}"));
    EXPECT_THAT(e.what(), HasSubstr("{name}"));
  }
  EXPECT_THROW(internal::ExpandCmdline("a={name", values), InputError);
  EXPECT_THROW(internal::ExpandCmdline("a=}", values), InputError);
}

TEST(ParseXlListTest, ReadsNamesAndIdsAndSkipsTheHeader) {
  const std::string text =
      "Name                                        ID   Mem VCPUs\tState\tTime(s)\n"
      "Domain-0                                     0  1024     2     r-----      52.3\n"
      "nfb012345-domu1                              7  1024     1     -b----       3.1\n"
      "garbage\n";
  EXPECT_EQ(internal::ParseXlList(text),
            (std::map<std::string, int>{{"Domain-0", 0}, {"nfb012345-domu1", 7}}));
  EXPECT_TRUE(internal::ParseXlList("").empty());
}

TEST(ShellQuoteTest, QuotesOnlyWhatAShellWouldInterpret) {
  EXPECT_EQ(internal::ShellQuote("ip"), "ip");
  EXPECT_EQ(internal::ShellQuote("/usr/bin/xenbpf-load"), "/usr/bin/xenbpf-load");
  EXPECT_EQ(internal::ShellQuote("198.18.0.1"), "198.18.0.1");
  EXPECT_EQ(internal::ShellQuote(""), "''");
  EXPECT_EQ(internal::ShellQuote("a b"), "'a b'");
  EXPECT_EQ(internal::ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(internal::ShellQuote("$HOME"), "'$HOME'");
  EXPECT_EQ(internal::ShellQuote("X=1"), "'X=1'");  // not an assignment
  EXPECT_EQ(internal::ShellQuote("a;rm -rf /"), "'a;rm -rf /'");
  EXPECT_EQ(internal::ShellQuote("*"), "'*'");
}

// The remote side runs the line with `sh -c`; a local sh stands in for it and must hand every
// argument back byte for byte.
TEST(RemoteCommandLineTest, ARemoteShellGetsTheArgvBack) {
  const std::vector<std::string> argv = {
      "printf", "%s|", "plain", "two words", "it's", "$HOME", "`id`", "a\"b", "back\\slash",
      "", "new\nline", "X=1", "*", "~", "#not a comment", "tab\there", "-n"};
  const std::string line = internal::RemoteCommandLine(argv);
  EXPECT_EQ(line.rfind("exec printf ", 0), 0u) << line;
  ProcessResult r = RunProcess(ProcessSpec({"sh", "-c", line}), std::chrono::seconds(10));
  ASSERT_TRUE(r.Succeeded()) << r.Status() << " " << r.err;
  std::string expected;
  for (size_t i = 2; i < argv.size(); ++i) expected += argv[i] + "|";
  EXPECT_EQ(r.out, expected);

  EXPECT_THROW(internal::RemoteCommandLine({}), InputError);
  EXPECT_THROW(internal::RemoteCommandLine({"echo", std::string("a\0b", 3)}), InputError);
}

TEST(SshArgvTest, MultiplexesOverTheRunsMasterAndNeverPrompts) {
  internal::SshTarget target{"root@198.18.0.11", "/run/nfbench/0123/ssh/domu1", {}, 10};
  const std::vector<std::string> argv = internal::SshArgv(target, "exec true");
  ASSERT_GE(argv.size(), 4u);
  EXPECT_EQ(argv.front(), "ssh");
  EXPECT_EQ(argv[argv.size() - 2], "root@198.18.0.11");
  EXPECT_EQ(argv.back(), "exec true");
  auto has = [&](const std::string& word) {
    return std::find(argv.begin(), argv.end(), word) != argv.end();
  };
  EXPECT_TRUE(has("-T"));
  EXPECT_TRUE(has("BatchMode=yes"));
  EXPECT_TRUE(has("ControlMaster=no"));
  EXPECT_TRUE(has("ControlPath=/run/nfbench/0123/ssh/domu1"));
  EXPECT_FALSE(has("-N"));

  const std::vector<std::string> master = internal::SshMasterArgv(target);
  EXPECT_EQ(master.back(), "root@198.18.0.11");
  EXPECT_NE(std::find(master.begin(), master.end(), "ControlMaster=yes"), master.end());
  EXPECT_NE(std::find(master.begin(), master.end(), "ControlPersist=no"), master.end());
  EXPECT_NE(std::find(master.begin(), master.end(), "-N"), master.end());
}

TEST(RunStateTest, ParsesTheXenPlatformsRecordKinds) {
  const internal::StateFile state = internal::ParseStateFile(
      "{\"kind\":\"run\",\"id\":\"0123456789abcdef\",\"pid\":42}\n"
      "{\"kind\":\"netns\",\"name\":\"nfb012345-switch\"}\n"
      "{\"kind\":\"link\",\"name\":\"xenbr0\"}\n"
      "{\"kind\":\"xl-domain\",\"name\":\"nfb012345-domu1\"}\n"
      "{\"kind\":\"bogus\",\"name\":\"x\"}\n");
  EXPECT_THAT(state.objects,
              ElementsAre(internal::RecordedObject{"netns", "nfb012345-switch"},
                          internal::RecordedObject{"link", "xenbr0"},
                          internal::RecordedObject{"xl-domain", "nfb012345-domu1"}));
  EXPECT_EQ(internal::LinkAlias("0123456789abcdef"), "nfbench-run-0123456789abcdef");
}

XenPlatformOptions LabOptions() {
  XenPlatformOptions o;
  o.guest_kernel = "/usr/local/share/nfblab/guest/vmlinux";
  o.guest_ramdisk_command = "nfblab-guest ramdisk";
  return o;
}

TEST(XenPlatformModelTest, GuestsAreReachedOverSshAndExternalHostsAreNamespaces) {
  RunId id{"0123456789abcdef"};
  std::unique_ptr<Platform> p = MakeXenPlatform(PingTopology(), id, LabOptions());
  EXPECT_EQ(p->Name(), "xen");
  EXPECT_EQ(p->Dom0Netns(), "");  // dom0 is the harness's own namespace
  EXPECT_EQ(p->Dom0NicInterface(), "peth0");

  const HostInfo& dom0 = p->Host("dom0");
  EXPECT_TRUE(dom0.IsLocal());
  EXPECT_EQ(dom0.netns, "");
  EXPECT_EQ(dom0.interface, "xenbr0");
  EXPECT_EQ(dom0.address, "198.18.0.1");

  const HostInfo& guest = p->Host("domu1");
  EXPECT_FALSE(guest.IsLocal());
  EXPECT_EQ(guest.ssh_destination, "root@198.18.0.11");
  EXPECT_EQ(guest.xen_domid, -1);  // known once xl created it
  EXPECT_EQ(guest.netns, "");

  const HostInfo& loadgen = p->Host("loadgen");
  EXPECT_TRUE(loadgen.IsLocal());
  EXPECT_EQ(loadgen.netns, "nfb012345-loadgen");

  ProcessSpec local = p->Command("loadgen", {"ping", "-c", "1", "198.18.0.11"});
  EXPECT_EQ(local.netns, "nfb012345-loadgen");
  EXPECT_EQ(local.argv, (std::vector<std::string>{"ping", "-c", "1", "198.18.0.11"}));

  ProcessSpec remote = p->Command("domu1", {"ip", "-s", "-j", "link", "show", "eth0"});
  EXPECT_EQ(remote.netns, "");
  ASSERT_FALSE(remote.argv.empty());
  EXPECT_EQ(remote.argv.front(), "ssh");
  EXPECT_EQ(remote.argv.back(), "exec ip -s -j link show eth0");
  EXPECT_NE(std::find(remote.argv.begin(), remote.argv.end(),
                      "ControlPath=/run/nfbench/0123456789abcdef/ssh/domu1"),
            remote.argv.end());

  EXPECT_THROW(p->Host("switch"), InputError);
  EXPECT_EQ(p->Describe()["platform"], "xen");
  p->Teardown();  // nothing provisioned: a no-op
}

TEST(XenPlatformModelTest, NeedsAGuestKernelAndARamdiskSource) {
  RunId id{"abcdef"};
  XenPlatformOptions o = LabOptions();
  o.guest_kernel.clear();
  try {
    MakeXenPlatform(PingTopology(), id, o);
    ADD_FAILURE() << "accepted no guest kernel";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("NFB_XEN_GUEST_KERNEL"));
  }
  o = LabOptions();
  o.guest_ramdisk_command.clear();
  EXPECT_THROW(MakeXenPlatform(PingTopology(), id, o), InputError);
  o = LabOptions();
  o.guest_cmdline = "nfblab.ip={adress}";
  EXPECT_THROW(MakeXenPlatform(PingTopology(), id, o), InputError);
}

TEST(XenPlatformModelTest, OffXenProvisionSaysWhatIsMissing) {
  if (!XenHostProblems().empty()) {
    std::unique_ptr<Platform> p = MakeXenPlatform(PingTopology(), RunId{"abcdef"}, LabOptions());
    try {
      p->Provision();
      ADD_FAILURE() << "provisioned the xen platform off Xen";
    } catch (const PrerequisiteError& e) {
      EXPECT_THAT(e.what(), HasSubstr("xen platform cannot run here"));
    }
  } else {
    GTEST_SKIP() << "this is dom0 of a Xen host";
  }
}

// --- External hosts that are machines over SSH (inventory.h) ---

constexpr const char* kInventory = R"(# the lab's stand-in
nic: eth1
hosts:
  loadgen:
    ssh: root@198.19.254.2
    interface: ext0
    configure: false
    ssh_options: [-o, "UserKnownHostsFile=/run/nfblab/extssh/known_hosts"]
)";

TEST(InventoryTest, ReadsTheMachinesOfExternalHosts) {
  const Inventory inv = ParseInventory(kInventory, "hosts.yaml");
  EXPECT_EQ(inv.source, "hosts.yaml");
  EXPECT_EQ(inv.nic, "eth1");
  ASSERT_EQ(inv.hosts.size(), 1u);
  const ExternalMachine* m = inv.Find("loadgen");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->ssh, "root@198.19.254.2");
  EXPECT_EQ(m->interface, "ext0");
  EXPECT_FALSE(m->configure);
  EXPECT_EQ(m->ssh_options, (std::vector<std::string>{
                                "-o", "UserKnownHostsFile=/run/nfblab/extssh/known_hosts"}));
  EXPECT_EQ(inv.Find("attacker"), nullptr);

  const Inventory minimal =
      ParseInventory("hosts: {loadgen: {ssh: lg.example, interface: enp3s0f0}}", "x.yaml");
  EXPECT_EQ(minimal.nic, "");
  EXPECT_TRUE(minimal.hosts.at(0).configure);  // the default: the harness sets address and MAC
  EXPECT_TRUE(minimal.hosts.at(0).ssh_options.empty());
}

// Each bad inventory is refused with the file, line and column and what is wrong.
TEST(InventoryTest, RefusesBadInventoriesSayingWhereAndWhy) {
  struct Case {
    std::string text;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {"hosts:\n  loadgen:\n    ssh: root@a\n    interfce: eth0\n",
       {"hosts.yaml:4:5", "unknown key 'interfce'", "interface"}},
      {"hosts:\n  loadgen:\n    interface: eth0\n", {"hosts.yaml:3:5", "no 'ssh'"}},
      {"hosts:\n  loadgen:\n    ssh: root@a\n", {"hosts.yaml:3:5", "no 'interface'"}},
      {"hosts:\n  loadgen: {ssh: root@a, interface: 'eth 0'}\n", {"'eth 0'", "interface name"}},
      {"hosts:\n  loadgen: {ssh: '-oProxyCommand=x', interface: eth0}\n",
       {"not an SSH destination"}},
      {"hosts:\n  loadgen: {ssh: root@a, interface: eth0, configure: maybe}\n",
       {"'configure' must be true or false"}},
      {"hosts:\n  loadgen: {ssh: root@a, interface: eth0, ssh_options: -p}\n",
       {"'ssh_options' must be a list"}},
      {"hosts: {}\n", {"'hosts' must map"}},
      {"nic: eth1\n", {"'hosts' must map"}},
      {"nic: xenbr0\nhosts: {loadgen: {ssh: a, interface: b}}\n", {"cannot be dom0's NIC"}},
      {"host:\n  loadgen: {ssh: a, interface: b}\n", {"unknown key 'host'"}},
      {"hosts: [loadgen]\n", {"'hosts' must map"}},
      {"hosts:\n  loadgen: [a, b]\n", {"must be a map"}},
      {"hosts:\n  loadgen: {ssh: a\n", {"hosts.yaml:", "not valid YAML"}},
      {"- a\n- b\n", {"an inventory is a map"}},
  };
  for (const Case& c : cases) {
    try {
      ParseInventory(c.text, "hosts.yaml");
      ADD_FAILURE() << "accepted:\n" << c.text;
    } catch (const InputError& e) {
      for (const std::string& part : c.expected) {
        EXPECT_THAT(e.what(), HasSubstr(part)) << c.text;
      }
    }
  }
  EXPECT_THROW(LoadInventory("/nonexistent/hosts.yaml"), InputError);
}

XenPlatformOptions WithInventory(const std::string& text) {
  XenPlatformOptions o = LabOptions();
  o.inventory = ParseInventory(text, "hosts.yaml");
  return o;
}

TEST(XenPlatformModelTest, ExternalHostsInTheInventoryAreMachinesOverSsh) {
  RunId id{"0123456789abcdef"};
  std::unique_ptr<Platform> p = MakeXenPlatform(PingTopology(), id, WithInventory(kInventory));
  EXPECT_EQ(p->Dom0NicInterface(), "eth1");  // the inventory's NIC, not the scenario's peth0

  const HostInfo& loadgen = p->Host("loadgen");
  EXPECT_FALSE(loadgen.IsLocal());
  EXPECT_EQ(loadgen.access, HostAccess::kSsh);
  EXPECT_EQ(loadgen.ssh_destination, "root@198.19.254.2");
  EXPECT_EQ(loadgen.netns, "");
  EXPECT_EQ(loadgen.interface, "ext0");
  EXPECT_EQ(loadgen.address, "198.18.0.100");

  ProcessSpec ping = p->Command("loadgen", {"ping", "-c", "1", "198.18.0.11"});
  EXPECT_EQ(ping.netns, "");
  ASSERT_FALSE(ping.argv.empty());
  EXPECT_EQ(ping.argv.front(), "ssh");
  EXPECT_EQ(ping.argv[ping.argv.size() - 2], "root@198.19.254.2");
  EXPECT_EQ(ping.argv.back(), "exec ping -c 1 198.18.0.11");
  auto has = [&](const std::string& word) {
    return std::find(ping.argv.begin(), ping.argv.end(), word) != ping.argv.end();
  };
  EXPECT_TRUE(has("UserKnownHostsFile=/run/nfblab/extssh/known_hosts"));
  EXPECT_TRUE(has("ControlPath=/run/nfbench/0123456789abcdef/ssh/loadgen"));

  // The description says where each host is: cpu_sampling reads "ssh"/"in_dom0" from it.
  const nlohmann::json d = p->Describe();
  EXPECT_EQ(d["inventory"], "hosts.yaml");
  EXPECT_TRUE(d["switch"].is_null());  // no switch namespace, no emulated NIC
  EXPECT_TRUE(d["emulated"].empty());
  bool seen = false;
  for (const auto& host : d["hosts"]) {
    if (host["name"] != "loadgen") continue;
    seen = true;
    EXPECT_EQ(host["role"], "external");
    EXPECT_EQ(host["access"], "ssh");
    EXPECT_EQ(host["ssh"], "root@198.19.254.2");
    EXPECT_EQ(host["in_dom0"], false);
    EXPECT_EQ(host["configure"], false);
  }
  EXPECT_TRUE(seen);
  p->Teardown();

  // Without an inventory, or one naming only hosts of other scenarios: namespaces, as before.
  std::unique_ptr<Platform> plain = MakeXenPlatform(
      PingTopology(), id,
      WithInventory("hosts: {attacker: {ssh: root@198.19.254.6, interface: ext1}}"));
  EXPECT_TRUE(plain->Host("loadgen").IsLocal());
  EXPECT_EQ(plain->Host("loadgen").netns, "nfb012345-loadgen");
  EXPECT_EQ(plain->Dom0NicInterface(), "peth0");
  for (const auto& host : plain->Describe()["hosts"]) {
    if (host["name"] == "loadgen") {
      EXPECT_EQ(host["in_dom0"], true);
    }
  }
}

TEST(XenPlatformModelTest, RefusesAnInventoryNamingOnlySomeExternalHosts) {
  scenario::Topology topology = PingTopology();
  scenario::ExternalHostSpec attacker = topology.external_hosts.at(0);
  attacker.name = "attacker";
  attacker.address.address += 1;
  topology.external_hosts.push_back(attacker);
  try {
    MakeXenPlatform(topology, RunId{"0123456789abcdef"}, WithInventory(kInventory));
    ADD_FAILURE() << "accepted an inventory with loadgen but not attacker";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("names the external host(s) loadgen but not attacker"));
  }
}

}  // namespace
}  // namespace nfb::platform
