"""Statistics the figures draw, kept apart from plotting so tests can check them by hand."""
import math
from collections import namedtuple

from scipy import stats as _scipy_stats

MeanCI = namedtuple("MeanCI", "n mean sd half_width low high")


def mean_ci(values, confidence=0.95):
    """Mean and its two-sided `confidence` interval from Student's t with n-1 degrees of freedom:
    mean -+ t((1 + confidence) / 2, n - 1) * sd / sqrt(n), sd the sample standard deviation.

    The thesis's bar charts (Figures 6.3, 6.7, 6.8) show five runs' mean with a 95% CI; with n = 5
    the t quantile is 2.776, not the normal 1.96. Values that are NaN are ignored. Returns NaN for
    the interval (and sd) when fewer than two values remain, and NaN for everything when none do.
    """
    data = [float(v) for v in values if not math.isnan(float(v))]
    n = len(data)
    if n == 0:
        nan = float("nan")
        return MeanCI(0, nan, nan, nan, nan, nan)
    mean = math.fsum(data) / n
    if n < 2:
        nan = float("nan")
        return MeanCI(n, mean, nan, nan, nan, nan)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in data) / (n - 1))
    half = float(_scipy_stats.t.ppf((1.0 + confidence) / 2.0, n - 1)) * sd / math.sqrt(n)
    return MeanCI(n, mean, sd, half, mean - half, mean + half)


def coefficient_of_variation(values):
    """Sample standard deviation / mean (NaN for fewer than two values or a zero mean)."""
    ci = mean_ci(values)
    if ci.n < 2 or ci.mean == 0:
        return float("nan")
    return ci.sd / ci.mean
