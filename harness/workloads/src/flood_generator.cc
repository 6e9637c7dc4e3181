#include "nfb/workloads/flood_generator.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>

#include "nfb/core/cancel.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/core/netns.h"
#include "nfb/core/subprocess.h"
#include "tool_output.h"

#ifndef NFB_PIN_EXEC_PATH
#error "NFB_PIN_EXEC_PATH (the nfb-pin-exec binary) must be defined by the build"
#endif

namespace nfb::workloads {

namespace fs = std::filesystem;
using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;
using WallClock = std::chrono::system_clock;

namespace {

using internal::ReadFile;
using internal::Tail;

constexpr auto kStopGrace = std::chrono::seconds(5);

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw RunError("cannot write " + path.string());
}

bool InPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    fs::path candidate = fs::path(dirs.substr(start, end - start)) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

std::string KernelRelease() {
  struct utsname u {};
  return ::uname(&u) == 0 ? u.release : "unknown";
}

std::string Iso8601(WallClock::time_point t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:06d}Z", buf, us % 1'000'000);
}

int64_t Nanoseconds(std::chrono::nanoseconds d) { return d.count(); }

// The report fields that come from the options.
FloodGeneratorReport ReportFor(const FloodGeneratorOptions& o, FloodTool tool) {
  FloodGeneratorReport r;
  r.tool = tool;
  r.interface = o.interface;
  r.frame_bytes = o.frame_bytes;
  r.packets_requested = o.packets;
  r.rate_pps = o.rate_pps;
  r.cpu = o.cpu;
  return r;
}

}  // namespace

FloodTool DetectGenerator() {
  if (fs::exists("/proc/net/pktgen/pgctrl")) return FloodTool::kPktgen;
  if (InPath("trafgen")) return FloodTool::kTrafgen;
  throw PrerequisiteError(
      "no packet generator: /proc/net/pktgen is missing (modprobe pktgen) and trafgen is not "
      "installed (apt-get install netsniff-ng)");
}

json FloodGeneratorReport::ToJson() const {
  auto wall_ns = [](WallClock::time_point t) { return Nanoseconds(t.time_since_epoch()); };
  auto steady_ns = [](SteadyClock::time_point t) { return Nanoseconds(t.time_since_epoch()); };
  return {{"tool", ToString(tool)},
          {"tool_version", tool_version},
          {"argv", argv},
          {"config_path", config_path.string()},
          {"log_path", log_path.string()},
          {"interface", interface},
          {"frame_bytes", frame_bytes},
          {"frame_bytes_definition", "Ethernet frame without the 4-byte FCS (pktgen pkt_size)"},
          {"packets_requested", packets_requested},
          {"rate_pps", rate_pps},
          {"cpu", cpu ? json(*cpu) : json(nullptr)},
          {"sent_packets", sent_packets},
          {"sent_bytes", sent_bytes},
          {"errors", errors},
          {"tool_duration_s", tool_duration_s},
          {"started_wall", Iso8601(started_wall)},
          {"ended_wall", Iso8601(ended_wall)},
          {"started_wall_ns", wall_ns(started_wall)},
          {"ended_wall_ns", wall_ns(ended_wall)},
          {"started_steady_ns", steady_ns(started_steady)},
          {"ended_steady_ns", steady_ns(ended_steady)},
          {"duration_s", duration_s},
          {"stopped_early", stopped_early},
          {"skb_layout", skb_layout},
          {"rate_shaping", rate_shaping}};
}

// ---------------------------------------------------------------------------------------------
// Backends

class FloodGenerator::Backend {
 public:
  virtual ~Backend() = default;
  virtual FloodTool tool() const = 0;
  virtual bool Running() const = 0;
  virtual std::optional<FloodGeneratorReport> Wait(std::chrono::milliseconds timeout) = 0;
  virtual FloodGeneratorReport Stop() = 0;
};

namespace {

// Whether a file in `dir` can be mapped shared and writable, as trafgen maps its temporary file
// in its working directory. 9p without a cache mode (the lab's results share) cannot; statfs
// does not tell, as 9p reports the server's filesystem type.
bool CanMapShared(const fs::path& dir) {
  const fs::path probe = dir / ".nfb-mmap-probe";
  const int fd = ::open(probe.c_str(), O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool ok = false;
  if (::ftruncate(fd, 4096) == 0) {
    void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p != MAP_FAILED) {
      ok = true;
      ::munmap(p, 4096);
    }
  }
  ::close(fd);
  ::unlink(probe.c_str());
  return ok;
}

// trafgen as a child process in the attacker's namespace and cgroups.
class TrafgenBackend final : public FloodGenerator::Backend {
 public:
  explicit TrafgenBackend(const FloodGeneratorOptions& options)
      : options_(options), report_(ReportFor(options, FloodTool::kTrafgen)) {
    // trafgen runs with output_dir as its working directory: every path it gets is absolute.
    options_.output_dir = fs::absolute(options_.output_dir);
    fs::create_directories(options_.output_dir);
    if (options_.work_dir.empty() && !CanMapShared(options_.output_dir)) {
      // trafgen maps a shared temporary file in its working directory.
      char tmpl[] = "/tmp/nfb-trafgen-XXXXXX";
      if (::mkdtemp(tmpl) == nullptr) ThrowSystemError("mkdtemp /tmp/nfb-trafgen-XXXXXX", errno);
      owned_work_dir_.path = tmpl;
      options_.work_dir = owned_work_dir_.path;
    }
    report_.config_path = options_.output_dir / "trafgen.cfg";
    report_.log_path = options_.output_dir / "trafgen.log";
    stderr_path_ = options_.output_dir / "trafgen.stderr.log";
    WriteFile(report_.config_path, TrafgenConfig(options_));
    report_.argv = TrafgenCommand(options_, report_.config_path, NFB_PIN_EXEC_PATH);
    report_.tool_version = Version();
    if (options_.rate_pps > 0) {
      report_.skb_layout = "linear";
      report_.rate_shaping =
          "trafgen --rate: full-speed bursts of rate_pps frames, then a sleep to the end of each "
          "second (sendto per frame)";
    } else {
      report_.skb_layout = "non-linear (PACKET_TX_RING)";
      report_.rate_shaping = "none";
    }

    ProcessSpec spec(report_.argv);
    spec.netns = options_.netns;
    spec.cgroup_procs = options_.cgroup_procs;
    spec.stdout_path = report_.log_path;
    spec.stderr_path = stderr_path_;
    spec.interruptible = true;  // Ctrl-C stops trafgen (SIGTERM: it prints its summary)
    log::Debug("flood: {}", CommandLine(report_.argv));
    report_.started_wall = WallClock::now();
    report_.started_steady = SteadyClock::now();
    process_ = Process::Start(spec);
  }

  FloodTool tool() const override { return FloodTool::kTrafgen; }
  bool Running() const override { return process_.running(); }

  std::optional<FloodGeneratorReport> Wait(std::chrono::milliseconds timeout) override {
    if (done_) return report_;
    std::optional<ProcessResult> result = process_.Wait(timeout);
    if (!result) return std::nullopt;
    return Finish(*result, false);
  }

  FloodGeneratorReport Stop() override {
    if (done_) return report_;
    // trafgen stops on SIGINT and SIGTERM alike and prints its summary; Terminate waits
    // without honouring Ctrl-C, so a stop during teardown still gets the counters.
    if (!Interrupted()) {  // after Ctrl-C an interruptible Wait would throw instead
      if (auto exited = process_.Wait(std::chrono::milliseconds(0))) return Finish(*exited, false);
    }
    ProcessResult result = process_.Terminate(kStopGrace);
    return Finish(result, true);
  }

 private:
  static std::string Version() {
    ProcessSpec spec({"trafgen", "--version"});
    ProcessResult r = RunProcess(spec, std::chrono::seconds(5));
    std::string first = r.out.substr(0, r.out.find('\n'));
    return first.empty() ? "trafgen (version unknown)" : first;
  }

  FloodGeneratorReport Finish(const ProcessResult& result, bool stopped) {
    report_.ended_wall = WallClock::now();
    report_.ended_steady = SteadyClock::now();
    report_.duration_s =
        std::chrono::duration<double>(report_.ended_steady - report_.started_steady).count();
    done_ = true;
    // After a stop trafgen exits 0 with its summary; if it had to be killed, the summary is
    // missing and the parse below says so.
    if (!stopped && !result.Succeeded()) {
      throw RunError(fmt::format("'{}' failed ({}): {}", CommandLine(report_.argv), result.Status(),
                                 Tail(stderr_path_)));
    }
    TrafgenSummary summary;
    try {
      summary = ParseTrafgenSummary(ReadFile(report_.log_path));
    } catch (const InputError& e) {
      throw RunError(fmt::format("'{}' ({}): {}; stderr: {}", CommandLine(report_.argv),
                                 result.Status(), e.what(), Tail(stderr_path_)));
    }
    report_.sent_packets = summary.packets;
    report_.sent_bytes = summary.bytes;
    report_.tool_duration_s = summary.DurationSeconds();
    report_.stopped_early = stopped;
    if (summary.bytes != summary.packets * uint64_t(options_.frame_bytes)) {
      log::Warn("trafgen counted {} bytes for {} frames of {} bytes", summary.bytes,
                summary.packets, options_.frame_bytes);
    }
    if (!stopped && options_.packets > 0 && summary.packets != options_.packets) {
      log::Warn("trafgen sent {} of {} frames", summary.packets, options_.packets);
    }
    return report_;
  }

  FloodGeneratorOptions options_;
  FloodGeneratorReport report_;
  fs::path stderr_path_;
  // A temporary working directory made here (removed after trafgen, which is killed first).
  struct OwnedDir {
    fs::path path;
    ~OwnedDir() {
      std::error_code ec;
      if (!path.empty()) fs::remove_all(path, ec);
    }
  } owned_work_dir_;
  Process process_;
  bool done_ = false;
};

// pktgen: configured from this thread inside the attacker's namespace through
// /proc/thread-self/net/pktgen (the namespace's own pktgen directory); a child process writes
// `start` to pgctrl, which blocks until the run ends or `stop` is written.
class PktgenBackend final : public FloodGenerator::Backend {
 public:
  explicit PktgenBackend(const FloodGeneratorOptions& options)
      : options_(options), report_(ReportFor(options, FloodTool::kPktgen)) {
    fs::create_directories(options_.output_dir);
    report_.config_path = options_.output_dir / "pktgen.commands";
    report_.log_path = options_.output_dir / "pktgen.device";
    stdout_path_ = options_.output_dir / "pktgen.start.log";
    stderr_path_ = options_.output_dir / "pktgen.start.stderr.log";
    report_.skb_layout = "linear";
    report_.rate_shaping =
        options_.rate_pps > 0 ? "pktgen ratep: a fixed delay between frames" : "none";
    const int cpu = options_.cpu.value_or(0);
    report_.cpu = cpu;
    {
      NetnsScope scope(options_.netns);
      if (::access("/proc/thread-self/net/pktgen/pgctrl", W_OK) != 0) {
        throw PrerequisiteError(
            fmt::format("pktgen: no /proc/net/pktgen/pgctrl in namespace '{}' (module not loaded?)",
                        options_.netns));
      }
      if (::access(fmt::format("/proc/thread-self/net/pktgen/kpktgend_{}", cpu).c_str(), W_OK) !=
          0) {
        throw PrerequisiteError(fmt::format("pktgen: no thread kpktgend_{} (CPU offline?)", cpu));
      }
      std::string version = ReadFile("/proc/thread-self/net/pktgen/pgctrl", 4096);
      size_t at = version.find("Version: ");
      report_.tool_version = fmt::format(
          "pktgen {} (Linux {})",
          at == std::string::npos ? "?" : version.substr(at + 9, version.find('\n', at) - at - 9),
          KernelRelease());
    }
    std::vector<PktgenWrite> setup = PktgenSetup(options_);
    std::string record;
    for (const PktgenWrite& w : setup) record += fmt::format("{} > {}\n", w.command, w.file);
    WriteFile(report_.config_path, record);
    configured_ = true;  // from here on the destructor removes the device again
    Apply(setup, true);

    report_.argv = {"sh", "-c", "echo start > /proc/net/pktgen/pgctrl"};
    ProcessSpec spec(report_.argv);
    spec.netns = options_.netns;  // /proc/net follows the child's namespace
    spec.cgroup_procs = options_.cgroup_procs;
    spec.stdout_path = stdout_path_;
    spec.stderr_path = stderr_path_;
    spec.interruptible = true;
    log::Debug("flood: pktgen on kpktgend_{} via {}", cpu, report_.config_path.string());
    report_.started_wall = WallClock::now();
    report_.started_steady = SteadyClock::now();
    starter_ = Process::Start(spec);
  }

  ~PktgenBackend() override {
    if (!configured_) return;
    try {
      if (starter_.running()) Write("pgctrl", "stop");
      Apply(PktgenTeardown(options_), false);
    } catch (const std::exception& e) {
      log::Warn("pktgen cleanup in '{}': {}", options_.netns, e.what());
    }
  }

  FloodTool tool() const override { return FloodTool::kPktgen; }
  bool Running() const override { return starter_.running(); }

  std::optional<FloodGeneratorReport> Wait(std::chrono::milliseconds timeout) override {
    if (done_) return report_;
    std::optional<ProcessResult> result = starter_.Wait(timeout);
    if (!result) return std::nullopt;
    return Finish(*result, false);
  }

  FloodGeneratorReport Stop() override {
    if (done_) return report_;
    if (!Interrupted()) {  // after Ctrl-C an interruptible Wait would throw instead
      if (auto exited = starter_.Wait(std::chrono::milliseconds(0))) return Finish(*exited, false);
    }
    Write("pgctrl", "stop");
    // The writer returns once the threads have stopped. Terminate's SIGTERM would stop them
    // too (pktgen ends a run when its writer has a signal pending); its wait ignores Ctrl-C.
    ProcessResult result = starter_.Terminate(kStopGrace);
    return Finish(result, true);
  }

 private:
  void Write(const std::string& file, const std::string& command) {
    NetnsScope scope(options_.netns);
    std::string path = "/proc/thread-self/net/pktgen/" + file;
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) ThrowSystemError("pktgen: open " + path, errno);
    std::string line = command + "\n";
    ssize_t n = ::write(fd, line.data(), line.size());
    int err = errno;
    ::close(fd);
    if (n < 0) ThrowSystemError(fmt::format("pktgen: '{}' > {}", command, file), err);
  }

  std::string Read(const std::string& file) {
    NetnsScope scope(options_.netns);
    return ReadFile("/proc/thread-self/net/pktgen/" + file, 1 << 16);
  }

  // Each command's outcome is in the "Result:" line of the file it was written to.
  void Apply(const std::vector<PktgenWrite>& writes, bool check) {
    for (const PktgenWrite& w : writes) {
      Write(w.file, w.command);
      if (!check) continue;
      std::string text = Read(w.file);
      size_t at = text.find("Result: ");
      std::string result = at == std::string::npos ? "" : text.substr(at + 8);
      result = result.substr(0, result.find('\n'));
      if (result.rfind("OK", 0) != 0) {
        throw RunError(fmt::format("pktgen: '{}' > {} gave '{}'", w.command, w.file, result));
      }
    }
  }

  FloodGeneratorReport Finish(const ProcessResult& result, bool stopped) {
    report_.ended_wall = WallClock::now();
    report_.ended_steady = SteadyClock::now();
    report_.duration_s =
        std::chrono::duration<double>(report_.ended_steady - report_.started_steady).count();
    done_ = true;
    std::string device = Read(options_.interface);
    WriteFile(report_.log_path, device);
    PktgenResult r;
    try {
      r = ParsePktgenDevice(device);
    } catch (const InputError& e) {
      throw RunError(fmt::format("pktgen ({}): {}; stderr: {}", result.Status(), e.what(),
                                 Tail(stderr_path_)));
    }
    if (!stopped && !result.Succeeded()) {
      throw RunError(
          fmt::format("pktgen start failed ({}): {}", result.Status(), Tail(stderr_path_)));
    }
    report_.sent_packets = r.sent_packets;
    report_.sent_bytes = r.sent_packets * uint64_t(r.frame_bytes);
    report_.errors = r.errors;
    report_.tool_duration_s = double(r.elapsed_us) / 1e6;
    report_.stopped_early = stopped;
    Apply(PktgenTeardown(options_), false);
    configured_ = false;
    return report_;
  }

  FloodGeneratorOptions options_;
  FloodGeneratorReport report_;
  fs::path stdout_path_, stderr_path_;
  Process starter_;
  bool configured_ = false;
  bool done_ = false;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// FloodGenerator

FloodGenerator::FloodGenerator() = default;
FloodGenerator::FloodGenerator(std::unique_ptr<Backend> backend) : backend_(std::move(backend)) {}
FloodGenerator::FloodGenerator(FloodGenerator&&) noexcept = default;
FloodGenerator& FloodGenerator::operator=(FloodGenerator&&) noexcept = default;

FloodGenerator::~FloodGenerator() {
  if (!backend_ || !backend_->Running()) return;
  try {
    backend_->Stop();
  } catch (const std::exception& e) {
    log::Warn("stopping the flood generator: {}", e.what());
  }
}

FloodGenerator FloodGenerator::Start(const FloodGeneratorOptions& options) {
  ValidateFloodOptions(options);
  FloodTool tool = options.generator == FloodTool::kAuto ? DetectGenerator() : options.generator;
  if (tool == FloodTool::kTrafgen && !InPath("trafgen")) {
    throw PrerequisiteError("trafgen is not installed (apt-get install netsniff-ng)");
  }
  if (tool == FloodTool::kTrafgen) {
    return FloodGenerator(std::make_unique<TrafgenBackend>(options));
  }
  return FloodGenerator(std::make_unique<PktgenBackend>(options));
}

FloodTool FloodGenerator::tool() const {
  if (!backend_) throw std::logic_error("FloodGenerator: empty handle");
  return backend_->tool();
}

bool FloodGenerator::Running() const { return backend_ && backend_->Running(); }

std::optional<FloodGeneratorReport> FloodGenerator::Wait(std::chrono::milliseconds timeout) {
  if (!backend_) throw std::logic_error("FloodGenerator::Wait on an empty handle");
  return backend_->Wait(timeout);
}

FloodGeneratorReport FloodGenerator::Wait() {
  while (true) {
    if (auto report = Wait(std::chrono::seconds(60))) return *report;
  }
}

FloodGeneratorReport FloodGenerator::Stop() {
  if (!backend_) throw std::logic_error("FloodGenerator::Stop on an empty handle");
  return backend_->Stop();
}

}  // namespace nfb::workloads
