// The path the xen platform uses for a program at a guest's own interface (nf/src/remote_bpf.h):
// nfb-nf-attach started through Platform::Command and held through a LineSession. On Xen the
// command is ssh into the guest; here the netns platform's command (setns into the guest's
// namespace) carries the same session, so the tool, its protocol and its clean detach are tested
// without Xen: pings from loadgen are answered by the program, its counters come back through the
// session, and closing its input leaves no filter behind. Root only (skips otherwise).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "nfb/core/subprocess.h"
#include "nfb/platform/netns_platform.h"
#include "objects.h"
#include "platform_test_util.h"
#include "remote_bpf.h"

namespace nfb::nf {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TEST(RemoteAttachNetnsTest, NfbNfAttachAnswersInTheGuestAndDetachesWhenItsInputCloses) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (namespaces, BPF)";
  platform::NetnsPlatform p(platform::testing::PingTopology(), platform::RunId::Generate());
  p.Provision();
  const fs::path logs = p.StateDirectory() / "logs";
  fs::create_directories(logs);

  scenario::ProgramSpec program;
  program.name = "icmp_echo";
  program.object = "icmp_echo";
  const DirectTarget target{.at = scenario::InstallAt::kGuest,
                            .netns = p.Host("domu1").netns,
                            .interface = "eth0",
                            .only_daddr_be = 0,
                            .only_daddr = ""};
  std::string tool_log;
  {
    std::unique_ptr<InstalledFunction> installed =
        InstallRemoteBpf(p, "domu1", program, *FindObject("icmp_echo"), target, logs);
    EXPECT_EQ(installed->Describe()["path"], "harness-direct");
    EXPECT_EQ(installed->Describe()["attached"]["interface"], "eth0");
    const ProcessResult ping = platform::testing::Ping(p, "loadgen", "198.18.0.11", 5);
    EXPECT_TRUE(ping.Succeeded()) << ping.Status() << " " << ping.err;
    const nlohmann::json counters = installed->Counters();
    EXPECT_EQ(counters.value("answered", 0), 5) << counters.dump();
  }
  std::ifstream in(logs / "nfb-nf-attach.log");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr("\"detached\":true")) << text.str();
  const ProcessResult filters =
      RunProcess(p.Command("domu1", {"tc", "filter", "show", "dev", "eth0", "ingress"}),
                 std::chrono::seconds(10));
  EXPECT_EQ(filters.out, "") << "a filter was left behind";
  p.Teardown();
}

}  // namespace
}  // namespace nfb::nf
