// The nfbench command line: exit codes per kind of failure, doctor, dry runs that touch nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "nfb/core/subprocess.h"

namespace {

namespace fs = std::filesystem;

const std::string kNfbench = std::string(NFB_BINARY_DIR) + "/harness/cli/nfbench";
const std::string kScenario = std::string(NFB_SOURCE_DIR) + "/scenarios/ping_latency.yaml";

nfb::ProcessResult Nfbench(std::vector<std::string> args) {
  nfb::ProcessSpec spec;
  spec.argv = {kNfbench};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  return nfb::RunProcess(spec, std::chrono::minutes(2));
}

std::string Namespaces() {
  nfb::ProcessSpec spec;
  spec.argv = {"ip", "netns", "list"};
  return nfb::RunProcess(spec, std::chrono::seconds(10)).out;
}

TEST(Cli, UsageErrorsAreBadInput) {
  EXPECT_EQ(Nfbench({}).exit_code, 2);
  EXPECT_EQ(Nfbench({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(Nfbench({"run"}).exit_code, 2);
  EXPECT_EQ(Nfbench({"run", "/nonexistent.yaml"}).exit_code, 2);
  EXPECT_EQ(Nfbench({"--help"}).exit_code, 0);
}

TEST(Cli, ScenarioErrorsAreBadInputAndNameTheKey) {
  fs::path bad = fs::temp_directory_path() / ("nfbtest-cli-" + std::to_string(::getpid()) + ".yaml");
  {
    std::ifstream in(kScenario);
    std::ofstream out(bad);
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("interval_ms:") != std::string::npos) line = "  interval_ms: fast";
      out << line << '\n';
    }
  }
  nfb::ProcessResult r = Nfbench({"validate", bad.string()});
  fs::remove(bad);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("workload.interval_ms"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(bad.string() + ":"), std::string::npos) << r.err;

  EXPECT_EQ(Nfbench({"run", kScenario, "--profile", "nonexistent", "--dry-run"}).exit_code, 2);
  EXPECT_EQ(Nfbench({"run", kScenario, "-o", "workload.count=-3", "--dry-run"}).exit_code, 2);
  EXPECT_EQ(Nfbench({"validate", kScenario}).exit_code, 0);
}

TEST(Cli, DryRunPrintsThePlanAndTouchesNothing) {
  std::string before = Namespaces();
  fs::path out = fs::temp_directory_path() / ("nfbtest-cli-out-" + std::to_string(::getpid()));
  nfb::ProcessResult r =
      Nfbench({"run", kScenario, "--profile", "quick", "--dry-run", "--out", out.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("XenBPF"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("300 probes + 20 warm-up"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(Namespaces(), before);
}

TEST(Cli, RunWithoutRootIsAMissingPrerequisite) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to an unprivileged user";
  nfb::ProcessSpec spec;
  // setpriv (util-linux) drops to nobody; the binary must refuse before touching anything.
  spec.argv = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", kNfbench, "run",
               kScenario, "--profile", "quick", "--out", "/tmp/nfbtest-cli-nobody"};
  nfb::ProcessResult r = nfb::RunProcess(spec, std::chrono::minutes(1));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("root"), std::string::npos) << r.err;
}

TEST(Cli, DoctorReportsWhatTheHostOffers) {
  if (::geteuid() != 0) GTEST_SKIP() << "the network checks need root";
  std::string before = Namespaces();
  nfb::ProcessResult r = Nfbench({"doctor"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* check : {"root", "bpf", "tc clsact", "xdp on veth", "netns+veth", "cgroups",
                            "timestamps", "ping", "pktgen"}) {
    EXPECT_NE(r.out.find(check), std::string::npos) << check << "\n" << r.out;
  }
  EXPECT_NE(r.out.find("measured resolution"), std::string::npos) << r.out;
  EXPECT_EQ(Namespaces(), before) << "doctor left a namespace behind";
}

}  // namespace
