// Reads the CSV tables a run writes (comparison.csv, summary.csv ...) back in, for commands that
// work on finished runs (`nfbench compare`). RFC 4180: quoted fields may hold commas, doubled
// quotes and line breaks; CRLF line ends are accepted. Results directories may come from other
// machines or older versions, so every problem is an InputError that names file and line.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nfb::report {

struct CsvRecord {
  size_t line = 0;  // 1-based line of the file where the record starts (the header is line 1)
  std::vector<std::string> fields;
};

struct CsvTable {
  std::string source;  // the file name used in error messages
  std::vector<std::string> header;
  std::vector<CsvRecord> records;  // every record has as many fields as the header

  // Index of a header column, or nullopt.
  std::optional<size_t> Column(std::string_view name) const;
  // "<source>:<line>: <what>", for errors about a record's content.
  std::string Where(const CsvRecord& record) const;
};

// Parses `text`; `source` names it in errors. Blank lines are skipped. Throws InputError for an
// empty text, an unterminated quote, text after a closing quote, or a record whose field count
// differs from the header's.
CsvTable ParseCsv(std::string_view text, const std::string& source);

// ParseCsv of a file's content; InputError when it cannot be read.
CsvTable ReadCsvFile(const std::filesystem::path& path);

// A finite number filling the whole field ("1.5e-3"); nullopt otherwise (empty, "nan", "1x").
std::optional<double> ParseCsvNumber(std::string_view field);

}  // namespace nfb::report
