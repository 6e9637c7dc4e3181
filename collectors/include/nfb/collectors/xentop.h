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
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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

struct XentopParserOptions {
  // A header line ends the frame before it. Right for xentop's batch output without -r (one
  // header per frame, printed first), where it makes frame boundaries exact even when a frame
  // comes in several reads or a domain disappears; wrong with -r (a header before every domain).
  // Off: a frame ends when a domain name comes again, or at CloseFrame().
  bool header_starts_frame = false;
};

// Incremental parser, for reading xentop's stdout line by line as it runs. A frame is complete
// when the next one begins (a domain name seen again, or a header with header_starts_frame) or
// when the caller closes it (xentop flushes a whole frame and then sleeps, so a reader that has
// seen no line for a fraction of the delay can close it). Never throws on input: what it cannot
// read is counted.
class XentopParser {
 public:
  XentopParser() = default;
  explicit XentopParser(XentopParserOptions options) : options_(options) {}

  // Feeds one line (without or with its '\n'). Lines before the first header, and lines that are
  // not domain lines (summary, VCPUs, Net, VBD lines, blank lines), are skipped and counted.
  void AddLine(std::string_view line);
  // The same, for a live reader: `t_s` is when the line was read (seconds since sampling
  // started). A frame takes the time of its first line (its header with header_starts_frame,
  // else its first domain line) as XentopFrame::t_s.
  void AddLine(std::string_view line, double t_s);
  // Ends the current frame if it holds any domain.
  void CloseFrame();
  // Completed frames since the last call.
  std::vector<XentopFrame> TakeFrames();
  // True once a header line was read (output that never has one is not xentop's batch output).
  bool seen_header() const { return !columns_.empty(); }
  // Domains in the frame not yet closed.
  size_t pending_domains() const { return current_.domains.size(); }
  int skipped_lines() const { return skipped_lines_; }
  // Lines that looked like domain lines under a header but could not be read (wrong number of
  // columns, a non-numeric CPU column).
  int malformed_lines() const { return malformed_lines_; }

 private:
  bool ParseHeader(std::string_view line);
  std::optional<XentopDomain> ParseDomain(std::string_view line) const;

  XentopParserOptions options_;
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
  // Rows without a CPU(%): frame 0 (no previous frame: 0.0 for everyone, flagged first_frame)
  // and a domain's first frame after it appeared mid-run (xentop finds no previous sample of
  // that domain id and shows 0.0; flagged domain_appeared). Left out unless asked for.
  bool include_first_frame = false;
  // When set, rows of domains that are neither Domain-0 nor one of `domains` (other VMs on the
  // host) are kept but flagged not_in_scenario.
  bool flag_unknown_domains = false;
  // External hosts (load generators) that run inside dom0, as namespaces: their CPU is part of
  // dom0's figure, and dom0's rows are flagged includes_external_hosts.
  bool dom0_includes_external_hosts = false;
  // Row names for domains whose Xen name is not the harness's (the xen platform names a guest's
  // domain "<run prefix>-<guest>"): Xen name (one of `domains`) -> row name.
  std::map<std::string, std::string> rename;
};

// Rows of frames as they come, for a live reader: remembers the previous frame, which decides
// whether a domain's CPU(%) means anything and gives the interval.
class XentopRowBuilder {
 public:
  explicit XentopRowBuilder(XentopRowOptions options);
  // One row per domain of `frame`, see XentopRows. Frames must come in order. Throws InputError
  // as MapXentopName does.
  std::vector<CpuSeriesRow> Add(const XentopFrame& frame);
  // Rows left out because the domain had no previous sample (frame 0 and domains that appeared).
  int left_out() const { return left_out_; }

 private:
  XentopRowOptions options_;
  bool have_previous_ = false;
  double previous_t_s_ = kNotMeasured;
  std::vector<std::pair<std::string, uint64_t>> previous_;  // name as shown -> CPU(sec)
  int left_out_ = 0;
};

// One row per domain per frame: cpu_percent = CPU(%), capacity_percent = 100 x VCPUS,
// cpu_total_s = CPU(sec); the process/kernel split, busy and steal are not measured (NaN), as
// are the raw counters. t_s is the frame's own time if known, else index x delay_s; interval_s
// is the time since the previous frame when both times are known, else delay_s. Rows without a
// CPU(%) are left out unless asked for (see XentopRowOptions); a CPU(sec) lower than in the
// previous frame (the name now belongs to a new domain) is flagged counter_reset.
// Throws InputError as MapXentopName does.
std::vector<CpuSeriesRow> XentopRows(const std::vector<XentopFrame>& frames,
                                     const XentopRowOptions& options);

}  // namespace nfb::collectors
