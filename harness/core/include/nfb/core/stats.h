// Descriptive statistics for the samples a run produces (RTTs, throughputs, CPU shares).
//
// Latency samples are skewed and heavy-tailed, so the summary leads with order statistics: the
// median with a distribution-free 95% confidence interval, and quantiles defined exactly as
// numpy's default (`method="linear"`) and R's `quantile(type = 7)`, so that figures made from
// results/ by the Python plots agree with summary.csv to the last digit. docs/measurement.md
// explains the definitions.
#pragma once

#include <cstddef>
#include <vector>

namespace nfb {

struct Summary {
  std::size_t n = 0;
  double mean = 0;
  double sd = 0;  // sample standard deviation (divisor n - 1); NaN when n < 2
  double min = 0;
  double p5 = 0;
  double p25 = 0;
  double median = 0;
  double p75 = 0;
  double p95 = 0;
  double p99 = 0;
  double max = 0;
  // 95% confidence interval of the median: the order statistics x_(l) and x_(n+1-l) (1-based
  // ranks), l being the largest rank for which P(Binomial(n, 1/2) <= l - 1) <= 0.025. The ranks
  // are exact (binomial) for n <= 1000 and from the normal approximation with continuity
  // correction, l = floor(n/2 + 1/2 - 1.959964 * sqrt(n) / 2), above. For n <= 5 no pair of
  // order statistics reaches 95% coverage, so both bounds are NaN.
  double median_ci_low = 0;
  double median_ci_high = 0;
  // 95% confidence interval of the mean, mean -+ t(0.975, n-1) * sd / sqrt(n) (Student's t, as the
  // thesis's bar charts and scipy.stats.t). NaN when n < 2.
  double mean_ci_low = 0;
  double mean_ci_high = 0;
};

// Summarises `values` (taken by value because it is sorted in place).
// An empty input gives n = 0 and every other field NaN: a configuration in which every probe was
// lost is a result, not an error. n = 1 gives every location statistic equal to the value and
// sd = NaN. Throws InputError if a value is NaN or infinite.
Summary Summarize(std::vector<double> values);

// The q-quantile (0 <= q <= 1) of `sorted` (ascending; not checked) by linear interpolation
// between order statistics, h = (n - 1) q: numpy's default and R's type 7.
// Returns NaN for an empty vector; throws InputError if q is outside [0, 1] or NaN.
double Quantile(const std::vector<double>& sorted, double q);

// The 1-based rank l of the lower bound of the 95% median confidence interval for n samples
// (the upper bound is n + 1 - l); 0 when n <= 5. Exposed so the CI can be documented and tested.
std::size_t MedianCiLowerRank(std::size_t n);

// The 0.975 quantile of Student's t distribution with `df` degrees of freedom (df >= 1): exact
// table values to 4 decimals up to df = 30, the Cornish-Fisher expansion above (error < 1e-4).
double StudentT975(std::size_t df);

}  // namespace nfb
