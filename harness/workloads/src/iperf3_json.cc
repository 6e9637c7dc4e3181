// Reading iperf3 -J output by structure: `error` first, then `start`, `intervals`, `end`
// (docs/STYLE.md). Every field read is type-checked; the error names its JSON path.
#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "nfb/core/error.h"
#include "nfb/workloads/iperf3.h"

namespace nfb::workloads {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxJsonBytes = 64u << 20;  // a 180 s run at 1 s intervals is ~200 KB
constexpr std::string_view kInterruptPrefix = "interrupt - ";

[[noreturn]] void Fail(const std::string& path, const std::string& problem) {
  throw InputError(fmt::format("iperf3 JSON: {}: {}", path, problem));
}

const char* TypeName(const json& v) {
  if (v.is_number_float()) return "a fraction";
  if (v.is_number_integer()) return "an integer";
  return v.type_name();
}

std::string Child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

const json* Find(const json& object, std::string_view key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

const json& Require(const json& object, std::string_view key, const std::string& path) {
  const json* v = Find(object, key);
  if (v == nullptr) Fail(Child(path, key), "missing");
  return *v;
}

const json& RequireObject(const json& v, const std::string& path) {
  if (!v.is_object()) Fail(path, fmt::format("expected an object, got {}", TypeName(v)));
  return v;
}

const json& RequireArray(const json& v, const std::string& path) {
  if (!v.is_array()) Fail(path, fmt::format("expected an array, got {}", TypeName(v)));
  return v;
}

std::string ReadString(const json& v, const std::string& path) {
  if (!v.is_string()) Fail(path, fmt::format("expected a string, got {}", TypeName(v)));
  return v.get<std::string>();
}

bool ReadBool(const json& v, const std::string& path) {
  if (!v.is_boolean()) Fail(path, fmt::format("expected true or false, got {}", TypeName(v)));
  return v.get<bool>();
}

// A count. iperf3 prints numbers through cJSON, which writes whole numbers of 10^15 and more in
// exponent form ("1e+15"), so an integral fraction is accepted as well.
uint64_t ReadCount(const json& v, const std::string& path) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer())
    Fail(path, fmt::format("expected a non-negative integer, got {}", v.get<int64_t>()));
  if (v.is_number_float()) {
    double d = v.get<double>();
    // 2^64 is exactly representable; every double below it that is integral fits.
    if (d >= 0 && d < 18446744073709551616.0 && std::floor(d) == d) return static_cast<uint64_t>(d);
    Fail(path, fmt::format("expected a non-negative integer below 2^64, got {}", v.dump()));
  }
  Fail(path, fmt::format("expected a non-negative integer, got {}", TypeName(v)));
}

int64_t ReadSignedCount(const json& v, const std::string& path) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > uint64_t(std::numeric_limits<int64_t>::max())) Fail(path, "integer out of range");
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::floor(d) == d && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
      return static_cast<int64_t>(d);
    }
    Fail(path, fmt::format("expected an integer, got {}", v.dump()));
  }
  Fail(path, fmt::format("expected an integer, got {}", TypeName(v)));
}

// A real number. nlohmann rejects NaN/Infinity literals and numbers that overflow a double, so
// every number here is finite; `null` is how cJSON prints NaN or infinity and is accepted only
// where iperf3 divides (rates, jitter, percentages), as NaN.
double ReadReal(const json& v, const std::string& path, bool null_allowed) {
  if (v.is_number()) return v.get<double>();
  if (v.is_null() && null_allowed) return std::numeric_limits<double>::quiet_NaN();
  Fail(path, fmt::format("expected a number, got {}", TypeName(v)));
}

enum class SideKind { kSender, kReceiver };

// intervals[i].sum or end.sum_sent / end.sum_received.
Iperf3Interval ReadInterval(const json& v, const std::string& path, SideKind kind, bool is_total) {
  RequireObject(v, path);
  Iperf3Interval r;
  r.start_s = ReadReal(Require(v, "start", path), Child(path, "start"), false);
  r.end_s = ReadReal(Require(v, "end", path), Child(path, "end"), false);
  if (r.start_s < 0 || r.end_s < r.start_s) {
    Fail(path, fmt::format("interval [{}, {}] runs backwards or before 0", r.start_s, r.end_s));
  }
  r.seconds = ReadReal(Require(v, "seconds", path), Child(path, "seconds"), true);
  r.bytes = ReadCount(Require(v, "bytes", path), Child(path, "bytes"));
  r.bits_per_second =
      ReadReal(Require(v, "bits_per_second", path), Child(path, "bits_per_second"), true);
  r.packets = ReadCount(Require(v, "packets", path), Child(path, "packets"));
  // iperf3 marks each interval with the side it describes; a total's `sender` is the same.
  bool sender = ReadBool(Require(v, "sender", path), Child(path, "sender"));
  if (sender != (kind == SideKind::kSender)) {
    Fail(Child(path, "sender"), fmt::format("is {} in the {}'s output", sender ? "true" : "false",
                                            kind == SideKind::kSender ? "sender" : "receiver"));
  }
  if (!is_total) r.omitted = ReadBool(Require(v, "omitted", path), Child(path, "omitted"));
  if (kind == SideKind::kReceiver) {
    r.lost_packets = ReadSignedCount(Require(v, "lost_packets", path), Child(path, "lost_packets"));
    r.lost_percent = ReadReal(Require(v, "lost_percent", path), Child(path, "lost_percent"), true);
    r.jitter_ms = ReadReal(Require(v, "jitter_ms", path), Child(path, "jitter_ms"), true);
  }
  return r;
}

Iperf3Report ParseDocument(const json& doc, bool nested);

Iperf3Report ParseDocument(const json& doc, bool nested) {
  const std::string root = nested ? "server_output_json" : "";
  RequireObject(doc, nested ? root : "(top level)");
  Iperf3Report report;

  // error first: an output that failed early has little else.
  if (const json* e = Find(doc, "error")) {
    report.error = ReadString(*e, Child(root, "error"));
    if (report.error.rfind(kInterruptPrefix, 0) == 0) report.interrupted = true;
    if (report.error.find("has terminated") != std::string::npos && !report.interrupted) {
      report.peer_terminated = true;
    }
  }

  const std::string start_path = Child(root, "start");
  const json& start = RequireObject(Require(doc, "start", root), start_path);
  if (const json* v = Find(start, "version")) {
    report.version = ReadString(*v, Child(start_path, "version"));
  }
  if (const json* c = Find(start, "connecting_to")) {
    RequireObject(*c, Child(start_path, "connecting_to"));
    report.role = Iperf3Role::kClient;
  }
  if (const json* a = Find(start, "accepted_connection")) {
    RequireObject(*a, Child(start_path, "accepted_connection"));
    if (report.role == Iperf3Role::kClient) {
      Fail(start_path, "has both connecting_to (client) and accepted_connection (server)");
    }
    report.role = Iperf3Role::kServer;
  }
  if (const json* ts = Find(start, "timestamp")) {
    const std::string p = Child(start_path, "timestamp");
    RequireObject(*ts, p);
    if (const json* t = Find(*ts, "timesecs")) {
      report.start_timesecs = ReadCount(*t, Child(p, "timesecs"));
    }
  }
  bool reverse = false;
  if (const json* ts = Find(start, "test_start")) {
    const std::string p = Child(start_path, "test_start");
    RequireObject(*ts, p);
    report.protocol = ReadString(Require(*ts, "protocol", p), Child(p, "protocol"));
    if (report.protocol != "UDP") {
      Fail(Child(p, "protocol"),
           fmt::format("'{}': only UDP tests are read (loss per interval)", report.protocol));
    }
    report.block_bytes = ReadCount(Require(*ts, "blksize", p), Child(p, "blksize"));
    report.duration_s = ReadCount(Require(*ts, "duration", p), Child(p, "duration"));
    reverse = ReadCount(Require(*ts, "reverse", p), Child(p, "reverse")) != 0;
    if (const json* b = Find(*ts, "target_bitrate")) {
      report.target_bitrate = ReadCount(*b, Child(p, "target_bitrate"));
    }
  }

  // Which side this process measured: the client sends unless reversed (-R).
  std::optional<SideKind> kind;
  if (report.role == Iperf3Role::kClient) kind = reverse ? SideKind::kReceiver : SideKind::kSender;
  if (report.role == Iperf3Role::kServer) kind = reverse ? SideKind::kSender : SideKind::kReceiver;

  const std::string intervals_path = Child(root, "intervals");
  const json& intervals = RequireArray(Require(doc, "intervals", root), intervals_path);
  if (!intervals.empty() && !kind) {
    Fail(intervals_path,
         "intervals without start.connecting_to or start.accepted_connection "
         "(cannot tell sender from receiver)");
  }
  Iperf3Side side;
  for (size_t i = 0; i < intervals.size(); ++i) {
    const std::string p = fmt::format("{}[{}]", intervals_path, i);
    RequireObject(intervals[i], p);
    Iperf3Interval interval =
        ReadInterval(Require(intervals[i], "sum", p), Child(p, "sum"), *kind, false);
    if (!side.intervals.empty() && side.intervals.back().start_s == interval.start_s &&
        side.intervals.back().end_s == interval.end_s) {
      ++side.repeated_intervals;
      continue;
    }
    side.intervals.push_back(interval);
  }

  const std::string end_path = Child(root, "end");
  const json& end = RequireObject(Require(doc, "end", root), end_path);
  if (kind) {
    // UDP outputs of 3.12 have both sums; the one for this process's own side is its total (the
    // other holds zeros, because the peer's numbers are not exchanged for UDP).
    const char* key = *kind == SideKind::kSender ? "sum_sent" : "sum_received";
    if (const json* total = Find(end, key)) {
      side.total = ReadInterval(*total, Child(end_path, key), *kind, true);
    } else if (!end.empty()) {
      Fail(Child(end_path, key), "missing");
    }
    if (*kind == SideKind::kSender) {
      report.sent = std::move(side);
    } else {
      report.received = std::move(side);
    }
  }

  if (const json* server = Find(doc, "server_output_json")) {
    if (nested) Fail(Child(root, "server_output_json"), "nested twice");
    if (report.role != Iperf3Role::kClient) {
      Fail("server_output_json", "only a client's output carries the server's");
    }
    Iperf3Report s = ParseDocument(*server, true);
    if (s.role != Iperf3Role::kServer) {
      Fail("server_output_json.start", "is not a server's (no accepted_connection)");
    }
    report.server_error = s.error;
    if (s.received) {
      report.received = std::move(s.received);
      report.received_from_server_output = true;
    }
  }
  return report;
}

}  // namespace

const char* ToString(Iperf3Role role) {
  switch (role) {
    case Iperf3Role::kClient:
      return "client";
    case Iperf3Role::kServer:
      return "server";
    case Iperf3Role::kUnknown:
      break;
  }
  return "unknown";
}

bool Iperf3Report::Failed() const {
  if (error.empty()) return false;
  return !interrupted && !peer_terminated;
}

Iperf3Report ParseIperf3Json(std::string_view text) {
  if (text.size() > kMaxJsonBytes) {
    throw InputError(fmt::format("iperf3 JSON: {} bytes, more than the {} MiB an iperf3 run writes",
                                 text.size(), kMaxJsonBytes >> 20));
  }
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    throw InputError("iperf3 JSON: empty output (iperf3 was killed or never started)");
  }
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 3, column 1: ..."
    std::string what = e.what();
    size_t bracket = what.find("] ");
    throw InputError("iperf3 JSON: " +
                     (bracket == std::string::npos ? what : what.substr(bracket + 2)));
  }
  return ParseDocument(doc, false);
}

Iperf3Report CombineIperf3Reports(const Iperf3Report& client,
                                  const std::optional<Iperf3Report>& server) {
  Iperf3Report combined = client;
  if (server && server->received) {
    combined.received = server->received;
    combined.received_from_server_output = false;
    combined.server_error = server->error;
  }
  return combined;
}

namespace {

json IntervalJson(const Iperf3Interval& i, bool receiver) {
  auto real = [](double d) { return std::isnan(d) ? json(nullptr) : json(d); };
  json j = {{"start_s", i.start_s},
            {"end_s", i.end_s},
            {"seconds", real(i.seconds)},
            {"bytes", i.bytes},
            {"bits_per_second", real(i.bits_per_second)},
            {"packets", i.packets},
            {"omitted", i.omitted}};
  if (receiver) {
    j["lost_packets"] = i.lost_packets;
    j["lost_percent"] = real(i.lost_percent);
    j["jitter_ms"] = real(i.jitter_ms);
  }
  return j;
}

json SideJson(const std::optional<Iperf3Side>& side, bool receiver) {
  if (!side) return nullptr;
  json intervals = json::array();
  for (const Iperf3Interval& i : side->intervals) intervals.push_back(IntervalJson(i, receiver));
  return {{"intervals", std::move(intervals)},
          {"total", side->total ? IntervalJson(*side->total, receiver) : json(nullptr)},
          {"repeated_intervals", side->repeated_intervals}};
}

}  // namespace

json ToJson(const Iperf3Report& report) {
  return {{"role", ToString(report.role)},
          {"version", report.version},
          {"protocol", report.protocol},
          {"target_bitrate", report.target_bitrate},
          {"block_bytes", report.block_bytes},
          {"duration_s", report.duration_s},
          {"start_timesecs", report.start_timesecs},
          {"error", report.error},
          {"interrupted", report.interrupted},
          {"peer_terminated", report.peer_terminated},
          {"server_error", report.server_error},
          {"received_from_server_output", report.received_from_server_output},
          {"sent", SideJson(report.sent, false)},
          {"received", SideJson(report.received, true)}};
}

}  // namespace nfb::workloads
