// Expected values are computed by hand where that is easy and otherwise with numpy 1.24
// (np.quantile default method, np.std(ddof=1)) and scipy 1.10 (binom.cdf for the CI ranks); the
// numbers are pasted here so that the test needs no Python at run time.
#include "nfb/core/stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "nfb/core/error.h"

namespace nfb {
namespace {

TEST(QuantileTest, LinearInterpolationByHand) {
  std::vector<double> x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  // h = (n - 1) q = 9 q.
  EXPECT_DOUBLE_EQ(Quantile(x, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(Quantile(x, 1.0), 10.0);
  EXPECT_DOUBLE_EQ(Quantile(x, 0.5), 5.5);    // h = 4.5
  EXPECT_DOUBLE_EQ(Quantile(x, 0.25), 3.25);  // h = 2.25
  EXPECT_DOUBLE_EQ(Quantile(x, 0.05), 1.45);  // h = 0.45
  EXPECT_DOUBLE_EQ(Quantile(x, 0.99), 9.91);  // h = 8.91
  EXPECT_DOUBLE_EQ(Quantile(x, 1.0 / 9.0), 2.0);
}

TEST(QuantileTest, SingleValueAndEmpty) {
  EXPECT_DOUBLE_EQ(Quantile({7.5}, 0.0), 7.5);
  EXPECT_DOUBLE_EQ(Quantile({7.5}, 0.3), 7.5);
  EXPECT_DOUBLE_EQ(Quantile({7.5}, 1.0), 7.5);
  EXPECT_TRUE(std::isnan(Quantile({}, 0.5)));
}

TEST(QuantileTest, RejectsLevelsOutsideUnitInterval) {
  std::vector<double> x = {1, 2};
  EXPECT_THROW(Quantile(x, -0.01), InputError);
  EXPECT_THROW(Quantile(x, 1.01), InputError);
  EXPECT_THROW(Quantile(x, std::numeric_limits<double>::quiet_NaN()), InputError);
}

TEST(SummarizeTest, OneToTen) {
  // Shuffled on purpose: Summarize must sort.
  Summary s = Summarize({7, 3, 10, 1, 5, 9, 2, 8, 6, 4});
  EXPECT_EQ(s.n, 10u);
  EXPECT_DOUBLE_EQ(s.mean, 5.5);
  EXPECT_DOUBLE_EQ(s.sd, 3.0276503540974917);  // sqrt(82.5 / 9)
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.p5, 1.45);
  EXPECT_DOUBLE_EQ(s.p25, 3.25);
  EXPECT_DOUBLE_EQ(s.median, 5.5);
  EXPECT_DOUBLE_EQ(s.p75, 7.75);
  EXPECT_DOUBLE_EQ(s.p95, 9.549999999999999);
  EXPECT_DOUBLE_EQ(s.p99, 9.91);
  EXPECT_DOUBLE_EQ(s.max, 10);
  // n = 10: l = 2 (P(B <= 1) = 11/1024 <= 0.025 < P(B <= 2) = 56/1024), so [x_(2), x_(9)].
  EXPECT_DOUBLE_EQ(s.median_ci_low, 2);
  EXPECT_DOUBLE_EQ(s.median_ci_high, 9);
}

TEST(SummarizeTest, SkewedRttSampleMatchesNumpy) {
  // 25 RTTs in ns with one outlier, as a 256 ns clock produces them.
  std::vector<double> rtt = {1843, 2101, 1792, 2560, 1795, 2048, 1800, 40211, 1790,
                             2303, 1801, 1799, 2047, 1536, 1791, 1788, 2306,  1793,
                             2052, 1797, 1794, 2816, 1805, 1796, 1280};
  Summary s = Summarize(rtt);
  EXPECT_EQ(s.n, 25u);
  EXPECT_NEAR(s.mean, 3457.76, 1e-9);
  EXPECT_NEAR(s.sd, 7663.329157313637, 1e-9);
  EXPECT_DOUBLE_EQ(s.min, 1280);
  EXPECT_DOUBLE_EQ(s.p5, 1586.4);  // h = 1.2: 1536 + 0.2 * (1788 - 1536)
  EXPECT_DOUBLE_EQ(s.p25, 1793);
  EXPECT_DOUBLE_EQ(s.median, 1800);
  EXPECT_DOUBLE_EQ(s.p75, 2052);
  EXPECT_DOUBLE_EQ(s.p95, 2764.7999999999993);
  EXPECT_DOUBLE_EQ(s.p99, 31236.199999999924);
  EXPECT_DOUBLE_EQ(s.max, 40211);
  // scipy: l = 8 for n = 25 -> ranks 8 and 18.
  EXPECT_DOUBLE_EQ(s.median_ci_low, 1794);
  EXPECT_DOUBLE_EQ(s.median_ci_high, 2048);
}

TEST(SummarizeTest, NegativeAndFractionalValues) {
  Summary s = Summarize({-3.5, 0.25, 7, -1e-3, 12.75, 3});
  EXPECT_NEAR(s.mean, 3.249833333333333, 1e-12);
  EXPECT_NEAR(s.sd, 5.822482302821252, 1e-12);
  EXPECT_DOUBLE_EQ(s.p5, -2.62525);
  EXPECT_DOUBLE_EQ(s.p25, 0.06175);
  EXPECT_DOUBLE_EQ(s.median, 1.625);
  EXPECT_DOUBLE_EQ(s.p75, 6.0);
  EXPECT_DOUBLE_EQ(s.p95, 11.3125);
  EXPECT_DOUBLE_EQ(s.p99, 12.4625);
  // n = 6 is the smallest n with a 95% interval: [min, max], coverage 1 - 2/64 = 0.96875.
  EXPECT_DOUBLE_EQ(s.median_ci_low, -3.5);
  EXPECT_DOUBLE_EQ(s.median_ci_high, 12.75);
}

TEST(SummarizeTest, EmptyGivesNanWithZeroCount) {
  Summary s = Summarize({});
  EXPECT_EQ(s.n, 0u);
  for (double v : {s.mean, s.sd, s.min, s.p5, s.p25, s.median, s.p75, s.p95, s.p99, s.max,
                   s.median_ci_low, s.median_ci_high}) {
    EXPECT_TRUE(std::isnan(v));
  }
}

TEST(SummarizeTest, OneValue) {
  Summary s = Summarize({42});
  EXPECT_EQ(s.n, 1u);
  EXPECT_DOUBLE_EQ(s.mean, 42);
  EXPECT_TRUE(std::isnan(s.sd));
  EXPECT_DOUBLE_EQ(s.min, 42);
  EXPECT_DOUBLE_EQ(s.p5, 42);
  EXPECT_DOUBLE_EQ(s.median, 42);
  EXPECT_DOUBLE_EQ(s.p99, 42);
  EXPECT_DOUBLE_EQ(s.max, 42);
  EXPECT_TRUE(std::isnan(s.median_ci_low));
  EXPECT_TRUE(std::isnan(s.median_ci_high));
}

TEST(SummarizeTest, TwoValues) {
  Summary s = Summarize({4, 1});
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_DOUBLE_EQ(s.sd, 2.1213203435596424);
  EXPECT_DOUBLE_EQ(s.p5, 1.15);
  EXPECT_DOUBLE_EQ(s.p25, 1.75);
  EXPECT_DOUBLE_EQ(s.median, 2.5);
  EXPECT_DOUBLE_EQ(s.p75, 3.25);
  EXPECT_DOUBLE_EQ(s.p95, 3.8499999999999996);
  EXPECT_DOUBLE_EQ(s.p99, 3.9699999999999998);
  EXPECT_TRUE(std::isnan(s.median_ci_low));
}

TEST(SummarizeTest, RejectsNonFiniteValues) {
  EXPECT_THROW(Summarize({1, std::numeric_limits<double>::quiet_NaN()}), InputError);
  EXPECT_THROW(Summarize({std::numeric_limits<double>::infinity(), 1}), InputError);
}

TEST(SummarizeTest, MeanAndSdKeepPrecisionForLargeOffsets) {
  // Nanosecond timestamps-sized values with a small spread: a one-pass variance would cancel.
  std::vector<double> x;
  for (int i = 0; i < 1000; ++i) x.push_back(1.7e15 + (i % 2 == 0 ? 1.0 : -1.0));
  Summary s = Summarize(x);
  EXPECT_NEAR(s.mean, 1.7e15, 1e-3);
  EXPECT_NEAR(s.sd, std::sqrt(1000.0 / 999.0), 1e-3);
}

// Ranks against scipy.stats.binom (exact, n <= 1000) and against the normal approximation with
// continuity correction (n > 1000), which at n = 1001 is one rank more conservative than exact
// (469 instead of 470) and agrees at the other sizes checked.
TEST(MedianCiTest, LowerRanksMatchScipy) {
  struct Case {
    std::size_t n, l;
  };
  for (Case c : std::vector<Case>{
           {0, 0},      {1, 0},       {2, 0},         {5, 0},           {6, 1},      {8, 1},
           {9, 2},      {10, 2},      {12, 3},        {16, 4},          {25, 8},     {50, 18},
           {71, 27},    {100, 40},    {257, 113},     {500, 228},       {1000, 469}, {1001, 469},
           {2001, 957}, {5000, 2431}, {65537, 32518}, {1000000, 499020}}) {
    EXPECT_EQ(MedianCiLowerRank(c.n), c.l) << "n = " << c.n;
  }
}

TEST(MedianCiTest, LargeSampleUsesOrderStatistics) {
  // 0..2000 shuffled: x_(k) = k - 1, so the CI is [956, 2001 - 957] = [956, 1044].
  std::vector<double> x(2001);
  std::iota(x.begin(), x.end(), 0.0);
  std::mt19937 rng(7);
  std::shuffle(x.begin(), x.end(), rng);
  Summary s = Summarize(x);
  EXPECT_DOUBLE_EQ(s.median, 1000);
  EXPECT_DOUBLE_EQ(s.median_ci_low, 956);
  EXPECT_DOUBLE_EQ(s.median_ci_high, 1044);
  EXPECT_DOUBLE_EQ(s.p5, 100);
  EXPECT_DOUBLE_EQ(s.p99, 1980);
}

TEST(MedianCiTest, CoverageIsAtLeastNominal) {
  // Simulation check of the claim in the header: the interval covers the true median of a
  // skewed distribution in >= ~95% of repetitions (exact coverage for n = 20 is 0.9586).
  std::mt19937_64 rng(12345);
  std::exponential_distribution<double> dist(1.0);
  const double true_median = std::log(2.0);
  int covered = 0;
  const int reps = 4000;
  for (int r = 0; r < reps; ++r) {
    std::vector<double> x(20);
    for (double& v : x) v = dist(rng);
    Summary s = Summarize(x);
    if (s.median_ci_low <= true_median && true_median <= s.median_ci_high) ++covered;
  }
  double coverage = static_cast<double>(covered) / reps;
  EXPECT_GT(coverage, 0.945);
  EXPECT_LT(coverage, 0.975);
}

// scipy.stats.t.ppf(0.975, df) to 4 decimals.
TEST(StudentTTest, MatchesScipy) {
  EXPECT_NEAR(StudentT975(1), 12.7062, 1e-4);
  EXPECT_NEAR(StudentT975(4), 2.7764, 1e-4);
  EXPECT_NEAR(StudentT975(30), 2.0423, 1e-4);
  EXPECT_NEAR(StudentT975(31), 2.0395, 1e-4);
  EXPECT_NEAR(StudentT975(60), 2.0003, 1e-4);
  EXPECT_NEAR(StudentT975(120), 1.9799, 1e-4);
  EXPECT_NEAR(StudentT975(100000), 1.96, 1e-4);
  EXPECT_THROW(StudentT975(0), InputError);
}

// Five scores as in the co-tenant experiment: mean 800, sd sqrt(250) = 15.811; half width
// 2.7764 * 15.811 / sqrt(5) = 19.632 (scipy.stats.t.interval(0.95, 4, 800, sem) = 780.37, 819.63).
TEST(SummarizeTest, MeanConfidenceIntervalOfFiveScores) {
  Summary s = Summarize({780, 790, 800, 810, 820});
  EXPECT_DOUBLE_EQ(s.mean, 800);
  EXPECT_NEAR(s.mean_ci_low, 780.368, 1e-3);
  EXPECT_NEAR(s.mean_ci_high, 819.632, 1e-3);
  Summary one = Summarize({5});
  EXPECT_TRUE(std::isnan(one.mean_ci_low));
  EXPECT_TRUE(std::isnan(one.mean_ci_high));
}


}  // namespace
}  // namespace nfb
