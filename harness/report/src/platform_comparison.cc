// ComparePlatforms: lines the runs up by configuration and works out ratios and orderings.
#include "nfb/report/platform_comparison.h"

#include <fmt/format.h>

#include <algorithm>

#include "nfb/core/error.h"
#include "nfb/report/comparison.h"

namespace nfb::report {
namespace {

using Known = std::optional<std::string> RunComparison::*;

// The value every run that knows it agrees on (runs without a context know nothing); empty
// when none knows it. Ratios of runs of different experiments would compare nothing.
std::string Agreed(const std::vector<RunComparison>& runs, Known member, const char* what) {
  const RunComparison* first = nullptr;
  for (const RunComparison& run : runs) {
    if (!(run.*member)) continue;
    if (!first) {
      first = &run;
    } else if (*(run.*member) != *(first->*member)) {
      throw InputError(fmt::format("{} and {} are runs with different {}: '{}' and '{}'",
                                   first->dir.string(), run.dir.string(), what, *(first->*member),
                                   *(run.*member)));
    }
  }
  return first ? *(first->*member) : std::string();
}

// `value` in `unit`, converted from the row's unit; an error names the row.
double InUnit(const RunComparison& run, const RunComparisonRow& row, double value,
              const std::string& unit) {
  try {
    return value * UnitFactor(row.unit, unit);
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}:{}: {} (the comparison is in {})",
                                 (run.dir / "comparison.csv").string(), row.line, e.what(), unit));
  }
}

std::string CommonStatistic(const RunComparison& run) {
  if (run.rows.empty()) return "median";
  for (const RunComparisonRow& row : run.rows) {
    if (row.statistic != run.rows.front().statistic) return "value";
  }
  return run.rows.front().statistic;
}

// Configurations in the first run's order, then those only later runs have.
std::vector<std::string> ConfigurationOrder(const std::vector<RunComparison>& runs) {
  std::vector<std::string> names;
  for (const RunComparison& run : runs) {
    for (const RunComparisonRow& row : run.rows) {
      if (std::find(names.begin(), names.end(), row.configuration) == names.end()) {
        names.push_back(row.configuration);
      }
    }
  }
  return names;
}

const RunComparisonRow* Find(const RunComparison& run, const std::string& configuration) {
  for (const RunComparisonRow& row : run.rows) {
    if (row.configuration == configuration) return &row;
  }
  return nullptr;
}

void AddThesis(const std::vector<RunComparison>& runs, PlatformComparison& c) {
  std::optional<double> baseline_value;
  for (PlatformComparisonRow& out : c.rows) {
    for (const RunComparison& run : runs) {
      const RunComparisonRow* row = Find(run, out.configuration);
      if (!row || !row->thesis_value) continue;
      out.thesis_value = InUnit(run, *row, *row->thesis_value, c.unit);
      out.thesis_ratio = row->thesis_ratio_in_file;
      break;
    }
    if (!c.baseline.empty() && out.configuration == c.baseline) baseline_value = out.thesis_value;
  }
  if (!baseline_value || *baseline_value <= 0) return;  // keep the ratios the runs wrote
  for (PlatformComparisonRow& out : c.rows) {
    out.thesis_ratio.reset();
    if (out.thesis_value) out.thesis_ratio = *out.thesis_value / *baseline_value;
  }
}

// The run's cells (in the run's unit) and, from them, its ratios and ordering.
void AddRun(const RunComparison& run, size_t index, PlatformComparison& c) {
  PlatformRunColumn column;
  column.label = run.Label();
  column.dir = run.dir;
  column.platform = run.platform;
  column.emulated_under = run.emulated_under;
  column.emulation_caveat = run.emulation_caveat;
  column.run_id = run.run_id;
  column.statistic = CommonStatistic(run);
  column.unit = run.rows.empty() ? c.unit : run.rows.front().unit;

  std::optional<double> baseline_value;
  for (PlatformComparisonRow& out : c.rows) {
    PlatformCell& cell = out.runs[index];
    const RunComparisonRow* row = Find(run, out.configuration);
    if (!row) continue;
    cell.value = InUnit(run, *row, row->value, column.unit);
    cell.ratio = row->ratio_in_file;
    if (!c.baseline.empty() && out.configuration == c.baseline) baseline_value = cell.value;
  }
  // The ratio from the values, so every run's ratio uses the same baseline; a run without the
  // baseline (or a comparison whose baseline is unknown) keeps what the run wrote.
  if (baseline_value) {
    for (PlatformComparisonRow& out : c.rows) {
      PlatformCell& cell = out.runs[index];
      cell.ratio.reset();
      if (cell.value && *baseline_value > 0) cell.ratio = *cell.value / *baseline_value;
    }
  }
  std::vector<std::pair<std::string, std::optional<double>>> values;
  for (const PlatformComparisonRow& out : c.rows) {
    values.emplace_back(out.configuration, out.runs[index].value);
  }
  column.ordering = FormatOrdering(values);
  c.runs.push_back(std::move(column));
}

}  // namespace

std::string FormatOrdering(
    const std::vector<std::pair<std::string, std::optional<double>>>& values) {
  std::vector<size_t> known;
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i].second) known.push_back(i);
  }
  std::stable_sort(known.begin(), known.end(),
                   [&](size_t a, size_t b) { return *values[a].second < *values[b].second; });
  std::string out;
  for (size_t k = 0; k < known.size(); ++k) {
    if (k > 0) {
      const bool tie = *values[known[k]].second == *values[known[k - 1]].second;
      out += tie ? " = " : " < ";
    }
    out += values[known[k]].first;
  }
  return out;
}

PlatformComparison ComparePlatforms(const std::vector<RunComparison>& runs) {
  if (runs.empty()) throw InputError("no runs to compare");
  PlatformComparison c;
  c.scenario = Agreed(runs, &RunComparison::scenario, "scenarios");
  c.metric = Agreed(runs, &RunComparison::metric, "metrics");
  c.baseline = Agreed(runs, &RunComparison::baseline, "baselines");
  for (const RunComparison& run : runs) {
    if (!run.rows.empty()) {
      c.unit = run.rows.front().unit;
      break;
    }
  }
  for (const std::string& name : ConfigurationOrder(runs)) {
    PlatformComparisonRow row;
    row.configuration = name;
    row.runs.resize(runs.size());
    c.rows.push_back(std::move(row));
  }
  AddThesis(runs, c);
  for (size_t i = 0; i < runs.size(); ++i) AddRun(runs[i], i, c);

  std::vector<std::pair<std::string, std::optional<double>>> thesis;
  for (const PlatformComparisonRow& row : c.rows) {
    thesis.emplace_back(row.configuration, row.thesis_value);
  }
  c.thesis_ordering = FormatOrdering(thesis);
  return c;
}

}  // namespace nfb::report
