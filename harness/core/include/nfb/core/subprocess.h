// Running external programs (ip, ping, tcpdump, iperf3 ...) inside a domain's network namespace
// and cgroups.
//
// The child is forked, then, before exec: it gets its own process group (so a Ctrl-C on the
// terminal reaches only the harness, which stops children itself), default signal dispositions
// and an empty signal mask, the cgroups of its domain, and the network namespace. setns happens
// in the child rather than through `ip netns exec`, which would also remount /sys and hide a
// bpffs mounted there. Only stdin (/dev/null), stdout and stderr are inherited; every other
// descriptor is closed on exec. Failures before or at exec come back to the parent through a
// close-on-exec pipe and are thrown as RunError in Start(), e.g.
// "cannot run 'x': No such file or directory".
//
// Note: the child sees the host's /sys (only /proc/sys/net and netlink follow the namespace).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nfb {

struct ProcessSpec {
  ProcessSpec() = default;
  explicit ProcessSpec(std::vector<std::string> command) : argv(std::move(command)) {}

  std::vector<std::string> argv;  // argv[0] is looked up in PATH unless it contains a '/'
  // Named network namespace (/run/netns/<name>) to enter before exec; empty = the current one.
  std::string netns;
  // cgroup.procs files the child moves itself into before exec (one per cgroup hierarchy).
  std::vector<std::filesystem::path> cgroup_procs;
  // Where stdout/stderr go (created or truncated); empty = captured into ProcessResult. The same
  // path for both yields one interleaved file.
  std::filesystem::path stdout_path, stderr_path;
  // Added to (or replacing entries of) the harness's own environment.
  std::map<std::string, std::string> env;
  // Captured output beyond this many bytes per stream is read and discarded (the child never
  // blocks on a full pipe); ProcessResult says when that happened.
  std::size_t capture_limit = 8u << 20;
  // When true, Wait()/RunProcess() stop the child (SIGTERM, then SIGKILL) and throw
  // InterruptedError as soon as an interrupt is requested (see cancel.h). Off by default because
  // teardown commands must run to completion after Ctrl-C.
  bool interruptible = false;
};

struct ProcessResult {
  int exit_code = -1;      // exit status; -1 when killed by a signal
  int signal = 0;          // the terminating signal, 0 when the process exited
  bool timed_out = false;  // RunProcess stopped it because the timeout passed
  std::string out, err;    // captured stdout/stderr (empty when redirected to files)
  bool out_truncated = false, err_truncated = false;  // capture_limit was reached

  // Exited with status 0 within the timeout.
  bool Succeeded() const { return !timed_out && signal == 0 && exit_code == 0; }
  // "exit status 2", "killed by signal 9 (Killed)", "timed out, killed by signal 15 (...)".
  std::string Status() const;
};

// A started child process. Not copyable; movable. The destructor SIGKILLs the process group of a
// child that is still running and reaps it, so no child outlives its owner unnoticed.
//
// Captured output is only read while Wait() runs: a child that writes more than a pipe buffer
// (64 KiB) blocks until the owner waits, so long-running chatty processes should write to files.
class Process {
 public:
  Process();  // holds no child
  Process(Process&&) noexcept;
  Process& operator=(Process&&) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  // Starts the child. Throws RunError if the namespace, a cgroup or an output file cannot be
  // opened, or the child cannot join them or exec (the message names the command and errno).
  static Process Start(const ProcessSpec& spec);

  // Waits up to `timeout` for the child to exit, reading captured output meanwhile. Returns the
  // result, or nullopt if it is still running. After the child has exited it returns the same
  // result again. Throws InterruptedError for interruptible specs (after stopping the child).
  std::optional<ProcessResult> Wait(std::chrono::milliseconds timeout);
  // Waits without a time limit.
  ProcessResult Wait();

  // Sends `sig` to the child's process group. Returns false if the child was already reaped.
  bool Signal(int sig);

  // SIGTERM to the process group, then SIGKILL if it has not exited after `grace`. Returns the
  // result (the child's own, if it had already exited).
  ProcessResult Terminate(std::chrono::milliseconds grace = std::chrono::seconds(2));

  pid_t pid() const;     // -1 for an empty Process
  bool running() const;  // started and not yet reaped
  const std::string& command_line() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Starts the command and waits for it. On timeout the child is terminated (SIGTERM, then SIGKILL
// after 2 s) and the result has timed_out set. Throws as Process::Start/Wait do; a non-zero exit
// is not an error here (see RunChecked).
ProcessResult RunProcess(const ProcessSpec& spec, std::chrono::milliseconds timeout);

// As RunProcess, but anything other than exit status 0 throws RunError
// "'<command line>' failed (<status>): <first lines of stderr>".
ProcessResult RunChecked(const ProcessSpec& spec, std::chrono::milliseconds timeout);

// The argv as one shell-quoted line for logs, e.g. `ip -n 'a b' link` (safe to paste).
std::string CommandLine(const std::vector<std::string>& argv);

}  // namespace nfb
