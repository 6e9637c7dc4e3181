// Rows of a run-wide CPU series given to the steps they were sampled in (cpu_rows_by_step.h).
#include "cpu_rows_by_step.h"

#include <gtest/gtest.h>

namespace nfb::runner {
namespace {

using Groups =
    std::vector<std::pair<std::vector<std::string>, std::vector<collectors::CpuSeriesRow>>>;

// Two rows (dom0, domu1) per 1-second interval ending at t = 1, 2, ... n.
std::vector<collectors::CpuSeriesRow> Series(int intervals) {
  std::vector<collectors::CpuSeriesRow> rows;
  for (int i = 1; i <= intervals; ++i) {
    for (const char* domain : {"dom0", "domu1"}) {
      collectors::CpuSeriesRow r;
      r.t_s = i;
      r.interval_s = 1;
      r.domain = domain;
      rows.push_back(r);
    }
  }
  return rows;
}

// The labels of the groups with their row counts, e.g. "A/1 x4".
std::vector<std::string> Labels(const Groups& groups) {
  std::vector<std::string> out;
  for (const auto& [key, rows] : groups) {
    out.push_back(key[0] + "/" + key[1] + " x" + std::to_string(rows.size()));
  }
  return out;
}

TEST(CpuRowsBySteps, RowsGoToTheStepTheyOverlapAndTheRestAreBetweenSteps) {
  // Intervals (0,1] (1,2] (2,3] (3,4] (4,5]; step A runs 1.2-2.9, step B 3.5-3.6.
  std::vector<StepWindow> windows = {{"A", 1, 1.2, 2.9}, {"B", 1, 3.5, 3.6}};
  Groups g = GroupCpuRowsBySteps(Series(5), windows);
  EXPECT_EQ(Labels(g), (std::vector<std::string>{"(between steps)/0 x2", "A/1 x4", "B/1 x2",
                                                 "(between steps)/0 x2"}));
  EXPECT_EQ(g[1].second.front().t_s, 2);
  EXPECT_EQ(g[1].second.back().t_s, 3);
}

TEST(CpuRowsBySteps, AStepShorterThanAnIntervalStillGetsItsRow) {
  // A 0.3 s ping step inside one 1 s interval: that interval is the step's.
  Groups g = GroupCpuRowsBySteps(Series(3), {{"domU plain", 2, 1.4, 1.7}});
  EXPECT_EQ(Labels(g), (std::vector<std::string>{"(between steps)/0 x2", "domU plain/2 x2",
                                                 "(between steps)/0 x2"}));
}

TEST(CpuRowsBySteps, AnIntervalSpanningTwoStepsGoesToTheLargerOverlap) {
  // Interval (1,2]: A has 0.3 s of it, B 0.6 s.
  Groups g = GroupCpuRowsBySteps(Series(2), {{"A", 1, 0.0, 1.3}, {"B", 1, 1.4, 2.0}});
  EXPECT_EQ(Labels(g), (std::vector<std::string>{"A/1 x2", "B/1 x2"}));
}

TEST(CpuRowsBySteps, TouchingAWindowIsNoOverlap) {
  Groups g = GroupCpuRowsBySteps(Series(2), {{"A", 1, 2.0, 3.0}});
  EXPECT_EQ(Labels(g), (std::vector<std::string>{"(between steps)/0 x4"}));
}

TEST(CpuRowsBySteps, NoRowsNoGroups) {
  EXPECT_TRUE(GroupCpuRowsBySteps({}, {{"A", 1, 0, 1}}).empty());
}

}  // namespace
}  // namespace nfb::runner
