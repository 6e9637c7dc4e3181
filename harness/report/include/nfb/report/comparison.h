// The side-by-side view of a run against the thesis: per configuration, our median (with its
// 95% CI and n), the ratio to the baseline configuration, and the thesis's value and ratio.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "nfb/report/emulation.h"  // EmulationNote, appended to comparison.txt
#include "nfb/report/tables.h"
#include "nfb/scenario/scenario.h"

namespace nfb::report {

struct ComparisonRow {
  std::string configuration;
  size_t n = 0;
  std::string unit;  // the report's display unit
  double median = 0, median_ci_low = 0, median_ci_high = 0, p25 = 0, p75 = 0;
  double mean = 0, mean_ci_low = 0, mean_ci_high = 0;
  std::string statistic = "median";  // what `ratio` and the table use: "median" or "mean"
  std::optional<double> ratio;            // statistic / the baseline's statistic
  std::optional<double> reference;        // thesis value, display unit
  std::optional<double> reference_ratio;  // thesis value / thesis baseline
};

// Factor that converts a value in `from` into `to`: 1 for the same unit, otherwise both must be
// time units (ns, us, ms, s); throws InputError otherwise.
double UnitFactor(const std::string& from, const std::string& to);

// Rows for `spec.metric`, in the order of the summary. Configurations without samples are absent.
std::vector<ComparisonRow> Compare(const std::vector<SummaryRow>& summary,
                                   const scenario::ReportSpec& spec);

void WriteComparisonCsv(std::ostream& out, const std::vector<ComparisonRow>& rows);
// A fixed-width table for the terminal and for README excerpts.
std::string FormatComparison(const std::vector<ComparisonRow>& rows, const std::string& baseline);

}  // namespace nfb::report
