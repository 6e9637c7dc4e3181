// The pure parts of cgroup handling: layout detection from mountinfo, CPU lists, masks, mapping
// and paths. Creating real cgroups needs root: tests/integration/platform_cgroup_test.cc.
#include "nfb/core/cgroup.h"

#include <gtest/gtest.h>

#include "nfb/core/error.h"

namespace nfb {
namespace {

// This kind of machine: separate v1 hierarchies plus an empty cgroup2 at .../unified.
constexpr const char* kHybridMountinfo =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

// systemd's classic v1 layout: cpu and cpuacct share a hierarchy.
constexpr const char* kCombinedMountinfo =
    "25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup "
    "rw,cpu,cpuacct\n"
    "26 24 0:23 / /sys/fs/cgroup/cpuset rw,nosuid shared:10 - cgroup cgroup rw,cpuset\n";

constexpr const char* kUnifiedMountinfo =
    "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

TEST(CgroupLayoutTest, HybridHostUsesTheV1Hierarchies) {
  std::vector<CgroupMount> mounts = ParseCgroupMounts(kHybridMountinfo);
  ASSERT_EQ(mounts.size(), 7u);  // the tmpfs is not a cgroup mount
  EXPECT_EQ(mounts.back().version, 2);
  CgroupLayout layout = CgroupLayout::FromMounts(mounts, "");
  EXPECT_EQ(layout.version, 1);
  ASSERT_EQ(layout.hierarchies.size(), 3u);
  EXPECT_EQ(layout.hierarchies[0].root, "/sys/fs/cgroup/cpuset");
  EXPECT_TRUE(layout.hierarchies[0].cpuset);
  EXPECT_EQ(layout.hierarchies[1].root, "/sys/fs/cgroup/cpuacct");
  EXPECT_TRUE(layout.hierarchies[1].cpuacct);
  EXPECT_FALSE(layout.hierarchies[1].cpuset);
  EXPECT_EQ(layout.hierarchies[2].root, "/sys/fs/cgroup/freezer");
  EXPECT_TRUE(layout.hierarchies[2].freezer);
  for (const auto& h : layout.hierarchies) EXPECT_EQ(h.version, 1);
}

TEST(CgroupLayoutTest, CombinedCpuCpuacctMountIsFound) {
  CgroupLayout layout = CgroupLayout::FromMounts(ParseCgroupMounts(kCombinedMountinfo), "");
  ASSERT_EQ(layout.hierarchies.size(), 2u);
  EXPECT_EQ(layout.hierarchies[0].root, "/sys/fs/cgroup/cpuset");
  EXPECT_EQ(layout.hierarchies[1].root, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_TRUE(layout.hierarchies[1].cpuacct);
}

TEST(CgroupLayoutTest, PureV2UsesOneHierarchyForEverything) {
  CgroupLayout layout = CgroupLayout::FromMounts(ParseCgroupMounts(kUnifiedMountinfo),
                                                 "cpuset cpu io memory hugetlb pids rdma misc\n");
  EXPECT_EQ(layout.version, 2);
  ASSERT_EQ(layout.hierarchies.size(), 1u);
  const CgroupHierarchy& h = layout.hierarchies[0];
  EXPECT_EQ(h.root, "/sys/fs/cgroup");
  EXPECT_EQ(h.version, 2);
  EXPECT_TRUE(h.cpuset && h.cpuacct && h.freezer);
}

TEST(CgroupLayoutTest, NoCpusetAnywhereIsAMissingPrerequisite) {
  EXPECT_THROW(CgroupLayout::FromMounts(ParseCgroupMounts(kUnifiedMountinfo), "cpu memory\n"),
               PrerequisiteError);
  EXPECT_THROW(CgroupLayout::FromMounts({}, ""), PrerequisiteError);
  // The hybrid host's empty cgroup2 alone offers nothing.
  EXPECT_THROW(
      CgroupLayout::FromMounts(
          ParseCgroupMounts("41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw"), ""),
      PrerequisiteError);
}

TEST(CgroupLayoutTest, MountPointEscapesAreDecoded) {
  std::vector<CgroupMount> mounts = ParseCgroupMounts(
      "1 2 0:3 / /mnt/my\\040cgroups rw - cgroup cgroup rw,cpuset,clone_children\n"
      "garbage line\n");
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0].path, "/mnt/my cgroups");
  EXPECT_EQ(mounts[0].controllers, (std::vector<std::string>{"cpuset", "clone_children"}));
}

TEST(CpuListTest, ParsesKernelCpuLists) {
  EXPECT_EQ(ParseCpuList("0-2,4\n"), (std::vector<int>{0, 1, 2, 4}));
  EXPECT_EQ(ParseCpuList("3,1,1"), (std::vector<int>{1, 3}));
  EXPECT_EQ(ParseCpuList("7"), (std::vector<int>{7}));
  EXPECT_EQ(ParseCpuList("\n"), (std::vector<int>{}));
  for (const char* bad : {"a", "3-1", "1-", "-1", "1,,2", "1.5"}) {
    EXPECT_THROW(ParseCpuList(bad), InputError) << bad;
  }
}

TEST(CpuListTest, FormatsRanges) {
  EXPECT_EQ(FormatCpuList({4, 0, 1, 2}), "0-2,4");
  EXPECT_EQ(FormatCpuList({5}), "5");
  EXPECT_EQ(FormatCpuList({1, 1, 3}), "1,3");
  EXPECT_EQ(FormatCpuList({}), "");
  EXPECT_EQ(ParseCpuList(FormatCpuList({0, 2, 3, 4, 9})), (std::vector<int>{0, 2, 3, 4, 9}));
}

TEST(CpuMaskTest, FormatsSysfsBitmaps) {
  EXPECT_EQ(FormatCpuMask({0}), "1");
  EXPECT_EQ(FormatCpuMask({1}), "2");
  EXPECT_EQ(FormatCpuMask({0, 1}), "3");
  EXPECT_EQ(FormatCpuMask({4, 7}), "90");
  EXPECT_EQ(FormatCpuMask({}), "0");
  EXPECT_EQ(FormatCpuMask({32}), "1,00000000");
  EXPECT_EQ(FormatCpuMask({0, 35}), "8,00000001");
  EXPECT_EQ(FormatCpuMask({31}), "80000000");
}

TEST(CpuMappingTest, FoldsRequestsOntoTheAvailableCpus) {
  CpuMapping m = MapCpus({0, 1, 2, 3}, {0, 1});
  EXPECT_EQ(m.requested, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(m.mapped, (std::vector<int>{0, 1, 0, 1}));
  EXPECT_EQ(m.cpus, (std::vector<int>{0, 1}));
  EXPECT_TRUE(m.Folded());

  CpuMapping same = MapCpus({1}, {0, 1});
  EXPECT_EQ(same.cpus, (std::vector<int>{1}));
  EXPECT_FALSE(same.Folded());

  // A restricted host (cpuset 2-3): CPU numbers are indexes into what is available.
  CpuMapping restricted = MapCpus({0, 3}, {2, 3});
  EXPECT_EQ(restricted.mapped, (std::vector<int>{2, 3}));
  EXPECT_TRUE(restricted.Folded());

  EXPECT_THROW(MapCpus({-1}, {0, 1}), InputError);
  EXPECT_THROW(MapCpus({0}, {}), RunError);
}

CgroupLayout FakeV1Layout() {
  return CgroupLayout::FromMounts(ParseCgroupMounts(kHybridMountinfo), "");
}

TEST(CgroupRunTest, PathsAreRunAndDomainUnderEveryHierarchy) {
  CgroupRun run(FakeV1Layout(), "0123abcd");
  EXPECT_EQ(run.RunDirs(),
            (std::vector<std::filesystem::path>{"/sys/fs/cgroup/cpuset/nfbench/0123abcd",
                                                "/sys/fs/cgroup/cpuacct/nfbench/0123abcd",
                                                "/sys/fs/cgroup/freezer/nfbench/0123abcd"}));
  EXPECT_EQ(run.DomainDirs("domu1").front(), "/sys/fs/cgroup/cpuset/nfbench/0123abcd/domu1");
  EXPECT_EQ(run.DomainDirs("domu1").size(), 3u);

  CgroupRun test_run(FakeV1Layout(), "0123abcd", "nfbtest-core");
  EXPECT_EQ(test_run.RunDirs().front(), "/sys/fs/cgroup/cpuset/nfbtest-core/0123abcd");
}

TEST(CgroupRunTest, RejectsNamesThatCouldEscapeTheTree) {
  EXPECT_THROW(CgroupRun(FakeV1Layout(), "NotHex"), InputError);
  EXPECT_THROW(CgroupRun(FakeV1Layout(), ""), InputError);
  EXPECT_THROW(CgroupRun(FakeV1Layout(), "abc", "../x"), InputError);
  CgroupRun run(FakeV1Layout(), "abc");
  for (const char* bad : {"..", ".", "a/b", "", "a b"}) {
    EXPECT_THROW(run.DomainDirs(bad), InputError) << bad;
  }
}

TEST(DomainCgroupTest, ProcsFilesArePerHierarchy) {
  CgroupLayout layout = FakeV1Layout();
  DomainCgroup domain("dom0", {0},
                      {{"/sys/fs/cgroup/cpuset/nfbench/ab/dom0", layout.hierarchies[0]},
                       {"/sys/fs/cgroup/cpuacct/nfbench/ab/dom0", layout.hierarchies[1]}});
  EXPECT_EQ(domain.ProcsFiles(), (std::vector<std::filesystem::path>{
                                     "/sys/fs/cgroup/cpuset/nfbench/ab/dom0/cgroup.procs",
                                     "/sys/fs/cgroup/cpuacct/nfbench/ab/dom0/cgroup.procs"}));
  // No freezer among its hierarchies: freezing reports that instead of failing.
  EXPECT_FALSE(domain.SetFrozen(true));
}

}  // namespace
}  // namespace nfb
