#include "nfb/report/tables.h"

#include <fmt/format.h>

#include <map>
#include <ostream>

#include "nfb/core/error.h"

namespace nfb::report {

std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::vector<SummaryRow> Summarize(const std::vector<Sample>& samples) {
  struct Group {
    std::string unit;
    std::vector<double> values;
    std::map<int, bool> repetitions;
  };
  std::vector<std::pair<std::string, std::string>> order;  // (configuration, metric)
  std::map<std::pair<std::string, std::string>, Group> groups;
  for (const Sample& s : samples) {
    auto key = std::make_pair(s.configuration, s.metric);
    auto [it, inserted] = groups.try_emplace(key);
    if (inserted) {
      order.push_back(key);
      it->second.unit = s.unit;
    }
    it->second.values.push_back(s.value);
    it->second.repetitions[s.repetition] = true;
  }
  std::vector<SummaryRow> rows;
  rows.reserve(order.size());
  for (const auto& key : order) {
    Group& g = groups.at(key);
    SummaryRow row;
    row.configuration = key.first;
    row.metric = key.second;
    row.unit = g.unit;
    row.repetitions = static_cast<int>(g.repetitions.size());
    row.summary = nfb::Summarize(std::move(g.values));
    rows.push_back(std::move(row));
  }
  return rows;
}

void WriteSamplesCsv(std::ostream& out, const std::vector<Sample>& samples) {
  out << "configuration,repetition,metric,value,unit,t\n";
  for (const Sample& s : samples) {
    // Nine significant digits keep nanosecond resolution for microsecond values below 1 s.
    out << CsvField(s.configuration) << ',' << s.repetition << ',' << CsvField(s.metric) << ','
        << fmt::format("{:.9g}", s.value) << ',' << CsvField(s.unit) << ','
        << fmt::format("{:.9f}", s.t) << '\n';
  }
}

void WriteSummaryCsv(std::ostream& out, const std::vector<SummaryRow>& rows) {
  out << "configuration,metric,unit,repetitions,n,mean,sd,min,p5,p25,median,p75,p95,p99,max,"
         "median_ci_low,median_ci_high,mean_ci_low,mean_ci_high\n";
  for (const SummaryRow& r : rows) {
    const Summary& s = r.summary;
    out << CsvField(r.configuration) << ',' << CsvField(r.metric) << ',' << CsvField(r.unit) << ','
        << r.repetitions << ',' << s.n;
    for (double v : {s.mean, s.sd, s.min, s.p5, s.p25, s.median, s.p75, s.p95, s.p99, s.max,
                     s.median_ci_low, s.median_ci_high, s.mean_ci_low, s.mean_ci_high}) {
      out << ',' << fmt::format("{:.9g}", v);
    }
    out << '\n';
  }
}

void WriteSeriesCsv(std::ostream& out, const std::vector<SeriesPoint>& points) {
  out << "configuration,repetition,t_s,series,value,unit\n";
  for (const SeriesPoint& p : points) {
    out << CsvField(p.configuration) << ',' << p.repetition << ',' << fmt::format("{:.6f}", p.t)
        << ',' << CsvField(p.series) << ',' << fmt::format("{:.9g}", p.value) << ','
        << CsvField(p.unit) << '\n';
  }
}

void WriteAccountingCsv(std::ostream& out, const std::vector<AccountingRow>& rows) {
  out << "configuration,repetition";
  if (!rows.empty()) {
    for (const auto& [name, value] : rows.front().fields) out << ',' << name;
  }
  out << '\n';
  for (const AccountingRow& r : rows) {
    if (r.fields.size() != rows.front().fields.size()) {
      throw RunError("accounting rows disagree on their fields");
    }
    out << CsvField(r.configuration) << ',' << r.repetition;
    for (size_t i = 0; i < r.fields.size(); ++i) {
      if (r.fields[i].first != rows.front().fields[i].first) {
        throw RunError("accounting rows disagree on field " + r.fields[i].first);
      }
      out << ',' << r.fields[i].second;
    }
    out << '\n';
  }
}

}  // namespace nfb::report
