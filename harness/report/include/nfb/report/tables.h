// The tidy result tables of a run (docs/results.md documents every column):
//   samples.csv     one row per measured value, long format
//   summary.csv     per configuration and metric: n, mean, sd, quantiles, CI of the median
//   accounting.csv  per configuration and repetition: where every probe went
//   series.csv      per configuration and repetition: values over time (throughput, loss ...)
//   (cpu.csv, per-domain CPU per second, is written by collectors/cpu_series.h)
// Rows are generic so any workload can produce them; the writers know nothing of ping.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "nfb/core/stats.h"

namespace nfb::report {

inline constexpr int kResultsSchemaVersion = 1;

struct Sample {
  std::string configuration;
  int repetition = 0;  // 1-based
  std::string metric;
  double value = 0;
  std::string unit;
  double t = 0;  // seconds since the start of the repetition's measurement
};

struct SummaryRow {
  std::string configuration;
  std::string metric;
  std::string unit;
  int repetitions = 0;
  Summary summary;
};

struct AccountingRow {
  std::string configuration;
  int repetition = 0;
  std::vector<std::pair<std::string, int64_t>> fields;  // same keys, same order in every row
};

// One point of a time series, e.g. the valid flow's throughput in one 1-second interval.
struct SeriesPoint {
  std::string configuration;
  int repetition = 0;
  double t = 0;        // seconds since the start of the repetition's measurement
  std::string series;  // "throughput", "loss", ...
  double value = 0;
  std::string unit;
};

// Groups samples by (configuration, metric) in order of first appearance and summarises each.
std::vector<SummaryRow> Summarize(const std::vector<Sample>& samples);

void WriteSamplesCsv(std::ostream& out, const std::vector<Sample>& samples);
void WriteSummaryCsv(std::ostream& out, const std::vector<SummaryRow>& rows);
void WriteSeriesCsv(std::ostream& out, const std::vector<SeriesPoint>& points);
// Throws RunError if rows disagree on their field names.
void WriteAccountingCsv(std::ostream& out, const std::vector<AccountingRow>& rows);

// Quotes a CSV field when it needs it (RFC 4180).
std::string CsvField(const std::string& text);

}  // namespace nfb::report
