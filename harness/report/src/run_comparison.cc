// LoadRunComparison: a finished run's comparison.csv and context.json, read defensively.
#include <fmt/format.h>

#include <fstream>
#include <set>
#include <sstream>

#include "json_at.h"
#include "nfb/core/error.h"
#include "nfb/core/text_file.h"
#include "nfb/report/csv_reader.h"
#include "nfb/report/emulation.h"
#include "nfb/report/platform_comparison.h"

namespace nfb::report {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr size_t kShortRunId = 8;

// A field quoted into an error message, cut short: it may be anything.
std::string Quoted(const std::string& field) {
  return field.size() > 40 ? "'" + field.substr(0, 40) + "...'" : "'" + field + "'";
}

size_t RequiredColumn(const CsvTable& table, const char* name) {
  std::optional<size_t> column = table.Column(name);
  if (!column) {
    throw InputError(
        fmt::format("{}:1: no column '{}' (is this a comparison.csv?)", table.source, name));
  }
  return *column;
}

double Number(const CsvTable& table, const CsvRecord& record, size_t column) {
  std::optional<double> value = ParseCsvNumber(record.fields[column]);
  if (!value) {
    throw InputError(fmt::format("{}: {} {} is not a number", table.Where(record),
                                 table.header[column], Quoted(record.fields[column])));
  }
  return *value;
}

// Empty (or an absent column) is "not known"; anything else must be a number.
std::optional<double> OptionalNumber(const CsvTable& table, const CsvRecord& record,
                                     std::optional<size_t> column) {
  if (!column || record.fields[*column].empty()) return std::nullopt;
  return Number(table, record, *column);
}

// comparison.csv as written by WriteComparisonCsv. Older runs lack the statistic and mean
// columns: their values are medians.
std::vector<RunComparisonRow> ReadRows(const CsvTable& table) {
  const size_t configuration = RequiredColumn(table, "configuration");
  const size_t unit = RequiredColumn(table, "unit");
  const size_t median = RequiredColumn(table, "median");
  const std::optional<size_t> mean = table.Column("mean");
  const std::optional<size_t> statistic = table.Column("statistic");
  const std::optional<size_t> ratio = table.Column("ratio_to_baseline");
  const std::optional<size_t> thesis = table.Column("thesis_value");
  const std::optional<size_t> thesis_ratio = table.Column("thesis_ratio_to_baseline");

  std::vector<RunComparisonRow> rows;
  std::set<std::string> seen;
  for (const CsvRecord& record : table.records) {
    RunComparisonRow row;
    row.line = record.line;
    row.configuration = record.fields[configuration];
    if (row.configuration.empty()) {
      throw InputError(table.Where(record) + ": empty configuration name");
    }
    if (!seen.insert(row.configuration).second) {
      throw InputError(fmt::format("{}: configuration {} appears twice", table.Where(record),
                                   Quoted(row.configuration)));
    }
    row.unit = record.fields[unit];
    row.statistic = statistic ? record.fields[*statistic] : "median";
    if (row.statistic == "median") {
      row.value = Number(table, record, median);
    } else if (row.statistic == "mean" && mean) {
      row.value = Number(table, record, *mean);
    } else if (row.statistic == "mean") {
      throw InputError(table.Where(record) + ": statistic is mean but there is no mean column");
    } else {
      throw InputError(fmt::format("{}: statistic {} is neither median nor mean",
                                   table.Where(record), Quoted(row.statistic)));
    }
    row.ratio_in_file = OptionalNumber(table, record, ratio);
    row.thesis_value = OptionalNumber(table, record, thesis);
    row.thesis_ratio_in_file = OptionalNumber(table, record, thesis_ratio);
    rows.push_back(std::move(row));
  }
  return rows;
}

// The run id from a directory named "<UTC time>-<run id>"; the whole name otherwise.
std::string RunIdFromDirectory(const fs::path& dir) {
  std::error_code ec;
  fs::path absolute = fs::weakly_canonical(dir, ec);
  if (ec) absolute = dir.lexically_normal();
  std::string name = absolute.filename().string();
  if (name.empty()) name = absolute.parent_path().filename().string();
  const size_t dash = name.rfind('-');
  return dash == std::string::npos ? name : name.substr(dash + 1);
}

std::optional<std::string> NonEmpty(std::string text) {
  if (text.empty()) return std::nullopt;
  return text;
}

void ReadContext(const fs::path& path, RunComparison& run) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return;  // optional: the run still has its table
  std::optional<std::string> text = ReadTextFile(path);
  if (!text) throw InputError(path.string() + ": cannot read");
  json context;
  try {
    context = json::parse(*text);
  } catch (const json::exception& e) {
    // e.what() says where: "parse error at line 3, column 5: ...".
    throw InputError(fmt::format("{}: not valid JSON: {}", path.string(), e.what()));
  }
  if (std::string platform = StringAt(context, {"platform", "name"}); !platform.empty()) {
    run.platform = platform;
  }
  if (std::string id = StringAt(context, {"run_id"}); !id.empty()) run.run_id = id;
  run.scenario = NonEmpty(StringAt(context, {"scenario", "name"}));
  run.baseline = NonEmpty(StringAt(context, {"scenario", "report", "baseline"}));
  run.metric = NonEmpty(StringAt(context, {"scenario", "report", "metric"}));
  run.emulated_under = EmulatedUnder(context);
  run.emulation_caveat = EmulationCaveat(context);
}

}  // namespace

std::string RunComparison::Label() const {
  std::string label = platform;
  if (emulated_under) label += " (emulated)";
  if (!run_id.empty()) label += " " + run_id;
  return label;
}

RunComparison LoadRunComparison(const fs::path& dir) {
  RunComparison run;
  run.dir = dir;
  const fs::path csv = dir / "comparison.csv";
  std::error_code ec;
  if (!fs::is_regular_file(csv, ec)) {
    throw InputError(fmt::format("{}: no such file (is {} a run's results directory?)",
                                 csv.string(), dir.string()));
  }
  run.rows = ReadRows(ReadCsvFile(csv));
  run.run_id = RunIdFromDirectory(dir);
  ReadContext(dir / "context.json", run);
  run.run_id = run.run_id.substr(0, kShortRunId);
  return run;
}

}  // namespace nfb::report
