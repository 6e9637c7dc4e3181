#include "nfb/collectors/xentop.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iterator>

#include "nfb/core/error.h"

namespace nfb::collectors {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
    text.remove_suffix(1);
  }
  return text;
}

std::vector<std::string> Tokens(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])) != 0) ++i;
    size_t start = i;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])) == 0) ++i;
    if (i > start) out.emplace_back(text.substr(start, i - start));
  }
  return out;
}

template <typename T>
std::optional<T> Integer(std::string_view text) {
  T value{};
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<double> Decimal(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

// xentop's state column: six characters, each a flag letter (d s b c p r, in that order) or '-'.
bool IsState(std::string_view text) {
  static constexpr std::string_view kFlags = "dsbcpr";
  if (text.size() != kFlags.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '-' && text[i] != kFlags[i]) return false;
  }
  return true;
}

}  // namespace

bool XentopParser::ParseHeader(std::string_view line) {
  std::vector<std::string> tokens = Tokens(line);
  if (tokens.size() < 4 || tokens[0] != "NAME") return false;
  if (std::find(tokens.begin(), tokens.end(), "CPU(%)") == tokens.end() ||
      std::find(tokens.begin(), tokens.end(), "CPU(sec)") == tokens.end()) {
    return false;
  }
  columns_.assign(tokens.begin() + 1, tokens.end());
  name_end_ = line.find("NAME") + 4;
  return true;
}

std::optional<XentopDomain> XentopParser::ParseDomain(std::string_view line) const {
  // NAME is right-aligned to the header's width: the name is everything up to where "NAME" ends
  // (it may hold spaces); the other columns are single words except MAXMEM(k)'s "no limit".
  if (line.size() <= name_end_) return std::nullopt;
  XentopDomain d;
  d.name = std::string(Trim(line.substr(0, name_end_)));
  if (d.name.empty()) return std::nullopt;
  std::string rest(line.substr(name_end_));
  for (size_t at = rest.find("no limit"); at != std::string::npos; at = rest.find("no limit")) {
    rest.replace(at, 8, "no_limit");
  }
  std::vector<std::string> values = Tokens(rest);
  if (values.size() != columns_.size()) return std::nullopt;
  bool have_cpu = false, have_pct = false, have_state = false;
  for (size_t i = 0; i < columns_.size(); ++i) {
    const std::string& column = columns_[i];
    const std::string& v = values[i];
    if (column == "STATE") {
      if (!IsState(v)) return std::nullopt;
      d.state = v;
      have_state = true;
    } else if (column == "CPU(sec)") {
      auto s = Integer<uint64_t>(v);
      if (!s) return std::nullopt;
      d.cpu_s = *s;
      have_cpu = true;
    } else if (column == "CPU(%)") {
      auto p = Decimal(v);
      if (!p) return std::nullopt;
      d.cpu_percent = *p;
      have_pct = true;
    } else if (column == "MEM(k)") {
      d.mem_k = Integer<uint64_t>(v);
    } else if (column == "VCPUS") {
      d.vcpus = Integer<int>(v);
    } else if (column == "NETTX(k)") {
      d.nettx_k = Integer<uint64_t>(v);
    } else if (column == "NETRX(k)") {
      d.netrx_k = Integer<uint64_t>(v);
    }
  }
  if (!have_cpu || !have_pct ||
      (!have_state && std::count(columns_.begin(), columns_.end(), std::string("STATE")) != 0)) {
    return std::nullopt;
  }
  return d;
}

void XentopParser::AddLine(std::string_view line) { AddLine(line, kNotMeasured); }

void XentopParser::AddLine(std::string_view line, double t_s) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (ParseHeader(line)) {
    if (options_.header_starts_frame) {
      CloseFrame();
      current_.t_s = t_s;
    }
    return;
  }
  if (columns_.empty() || Trim(line).empty()) {
    ++skipped_lines_;
    return;
  }
  std::optional<XentopDomain> d = ParseDomain(line);
  if (!d) {
    // The extra lines of -v, -n and -x, and the summary lines of interactive output.
    std::string_view t = Trim(line);
    bool extra = t.rfind("VCPUs(sec):", 0) == 0 || t.rfind("VBD ", 0) == 0 ||
                 (t.rfind("Net", 0) == 0 && t.find(" RX: ") != std::string_view::npos) ||
                 t.rfind("xentop - ", 0) == 0 || t.rfind("Mem: ", 0) == 0 ||
                 t.find(" domains: ") != std::string_view::npos;
    ++(extra ? skipped_lines_ : malformed_lines_);
    return;
  }
  // Names are unique within a frame, so a name seen again starts the next frame (this also
  // copes with -r, where a header precedes every domain).
  bool repeated = std::any_of(current_.domains.begin(), current_.domains.end(),
                              [&](const XentopDomain& x) { return x.name == d->name; });
  if (repeated) CloseFrame();
  if (current_.domains.empty() && std::isnan(current_.t_s)) current_.t_s = t_s;
  current_.domains.push_back(std::move(*d));
}

void XentopParser::CloseFrame() {
  if (current_.domains.empty()) {
    current_.t_s = kNotMeasured;  // a header without domains opens nothing
    return;
  }
  current_.index = next_index_++;
  done_.push_back(std::move(current_));
  current_ = XentopFrame{};
}

std::vector<XentopFrame> XentopParser::TakeFrames() {
  std::vector<XentopFrame> out = std::move(done_);
  done_.clear();
  return out;
}

XentopParseResult ParseXentopBatch(std::string_view text) {
  XentopParser parser;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    parser.AddLine(text.substr(start, end - start));
    start = end + 1;
  }
  parser.CloseFrame();
  return {parser.TakeFrames(), parser.skipped_lines(), parser.malformed_lines()};
}

std::string MapXentopName(const std::string& shown, const std::vector<std::string>& domains) {
  if (shown == "Domain-0") return "dom0";
  if (std::find(domains.begin(), domains.end(), shown) != domains.end()) return shown;
  constexpr size_t kShownWidth = 10;  // print_name's "%10.10s"
  if (shown.size() == kShownWidth) {
    std::vector<std::string> fits;
    for (const std::string& d : domains) {
      if (d.size() > kShownWidth && d.compare(0, kShownWidth, shown) == 0) fits.push_back(d);
    }
    if (fits.size() > 1) {
      throw InputError(fmt::format(
          "xentop shows '{}', which could be any of {} (names cut to 10 characters): run xentop "
          "with -f or give the domains distinct beginnings",
          shown, fmt::join(fits, ", ")));
    }
    if (fits.size() == 1) return fits.front();
  }
  return shown;
}

XentopRowBuilder::XentopRowBuilder(XentopRowOptions options) : options_(std::move(options)) {}

std::vector<CpuSeriesRow> XentopRowBuilder::Add(const XentopFrame& f) {
  std::vector<CpuSeriesRow> rows;
  const double t = std::isnan(f.t_s) ? f.index * options_.delay_s : f.t_s;
  double interval = options_.delay_s;
  if (have_previous_ && !std::isnan(f.t_s) && !std::isnan(previous_t_s_) && f.t_s > previous_t_s_) {
    interval = f.t_s - previous_t_s_;
  }
  for (const XentopDomain& d : f.domains) {
    // xentop matches a domain with the previous frame by domain id; names are what batch output
    // shows, and a name is unique among live domains, so a name missing from the previous frame
    // is a domain xentop had no sample of either.
    auto previous = std::find_if(previous_.begin(), previous_.end(),
                                 [&](const auto& p) { return p.first == d.name; });
    CpuSeriesRow r;
    const std::string xen_name = MapXentopName(d.name, options_.domains);
    const auto renamed = options_.rename.find(xen_name);
    r.domain = renamed == options_.rename.end() ? xen_name : renamed->second;
    const bool no_cpu_percent = !have_previous_ || previous == previous_.end();
    if (no_cpu_percent && !options_.include_first_frame) {
      ++left_out_;
      continue;
    }
    if (!have_previous_) {
      AddFlag(r.flags, "first_frame");
    } else if (previous == previous_.end()) {
      AddFlag(r.flags, "domain_appeared");
    } else if (d.cpu_s < previous->second) {
      AddFlag(r.flags, "counter_reset");
    }
    r.t_s = t;
    r.interval_s = interval;
    r.kind = CpuRowKind::kDomain;
    r.cpu_percent = d.cpu_percent;
    if (d.vcpus) r.capacity_percent = 100.0 * *d.vcpus;
    r.cpu_total_s = static_cast<double>(d.cpu_s);
    if (options_.flag_unknown_domains && xen_name != "dom0" &&
        std::find(options_.domains.begin(), options_.domains.end(), xen_name) ==
            options_.domains.end()) {
      AddFlag(r.flags, "not_in_scenario");
    }
    if (options_.dom0_includes_external_hosts && r.domain == "dom0") {
      AddFlag(r.flags, "includes_external_hosts");
    }
    rows.push_back(std::move(r));
  }
  previous_.clear();
  for (const XentopDomain& d : f.domains) previous_.emplace_back(d.name, d.cpu_s);
  have_previous_ = true;
  previous_t_s_ = f.t_s;
  return rows;
}

std::vector<CpuSeriesRow> XentopRows(const std::vector<XentopFrame>& frames,
                                     const XentopRowOptions& options) {
  XentopRowBuilder builder(options);
  std::vector<CpuSeriesRow> rows;
  for (const XentopFrame& f : frames) {
    std::vector<CpuSeriesRow> more = builder.Add(f);
    rows.insert(rows.end(), std::make_move_iterator(more.begin()),
                std::make_move_iterator(more.end()));
  }
  return rows;
}

}  // namespace nfb::collectors
