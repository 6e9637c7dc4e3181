#include "nfb/workloads/iperf3.h"

#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "nfb/core/cancel.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/core/netns.h"
#include "nfb/core/subprocess.h"
#include "held_remote.h"
#include "tool_output.h"

namespace nfb::workloads {

namespace fs = std::filesystem;

namespace {

using internal::ReadFile;
using internal::Tail;

void CheckPort(int port, const std::string& what) {
  if (port < 1 || port > 65535) {
    throw InputError(fmt::format("{}: {} is not a port (1-65535)", what, port));
  }
}

void CheckCpu(const std::optional<int>& cpu) {
  if (cpu && *cpu < 0) throw InputError(fmt::format("cpu: {} is negative", *cpu));
}

// Whether a TCP socket listens on `port` in the named network namespace. /proc/thread-self/net/
// tcp lists the sockets of this thread's namespace, so no process is started for the check.
bool Listening(const std::string& netns, int port) {
  NetnsScope scope(netns);
  for (const char* file : {"tcp", "tcp6"}) {
    std::ifstream in(fmt::format("/proc/thread-self/net/{}", file));
    std::stringstream text;
    text << in.rdbuf();
    if (TcpListening(text.str(), port)) return true;
  }
  return false;
}

// The same in a host reached over SSH: one `cat` there.
bool RemoteListening(const platform::Platform& platform, const std::string& host, int port) {
  ProcessResult r = RunProcess(platform.Command(host, {"cat", "/proc/net/tcp", "/proc/net/tcp6"}),
                               std::chrono::seconds(30));
  if (r.timed_out) {
    throw RunError(fmt::format("reading /proc/net/tcp in {} timed out: {}", host, r.err));
  }
  // tcp6 may be missing (no IPv6): cat then fails but has printed tcp.
  if (r.out.empty() && !r.Succeeded()) {
    throw RunError(fmt::format("reading /proc/net/tcp in {} failed ({}): {}", host, r.Status(),
                               r.err));
  }
  return TcpListening(r.out, port);
}

}  // namespace

bool TcpListening(std::string_view proc_net_tcp, int port) {
  // "sl local_address rem_address st ...", addresses as HEX_IP:HEX_PORT, state 0A = LISTEN.
  std::istringstream in{std::string(proc_net_tcp)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    if (!(fields >> slot >> local >> remote >> state)) continue;
    size_t colon = local.rfind(':');
    if (colon == std::string::npos || state != "0A") continue;
    unsigned long local_port = std::strtoul(local.c_str() + colon + 1, nullptr, 16);
    if (static_cast<int>(local_port) == port) return true;
  }
  return false;
}

namespace {
}  // namespace

std::vector<std::string> Iperf3ServerCommand(const Iperf3ServerOptions& options) {
  CheckPort(options.port, "port");
  CheckCpu(options.cpu);
  // -1: one test, then exit, so the JSON is complete when the process ends.
  std::vector<std::string> argv = {"iperf3", "-s", "-1", "-J", "-p", std::to_string(options.port)};
  if (!options.bind_address.empty()) {
    argv.insert(argv.end(), {"-B", options.bind_address});
  }
  if (options.cpu) argv.insert(argv.end(), {"-A", std::to_string(*options.cpu)});
  return argv;
}

std::vector<std::string> Iperf3ClientCommand(const Iperf3ClientOptions& options) {
  if (options.server_address.empty()) throw InputError("server_address: empty");
  CheckPort(options.port, "port");
  CheckCpu(options.cpu);
  if (!std::isfinite(options.rate_mbit) || options.rate_mbit < 0 || options.rate_mbit > 1e6) {
    throw InputError(
        fmt::format("rate_mbit: {} is outside 0..1000000 (0 = unlimited)", options.rate_mbit));
  }
  // 16 bytes of iperf3's own header; 65507 is the largest IPv4 UDP payload.
  if (options.datagram_bytes < 16 || options.datagram_bytes > 65507) {
    throw InputError(
        fmt::format("datagram_bytes: {} is outside 16..65507", options.datagram_bytes));
  }
  if (options.duration_s < 1 || options.duration_s > 86400) {
    throw InputError(fmt::format("duration_s: {} is outside 1..86400", options.duration_s));
  }
  if (!std::isfinite(options.interval_s) || options.interval_s < 0.1 || options.interval_s > 60) {
    throw InputError(fmt::format("interval_s: {} is outside 0.1..60", options.interval_s));
  }
  if (options.client_port) CheckPort(*options.client_port, "client_port");
  if (options.connect_timeout.count() < 1) throw InputError("connect_timeout: must be positive");

  // -b in plain bit/s: iperf3's suffixes are decimal for rates but binary for -l, so spelling the
  // number out avoids any doubt about what was asked for.
  const auto bits_per_second = static_cast<uint64_t>(std::llround(options.rate_mbit * 1e6));
  // Option and value on one line.
  // clang-format off
  std::vector<std::string> argv = {
      "iperf3",
      "-c", options.server_address,
      "-p", std::to_string(options.port),
      "-u",
      "-b", std::to_string(bits_per_second),
      "-l", std::to_string(options.datagram_bytes),
      "-t", std::to_string(options.duration_s),
      "-i", fmt::format("{:g}", options.interval_s),
      "-J",
      "--connect-timeout", std::to_string(options.connect_timeout.count()),
  };
  // clang-format on
  if (options.get_server_output) argv.push_back("--get-server-output");
  if (options.client_port) {
    argv.insert(argv.end(), {"--cport", std::to_string(*options.client_port)});
  }
  if (options.cpu) argv.insert(argv.end(), {"-A", std::to_string(*options.cpu)});
  return argv;
}

struct Iperf3Process::State {
  std::vector<std::string> argv;
  fs::path json_path, stderr_path;
  Process process;
  // A remote iperf3 (Iperf3ServerOptions::platform): its stdin, whose end stops it.
  HeldStdin remote_stdin;
  std::chrono::system_clock::time_point started_wall;
  std::chrono::steady_clock::time_point started_steady;
  std::optional<Iperf3Outcome> outcome;  // once finished

  Iperf3Outcome Finish(const ProcessResult& result, bool stopped) {
    Iperf3Outcome out;
    out.argv = argv;
    out.json_path = json_path;
    out.stderr_path = stderr_path;
    out.exit_status = result.Status();
    out.stopped = stopped;
    out.started_wall = started_wall;
    out.started_steady = started_steady;
    out.ended_wall = std::chrono::system_clock::now();
    out.ended_steady = std::chrono::steady_clock::now();
    try {
      out.report = ParseIperf3Json(ReadFile(json_path, (64u << 20) + 1));
    } catch (const InputError& e) {
      throw RunError(fmt::format("'{}' ({}) left no usable JSON in {}: {}; stderr: {}",
                                 CommandLine(argv), out.exit_status, json_path.string(), e.what(),
                                 Tail(stderr_path)));
    }
    outcome = out;
    return out;
  }
};

Iperf3Process::Iperf3Process() = default;
Iperf3Process::Iperf3Process(Iperf3Process&&) noexcept = default;
Iperf3Process& Iperf3Process::operator=(Iperf3Process&&) noexcept = default;
Iperf3Process::~Iperf3Process() = default;  // Process's destructor kills a running iperf3

const std::vector<std::string>& Iperf3Process::argv() const { return state_->argv; }
const fs::path& Iperf3Process::json_path() const { return state_->json_path; }
bool Iperf3Process::Running() const { return state_ && state_->process.running(); }

std::optional<Iperf3Outcome> Iperf3Process::Wait(std::chrono::milliseconds timeout) {
  if (!state_) throw std::logic_error("Iperf3Process::Wait on an empty handle");
  if (state_->outcome) return state_->outcome;
  std::optional<ProcessResult> result = state_->process.Wait(timeout);
  if (!result) return std::nullopt;
  return state_->Finish(*result, false);
}

Iperf3Outcome Iperf3Process::Stop(std::chrono::milliseconds grace) {
  if (!state_) throw std::logic_error("Iperf3Process::Stop on an empty handle");
  if (state_->outcome) return *state_->outcome;
  // iperf3 treats SIGTERM like SIGINT (it writes the JSON gathered so far, with `error`
  // "interrupt - ..."). Terminate() waits without honouring Ctrl-C, so a stop made during
  // teardown still yields the partial report.
  if (!Interrupted()) {  // after Ctrl-C an interruptible Wait would throw instead
    if (auto exited = state_->process.Wait(std::chrono::milliseconds(0))) {
      return state_->Finish(*exited, false);
    }
  }
  if (state_->remote_stdin.open()) {
    // The remote shell sends iperf3 SIGTERM when its stdin ends; ssh then exits with its status.
    state_->remote_stdin.Close();
    const auto deadline = std::chrono::steady_clock::now() + grace + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto exited = state_->process.Wait(std::chrono::milliseconds(100))) {
        return state_->Finish(*exited, true);
      }
    }
  }
  ProcessResult result = state_->process.Terminate(grace);
  return state_->Finish(result, true);
}

namespace {

std::unique_ptr<Iperf3Process::State> Launch(std::vector<std::string> argv,
                                             const std::string& netns,
                                             const std::vector<fs::path>& cgroup_procs,
                                             const fs::path& output_dir, const std::string& name) {
  if (output_dir.empty()) throw InputError("output_dir: empty");
  if (name.empty() || name.find('/') != std::string::npos) {
    throw InputError(fmt::format("name: '{}' is not a file name", name));
  }
  fs::create_directories(output_dir);
  auto state = std::make_unique<Iperf3Process::State>();
  state->argv = std::move(argv);
  state->json_path = output_dir / (name + ".json");
  state->stderr_path = output_dir / (name + ".stderr.log");
  ProcessSpec spec(state->argv);
  spec.netns = netns;
  spec.cgroup_procs = cgroup_procs;
  spec.stdout_path = state->json_path;
  spec.stderr_path = state->stderr_path;
  spec.interruptible = true;  // Ctrl-C stops iperf3 and unwinds to the runner's teardown
  log::Debug("{}: {}", name, CommandLine(state->argv));
  state->started_wall = std::chrono::system_clock::now();
  state->started_steady = std::chrono::steady_clock::now();
  state->process = Process::Start(spec);
  return state;
}

// iperf3's server in a host reached over SSH (Iperf3ServerOptions::platform), once it listens.
std::unique_ptr<Iperf3Process::State> StartRemoteServer(const Iperf3ServerOptions& options,
                                                        std::vector<std::string> argv) {
  const platform::Platform& platform = *options.platform;
  const std::string& host = options.host;
  if (options.output_dir.empty()) throw InputError("output_dir: empty");
  if (options.name.empty() || options.name.find('/') != std::string::npos) {
    throw InputError(fmt::format("name: '{}' is not a file name", options.name));
  }
  if (RemoteListening(platform, host, options.port)) {
    throw RunError(fmt::format("port {} already listens in {}", options.port, host));
  }
  fs::create_directories(options.output_dir);
  auto state = std::make_unique<Iperf3Process::State>();
  state->argv = std::move(argv);
  state->json_path = options.output_dir / (options.name + ".json");
  state->stderr_path = options.output_dir / (options.name + ".stderr.log");
  state->remote_stdin = HeldStdin(internal::HeldStdinPath(platform, host, options.name));
  log::Debug("{} in {}: {}", options.name, host, CommandLine(state->argv));
  state->started_wall = std::chrono::system_clock::now();
  state->started_steady = std::chrono::steady_clock::now();
  state->process = internal::StartHeldRemote(platform, host, state->argv, state->remote_stdin,
                                             state->json_path, state->stderr_path, true);
  // Each check is a process in the guest (up to a second under QEMU/TCG): a generous limit.
  const auto deadline = std::chrono::steady_clock::now() +
                        std::max<std::chrono::milliseconds>(options.ready_timeout,
                                                            std::chrono::seconds(60));
  while (!RemoteListening(platform, host, options.port)) {
    if (auto result = state->process.Wait(std::chrono::milliseconds(200))) {
      std::string detail = Tail(state->stderr_path);
      try {
        Iperf3Report report = ParseIperf3Json(ReadFile(state->json_path, 1 << 20));
        if (!report.error.empty()) detail = report.error;
      } catch (const InputError&) {
      }
      throw RunError(fmt::format("iperf3 server in {} exited before listening ({}): {}", host,
                                 result->Status(), detail));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      state->remote_stdin.Close();  // stops it in the guest
      if (!state->process.Wait(std::chrono::seconds(10))) {
        state->process.Terminate(std::chrono::milliseconds(500));
      }
      throw RunError(fmt::format("iperf3 server in {} did not listen on port {} within {} s",
                                 host, options.port,
                                 std::chrono::duration_cast<std::chrono::seconds>(
                                     std::max<std::chrono::milliseconds>(
                                         options.ready_timeout, std::chrono::seconds(60)))
                                     .count()));
    }
  }
  return state;
}

}  // namespace

Iperf3Process StartIperf3Server(const Iperf3ServerOptions& options) {
  std::vector<std::string> argv = Iperf3ServerCommand(options);
  if (options.platform != nullptr) {
    Iperf3Process server;
    server.state_ = StartRemoteServer(options, std::move(argv));
    return server;
  }
  // Someone else listening there would make the readiness check below lie.
  if (Listening(options.netns, options.port)) {
    throw RunError(
        fmt::format("port {} already listens in namespace '{}'", options.port, options.netns));
  }
  Iperf3Process server;
  server.state_ = Launch(std::move(argv), options.netns, options.cgroup_procs, options.output_dir,
                         options.name);
  Process& process = server.state_->process;
  auto deadline = std::chrono::steady_clock::now() + options.ready_timeout;
  while (!Listening(options.netns, options.port)) {
    if (auto result = process.Wait(std::chrono::milliseconds(10))) {
      std::string detail = Tail(server.state_->stderr_path);
      try {
        Iperf3Report report = ParseIperf3Json(ReadFile(server.json_path(), 1 << 20));
        if (!report.error.empty()) detail = report.error;
      } catch (const InputError&) {
      }
      throw RunError(fmt::format("iperf3 server in '{}' exited before listening ({}): {}",
                                 options.netns, result->Status(), detail));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      process.Terminate(std::chrono::milliseconds(500));
      throw RunError(fmt::format("iperf3 server in '{}' did not listen on port {} within {} ms",
                                 options.netns, options.port, options.ready_timeout.count()));
    }
  }
  return server;
}

Iperf3Process StartIperf3Client(const Iperf3ClientOptions& options) {
  std::vector<std::string> argv = Iperf3ClientCommand(options);
  Iperf3Process client;
  client.state_ = Launch(std::move(argv), options.netns, options.cgroup_procs, options.output_dir,
                         options.name);
  return client;
}

Iperf3Outcome RunIperf3Client(const Iperf3ClientOptions& options, std::chrono::seconds grace) {
  Iperf3Process client = StartIperf3Client(options);
  const auto start = std::chrono::steady_clock::now();
  const auto limit = std::chrono::seconds(options.duration_s) + grace;
  while (true) {
    if (auto outcome = client.Wait(std::chrono::seconds(15))) return *outcome;
    auto elapsed = std::chrono::steady_clock::now() - start;
    if (elapsed > limit) {
      log::Warn(
          "iperf3 client still running {} s after its {} s test; stopping it",
          std::chrono::duration_cast<std::chrono::seconds>(elapsed).count() - options.duration_s,
          options.duration_s);
      return client.Stop();
    }
    log::Info("  ... iperf3 {:.0f} s of {} s", std::chrono::duration<double>(elapsed).count(),
              options.duration_s);
  }
}

}  // namespace nfb::workloads
