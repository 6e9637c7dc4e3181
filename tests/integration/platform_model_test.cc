// What the netns platform decides before touching the host: names, validation, run ids.
// No root needed (label unit).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

#include "nfb/core/error.h"
#include "nfb/platform/netns_platform.h"
#include "nfb/platform/platform.h"
#include "platform_test_util.h"

namespace nfb::platform {
namespace {

using testing::PingTopology;

TEST(RunIdTest, GeneratesDistinctHexIdsWithANinCharacterPrefix) {
  RunId a = RunId::Generate(), b = RunId::Generate();
  EXPECT_TRUE(std::regex_match(a.hex, std::regex("[0-9a-f]{16}"))) << a.hex;
  EXPECT_NE(a.hex, b.hex);
  EXPECT_EQ(a.Prefix(), "nfb" + a.hex.substr(0, 6));
  EXPECT_EQ(RunDirectory(a), "/run/nfbench/" + a.hex);
}

TEST(NetnsPlatformModelTest, NamesEveryHostAfterTheRun) {
  RunId id{"0123456789abcdef"};
  NetnsPlatform p(PingTopology(), id);
  EXPECT_EQ(p.Name(), "netns");
  EXPECT_EQ(p.Dom0Netns(), "nfb012345-dom0");
  EXPECT_EQ(p.SwitchNetns(), "nfb012345-switch");
  EXPECT_EQ(p.Dom0NicInterface(), "peth0");

  const HostInfo& dom0 = p.Host("dom0");
  EXPECT_EQ(dom0.interface, "xenbr0");
  EXPECT_EQ(dom0.address, "198.18.0.1");
  EXPECT_EQ(dom0.mac, "02:00:00:00:00:01");
  const HostInfo& loadgen = p.Host("loadgen");
  EXPECT_EQ(loadgen.netns, "nfb012345-loadgen");
  EXPECT_EQ(loadgen.interface, "eth0");
  EXPECT_TRUE(loadgen.cpus.empty());  // placed at Provision, after looking at the host

  ProcessSpec spec = p.Command("domu2", {"ping", "-c", "1", "198.18.0.1"});
  EXPECT_EQ(spec.netns, "nfb012345-domu2");
  EXPECT_EQ(spec.argv, (std::vector<std::string>{"ping", "-c", "1", "198.18.0.1"}));
  EXPECT_TRUE(spec.cgroup_procs.empty());
  EXPECT_EQ(p.Cgroup("domu2"), nullptr);

  EXPECT_THROW(p.Host("domu3"), InputError);
  EXPECT_THROW(p.Command("switch", {"true"}), InputError);
  // Teardown without Provision is a no-op.
  p.Teardown();
}

TEST(NetnsPlatformModelTest, RejectsTopologiesItCannotEmulate) {
  RunId id{"abcdef"};
  auto expect_input_error = [&](scenario::Topology t, const std::string& fragment) {
    try {
      MakeNetnsPlatform(t, id);
      ADD_FAILURE() << "accepted a topology that should fail with: " << fragment;
    } catch (const InputError& e) {
      EXPECT_THAT(e.what(), ::testing::HasSubstr(fragment));
    }
  };
  scenario::Topology t = PingTopology();
  t.guests[1].name = "domu1";
  expect_input_error(t, "'domu1' is taken");
  t = PingTopology();
  t.external_hosts[0].name = "dom0";
  expect_input_error(t, "'dom0' is taken");
  t = PingTopology();
  t.guests[0].name = "switch";
  expect_input_error(t, "'switch' is taken");
  t = PingTopology();
  t.guests[0].name = "../etc";
  expect_input_error(t, "cannot name a network namespace");
  t = PingTopology();
  t.guests[1].domid = 1;
  expect_input_error(t, "domid 1");
  t = PingTopology();
  t.dom0.nic.name = "a-name-longer-than-15";
  expect_input_error(t, "NIC name");
  t = PingTopology();
  t.dom0.nic.name = "vif9.0";
  expect_input_error(t, "NIC name");
  t = PingTopology();
  t.guests[0].vcpus = {};
  expect_input_error(t, "has no CPUs");

  EXPECT_THROW(MakeNetnsPlatform(PingTopology(), RunId{"XYZ123"}), InputError);
  EXPECT_THROW(MakeNetnsPlatform(PingTopology(), RunId{"abc"}), InputError);
}

}  // namespace
}  // namespace nfb::platform
