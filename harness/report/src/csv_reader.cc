#include "nfb/report/csv_reader.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "nfb/core/error.h"
#include "nfb/core/text_file.h"

namespace nfb::report {
namespace {

bool IsBlank(const std::vector<std::string>& fields) {
  return fields.size() == 1 && fields.front().empty();
}

}  // namespace

std::optional<size_t> CsvTable::Column(std::string_view name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return i;
  }
  return std::nullopt;
}

std::string CsvTable::Where(const CsvRecord& record) const {
  return fmt::format("{}:{}", source, record.line);
}

CsvTable ParseCsv(std::string_view text, const std::string& source) {
  std::vector<CsvRecord> records;
  CsvRecord record{1, {std::string()}};
  size_t line = 1;
  size_t i = 0;
  // A field is either plain (up to the next comma or line end) or quoted from its first
  // character; after a closing quote only a comma or a line end may follow.
  bool field_start = true;
  auto end_record = [&] {
    if (!IsBlank(record.fields)) records.push_back(std::move(record));
    record = CsvRecord{line, {std::string()}};
    field_start = true;
  };
  while (i < text.size()) {
    const char c = text[i];
    if (field_start && c == '"') {
      const size_t quote_line = line;
      ++i;
      for (;;) {
        if (i >= text.size()) {
          throw InputError(fmt::format("{}:{}: quoted field is never closed", source, quote_line));
        }
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            record.fields.back() += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (text[i] == '\n') ++line;
        record.fields.back() += text[i++];
      }
      field_start = false;
      if (i < text.size() && text[i] != ',' && text[i] != '\n' &&
          !(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
        throw InputError(fmt::format("{}:{}: text after a closing quote", source, line));
      }
      continue;
    }
    if (c == ',') {
      record.fields.emplace_back();
      field_start = true;
      ++i;
    } else if (c == '\n' || (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
      i += c == '\r' ? 2 : 1;
      ++line;
      end_record();
    } else {
      record.fields.back() += c;
      field_start = false;
      ++i;
    }
  }
  end_record();

  if (records.empty()) throw InputError(source + ": empty file (no CSV header)");
  CsvTable table;
  table.source = source;
  table.header = std::move(records.front().fields);
  for (size_t r = 1; r < records.size(); ++r) {
    if (records[r].fields.size() != table.header.size()) {
      throw InputError(fmt::format("{}:{}: {} fields, the header has {}", source, records[r].line,
                                   records[r].fields.size(), table.header.size()));
    }
    table.records.push_back(std::move(records[r]));
  }
  return table;
}

CsvTable ReadCsvFile(const std::filesystem::path& path) {
  std::optional<std::string> text = ReadTextFile(path);
  if (!text) throw InputError(path.string() + ": cannot read");
  return ParseCsv(*text, path.string());
}

std::optional<double> ParseCsvNumber(std::string_view field) {
  double value = 0;
  const char* end = field.data() + field.size();
  auto [ptr, ec] = std::from_chars(field.data(), end, value);
  if (field.empty() || ec != std::errc() || ptr != end || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

}  // namespace nfb::report
