#include "nfb/core/stats.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <string>

#include "nfb/core/error.h"

namespace nfb {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Above this n the binomial ranks come from the normal approximation. At n = 1000 both give the
// same rank; the approximation is within one rank (and conservative) beyond, and summing ~n/2
// binomial terms for millions of samples would buy nothing.
constexpr std::size_t kExactCiMaxN = 1000;

// Two-sided 95%: the 0.975 quantile of the standard normal distribution.
constexpr double kZ975 = 1.959963984540054;

// numpy's _lerp: interpolates from the nearer end, so the result is exact at t = 0 and t = 1
// and matches numpy bit for bit.
double Lerp(double a, double b, double t) {
  double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

}  // namespace

std::size_t MedianCiLowerRank(std::size_t n) {
  if (n <= kExactCiMaxN) {
    // Coverage of [x_(l), x_(n+1-l)] is 1 - 2 P(B <= l - 1) for B ~ Binomial(n, 1/2); take the
    // narrowest interval that still covers 95%. The CDF is accumulated term by term in log space
    // (2^-n underflows for large n), so this is O(l).
    double dn = static_cast<double>(n);
    double log_norm = std::lgamma(dn + 1.0) - dn * std::log(2.0);
    double cdf = 0;  // P(B <= l) after adding term l
    std::size_t l = 0;
    while (l + 1 <= n) {
      double dl = static_cast<double>(l);
      cdf += std::exp(log_norm - std::lgamma(dl + 1.0) - std::lgamma(dn - dl + 1.0));
      if (cdf > 0.025) break;
      ++l;
    }
    return l;
  }
  double dn = static_cast<double>(n);
  double l = std::floor(dn / 2.0 + 0.5 - kZ975 * std::sqrt(dn) / 2.0);
  return l < 1 ? 0 : static_cast<std::size_t>(l);
}

double Quantile(const std::vector<double>& sorted, double q) {
  if (!(q >= 0.0 && q <= 1.0)) {
    throw InputError("quantile level must be within [0, 1], got " + std::to_string(q));
  }
  if (sorted.empty()) return kNaN;
  double h = static_cast<double>(sorted.size() - 1) * q;
  double lo = std::floor(h);
  auto i = static_cast<std::size_t>(lo);
  if (i + 1 >= sorted.size()) return sorted.back();
  return Lerp(sorted[i], sorted[i + 1], h - lo);
}

double StudentT975(std::size_t df) {
  static constexpr double kTable[] = {
      12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
      2.2010,  2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
      2.0796,  2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423};
  if (df == 0) throw InputError("Student's t needs at least one degree of freedom");
  if (df <= std::size(kTable)) return kTable[df - 1];
  const double z = 1.959963985;
  const double v = static_cast<double>(df);
  const double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
  return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v) +
         (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v);
}

Summary Summarize(std::vector<double> values) {
  Summary s;
  s.n = values.size();
  if (values.empty()) {
    s.mean = s.sd = s.min = s.p5 = s.p25 = s.median = s.p75 = s.p95 = s.p99 = s.max = kNaN;
    s.median_ci_low = s.median_ci_high = kNaN;
    s.mean_ci_low = s.mean_ci_high = kNaN;
    return s;
  }
  double sum = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      throw InputError("cannot summarise a non-finite value (sample " + std::to_string(i) + " is " +
                       std::to_string(values[i]) + ")");
    }
    sum += values[i];
  }
  double dn = static_cast<double>(s.n);
  s.mean = sum / dn;
  // Two passes (mean first, then squared deviations) rather than sum of squares: latencies in ns
  // have a large mean relative to their spread, where the one-pass formula cancels badly.
  if (s.n >= 2) {
    double ss = 0;
    for (double v : values) ss += (v - s.mean) * (v - s.mean);
    s.sd = std::sqrt(ss / (dn - 1.0));
    const double half = StudentT975(s.n - 1) * s.sd / std::sqrt(dn);
    s.mean_ci_low = s.mean - half;
    s.mean_ci_high = s.mean + half;
  } else {
    s.sd = kNaN;
    s.mean_ci_low = s.mean_ci_high = kNaN;
  }

  std::sort(values.begin(), values.end());
  s.min = values.front();
  s.max = values.back();
  s.p5 = Quantile(values, 0.05);
  s.p25 = Quantile(values, 0.25);
  s.median = Quantile(values, 0.5);
  s.p75 = Quantile(values, 0.75);
  s.p95 = Quantile(values, 0.95);
  s.p99 = Quantile(values, 0.99);

  std::size_t l = MedianCiLowerRank(s.n);
  if (l == 0) {
    s.median_ci_low = s.median_ci_high = kNaN;
  } else {
    s.median_ci_low = values[l - 1];
    s.median_ci_high = values[s.n - l];  // rank n + 1 - l, 0-based n - l
  }
  return s;
}

}  // namespace nfb
