// Reading `xentop -b -d <delay>` (batch mode), the Xen platform's per-domain CPU sampler, into
// the same rows as the netns sampler (cpu_series.h).
//
// Batch output, as tools/xentop/xentop.c prints it (Xen 4.x): no summary lines, and per frame
// (every <delay> seconds) the column header followed by one line per domain, sorted by name:
//       NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS ...
//   Domain-0 -----r       1520   85.3    4194304   25.0   no limit       n/a     4    0 ...
// Every column is right-aligned to the width of its header; NAME is `%10.10s` (names longer than
// 10 characters are cut, unless -f widens the column to the longest name); MAXMEM(k) may read
// "no limit" (two words) and MAXMEM(%) "n/a"; VBD columns "-". CPU(%) is the domain's CPU time
// over the wall time since the previous frame (100 = one CPU); the first frame has no previous
// one and shows 0.0 for everyone. -r repeats the header before every domain; -v, -n and -x add
// "VCPUs(sec):", "Net0 RX: ..." and "VBD ..." lines after a domain's line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nfb/collectors/cpu_series.h"

namespace nfb::collectors {

struct XentopDomain {
  std::string name;                 // as shown (possibly cut to 10 characters)
  std::string state;                // six flags, e.g. "-b----", "-----r"
  uint64_t cpu_s = 0;               // CPU(sec): cumulative, whole seconds
  double cpu_percent = 0;           // CPU(%)
  std::optional<uint64_t> mem_k;    // MEM(k)
  std::optional<int> vcpus;         // VCPUS
  std::optional<uint64_t> nettx_k;  // NETTX(k), cumulative
  std::optional<uint64_t> netrx_k;  // NETRX(k), cumulative
};

struct XentopFrame {
  int index = 0;  // 0-based, in order of output
  // Seconds since sampling started when the frame was read, if the reader knows it (a live
  // reader stamps frames as they arrive); NaN otherwise.
  double t_s = kNotMeasured;
  std::vector<XentopDomain> domains;
};

// Incremental parser, for reading xentop's stdout line by line as it runs. A frame is complete
// when the next one begins (a domain name seen again) or when the caller closes it (xentop
// flushes a whole frame and then sleeps, so a reader that has seen no line for a fraction of the
// delay can close it).
class XentopParser {
 public:
  // Feeds one line (without or with its '\n'). Lines before the first header, and lines that are
  // not domain lines (summary, VCPUs, Net, VBD lines, blank lines), are skipped and counted.
  void AddLine(std::string_view line);
  // Ends the current frame if it holds any domain.
  void CloseFrame();
  // Completed frames since the last call.
  std::vector<XentopFrame> TakeFrames();
  int skipped_lines() const { return skipped_lines_; }
  // Lines that looked like domain lines under a header but could not be read (wrong number of
  // columns, a non-numeric CPU column).
  int malformed_lines() const { return malformed_lines_; }

 private:
  bool ParseHeader(std::string_view line);
  std::optional<XentopDomain> ParseDomain(std::string_view line) const;

  std::vector<std::string> columns_;  // header names after NAME
  size_t name_end_ = 0;               // column just after "NAME" in the header
  XentopFrame current_;
  int next_index_ = 0;
  std::vector<XentopFrame> done_;
  int skipped_lines_ = 0;
  int malformed_lines_ = 0;
};

struct XentopParseResult {
  std::vector<XentopFrame> frames;
  int skipped_lines = 0;
  int malformed_lines = 0;
};

// Parses a whole batch output (a saved file). Never throws: what it cannot read is counted.
XentopParseResult ParseXentopBatch(std::string_view text);

// The harness's name for a domain xentop shows: "Domain-0" -> "dom0"; a name equal to one of
// `domains`; a 10-character name that is the first 10 characters of exactly one of `domains`
// (xentop's truncation). Otherwise the name as shown. Throws InputError if a cut name fits
// several of `domains`.
std::string MapXentopName(const std::string& shown, const std::vector<std::string>& domains);

struct XentopRowOptions {
  double delay_s = 1;                // xentop's -d
  std::vector<std::string> domains;  // full names, for MapXentopName
  bool include_first_frame = false;  // frame 0's CPU(%) is always 0.0 (no previous frame)
};

// One row per domain per frame: cpu_percent = CPU(%), capacity_percent = 100 x VCPUS,
// cpu_total_s = CPU(sec); the process/kernel split, busy and steal are not measured (NaN), as
// are the raw counters. t_s is the frame's own time if known, else index x delay_s; interval_s
// is delay_s. The first frame is left out unless asked for (then flagged first_frame).
// Throws InputError as MapXentopName does.
std::vector<CpuSeriesRow> XentopRows(const std::vector<XentopFrame>& frames,
                                     const XentopRowOptions& options);

}  // namespace nfb::collectors
