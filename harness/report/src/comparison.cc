#include "nfb/report/comparison.h"

#include <fmt/format.h>

#include <algorithm>
#include <ostream>

#include "nfb/core/error.h"

namespace nfb::report {
namespace {

double UnitInNs(const std::string& unit) {
  if (unit == "ns") return 1;
  if (unit == "us") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  throw InputError("unknown time unit '" + unit + "' (expected ns, us, ms or s)");
}

std::string Optional(const std::optional<double>& v, const char* format) {
  return v ? fmt::format(fmt::runtime(format), *v) : std::string("-");
}

}  // namespace

double UnitFactor(const std::string& from, const std::string& to) {
  if (from == to) return 1;
  return UnitInNs(from) / UnitInNs(to);
}

std::vector<ComparisonRow> Compare(const std::vector<SummaryRow>& summary,
                                   const scenario::ReportSpec& spec) {
  std::vector<ComparisonRow> rows;
  for (const SummaryRow& s : summary) {
    if (s.metric != spec.metric || s.summary.n == 0) continue;
    double f = UnitFactor(s.unit, spec.unit);
    ComparisonRow row;
    row.configuration = s.configuration;
    row.n = s.summary.n;
    row.unit = spec.unit;
    row.median = s.summary.median * f;
    row.median_ci_low = s.summary.median_ci_low * f;
    row.median_ci_high = s.summary.median_ci_high * f;
    row.p25 = s.summary.p25 * f;
    row.p75 = s.summary.p75 * f;
    row.mean = s.summary.mean * f;
    row.mean_ci_low = s.summary.mean_ci_low * f;
    row.mean_ci_high = s.summary.mean_ci_high * f;
    row.statistic = spec.statistic;
    for (const auto& [name, value] : spec.reference) {
      if (name == s.configuration) row.reference = value;
    }
    rows.push_back(row);
  }
  const ComparisonRow* base = nullptr;
  std::optional<double> base_reference;
  for (const ComparisonRow& r : rows) {
    if (r.configuration == spec.baseline) base = &r;
  }
  for (const auto& [name, value] : spec.reference) {
    if (name == spec.baseline) base_reference = value;
  }
  const bool by_mean = spec.statistic == "mean";
  double base_center = base ? (by_mean ? base->mean : base->median) : 0;
  for (ComparisonRow& r : rows) {
    if (base && base_center > 0) r.ratio = (by_mean ? r.mean : r.median) / base_center;
    if (r.reference && base_reference && *base_reference > 0) {
      r.reference_ratio = *r.reference / *base_reference;
    }
  }
  return rows;
}

void WriteComparisonCsv(std::ostream& out, const std::vector<ComparisonRow>& rows) {
  out << "configuration,n,unit,median,median_ci_low,median_ci_high,p25,p75,ratio_to_baseline,"
         "thesis_value,thesis_ratio_to_baseline,statistic,mean,mean_ci_low,mean_ci_high\n";
  for (const ComparisonRow& r : rows) {
    out << CsvField(r.configuration) << ',' << r.n << ',' << r.unit << ','
        << fmt::format("{:.9g},{:.9g},{:.9g},{:.9g},{:.9g}", r.median, r.median_ci_low,
                       r.median_ci_high, r.p25, r.p75)
        << ',' << (r.ratio ? fmt::format("{:.6g}", *r.ratio) : "") << ','
        << (r.reference ? fmt::format("{:.6g}", *r.reference) : "") << ','
        << (r.reference_ratio ? fmt::format("{:.6g}", *r.reference_ratio) : "") << ','
        << r.statistic << ','
        << fmt::format("{:.9g},{:.9g},{:.9g}", r.mean, r.mean_ci_low, r.mean_ci_high) << '\n';
  }
}

std::string FormatComparison(const std::vector<ComparisonRow>& rows, const std::string& baseline) {
  if (rows.empty()) return "(no samples)\n";
  const std::string& unit = rows.front().unit;
  const bool by_mean = rows.front().statistic == "mean";
  const char* statistic = by_mean ? "mean" : "median";
  size_t name_width = 14;
  for (const ComparisonRow& r : rows) name_width = std::max(name_width, r.configuration.size());
  std::string ratio_header = baseline.empty() ? "ratio" : "/" + baseline;
  std::string out = fmt::format("{:<{}} {:>7} {:>13} {:>25} {:>12} {:>13} {:>12}\n",
                                "configuration", name_width, "n",
                                fmt::format("{} {}", statistic, unit),
                                fmt::format("95% CI of {}", statistic), ratio_header,
                                "thesis " + unit, "thesis ratio");
  for (const ComparisonRow& r : rows) {
    const double center = by_mean ? r.mean : r.median;
    const double low = by_mean ? r.mean_ci_low : r.median_ci_low;
    const double high = by_mean ? r.mean_ci_high : r.median_ci_high;
    out += fmt::format("{:<{}} {:>7} {:>13.4f} {:>25} {:>12} {:>13} {:>12}\n", r.configuration,
                       name_width, r.n, center, fmt::format("[{:.4f}, {:.4f}]", low, high),
                       Optional(r.ratio, "{:.2f}"), Optional(r.reference, "{:.3f}"),
                       Optional(r.reference_ratio, "{:.2f}"));
  }
  return out;
}

}  // namespace nfb::report
