#include "nfb/collectors/xentop_sampler.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "nfb/collectors/xentop.h"
#include "nfb/core/cancel.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/core/subprocess.h"

namespace nfb::collectors {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// A line longer than this is not xentop's (a frame line is ~180 characters, -f adds the longest
// name): it is cut and counted instead of growing the buffer without bound.
constexpr size_t kMaxLineBytes = 64 * 1024;
// Lines of output kept for error messages.
constexpr size_t kFirstLinesKept = 5;
// At Stop(), a frame whose last bytes came at least this long ago is complete (xentop flushes a
// whole frame at once); a younger one may still be arriving and is dropped.
constexpr int64_t kQuietNs = 200'000'000;
constexpr int64_t kNs = 1'000'000'000;

int64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * kNs + ts.tv_nsec;
}

double ThreadCpuSeconds() {
  timespec ts{};
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Output is untrusted and ends up in error messages and JSON (which must be valid UTF-8): keep
// printable ASCII, replace the rest.
std::string Printable(std::string_view text, size_t limit = 200) {
  std::string out;
  for (char c : text.substr(0, limit)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (text.size() > limit) out += "...";
  return out;
}

std::string TailOfFile(const fs::path& path, size_t bytes = 600) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.size() > bytes) text = text.substr(text.size() - bytes);
  std::string out;
  for (char c : text) out += c == '\n' ? '|' : ((c >= 0x20 && c < 0x7f) ? c : '?');
  return out;
}

// The program as it will be executed, or PrerequisiteError.
fs::path ResolveProgram(const fs::path& program) {
  const std::string name = program.string();
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) != 0) {
      throw PrerequisiteError(fmt::format("xentop sampler: '{}' is not an executable file: {}",
                                          name, std::strerror(errno)));
    }
    return program;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    fs::path dir = dirs.substr(start, end - start);
    if (dir.empty()) dir = ".";
    fs::path candidate = dir / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  throw PrerequisiteError(fmt::format(
      "xentop sampler: '{}' not found in PATH: it comes with Xen's tools (Debian: xen-utils-"
      "common and xen-utils-<version>), and runs in dom0",
      name));
}

// What xentop shows for each guest (its xl name), in the order of o.guests.
std::vector<std::string> XenNames(const XentopSamplerOptions& o) {
  std::vector<std::string> out;
  for (const std::string& g : o.guests) {
    auto it = o.xl_names.find(g);
    out.push_back(it == o.xl_names.end() ? g : it->second);
  }
  return out;
}

void ValidateOptions(const XentopSamplerOptions& o) {
  const auto ms = o.interval.count();
  if (ms < 1000 || ms % 1000 != 0) {
    throw InputError(fmt::format(
        "xentop sampler: the interval must be a whole number of seconds, at least 1 (xentop's -d "
        "takes whole seconds); got {} ms",
        ms));
  }
  std::set<std::string> seen;
  for (const std::string& g : o.guests) {
    if (g.empty() || g == "dom0" || g == "Domain-0" || g == kUnattributedRow || g == kTotalRow) {
      throw InputError(fmt::format("xentop sampler: '{}' cannot be a guest's name", g));
    }
    if (!seen.insert(g).second) {
      throw InputError(fmt::format("xentop sampler: guest '{}' is listed twice", g));
    }
  }
  for (const auto& [guest, xl] : o.xl_names) {
    if (!seen.count(guest)) {
      throw InputError(fmt::format("xentop sampler: xl name given for unknown guest '{}'", guest));
    }
    if (xl.empty() || xl == "Domain-0") {
      throw InputError(fmt::format("xentop sampler: '{}' cannot be guest {}'s xl name", xl, guest));
    }
  }
  const std::vector<std::string> xl = XenNames(o);
  if (std::set<std::string>(xl.begin(), xl.end()).size() != xl.size()) {
    throw InputError("xentop sampler: two guests have the same xl name");
  }
  if (!o.full_names) {
    // Without -f xentop shows "%10.10s": two guests with the same first 10 characters would be
    // the same row. MapXentopName would throw mid-run; refuse now instead.
    for (const std::string& name : xl) {
      if (name.size() > 10) MapXentopName(name.substr(0, 10), xl);
    }
  }
  if (o.first_frame_timeout.count() <= 0) {
    throw InputError("xentop sampler: first_frame_timeout must be positive");
  }
}

}  // namespace

// --- State ----------------------------------------------------------------------------------

struct XentopSampler::State {
  XentopSamplerOptions options;
  std::vector<std::string> argv;
  fs::path dir, fifo, stderr_path;
  int fifo_fd = -1;
  int wake_fd = -1;
  Process process;
  std::ofstream raw;
  XentopParser parser{XentopParserOptions{/*header_starts_frame=*/true}};
  XentopRowOptions row_options;
  XentopRowBuilder builder;
  std::thread thread;

  // Reading state (sampler thread after Start).
  std::string partial;   // bytes of a line not yet ended
  bool cutting = false;  // dropping the rest of an over-long line
  int cut_lines = 0;
  std::vector<std::string> first_lines;
  std::optional<int64_t> start_ns;  // arrival of the first header: t = 0
  int64_t last_data_ns = 0;
  bool eof = false;
  int frames = 0;
  int stalls = 0;
  int64_t started_ns = 0;  // when xentop was started
  struct DomainSeen {
    std::string shown_as;
    double first_t_s = 0, last_t_s = 0;
    int frames = 0;
  };
  std::map<std::string, DomainSeen> domains;
  std::string exit_description;

  mutable std::mutex mutex;  // guards report.rows, report.intervals
  CpuSamplerReport report;
  std::string thread_error;  // written by the thread, read after join
  std::atomic<bool> failed{false};  // set with thread_error, readable any time
  bool stopped = false;

  explicit State(XentopSamplerOptions o)
      : options(std::move(o)), row_options(RowOptions(options)), builder(row_options) {}

  static XentopRowOptions RowOptions(const XentopSamplerOptions& o) {
    XentopRowOptions r;
    r.delay_s = static_cast<double>(o.interval.count()) / 1000.0;
    r.domains = XenNames(o);
    for (const auto& [guest, xl] : o.xl_names) {
      if (xl != guest) r.rename[xl] = guest;
    }
    r.include_first_frame = o.include_first_frame;
    r.flag_unknown_domains = true;
    r.dom0_includes_external_hosts = !o.external_hosts_in_dom0.empty();
    return r;
  }

  ~State() { Release(); }

  // Ends xentop (if still running) and removes the FIFO and the directory. Idempotent.
  void Release() noexcept {
    try {
      if (process.running()) {
        ProcessResult r = process.Terminate(std::chrono::seconds(2));
        if (exit_description.empty()) {
          exit_description = r.signal == SIGTERM || (r.signal == 0 && r.exit_code == 0)
                                 ? "terminated by the sampler (" + r.Status() + ")"
                                 : "terminated by the sampler, then " + r.Status();
        }
      }
    } catch (const std::exception& e) {
      log::Warn("xentop sampler: stopping xentop: {}", e.what());
    }
    if (fifo_fd >= 0) ::close(fifo_fd);
    fifo_fd = -1;
    if (wake_fd >= 0) ::close(wake_fd);
    wake_fd = -1;
    if (raw.is_open()) raw.close();
    if (!dir.empty()) {
      std::error_code ec;
      fs::remove_all(dir, ec);
      if (ec) log::Warn("xentop sampler: cannot remove {}: {}", dir.string(), ec.message());
      dir.clear();
    }
  }

  // What xentop said, for error messages: the end of its stderr and, when its output never
  // looked like batch output, the first lines it printed.
  std::string Diagnostics() const {
    std::vector<std::string> parts;
    std::string err = TailOfFile(stderr_path);
    if (!err.empty()) parts.push_back("stderr: " + err);
    if (first_lines.empty()) {
      parts.push_back("it printed nothing on stdout");
    } else if (!parser.seen_header()) {
      parts.push_back(fmt::format("its output began: {}", fmt::join(first_lines, " | ")));
    } else if (err.empty()) {
      parts.push_back("nothing on stderr");
    }
    return fmt::format("{}", fmt::join(parts, "; "));
  }

  // Reads whatever the FIFO holds now. Returns false at EOF (xentop closed its stdout: it
  // exited). Throws RunError if the FIFO cannot be read.
  bool Pump() {
    char buffer[65536];
    while (true) {
      ssize_t n = ::read(fifo_fd, buffer, sizeof buffer);
      if (n > 0) {
        const int64_t now = MonotonicNs();
        last_data_ns = now;
        if (raw.is_open()) {
          raw.write(buffer, n);
          raw.flush();
        }
        Feed(std::string_view(buffer, size_t(n)), now);
        continue;
      }
      if (n == 0) {
        eof = true;
        return false;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      ThrowSystemError("xentop sampler: reading xentop's output", errno);
    }
  }

  void Feed(std::string_view data, int64_t now_ns) {
    const double now_s = static_cast<double>(now_ns) / kNs;
    while (!data.empty()) {
      size_t nl = data.find('\n');
      std::string_view piece = data.substr(0, nl);
      if (!cutting) {
        if (partial.size() + piece.size() > kMaxLineBytes) {
          cutting = true;
          ++cut_lines;
          partial.clear();
        } else {
          partial.append(piece);
        }
      }
      if (nl == std::string_view::npos) break;
      data.remove_prefix(nl + 1);
      if (cutting) {
        cutting = false;
        continue;
      }
      if (first_lines.size() < kFirstLinesKept) first_lines.push_back(Printable(partial));
      parser.AddLine(partial, now_s);
      partial.clear();
      if (!start_ns && parser.seen_header()) start_ns = now_ns;
    }
  }

  // Turns completed frames into rows.
  void Deliver() {
    for (XentopFrame& f : parser.TakeFrames()) {
      if (!start_ns) continue;  // cannot happen: frames follow a header
      f.t_s -= static_cast<double>(*start_ns) / kNs;
      ++frames;
      for (const XentopDomain& d : f.domains) {
        std::string name = MapXentopName(d.name, row_options.domains);
        if (auto it = row_options.rename.find(name); it != row_options.rename.end()) {
          name = it->second;
        }
        DomainSeen& seen = domains[Printable(name, 64)];
        if (seen.frames == 0) {
          seen.shown_as = Printable(d.name, 64);
          seen.first_t_s = f.t_s;
        }
        seen.last_t_s = f.t_s;
        ++seen.frames;
      }
      std::vector<CpuSeriesRow> rows = builder.Add(f);
      if (rows.empty()) continue;
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (rows.front().interval_s > 1.5 * builder_delay_s()) ++report.late_readings;
        report.rows.insert(report.rows.end(), rows.begin(), rows.end());
        ++report.intervals;
      }
      if (options.on_interval) options.on_interval(rows);
    }
  }

  double builder_delay_s() const { return static_cast<double>(options.interval.count()) / 1000.0; }

  // The sampler thread: reads until Stop(), an interrupt, EOF or an error.
  void Run() {
    const int64_t interval_ns = options.interval.count() * 1'000'000;
    // No output for this long is a stall (xenstat blocked, dom0 starved): logged, not fatal.
    const int64_t stall_ns = 3 * interval_ns + 5 * kNs;
    bool stall_logged = false;
    try {
      while (true) {
        pollfd fds[3] = {{fifo_fd, POLLIN, 0}, {wake_fd, POLLIN, 0}, {InterruptFd(), POLLIN, 0}};
        int64_t wait_ns = std::max<int64_t>(last_data_ns + stall_ns - MonotonicNs(), 0);
        int timeout_ms = stall_logged ? -1 : static_cast<int>(wait_ns / 1'000'000) + 1;
        int rc = ::poll(fds, 3, timeout_ms);
        if (rc < 0 && errno == EINTR) continue;
        if (rc < 0) ThrowSystemError("xentop sampler: poll", errno);
        if (fds[1].revents != 0) {
          Finish(/*stopping=*/true);
          break;
        }
        if (fds[2].revents != 0) {
          report.stopped_by_interrupt = true;
          break;
        }
        if (fds[0].revents != 0) {
          stall_logged = false;
          bool open = Pump();
          Deliver();
          if (!open) {
            Finish(/*stopping=*/false);
            break;
          }
          continue;
        }
        if (!stall_logged && MonotonicNs() - last_data_ns >= stall_ns) {
          ++stalls;
          stall_logged = true;
          log::Warn("xentop sampler: no output from xentop for {:.0f} s",
                    static_cast<double>(MonotonicNs() - last_data_ns) / kNs);
        }
      }
    } catch (const std::exception& e) {
      thread_error = e.what();
      failed = true;
      log::Error("xentop sampler: {}", thread_error);
    }
    report.thread_cpu_s = ThreadCpuSeconds();
  }

  // At Stop() (stopping) or at EOF: takes the last complete frame. At EOF xentop has exited,
  // which is an error unless Stop() asked for it.
  void Finish(bool stopping) {
    if (stopping) {
      if (!eof) Pump();  // what arrived before Stop()
      Deliver();
      if (eof || MonotonicNs() - last_data_ns >= kQuietNs) parser.CloseFrame();
      Deliver();
      if (!eof) return;
    } else {
      parser.CloseFrame();  // xentop exited: its last frame is whole
      Deliver();
    }
    // EOF before Stop(): xentop ended by itself. Its status, if it comes within a moment.
    std::optional<ProcessResult> r = process.Wait(std::chrono::seconds(2));
    std::string status = r ? r->Status() : "closed its output but still runs";
    exit_description = "ended by itself: " + status;
    throw RunError(fmt::format(
        "xentop ({}) stopped before the sampler did, after {:.1f} s ({}): {}", CommandLine(argv),
        start_ns ? static_cast<double>(MonotonicNs() - *start_ns) / kNs : 0.0, status,
        Diagnostics()));
  }
};

// --- XentopSampler --------------------------------------------------------------------------

XentopSampler::XentopSampler(std::unique_ptr<State> state) : state_(std::move(state)) {}

std::unique_ptr<XentopSampler> XentopSampler::Start(XentopSamplerOptions options) {
  ValidateOptions(options);
  const fs::path program = ResolveProgram(options.xentop);
  auto s = std::make_unique<State>(std::move(options));
  const XentopSamplerOptions& o = s->options;

  fs::path parent = o.work_dir.empty() ? fs::temp_directory_path() : o.work_dir;
  std::string templ = (parent / "nfb-xentop-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) {
    ThrowSystemError("xentop sampler: mkdtemp in " + parent.string(), errno);
  }
  s->dir = templ;
  s->fifo = s->dir / "stdout.fifo";
  s->stderr_path = s->dir / "stderr.txt";
  if (::mkfifo(s->fifo.c_str(), 0600) != 0) {
    ThrowSystemError("xentop sampler: mkfifo " + s->fifo.string(), errno);
  }
  // The read end first and non-blocking: opening the write end (in Process::Start) then does not
  // block, and the sampler stays the FIFO's only reader.
  s->fifo_fd = ::open(s->fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (s->fifo_fd < 0) ThrowSystemError("xentop sampler: open " + s->fifo.string(), errno);
  s->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (s->wake_fd < 0) ThrowSystemError("xentop sampler: eventfd", errno);
  if (!o.raw_output.empty()) {
    s->raw.open(o.raw_output, std::ios::binary | std::ios::trunc);
    if (!s->raw) throw RunError("xentop sampler: cannot write " + o.raw_output.string());
  }
  InterruptFd();  // created here, where a failure can still be thrown to the caller

  const int delay_s = static_cast<int>(o.interval.count() / 1000);
  s->argv = {program.string(), "-b", "-d", std::to_string(delay_s)};
  if (o.full_names) s->argv.push_back("-f");
  ProcessSpec spec(s->argv);
  spec.stdout_path = s->fifo;
  spec.stderr_path = s->stderr_path;
  s->process = Process::Start(spec);
  s->started_ns = s->last_data_ns = MonotonicNs();

  // Wait for the first header: xentop runs and prints batch output.
  const int64_t deadline = MonotonicNs() + int64_t{o.first_frame_timeout.count()} * 1'000'000;
  while (!s->start_ns) {
    const int64_t left = deadline - MonotonicNs();
    if (left <= 0) {
      throw RunError(fmt::format(
          "xentop ({}) printed no batch header within {:.1f} s (it still "
          "runs and is stopped now): {}",
          CommandLine(s->argv), static_cast<double>(o.first_frame_timeout.count()) / 1000.0,
          s->Diagnostics()));
    }
    pollfd fds[2] = {{s->fifo_fd, POLLIN, 0}, {InterruptFd(), POLLIN, 0}};
    int rc = ::poll(fds, 2, static_cast<int>(left / 1'000'000) + 1);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) ThrowSystemError("xentop sampler: poll", errno);
    if (fds[1].revents != 0) throw InterruptedError();
    if (fds[0].revents != 0 && !s->Pump()) {
      std::optional<ProcessResult> r = s->process.Wait(std::chrono::seconds(2));
      throw RunError(fmt::format("xentop ({}) exited before its first frame ({}): {}",
                                 CommandLine(s->argv), r ? r->Status() : "still running",
                                 s->Diagnostics()));
    }
  }
  s->Deliver();
  s->report.method = "xentop";
  std::unique_ptr<XentopSampler> sampler(new XentopSampler(std::move(s)));
  State* state = sampler->state_.get();
  state->thread = std::thread([state] { state->Run(); });
  return sampler;
}

bool XentopSampler::Failed() const { return state_->failed; }

std::vector<CpuSeriesRow> XentopSampler::Rows() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->report.rows;
}

void XentopSampler::Shutdown() noexcept {
  State& s = *state_;
  if (s.stopped) return;
  s.stopped = true;
  if (s.wake_fd >= 0) {
    uint64_t one = 1;
    if (::write(s.wake_fd, &one, sizeof(one)) < 0) {
      log::Warn("xentop sampler: cannot wake the sampler thread: {}", std::strerror(errno));
    }
  }
  if (s.thread.joinable()) s.thread.join();
  s.Release();
}

CpuSamplerReport XentopSampler::Stop() {
  State& s = *state_;
  if (s.stopped) throw RunError("xentop sampler: Stop() called twice");
  Shutdown();
  json domains = json::object();
  for (const auto& [name, seen] : s.domains) {
    domains[name] = {{"shown_as", seen.shown_as},
                     {"first_t_s", seen.first_t_s},
                     {"last_t_s", seen.last_t_s},
                     {"frames", seen.frames}};
  }
  std::lock_guard<std::mutex> lock(s.mutex);
  s.report.details = {
      {"argv", s.argv},
      {"interval_s", s.builder_delay_s()},
      {"frames", s.frames},
      {"rows_left_out", s.builder.left_out()},
      {"skipped_lines", s.parser.skipped_lines()},
      {"malformed_lines", s.parser.malformed_lines()},
      {"cut_lines", s.cut_lines},
      {"stalls", s.stalls},
      {"startup_s", s.start_ns ? static_cast<double>(*s.start_ns - s.started_ns) / kNs : 0.0},
      {"raw_output",
       s.options.raw_output.empty() ? json(nullptr) : json(s.options.raw_output.string())},
      {"external_hosts_in_dom0", s.options.external_hosts_in_dom0},
      {"domains", domains},
      {"exit", s.exit_description}};
  if (!s.thread_error.empty()) throw RunError("xentop sampler failed: " + s.thread_error);
  return s.report;
}

XentopSampler::~XentopSampler() { Shutdown(); }

}  // namespace nfb::collectors
