// The three renderings of a PlatformComparison: the terminal table, tidy CSV and JSON.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ostream>

#include "nfb/report/platform_comparison.h"
#include "nfb/report/tables.h"

namespace nfb::report {
namespace {

using nlohmann::json;

constexpr size_t kRatioWidth = 7;
constexpr size_t kMinValueWidth = 10;  // "median ms", "1234.5678"
constexpr const char* kGap = "   ";    // between the thesis's and the runs' column pairs

std::string Cell(const std::optional<double>& value, const char* format) {
  return value ? fmt::format(fmt::runtime(format), *value) : std::string("-");
}

// Two decimals as in comparison.txt, but two significant digits below 0.1: offloaded paths on
// emulated Xen reach ratios of 0.001, which two decimals would show as 0.00.
std::string RatioCell(const std::optional<double>& ratio) {
  if (!ratio) return "-";
  return std::fabs(*ratio) >= 0.095 || *ratio == 0 ? fmt::format("{:.2f}", *ratio)
                                                   : fmt::format("{:.2g}", *ratio);
}

std::string OrderingText(const std::string& ordering) {
  return ordering.empty() ? "(no values)" : ordering;
}

// A label over a (value, ratio) column pair: the pair widens to fit the label.
struct ColumnPair {
  std::string label, value_header;
  size_t value_width = kMinValueWidth;

  size_t Width() const { return value_width + 1 + kRatioWidth; }
  std::string Header() const { return fmt::format("{:>{}}", label, Width()); }
  std::string SubHeader() const {
    return fmt::format("{:>{}} {:>{}}", value_header, value_width, "ratio", kRatioWidth);
  }
  std::string Row(const std::string& value, const std::string& ratio) const {
    return fmt::format("{:>{}} {:>{}}", value, value_width, ratio, kRatioWidth);
  }
};

ColumnPair Pair(std::string label, std::string value_header) {
  ColumnPair pair{std::move(label), std::move(value_header)};
  pair.value_width = std::max(
      {kMinValueWidth, pair.value_header.size(),
       pair.label.size() > kRatioWidth + 1 ? pair.label.size() - kRatioWidth - 1 : size_t{0}});
  return pair;
}

std::string Title(const PlatformComparison& c) {
  std::string title = c.scenario.empty() ? "comparison" : c.scenario;
  if (!c.metric.empty()) title += ", " + c.metric;
  title += c.baseline.empty() ? ": ratios as each run wrote them"
                              : ": ratio = value / value of " + c.baseline;
  return title + "\n";
}

json Optional(const std::optional<double>& value) { return value ? json(*value) : json(nullptr); }

json OptionalString(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

}  // namespace

std::string FormatPlatformComparison(const PlatformComparison& c) {
  size_t name_width = std::string_view("configuration").size() + 1;
  for (const PlatformComparisonRow& row : c.rows) {
    name_width = std::max(name_width, row.configuration.size() + 1);
  }
  std::vector<ColumnPair> pairs{Pair("thesis", c.unit)};
  for (const PlatformRunColumn& run : c.runs) {
    pairs.push_back(Pair(run.label, run.statistic + " " + run.unit));
  }

  std::string out = Title(c);
  if (c.rows.empty()) return out + "(no configurations in any run)\n";
  std::string header = fmt::format("{:<{}}", "", name_width);
  std::string sub_header = fmt::format("{:<{}}", "configuration", name_width);
  for (size_t i = 0; i < pairs.size(); ++i) {
    header += (i ? kGap : "") + pairs[i].Header();
    sub_header += (i ? kGap : "") + pairs[i].SubHeader();
  }
  out += header + "\n" + sub_header + "\n";
  for (const PlatformComparisonRow& row : c.rows) {
    std::string line = fmt::format("{:<{}}", row.configuration, name_width);
    line += pairs[0].Row(Cell(row.thesis_value, "{:.3f}"), RatioCell(row.thesis_ratio));
    for (size_t r = 0; r < row.runs.size(); ++r) {
      line +=
          kGap + pairs[r + 1].Row(Cell(row.runs[r].value, "{:.4f}"), RatioCell(row.runs[r].ratio));
    }
    out += line + "\n";
  }

  size_t label_width = std::string_view("thesis").size();
  for (const PlatformRunColumn& run : c.runs) label_width = std::max(label_width, run.label.size());
  out += "\nordering, smallest first:\n";
  out += fmt::format("  {:<{}}  {}\n", "thesis", label_width, OrderingText(c.thesis_ordering));
  for (const PlatformRunColumn& run : c.runs) {
    out += fmt::format("  {:<{}}  {}\n", run.label, label_width, OrderingText(run.ordering));
  }
  for (const PlatformRunColumn& run : c.runs) {
    if (!run.emulation_caveat.empty()) {
      out += fmt::format("note: {}: {}\n", run.label, run.emulation_caveat);
    }
  }
  return out;
}

void WritePlatformComparisonCsv(std::ostream& out, const PlatformComparison& c) {
  out << "configuration,source,platform,emulated_under,run_id,statistic,unit,value,"
         "ratio_to_baseline\n";
  auto number = [](const std::optional<double>& v, const char* format) {
    return v ? fmt::format(fmt::runtime(format), *v) : std::string();
  };
  for (const PlatformComparisonRow& row : c.rows) {
    out << CsvField(row.configuration) << ",thesis,,,,," << CsvField(c.unit) << ','
        << number(row.thesis_value, "{:.9g}") << ',' << number(row.thesis_ratio, "{:.6g}") << '\n';
    for (size_t r = 0; r < c.runs.size(); ++r) {
      const PlatformRunColumn& run = c.runs[r];
      out << CsvField(row.configuration) << ',' << CsvField(run.label) << ','
          << CsvField(run.platform) << ',' << CsvField(run.emulated_under.value_or("")) << ','
          << CsvField(run.run_id) << ',' << CsvField(run.statistic) << ',' << CsvField(run.unit)
          << ',' << number(row.runs[r].value, "{:.9g}") << ','
          << number(row.runs[r].ratio, "{:.6g}") << '\n';
    }
  }
}

json PlatformComparisonJson(const PlatformComparison& c) {
  json runs = json::array();
  for (const PlatformRunColumn& run : c.runs) {
    runs.push_back({{"label", run.label},
                    {"dir", run.dir.string()},
                    {"platform", run.platform},
                    {"emulated_under", run.emulated_under ? json(*run.emulated_under) : json()},
                    {"note", OptionalString(run.emulation_caveat)},
                    {"run_id", run.run_id},
                    {"statistic", run.statistic},
                    {"unit", run.unit},
                    {"ordering", run.ordering}});
  }
  json configurations = json::array();
  for (const PlatformComparisonRow& row : c.rows) {
    json cells = json::array();
    for (const PlatformCell& cell : row.runs) {
      cells.push_back({{"value", Optional(cell.value)}, {"ratio", Optional(cell.ratio)}});
    }
    configurations.push_back(
        {{"name", row.configuration},
         {"thesis", {{"value", Optional(row.thesis_value)}, {"ratio", Optional(row.thesis_ratio)}}},
         {"runs", cells}});
  }
  return {{"scenario", OptionalString(c.scenario)},
          {"metric", OptionalString(c.metric)},
          {"baseline", OptionalString(c.baseline)},
          {"thesis", {{"unit", c.unit}, {"ordering", c.thesis_ordering}}},
          {"runs", runs},
          {"configurations", configurations}};
}

}  // namespace nfb::report
