#include "nfb/collectors/cpu_series.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ostream>

#include "nfb/core/error.h"

namespace nfb::collectors {
namespace {

// RFC 4180 quoting, for names and flags (domain names could hold a comma on Xen).
std::string Field(std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(text);
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string Number(double value, int decimals) {
  if (std::isnan(value)) return {};
  return fmt::format("{:.{}f}", value, decimals);
}

std::string Count(const std::optional<uint64_t>& value) {
  return value ? std::to_string(*value) : std::string();
}

}  // namespace

std::string_view ToString(CpuRowKind kind) {
  switch (kind) {
    case CpuRowKind::kDomain:
      return "domain";
    case CpuRowKind::kExternal:
      return "external";
    case CpuRowKind::kUnattributed:
      return "unattributed";
    case CpuRowKind::kTotal:
      return "total";
  }
  return "?";
}

CpuSeriesCsvWriter::CpuSeriesCsvWriter(std::ostream& out, std::vector<std::string> key_columns)
    : out_(out), key_columns_(std::move(key_columns)) {
  for (const std::string& key : key_columns_) out_ << Field(key) << ',';
  out_ << "t_s,interval_s,domain,kind,cpus,cpu_percent,process_percent,kernel_percent,"
          "capacity_percent,busy_percent,steal_percent,unaccounted_percent,process_ns,kernel_ns,"
          "kernel_ticks,rx_packets,cpu_total_s,flags\n";
}

void CpuSeriesCsvWriter::Write(const std::vector<CpuSeriesRow>& rows,
                               const std::vector<std::string>& key_values) {
  if (key_values.size() != key_columns_.size()) {
    throw InputError(fmt::format("cpu series: {} key values for {} key columns", key_values.size(),
                                 key_columns_.size()));
  }
  for (const CpuSeriesRow& r : rows) {
    for (const std::string& value : key_values) out_ << Field(value) << ',';
    out_ << Number(r.t_s, 6) << ',' << Number(r.interval_s, 6) << ',' << Field(r.domain) << ','
         << ToString(r.kind) << ',' << Field(r.cpus) << ',' << Number(r.cpu_percent, 4) << ','
         << Number(r.process_percent, 4) << ',' << Number(r.kernel_percent, 4) << ','
         << Number(r.capacity_percent, 4) << ',' << Number(r.busy_percent, 4) << ','
         << Number(r.steal_percent, 4) << ',' << Number(r.unaccounted_percent, 4) << ','
         << Count(r.process_ns) << ',' << Count(r.kernel_ns) << ',' << Count(r.kernel_ticks) << ','
         << Count(r.rx_packets) << ',' << Number(r.cpu_total_s, 6) << ',' << Field(r.flags) << '\n';
  }
}

void WriteCpuSeriesCsv(std::ostream& out, const std::vector<CpuSeriesRow>& rows) {
  CpuSeriesCsvWriter(out).Write(rows);
}

void AddFlag(std::string& flags, std::string_view flag) {
  std::vector<std::string> list;
  size_t start = 0;
  while (start < flags.size()) {
    size_t end = flags.find(';', start);
    if (end == std::string::npos) end = flags.size();
    if (end > start) list.emplace_back(flags.substr(start, end - start));
    start = end + 1;
  }
  if (std::find(list.begin(), list.end(), flag) != list.end()) return;
  list.emplace_back(flag);
  std::sort(list.begin(), list.end());
  flags.clear();
  for (const std::string& f : list) {
    if (!flags.empty()) flags += ';';
    flags += f;
  }
}

}  // namespace nfb::collectors
