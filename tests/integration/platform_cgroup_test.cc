// Real cgroups (root): placement, accounting, freezing and removal on this host's layout, plus
// the cgroup v2 code paths on the hybrid host's cgroup2 mount (which has no controllers but
// still offers cpu.stat, cgroup.freeze and cgroup.procs).
//
// Everything lives under `nfbtest-platform/`, never `nfbench/`, so a concurrent CleanupStale
// cannot mistake these cgroups for a dead run's.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "nfb/core/cgroup.h"
#include "nfb/core/subprocess.h"
#include "platform_test_util.h"

namespace nfb {
namespace {

namespace fs = std::filesystem;
using platform::testing::ReadText;
using ::testing::HasSubstr;

constexpr const char* kTestParent = "nfbtest-platform";

std::string RandomHex() {
  return fmt::format(
      "{:08x}",
      static_cast<unsigned>(::getpid()) * 2654435761u ^
          static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
}

ProcessSpec BusyLoop(const DomainCgroup& domain) {
  ProcessSpec spec({"sh", "-c", "while :; do :; done"});
  spec.cgroup_procs = domain.ProcsFiles();
  return spec;
}

// Exercises one layout end to end.
void ExerciseLayout(const CgroupLayout& layout, bool check_cpus) {
  const std::string hex = RandomHex();
  CgroupRun run(layout, hex, kTestParent);
  std::vector<int> available = AvailableCpus(layout);
  ASSERT_FALSE(available.empty());
  run.CreateRun(available);
  for (const fs::path& dir : run.RunDirs()) EXPECT_TRUE(fs::is_directory(dir)) << dir;

  // More CPUs than the host has: folded, still placeable.
  CpuMapping mapping = MapCpus({0, 1, 2, 3}, available);
  DomainCgroup domain = run.CreateDomain("busy", {mapping.cpus.back()});
  EXPECT_EQ(domain.ProcsFiles().size(), layout.hierarchies.size());

  Process busy = Process::Start(BusyLoop(domain));
  EXPECT_THAT(domain.Pids(), ::testing::Contains(busy.pid()));
  std::string cgroups = ReadText("/proc/" + std::to_string(busy.pid()) + "/cgroup");
  EXPECT_THAT(cgroups, HasSubstr("/" + std::string(kTestParent) + "/" + hex + "/busy\n"));
  if (check_cpus) {
    std::string status = ReadText("/proc/" + std::to_string(busy.pid()) + "/status");
    EXPECT_THAT(status,
                HasSubstr("Cpus_allowed_list:\t" + std::to_string(mapping.cpus.back()) + "\n"));
  }

  uint64_t t0 = domain.CpuUsageNs();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  uint64_t t1 = domain.CpuUsageNs();
  EXPECT_GT(t1 - t0, 50'000'000u) << "a busy loop for 300 ms must show up";

  if (domain.SetFrozen(true)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    uint64_t f0 = domain.CpuUsageNs();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    uint64_t f1 = domain.CpuUsageNs();
    EXPECT_LT(f1 - f0, 5'000'000u) << "frozen tasks must not run";
    // Removal must cope with frozen tasks (v1 ones ignore SIGKILL until thawed).
  }
  EXPECT_TRUE(run.Remove());
  ProcessResult r = busy.Wait();
  EXPECT_EQ(r.signal, SIGKILL);
  for (const fs::path& dir : run.RunDirs()) EXPECT_FALSE(fs::exists(dir)) << dir;
  RemoveCgroupParentIfEmpty(layout, kTestParent);
  for (const auto& h : layout.hierarchies) EXPECT_FALSE(fs::exists(h.root / kTestParent));
}

class CgroupIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (cgroups)";
  }
};

TEST_F(CgroupIntegrationTest, PlacesAccountsFreezesAndRemovesOnThisHost) {
  CgroupLayout layout = CgroupLayout::Detect();
  ExerciseLayout(layout, true);
}

TEST_F(CgroupIntegrationTest, V2CodePathsOnTheHybridCgroup2Mount) {
  if (fs::exists("/sys/fs/cgroup/cgroup.controllers")) {
    GTEST_SKIP() << "pure cgroup v2 host: covered by the test above";
  }
  if (!fs::exists("/sys/fs/cgroup/unified/cgroup.procs")) GTEST_SKIP() << "no cgroup2 mount";
  CgroupLayout layout;
  layout.version = 2;
  layout.hierarchies.push_back(CgroupHierarchy{"/sys/fs/cgroup/unified", 2, false, true, true});
  ExerciseLayout(layout, false);
}

TEST_F(CgroupIntegrationTest, RemovingAMissingTreeSucceeds) {
  EXPECT_TRUE(RemoveCgroupTree("/sys/fs/cgroup/cpuset/nfbtest-platform/does-not-exist"));
  EXPECT_TRUE(KillCgroupTasks({"/sys/fs/cgroup/cpuset/nfbtest-platform/does-not-exist"}));
}

}  // namespace
}  // namespace nfb
