// The emulated Xen host, provisioned for real: needs root (namespaces, cgroups); skipped without.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "nfb/core/cancel.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/core/netns.h"
#include "nfb/core/subprocess.h"
#include "nfb/platform/netns_platform.h"
#include "nfb/platform/platform.h"
#include "platform_test_util.h"

namespace nfb::platform {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using testing::Counters;
using ::testing::HasSubstr;
using testing::NamespacesWithPrefix;
using testing::Ping;
using testing::PingTopology;
using testing::ReadText;
using testing::RunCgroups;

class NetnsPlatformTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, cgroups)";
    if (std::getenv("NFB_TEST_DEBUG")) log::SetLevel(log::Level::kDebug);
    ClearInterrupt();
  }

  // Nothing of the run is left: namespaces, cgroups, run directory.
  static void ExpectGone(const RunId& id) {
    EXPECT_THAT(NamespacesWithPrefix(id.Prefix() + "-"), ::testing::IsEmpty());
    EXPECT_THAT(RunCgroups(id.hex), ::testing::IsEmpty());
    EXPECT_FALSE(fs::exists(RunDirectory(id))) << RunDirectory(id);
  }
};

TEST_F(NetnsPlatformTest, ProvisionsPingsOverTheBridgeAndTearsDown) {
  RunId id = RunId::Generate();
  auto platform = std::make_unique<NetnsPlatform>(PingTopology(), id);
  platform->Provision();
  std::cout << "provisioned 5 namespaces (switch, dom0, 2 guests, 1 external host) in "
            << platform->provision_time().count() << " ms\n";
  RecordProperty("provision_ms", static_cast<int>(platform->provision_time().count()));

  const std::string dom0 = platform->Dom0Netns();
  EXPECT_EQ(dom0, id.Prefix() + "-dom0");
  EXPECT_EQ(platform->Dom0NicInterface(), "peth0");
  EXPECT_EQ(NamespacesWithPrefix(id.Prefix() + "-").size(), 5u);
  EXPECT_TRUE(fs::exists(RunDirectory(id) / "lock"));
  EXPECT_FALSE(RunCgroups(id.hex).empty());

  for (const std::string guest : {"domu1", "domu2"}) {
    const HostInfo& g = platform->Host(guest);
    const std::string vif = guest == "domu1" ? "vif1.0" : "vif2.0";
    auto nic_before = Counters(dom0, "peth0");
    auto vif_before = Counters(dom0, vif);
    ProcessResult r = Ping(*platform, "loadgen", g.address, 5);
    EXPECT_TRUE(r.Succeeded()) << guest << ": " << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("5 received"));
    // The echo requests entered dom0 through the NIC and left through the guest's vif (a veth
    // transmits towards the guest), and the replies came back the same way.
    auto nic_after = Counters(dom0, "peth0");
    auto vif_after = Counters(dom0, vif);
    EXPECT_GE(nic_after.rx_packets - nic_before.rx_packets, 5u);
    EXPECT_GE(vif_after.tx_packets - vif_before.tx_packets, 5u);
    EXPECT_GE(vif_after.rx_packets - vif_before.rx_packets, 5u);
  }
  // dom0 answers itself, on xenbr0; no guest's vif sees those packets.
  auto vif1_before = Counters(dom0, "vif1.0");
  ProcessResult to_dom0 = Ping(*platform, "loadgen", platform->Host("dom0").address, 5);
  EXPECT_TRUE(to_dom0.Succeeded()) << to_dom0.out << to_dom0.err;
  EXPECT_EQ(Counters(dom0, "vif1.0").tx_packets, vif1_before.tx_packets);

  platform->Teardown();
  ExpectGone(id);
  platform->Teardown();  // idempotent
  ExpectGone(id);
}

TEST_F(NetnsPlatformTest, CommandRunsInTheHostsNamespaceAndCgroups) {
  RunId id = RunId::Generate();
  NetnsPlatform platform(PingTopology(), id);
  platform.Provision();

  const HostInfo& guest = platform.Host("domu1");
  EXPECT_EQ(guest.netns, id.Prefix() + "-domu1");
  EXPECT_EQ(guest.interface, "eth0");
  EXPECT_EQ(guest.address, "198.18.0.11");
  EXPECT_EQ(guest.mac, "02:00:00:00:01:01");
  EXPECT_EQ(guest.cpus, (std::vector<int>{1}));
  EXPECT_EQ(guest.dom0_vif, "vif1.0");  // its backend in dom0, named after its domid
  EXPECT_TRUE(platform.Host("loadgen").dom0_vif.empty());

  // The namespace: same nsfs inode as the named namespace, and the guest's own addresses.
  ProcessResult ns =
      RunProcess(platform.Command("domu1", {"readlink", "/proc/self/ns/net"}), seconds(10));
  struct stat st {};
  ASSERT_EQ(::stat(NamedNetnsPath(guest.netns).c_str(), &st), 0);
  EXPECT_EQ(ns.out, "net:[" + std::to_string(st.st_ino) + "]\n");
  ProcessResult addr = RunProcess(
      platform.Command("domu1", {"ip", "-o", "-4", "addr", "show", "dev", "eth0"}), seconds(10));
  EXPECT_THAT(addr.out, HasSubstr("198.18.0.11/24"));

  // The cgroups: every hierarchy names the run and the domain, and the cpuset holds.
  ProcessResult cg =
      RunProcess(platform.Command("domu1", {"cat", "/proc/self/cgroup"}), seconds(10));
  const std::string expected = "/nfbench/" + id.hex + "/domu1";
  for (const fs::path& procs : guest.cgroup_procs) {
    EXPECT_THAT(procs.string(), HasSubstr(expected));
  }
  EXPECT_THAT(cg.out, HasSubstr("cpuset:" + expected + "\n"));
  if (!fs::exists("/sys/fs/cgroup/cgroup.controllers")) {
    EXPECT_THAT(cg.out, HasSubstr("cpuacct:" + expected + "\n"));
  }
  ProcessResult allowed = RunProcess(
      platform.Command("domu1", {"grep", "Cpus_allowed_list", "/proc/self/status"}), seconds(10));
  EXPECT_EQ(allowed.out, "Cpus_allowed_list:\t1\n");
  const DomainCgroup* cgroup = platform.Cgroup("domu1");
  ASSERT_NE(cgroup, nullptr);
  uint64_t before = cgroup->CpuUsageNs();
  RunProcess(platform.Command("domu1", {"sh", "-c",
                                        "i=0; while [ $i -lt 100000 ]; do "
                                        "i=$((i+1)); done"}),
             seconds(30));
  EXPECT_GT(cgroup->CpuUsageNs(), before + 1'000'000) << "the busy loop was not accounted";

  // Other hosts land in their own domains.
  ProcessResult dom0 =
      RunProcess(platform.Command("dom0", {"cat", "/proc/self/cgroup"}), seconds(10));
  EXPECT_THAT(dom0.out, HasSubstr("cpuset:/nfbench/" + id.hex + "/dom0\n"));
  EXPECT_THROW(platform.Command("nosuchhost", {"true"}), InputError);
  EXPECT_THROW(platform.Host("switch"), InputError);
}

TEST_F(NetnsPlatformTest, RpsSteersEachDomainsReceiveWorkToItsCpus) {
  NetnsPlatform platform(PingTopology(), RunId::Generate());
  platform.Provision();
  auto rps = [&](const std::string& host, const std::string& ns, const std::string& dev) {
    // `ip netns exec` remounts /sys for the namespace: the simplest way for a test to look.
    ProcessResult r = RunChecked(ProcessSpec({"ip", "netns", "exec", ns, "cat",
                                              "/sys/class/net/" + dev + "/queues/rx-0/rps_cpus"}),
                                 seconds(10));
    (void)host;
    return r.out.substr(r.out.find_first_not_of("0,"));
  };
  const std::string dom0 = platform.Dom0Netns();
  EXPECT_EQ(rps("dom0", dom0, "peth0"), "1\n");   // dom0: CPU 0
  EXPECT_EQ(rps("dom0", dom0, "vif1.0"), "1\n");  // netback's work is dom0's
  EXPECT_EQ(rps("dom0", dom0, "vif2.0"), "1\n");
  EXPECT_EQ(rps("domu1", platform.Host("domu1").netns, "eth0"), "2\n");  // vCPU 1
  EXPECT_EQ(rps("loadgen", platform.Host("loadgen").netns, "eth0"), "1\n");

  // IPv6 is off everywhere (no DAD or router solicitations in captures).
  ProcessResult v6 = RunProcess(
      platform.Command("domu1", {"cat", "/proc/sys/net/ipv6/conf/eth0/disable_ipv6"}), seconds(10));
  EXPECT_EQ(v6.out, "1\n");
  // Neighbours are permanent: no ARP in measurements.
  ProcessResult neigh =
      RunProcess(platform.Command("loadgen", {"ip", "neigh", "show", "198.18.0.11"}), seconds(10));
  EXPECT_THAT(neigh.out, HasSubstr("lladdr 02:00:00:00:01:01 PERMANENT"));

  nlohmann::json d = platform.Describe();
  EXPECT_EQ(d["platform"], "netns");
  EXPECT_EQ(d["hosts"].size(), 4u);
  EXPECT_EQ(d["hosts"][1]["name"], "domu1");
  EXPECT_EQ(d["hosts"][1]["rps_cpus"]["eth0"], "2");
  EXPECT_EQ(d["hosts"][1]["vif"]["name"], "vif1.0");
  EXPECT_FALSE(d["not_emulated"].empty());
  EXPECT_EQ(d["cgroup"]["version"], fs::exists("/sys/fs/cgroup/cgroup.controllers") ? 2 : 1);
}

// Without traffic of our own the links stay silent: no IPv6 (DAD, router or MLD solicitations),
// no ARP (permanent neighbours), no IGMP (bridges do not snoop), so captures hold only probes.
TEST_F(NetnsPlatformTest, LinksStayQuietWithoutTraffic) {
  NetnsPlatform platform(PingTopology(), RunId::Generate());
  platform.Provision();
  std::vector<Process> captures;
  for (const auto& [host, dev] : std::vector<std::pair<std::string, std::string>>{
           {"loadgen", "eth0"}, {"dom0", "vif1.0"}, {"domu2", "eth0"}}) {
    captures.push_back(
        Process::Start(platform.Command(host, {"tcpdump", "-i", dev, "-n", "-l", "-p", "-e"})));
  }
  // Linux sends unsolicited IGMP/MLD reports twice, within a second of an interface coming up.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  for (Process& capture : captures) {
    ProcessResult r = capture.Terminate();
    EXPECT_EQ(r.out.find_first_not_of(" \n"), std::string::npos)
        << capture.command_line() << " saw traffic:\n"
        << r.out;
    EXPECT_THAT(r.err, HasSubstr("\n0 packets captured")) << capture.command_line();
  }
}

TEST_F(NetnsPlatformTest, StopGuestsTakesThemOffTheBridgeAndStartGuestsBringsThemBack) {
  NetnsPlatform platform(PingTopology(), RunId::Generate());
  platform.Provision();
  const std::string domu1 = platform.Host("domu1").address;
  const std::string dom0 = platform.Host("dom0").address;
  ASSERT_TRUE(Ping(platform, "loadgen", domu1, 2).Succeeded());

  // A process in the guest, to see it frozen.
  Process guest_proc = Process::Start(platform.Command("domu1", {"sleep", "60"}));

  platform.StopGuests();
  EXPECT_FALSE(Ping(platform, "loadgen", domu1, 2).Succeeded());
  EXPECT_TRUE(Ping(platform, "loadgen", dom0, 2).Succeeded()) << "dom0 must stay reachable";
  std::string state = ReadText("/proc/" + std::to_string(guest_proc.pid()) + "/stat");
  std::string freezer =
      ReadText("/sys/fs/cgroup/freezer/nfbench/" + platform.run_id().hex + "/domu1/freezer.state");
  if (!freezer.empty()) {
    EXPECT_EQ(freezer, "FROZEN\n");
  }
  platform.StopGuests();  // idempotent

  platform.StartGuests();
  ProcessResult back = Ping(platform, "loadgen", domu1, 2);
  EXPECT_TRUE(back.Succeeded()) << back.out << back.err;
  EXPECT_TRUE(Ping(platform, "loadgen", platform.Host("domu2").address, 2).Succeeded());
  if (!freezer.empty()) {
    EXPECT_EQ(ReadText("/sys/fs/cgroup/freezer/nfbench/" + platform.run_id().hex +
                       "/domu1/freezer.state"),
              "THAWED\n");
  }
  EXPECT_TRUE(guest_proc.running());
}

TEST_F(NetnsPlatformTest, TeardownKillsProcessesLeftInDomains) {
  RunId id = RunId::Generate();
  NetnsPlatform platform(PingTopology(), id);
  platform.Provision();
  Process lingering = Process::Start(platform.Command("domu2", {"sleep", "60"}));
  platform.StopGuests();  // frozen: teardown must still be able to kill it
  platform.Teardown();
  ProcessResult r = lingering.Wait();
  EXPECT_EQ(r.signal, SIGKILL);
  ExpectGone(id);
}

TEST_F(NetnsPlatformTest, TwoRunsSideBySideDoNotCollide) {
  RunId a_id = RunId::Generate(), b_id = RunId::Generate();
  NetnsPlatform a(PingTopology(), a_id);
  NetnsPlatform b(PingTopology(), b_id);
  a.Provision();
  b.Provision();
  // Same addresses and MACs in both: each run is its own little world.
  EXPECT_TRUE(Ping(a, "loadgen", a.Host("domu1").address).Succeeded());
  EXPECT_TRUE(Ping(b, "loadgen", b.Host("domu1").address).Succeeded());
  a.Teardown();
  ExpectGone(a_id);
  EXPECT_EQ(NamespacesWithPrefix(b_id.Prefix() + "-").size(), 5u);
  EXPECT_TRUE(Ping(b, "loadgen", b.Host("domu2").address).Succeeded());
  // Cleaning up stale state now must leave the live run alone.
  CleanupStale();
  EXPECT_TRUE(Ping(b, "loadgen", b.Host("domu1").address).Succeeded());
  EXPECT_TRUE(fs::exists(RunDirectory(b_id) / "state"));
  b.Teardown();
  ExpectGone(b_id);
}

TEST_F(NetnsPlatformTest, FailedProvisionIsTornDownCompletely) {
  scenario::Topology topology = PingTopology();
  topology.external_hosts[0].address.prefix_len = 33;  // `ip addr add` refuses this
  RunId id = RunId::Generate();
  NetnsPlatform platform(topology, id);
  EXPECT_THROW(platform.Provision(), RunError);
  EXPECT_FALSE(NamespacesWithPrefix(id.Prefix() + "-").empty());  // it got part of the way
  platform.Teardown();
  ExpectGone(id);
}

TEST_F(NetnsPlatformTest, InterruptStopsProvisionAtAStepBoundary) {
  RunId id = RunId::Generate();
  NetnsPlatform platform(PingTopology(), id);
  RequestInterrupt();
  EXPECT_THROW(platform.Provision(), InterruptedError);
  // Teardown works although the interrupt is still pending.
  platform.Teardown();
  ClearInterrupt();
  ExpectGone(id);
}

// A run killed with SIGKILL in the middle of Provision leaves a complete record; CleanupStale
// removes exactly that, and not the live run next to it.
TEST_F(NetnsPlatformTest, CleanupStaleRemovesAKilledRunAndSparesTheLiveOne) {
  RunId live_id = RunId::Generate();
  NetnsPlatform live(PingTopology(), live_id);
  live.Provision();

  // When to kill: right after the first namespace is recorded (it may not exist yet), once a
  // namespace exists (half-way), or after Provision returned.
  enum class KillAt { kFirstRecord, kNamespacesExist, kProvisioned };
  for (KillAt kill_at : {KillAt::kFirstRecord, KillAt::kNamespacesExist, KillAt::kProvisioned}) {
    SCOPED_TRACE(static_cast<int>(kill_at));
    const bool mid_provision = kill_at != KillAt::kProvisioned;
    RunId dead_id = RunId::Generate();
    const fs::path state = RunDirectory(dead_id) / "state";
    const fs::path done = fs::temp_directory_path() / ("nfb-platform-done-" + dead_id.hex);
    fs::remove(done);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // Never return into the test (that would tear down the parent's live platform too).
      try {
        NetnsPlatform doomed(PingTopology(), dead_id);
        doomed.Provision();
        std::ofstream(done) << "provisioned\n";
        while (true) ::pause();
      } catch (...) {
      }
      ::_exit(3);
    }
    auto deadline = std::chrono::steady_clock::now() + seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      bool now = false;
      switch (kill_at) {
        case KillAt::kFirstRecord:
          now = ReadText(state).find("\"netns\"") != std::string::npos;
          break;
        case KillAt::kNamespacesExist:
          now = !NamespacesWithPrefix(dead_id.Prefix() + "-").empty();
          break;
        case KillAt::kProvisioned:
          now = fs::exists(done);
          break;
      }
      if (now) break;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the child died early";
    EXPECT_EQ(fs::exists(done), !mid_provision) << "not killed when intended";
    // An `ip` command of the dead run may still be finishing (it is not the run's child group).
    std::this_thread::sleep_for(std::chrono::milliseconds(200));

    ASSERT_TRUE(fs::exists(state));
    if (kill_at != KillAt::kFirstRecord) {
      EXPECT_FALSE(NamespacesWithPrefix(dead_id.Prefix() + "-").empty());
    }
    EXPECT_FALSE(RunCgroups(dead_id.hex).empty());
    std::cout << "killed run " << dead_id.hex << " with "
              << NamespacesWithPrefix(dead_id.Prefix() + "-").size() << " namespaces, "
              << RunCgroups(dead_id.hex).size() << " cgroup trees\n";

    CleanupReport report = CleanupStale();
    EXPECT_FALSE(report.removed.empty());
    EXPECT_THAT(report.removed,
                ::testing::Contains("run directory " + RunDirectory(dead_id).string()));
    ExpectGone(dead_id);
    fs::remove(done);
  }

  // The live run is intact and still works.
  EXPECT_EQ(NamespacesWithPrefix(live_id.Prefix() + "-").size(), 5u);
  EXPECT_FALSE(RunCgroups(live_id.hex).empty());
  EXPECT_TRUE(fs::exists(RunDirectory(live_id) / "lock"));
  EXPECT_TRUE(Ping(live, "loadgen", live.Host("domu1").address).Succeeded());
  live.Teardown();
  ExpectGone(live_id);
}

TEST_F(NetnsPlatformTest, CleanupStaleRemovesOrphansButNothingElse) {
  // Objects named like a run's, with no run directory at all (the owner died before writing it,
  // or someone deleted /run/nfbench).
  RunId orphan = RunId::Generate();
  const std::string orphan_ns = orphan.Prefix() + "-dom0";
  const std::string foreign_ns = "nfbtest-platform-keep";
  RunChecked(ProcessSpec({"ip", "netns", "add", orphan_ns}), seconds(10));
  RunChecked(ProcessSpec({"ip", "netns", "add", foreign_ns}), seconds(10));
  const fs::path orphan_cgroup = fs::path("/sys/fs/cgroup/cpuacct/nfbench") / orphan.hex;
  bool have_cpuacct = fs::exists("/sys/fs/cgroup/cpuacct");
  if (have_cpuacct) fs::create_directories(orphan_cgroup);
  // A process inside the orphaned namespace is killed with it.
  Process inside = Process::Start([&] {
    ProcessSpec spec({"sleep", "60"});
    spec.netns = orphan_ns;
    return spec;
  }());

  CleanupReport report = CleanupStale();
  EXPECT_THAT(report.removed, ::testing::Contains("network namespace " + orphan_ns));
  EXPECT_THAT(NamespacesWithPrefix(orphan.Prefix()), ::testing::IsEmpty());
  EXPECT_EQ(inside.Wait().signal, SIGKILL);
  if (have_cpuacct) {
    EXPECT_FALSE(fs::exists(orphan_cgroup));
  }
  // Not ours by name: untouched.
  EXPECT_EQ(NamespacesWithPrefix(foreign_ns).size(), 1u);
  RunChecked(ProcessSpec({"ip", "netns", "del", foreign_ns}), seconds(10));
}

}  // namespace
}  // namespace nfb::platform
