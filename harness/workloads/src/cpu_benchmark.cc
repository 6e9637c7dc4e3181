#include "nfb/workloads/cpu_benchmark.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <system_error>

#include "nfb/core/error.h"
#include "nfb/core/log.h"

namespace nfb::workloads {
namespace {

// Output parsing works line by line on string_views with from_chars: no regex (libstdc++'s
// recursion can overflow the stack on long lines) and no stod (its exceptions are not ours).

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) words.push_back(s.substr(start, i - start));
  }
  return words;
}

// `s` without its last `n` whitespace-separated words, trimmed.
std::string_view WithoutLastWords(std::string_view s, int n) {
  s = Trim(s);
  for (int k = 0; k < n && !s.empty(); ++k) {
    size_t space = s.find_last_of(" \t");
    s = space == std::string_view::npos ? std::string_view() : Trim(s.substr(0, space));
  }
  return s;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// A finite number making up all of `token`.
std::optional<double> Number(std::string_view token) {
  if (token.empty()) return std::nullopt;
  if (token.front() == '+') token.remove_prefix(1);
  double value = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (ec != std::errc() || end != token.data() + token.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

// For "  key:   value" returns "value"; nullopt when the trimmed line does not start with key.
std::optional<std::string_view> ValueAfter(std::string_view line, std::string_view key) {
  line = Trim(line);
  if (!StartsWith(line, key)) return std::nullopt;
  line.remove_prefix(key.size());
  line = Trim(line);
  if (line.empty() || line.front() != ':') return std::nullopt;
  line.remove_prefix(1);
  return Trim(line);
}

// A line quoted in an error message: trimmed and cut, so garbage output stays readable.
std::string Quote(std::string_view line) {
  line = Trim(line);
  constexpr size_t kMax = 160;
  if (line.size() > kMax) return fmt::format("'{}...'", line.substr(0, kMax));
  return fmt::format("'{}'", line);
}

bool IsPlainWord(std::string_view s) {
  if (s.empty() || s.front() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

void CheckOptions(const CpuBenchmarkOptions& o, CpuBenchmarkKind kind) {
  if (o.threads < 1)
    throw InputError(fmt::format("cpu benchmark: threads must be >= 1, not {}", o.threads));
  for (int cpu : o.cpus) {
    if (cpu < 0) throw InputError(fmt::format("cpu benchmark: CPU {} is negative", cpu));
  }
  switch (kind) {
    case CpuBenchmarkKind::kSysbench:
      if (o.duration_s < 1) {
        throw InputError(
            fmt::format("cpu benchmark: duration_s must be >= 1, not {}", o.duration_s));
      }
      if (o.sysbench_max_prime < 3) {
        throw InputError(fmt::format("cpu benchmark: sysbench_max_prime must be >= 3, not {}",
                                     o.sysbench_max_prime));
      }
      break;
    case CpuBenchmarkKind::kStressNg:
      if (o.duration_s < 1) {
        throw InputError(
            fmt::format("cpu benchmark: duration_s must be >= 1, not {}", o.duration_s));
      }
      if (!IsPlainWord(o.stress_ng_method)) {
        throw InputError(
            fmt::format("cpu benchmark: '{}' is not a stress-ng cpu method", o.stress_ng_method));
      }
      break;
    case CpuBenchmarkKind::kUnixBench:
      if (o.unixbench_iterations < 1) {
        throw InputError(fmt::format("cpu benchmark: unixbench_iterations must be >= 1, not {}",
                                     o.unixbench_iterations));
      }
      if (o.unixbench_tests.empty()) throw InputError("cpu benchmark: no UnixBench tests given");
      for (const auto& t : o.unixbench_tests) {
        if (!IsPlainWord(t))
          throw InputError(fmt::format("cpu benchmark: '{}' is not a UnixBench test name", t));
      }
      break;
    case CpuBenchmarkKind::kAuto:
      break;
  }
}

// Seconds per pass and whether UnixBench repeats the test `long` (iterations) or `short`
// ((iterations + 1) / 3) times, from the test table in UnixBench 5.1's Run.
struct UnixBenchTiming {
  double seconds;
  bool long_repeat;
};
UnixBenchTiming TimingOf(const std::string& test) {
  static const std::map<std::string, UnixBenchTiming> kTable = {
      {"dhry2reg", {10, true}}, {"whetstone-double", {10, true}},
      {"syscall", {10, true}},  {"context1", {10, true}},
      {"pipe", {10, true}},     {"sysexec", {10, true}},
      {"arithoh", {10, false}}, {"short", {10, false}},
      {"int", {10, false}},     {"long", {10, false}},
      {"float", {10, false}},   {"double", {10, false}},
      {"spawn", {30, false}},   {"execl", {30, false}},
      {"fstime", {30, false}},  {"fsbuffer", {30, false}},
      {"fsdisk", {30, false}},  {"shell1", {60, false}},
      {"shell8", {60, false}},  {"shell16", {60, false}},
      {"C", {60, false}},       {"dc", {30, false}},
      {"hanoi", {20, false}},   {"grep", {30, false}},
  };
  auto it = kTable.find(test);
  return it == kTable.end() ? UnixBenchTiming{30, false} : it->second;
}

std::vector<std::string> WithAffinity(const CpuBenchmarkOptions& o, std::vector<std::string> argv) {
  if (o.cpus.empty()) return argv;
  std::vector<std::string> out = {"taskset", "-c", fmt::format("{}", fmt::join(o.cpus, ","))};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

// The last `n` non-empty lines of `text`, for error messages.
std::string Tail(const std::string& text, size_t n) {
  auto lines = Lines(text);
  std::vector<std::string_view> kept;
  for (auto it = lines.rbegin(); it != lines.rend() && kept.size() < n; ++it) {
    if (!Trim(*it).empty()) kept.push_back(Trim(*it));
  }
  std::reverse(kept.begin(), kept.end());
  return fmt::format("{}", fmt::join(kept, " | "));
}

std::string ReadFile(const std::filesystem::path& path) {
  constexpr std::streamsize kMax = 16 << 20;  // reports are small; progress output is bounded
  std::ifstream in(path, std::ios::binary);
  std::string text;
  if (!in) return text;
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  std::streamoff start = size > kMax ? size - kMax : 0;  // the report is at the end
  in.seekg(start);
  text.resize(static_cast<size_t>(size - start));
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return text;
}

}  // namespace

std::optional<double> CpuBenchmarkResult::Field(std::string_view name) const {
  for (const auto& f : fields) {
    if (f.name == name) return f.value;
  }
  return std::nullopt;
}

CpuBenchmarkKind ResolveCpuBenchmarkKind(const CpuBenchmarkOptions& options) {
  switch (options.kind) {
    case CpuBenchmarkKind::kAuto:
      return options.unixbench_dir.empty() ? kDefaultCpuBenchmark : CpuBenchmarkKind::kUnixBench;
    case CpuBenchmarkKind::kUnixBench:
      if (options.unixbench_dir.empty()) {
        throw InputError("cpu benchmark: unixbench needs the directory of UnixBench's Run");
      }
      return CpuBenchmarkKind::kUnixBench;
    default:
      return options.kind;
  }
}

std::vector<std::string> CpuBenchmarkCommand(const CpuBenchmarkOptions& options) {
  const CpuBenchmarkKind kind = ResolveCpuBenchmarkKind(options);
  CheckOptions(options, kind);
  std::vector<std::string> argv;
  switch (kind) {
    case CpuBenchmarkKind::kSysbench:
      argv = {"sysbench",
              "cpu",
              fmt::format("--threads={}", options.threads),
              fmt::format("--time={}", options.duration_s),
              "--events=0",  // stop on time only
              fmt::format("--cpu-max-prime={}", options.sysbench_max_prime),
              "run"};
      break;
    case CpuBenchmarkKind::kStressNg:
      argv = {"stress-ng", "--cpu", std::to_string(options.threads), "--cpu-method",
              options.stress_ng_method, "--metrics-brief", "--timeout",
              fmt::format("{}s", options.duration_s),
              // stress-ng checks that its temporary directory is writable even for the cpu
              // stressor; the harness's working directory may not be.
              "--temp-path", "/tmp"};
      break;
    case CpuBenchmarkKind::kUnixBench:
      argv = {"env",
              "-C",
              options.unixbench_dir.string(),
              "./Run",
              "-c",
              std::to_string(options.threads),
              "-i",
              std::to_string(options.unixbench_iterations)};
      argv.insert(argv.end(), options.unixbench_tests.begin(), options.unixbench_tests.end());
      break;
    case CpuBenchmarkKind::kAuto:
      break;  // resolved above
  }
  return WithAffinity(options, std::move(argv));
}

double ExpectedCpuBenchmarkSeconds(const CpuBenchmarkOptions& options) {
  if (ResolveCpuBenchmarkKind(options) != CpuBenchmarkKind::kUnixBench) return options.duration_s;
  const int long_passes = std::max(options.unixbench_iterations, 1);
  const int short_passes = std::max(1, (long_passes + 1) / 3);
  double total = 0;
  for (const auto& test : options.unixbench_tests) {
    UnixBenchTiming t = TimingOf(test);
    total += t.seconds * (t.long_repeat ? long_passes : short_passes);
  }
  return total;
}

CpuBenchmarkResult ParseSysbenchOutput(std::string_view output) {
  CpuBenchmarkResult r;
  r.tool = "sysbench";
  r.score_unit = "events/s";
  std::optional<double> eps;
  bool in_latency = false;
  auto add = [&r](std::string_view name, std::string_view value, std::string_view unit) {
    if (!value.empty() && value.back() == 's' && unit == "s") value.remove_suffix(1);
    if (auto v = Number(value)) r.fields.push_back({std::string(name), *v, std::string(unit)});
  };
  for (std::string_view line : Lines(output)) {
    std::string_view t = Trim(line);
    if (StartsWith(t, "FATAL:")) throw InputError("sysbench failed: " + Quote(t));
    if (StartsWith(t, "sysbench ") && r.version.empty()) {
      auto words = Words(t);
      if (words.size() >= 2) r.version = std::string(words[1]);
      continue;
    }
    if (t.empty() || (!StartsWith(line, " ") && !StartsWith(line, "\t") && t.back() == ':')) {
      in_latency = t == "Latency (ms):";  // a section header ends the previous section
      continue;
    }
    if (auto v = ValueAfter(t, "Number of threads")) add("threads", *v, "");
    if (auto v = ValueAfter(t, "Prime numbers limit")) add("prime_limit", *v, "");
    if (auto v = ValueAfter(t, "events per second")) {
      eps = Number(*v);
      if (!eps) throw InputError("sysbench: 'events per second' is not a number: " + Quote(t));
    }
    if (auto v = ValueAfter(t, "total time")) add("total_time", *v, "s");
    if (auto v = ValueAfter(t, "total number of events")) add("total_events", *v, "");
    if (in_latency) {
      for (auto [key, name] : {std::pair{"min", "latency_min"},
                               {"avg", "latency_avg"},
                               {"max", "latency_max"},
                               {"95th percentile", "latency_p95"},
                               {"sum", "latency_sum"}}) {
        if (auto v = ValueAfter(t, key)) add(name, *v, "ms");
      }
    }
  }
  if (!eps) throw InputError("sysbench printed no 'events per second' (not a cpu test report)");
  r.score = *eps;
  return r;
}

std::string ParseStressNgVersion(std::string_view output) {
  for (std::string_view line : Lines(output)) {
    auto words = Words(line);
    for (size_t i = 0; i + 1 < words.size(); ++i) {
      if (words[i] == "version") return std::string(words[i + 1]);
    }
  }
  return "";
}

CpuBenchmarkResult ParseStressNgOutput(std::string_view output) {
  CpuBenchmarkResult r;
  r.tool = "stress-ng";
  r.score_unit = "bogo ops/s";
  bool header_seen = false, has_cpu_used = false, found = false, any = false;
  std::optional<double> instances;
  std::string failure, first_line;
  for (std::string_view line : Lines(output)) {
    // "stress-ng: <level>: [<pid>] <message>"; level is info, metrc (>= 0.14), fail, error ...
    std::string_view t = Trim(line);
    if (first_line.empty() && !t.empty()) first_line = Quote(t);
    if (!StartsWith(t, "stress-ng:")) continue;
    any = true;
    t.remove_prefix(std::string_view("stress-ng:").size());
    t = Trim(t);
    size_t colon = t.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view level = t.substr(0, colon);
    std::string_view message = Trim(t.substr(colon + 1));
    if (StartsWith(message, "[")) {
      size_t close = message.find(']');
      message = close == std::string_view::npos ? "" : Trim(message.substr(close + 1));
    }
    if ((level == "fail" || level == "error") && failure.empty()) failure = Quote(message);
    if (StartsWith(message, "unsuccessful run")) {
      throw InputError("stress-ng reported an unsuccessful run" +
                       (failure.empty() ? std::string() : ": " + failure));
    }
    auto words = Words(message);
    if (StartsWith(message, "dispatching hogs:")) {
      // "dispatching hogs: 2 cpu"
      for (size_t i = 2; i + 1 < words.size(); ++i) {
        if (words[i + 1] == "cpu" || words[i + 1] == "cpu,") instances = Number(words[i]);
      }
      continue;
    }
    if (!words.empty() && words[0] == "stressor") {
      header_seen = true;
      has_cpu_used = message.find("CPU used per") != std::string_view::npos;
      continue;
    }
    if (!header_seen || found || words.empty() || words[0] != "cpu") continue;
    // cpu <bogo ops> <real s> <usr s> <sys s> <ops/s real> <ops/s usr+sys> [<cpu %> <rss KB>]
    std::vector<double> v;
    for (size_t i = 1; i < words.size(); ++i) {
      auto n = Number(words[i]);
      if (!n) break;
      v.push_back(*n);
    }
    if (v.size() < 6) {
      throw InputError("stress-ng: malformed metrics line for the cpu stressor: " + Quote(t));
    }
    found = true;
    r.score = v[4];
    r.fields = {{"bogo_ops", v[0], ""},
                {"real_time", v[1], "s"},
                {"usr_time", v[2], "s"},
                {"sys_time", v[3], "s"},
                {"bogo_ops_per_s_usr_sys", v[5], "bogo ops/s"}};
    if (has_cpu_used && v.size() >= 7) r.fields.push_back({"cpu_used_per_instance", v[6], "%"});
  }
  if (!any) {
    // Option errors come without the "stress-ng:" prefix ("cpu-method must be one of: ...").
    throw InputError("stress-ng printed no report: " +
                     (first_line.empty() ? std::string("(no output)") : first_line));
  }
  if (!failure.empty()) throw InputError("stress-ng failed: " + failure);
  if (!found) {
    throw InputError(header_seen ? "stress-ng printed no metrics for the cpu stressor"
                                 : "stress-ng printed no metrics (was --metrics-brief given?)");
  }
  if (instances) r.fields.push_back({"instances", *instances, ""});
  return r;
}

CpuBenchmarkResult ParseUnixBenchOutput(std::string_view output) {
  CpuBenchmarkResult r;
  r.tool = "unixbench";
  r.score_unit = "index";
  const auto lines = Lines(output);
  size_t report = lines.size();
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view t = Trim(lines[i]);
    if (StartsWith(t, "Benchmark Run:")) report = i;
    // "   BYTE UNIX Benchmarks (Version 5.1.3)"
    const std::string_view kVersion = "BYTE UNIX Benchmarks (Version ";
    if (size_t at = t.find(kVersion); at != std::string_view::npos) {
      std::string_view rest = t.substr(at + kVersion.size());
      r.version = std::string(rest.substr(0, rest.find(')')));
    }
    if (StartsWith(t, "Run: ")) throw InputError("UnixBench failed: " + Quote(t));
  }
  if (report == lines.size()) {
    throw InputError("UnixBench printed no report (no 'Benchmark Run:' line)");
  }
  std::optional<double> score;
  bool partial = false, in_index = false;
  size_t tests = 0;
  for (size_t i = report + 1; i < lines.size(); ++i) {
    std::string_view t = Trim(lines[i]);
    auto words = Words(t);
    if (t.empty() || words.empty()) continue;
    // "2 CPUs in system; running 1 parallel copy of tests"
    if (size_t at = t.find("running ");
        at != std::string_view::npos && t.find("parallel") != std::string_view::npos) {
      auto w = Words(t.substr(at));
      if (w.size() >= 2) {
        if (auto n = Number(w[1])) r.fields.push_back({"copies", *n, ""});
      }
      continue;
    }
    if (words.size() >= 4 && words[words.size() - 3] == "BASELINE" &&
        words[words.size() - 2] == "RESULT" && words.back() == "INDEX") {
      in_index = true;
      partial = t.find("Partial Index") != std::string_view::npos;
      continue;
    }
    if (StartsWith(t, "No index results available")) {
      throw InputError("UnixBench computed no index: " + Quote(t));
    }
    if (in_index) {
      if (t.find("Index Score") != std::string_view::npos) {
        // "System Benchmarks Index Score (Partial Only)        778.5"
        if (StartsWith(t, "System Benchmarks")) {
          score = Number(words.back());
          if (!score) throw InputError("UnixBench: malformed index score line: " + Quote(t));
        }
        in_index = false;
        continue;
      }
      if (words.size() < 4 || t.find_first_not_of('=') == std::string_view::npos) continue;
      // "<description>  <baseline> <result> <index>"; baseline and index are "---" when the
      // test has no baseline.
      auto index = Number(words.back());
      if (!index) continue;
      r.fields.push_back({std::string(WithoutLastWords(t, 3)) + " index", *index, ""});
      continue;
    }
    // "<description>  <result> <unit> (<seconds> s, <n> samples)"
    size_t paren = t.rfind(" (");
    if (paren == std::string_view::npos || t.find("samples)", paren) == std::string_view::npos)
      continue;
    auto head = Words(t.substr(0, paren));
    if (head.size() < 3) continue;
    auto value = Number(head[head.size() - 2]);
    if (!value) throw InputError("UnixBench: malformed test result line: " + Quote(t));
    r.fields.push_back(
        {std::string(WithoutLastWords(t.substr(0, paren), 2)), *value, std::string(head.back())});
    ++tests;
  }
  if (!score) {
    throw InputError(tests == 0 ? "UnixBench's report has no test results and no index score"
                                : "UnixBench's report has no System Benchmarks Index Score");
  }
  r.score = *score;
  r.fields.push_back({"partial", partial ? 1.0 : 0.0, ""});
  return r;
}

CpuBenchmarkResult ParseCpuBenchmarkOutput(CpuBenchmarkKind kind, std::string_view output) {
  switch (kind) {
    case CpuBenchmarkKind::kSysbench:
      return ParseSysbenchOutput(output);
    case CpuBenchmarkKind::kStressNg:
      return ParseStressNgOutput(output);
    case CpuBenchmarkKind::kUnixBench:
      return ParseUnixBenchOutput(output);
    case CpuBenchmarkKind::kAuto:
      break;
  }
  throw InputError("cpu benchmark: resolve 'auto' before parsing output");
}

CpuBenchmark CpuBenchmark::Start(const platform::Platform& platform, const std::string& host,
                                 const CpuBenchmarkOptions& options,
                                 const std::filesystem::path& raw_dir) {
  CpuBenchmark b;
  b.platform_ = &platform;
  b.host_ = host;
  b.run_.kind = ResolveCpuBenchmarkKind(options);
  b.run_.argv = CpuBenchmarkCommand(options);
  b.expected_s_ = ExpectedCpuBenchmarkSeconds(options);
  b.run_.log = raw_dir / "cpu_benchmark.log";
  std::error_code ec;
  std::filesystem::create_directories(raw_dir, ec);  // Start() reports a directory it cannot use

  ProcessSpec spec = platform.Command(host, b.run_.argv);
  // stress-ng reports on stderr, sysbench and UnixBench on stdout: one file keeps the order.
  spec.stdout_path = b.run_.log;
  spec.stderr_path = b.run_.log;
  spec.interruptible = true;  // Ctrl-C stops the benchmark and unwinds to the runner's teardown
  log::Debug("cpu benchmark in {}: {}", host, CommandLine(b.run_.argv));
  b.started_ = std::chrono::steady_clock::now();
  b.process_ = Process::Start(spec);
  return b;
}

CpuBenchmarkRun CpuBenchmark::Finish() {
  const std::string tool(scenario::ToString(run_.kind));
  // sysbench and stress-ng stop themselves on time; UnixBench may first compile itself and its
  // timing is approximate. The limit only catches a hung tool.
  const double limit_s =
      run_.kind == CpuBenchmarkKind::kUnixBench ? expected_s_ * 2 + 600 : expected_s_ * 1.5 + 60;
  std::optional<ProcessResult> result;
  while (!result) {
    result = process_.Wait(std::chrono::seconds(15));
    if (result) break;
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    if (elapsed > limit_s) {
      process_.Terminate();
      throw RunError(fmt::format("{} in {} did not finish within {:.0f} s (see {})", tool, host_,
                                 limit_s, run_.log.string()));
    }
    log::Info("  ... {}: {:.0f} s of ~{:.0f} s", tool, elapsed, expected_s_);
  }
  run_.duration_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();

  const std::string text = ReadFile(run_.log);
  if (!result->Succeeded()) {
    throw RunError(fmt::format("{} in {} failed ({}); see {}: {}", tool, host_, result->Status(),
                               run_.log.string(), Tail(text, 5)));
  }
  try {
    run_.result = ParseCpuBenchmarkOutput(run_.kind, text);
  } catch (const InputError& e) {
    throw RunError(fmt::format("{} in {}: {} (see {})", tool, host_, e.what(), run_.log.string()));
  }
  if (run_.kind == CpuBenchmarkKind::kStressNg && run_.result.version.empty()) {
    // Only the version is asked for here, after the measurement, so it cannot delay the start.
    try {
      ProcessResult v = RunProcess(platform_->Command(host_, {"stress-ng", "--version"}),
                                   std::chrono::seconds(10));
      run_.result.version = ParseStressNgVersion(v.out + v.err);
    } catch (const Error& e) {
      log::Debug("stress-ng --version: {}", e.what());
    }
  }
  return run_;
}

CpuBenchmarkRun RunCpuBenchmark(const platform::Platform& platform, const std::string& host,
                                const CpuBenchmarkOptions& options,
                                const std::filesystem::path& raw_dir) {
  return CpuBenchmark::Start(platform, host, options, raw_dir).Finish();
}

}  // namespace nfb::workloads
