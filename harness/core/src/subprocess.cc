#include "nfb/core/subprocess.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "nfb/core/cancel.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"

extern char** environ;

namespace nfb {
namespace {

using Clock = std::chrono::steady_clock;
using Deadline = std::optional<Clock::time_point>;

// What the child reports through the close-on-exec pipe when it cannot get to exec.
enum class Step : int { kCgroup = 1, kNetns = 2, kExec = 3, kSetup = 4 };
struct ChildFailure {
  Step step;
  int index;  // which cgroup.procs file for kCgroup
  int err;
};

// A file descriptor closed on scope exit unless released.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

Fd OpenOrThrow(const std::string& what, const std::filesystem::path& path, int flags,
               mode_t mode = 0) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) ThrowSystemError(what + " " + path.string(), errno);
  return Fd(fd);
}

std::pair<Fd, Fd> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) ThrowSystemError("pipe2", errno);
  return {Fd(fds[0]), Fd(fds[1])};
}

// The executables to try, in order, like execvp: argv[0] itself if it names a path, otherwise
// argv[0] in each PATH directory (PATH as the child will see it).
std::vector<std::string> ExecCandidates(const ProcessSpec& spec) {
  const std::string& name = spec.argv[0];
  if (name.find('/') != std::string::npos) return {name};
  std::string path;
  if (auto it = spec.env.find("PATH"); it != spec.env.end()) {
    path = it->second;
  } else if (const char* p = std::getenv("PATH")) {
    path = p;
  } else {
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  }
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    out.push_back((dir.empty() ? std::string(".") : dir) + "/" + name);
    start = end + 1;
  }
  return out;
}

std::vector<std::string> ChildEnvironment(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    auto eq = entry.find('=');
    std::string key(entry.substr(0, eq));
    if (!overrides.contains(key)) out.emplace_back(entry);
  }
  for (const auto& [key, value] : overrides) out.push_back(key + "=" + value);
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Everything below until ChildMain's end runs in the forked child of a possibly multi-threaded
// parent: only async-signal-safe calls, no allocation, no locks.
[[noreturn]] void ChildFail(int report_fd, Step step, int index, int err) {
  ChildFailure failure{step, index, err};
  ssize_t ignored = ::write(report_fd, &failure, sizeof failure);
  (void)ignored;
  ::_exit(127);
}

// Moves `fd` to exactly `target`, clearing close-on-exec there.
bool InstallFd(int fd, int target) { return ::dup2(fd, target) == target; }

[[noreturn]] void ChildMain(int report_fd, int stdin_fd, int stdout_fd, int stderr_fd, int netns_fd,
                            const std::vector<int>& cgroup_fds, char* const* candidates,
                            size_t n_candidates, char* const* argv, char* const* envp) {
  ::setpgid(0, 0);
  // Ignored dispositions and the blocked mask survive exec; the child must start clean. Reset
  // dispositions before unblocking so nothing is delivered to the harness's handlers here.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  // "0" means the writing task itself, in cgroup v1 and v2 alike.
  for (size_t i = 0; i < cgroup_fds.size(); ++i) {
    if (::write(cgroup_fds[i], "0", 1) != 1) ChildFail(report_fd, Step::kCgroup, int(i), errno);
  }
  if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0) {
    ChildFail(report_fd, Step::kNetns, 0, errno);
  }

  // First lift the three sources above 2 so installing one cannot clobber another.
  int in = ::fcntl(stdin_fd, F_DUPFD_CLOEXEC, 3);
  int out = ::fcntl(stdout_fd, F_DUPFD_CLOEXEC, 3);
  int err = ::fcntl(stderr_fd, F_DUPFD_CLOEXEC, 3);
  if (in < 0 || out < 0 || err < 0) ChildFail(report_fd, Step::kSetup, 0, errno);
  if (!InstallFd(in, 0) || !InstallFd(out, 1) || !InstallFd(err, 2)) {
    ChildFail(report_fd, Step::kSetup, 0, errno);
  }
  // Nothing but 0-2 may reach the program: descriptors another thread opened without
  // O_CLOEXEC would otherwise leak (and, e.g., keep a run's lock file alive).
  if (::syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */) != 0) {
    for (int fd = 3; fd < 65536; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }

  int exec_err = ENOENT;
  for (size_t i = 0; i < n_candidates; ++i) {
    ::execve(candidates[i], argv, envp);
    if (errno == EACCES) {
      exec_err = EACCES;  // remember, but a later PATH entry may still work (as execvp does)
    } else if (errno != ENOENT && errno != ENOTDIR) {
      exec_err = errno;
      break;
    }
  }
  ChildFail(report_fd, Step::kExec, 0, exec_err);
}

std::string FirstLines(const std::string& text, size_t max_lines, size_t max_chars) {
  std::string out;
  size_t lines = 0;
  for (char c : text) {
    if (c == '\n' && ++lines >= max_lines) break;
    out.push_back(c);
    if (out.size() >= max_chars) break;
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

bool IsShellSafe(const std::string& arg) {
  if (arg.empty()) return false;
  return std::all_of(arg.begin(), arg.end(), [](unsigned char c) {
    return std::isalnum(c) || std::strchr("@%+=:,./-_", c) != nullptr;
  });
}

}  // namespace

std::string ProcessResult::Status() const {
  std::string status;
  if (signal != 0) {
    const char* description = ::sigdescr_np(signal);
    status = fmt::format("killed by signal {} ({})", signal, description ? description : "?");
  } else {
    status = fmt::format("exit status {}", exit_code);
  }
  return timed_out ? "timed out, " + status : status;
}

struct Process::State {
  pid_t pid = -1;
  Fd pidfd;
  Fd out, err;  // read ends of the capture pipes, closed at EOF
  std::string command_line;
  size_t limit = 0;
  bool interruptible = false;
  bool reaped = false;
  ProcessResult result;

  // Reads what is available now from `fd` into `sink` (bounded). Closes the fd at EOF.
  void ReadAvailable(Fd& fd, std::string& sink, bool& truncated, bool until_empty) {
    char buffer[65536];
    while (fd.get() >= 0) {
      ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
      if (n > 0) {
        size_t room = sink.size() < limit ? limit - sink.size() : 0;
        sink.append(buffer, std::min(room, size_t(n)));
        if (size_t(n) > room) truncated = true;
        if (!until_empty) return;
      } else if (n == 0) {
        fd.Reset();
      } else if (errno == EINTR) {
        continue;
      } else {
        // EAGAIN: nothing more for now. Anything else: the pipe is unusable; stop reading it.
        if (errno != EAGAIN) fd.Reset();
        return;
      }
    }
  }

  // Collects the exit status. The pipes may still hold output written just before exit; read it
  // without waiting for EOF, because a grandchild may keep the write ends open indefinitely.
  void Reap() {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) {
        log::Warn("waitpid({}) for '{}': {}", pid, command_line, std::strerror(errno));
        break;
      }
    }
    reaped = true;
    if (WIFSIGNALED(status)) {
      result.signal = WTERMSIG(status);
      result.exit_code = -1;
    } else {
      result.exit_code = WEXITSTATUS(status);
    }
    ReadAvailable(out, result.out, result.out_truncated, true);
    ReadAvailable(err, result.err, result.err_truncated, true);
    out.Reset();
    err.Reset();
    pidfd.Reset();
    log::Debug("'{}' (pid {}): {}", command_line, pid, result.Status());
  }

  bool Exited() {
    if (pidfd.get() >= 0) {
      struct pollfd p {
        pidfd.get(), POLLIN, 0
      };
      return ::poll(&p, 1, 0) > 0;
    }
    siginfo_t info{};
    return ::waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
  }

  // Returns true once reaped, false at the deadline. Throws InterruptedError (after stopping the
  // child) for interruptible processes when check_interrupt is set.
  bool WaitUntil(Deadline deadline, bool check_interrupt) {
    while (!reaped) {
      struct pollfd fds[4];
      int n = 0;
      int pid_slot = -1, out_slot = -1, err_slot = -1, int_slot = -1;
      if (pidfd.get() >= 0) fds[pid_slot = n++] = {pidfd.get(), POLLIN, 0};
      if (out.get() >= 0) fds[out_slot = n++] = {out.get(), POLLIN, 0};
      if (err.get() >= 0) fds[err_slot = n++] = {err.get(), POLLIN, 0};
      if (check_interrupt && interruptible) fds[int_slot = n++] = {InterruptFd(), POLLIN, 0};

      int timeout_ms = -1;
      if (deadline) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
        timeout_ms = int(std::clamp<long long>(left, 0, INT_MAX));
      }
      // Without a pidfd (kernels before 5.3) poll the exit status every 10 ms.
      if (pidfd.get() < 0 && (timeout_ms < 0 || timeout_ms > 10)) timeout_ms = 10;
      int rc = ::poll(fds, n, timeout_ms);
      if (rc < 0 && errno != EINTR) ThrowSystemError("poll", errno);
      if (rc > 0) {
        if (out_slot >= 0 && fds[out_slot].revents) {
          ReadAvailable(out, result.out, result.out_truncated, false);
        }
        if (err_slot >= 0 && fds[err_slot].revents) {
          ReadAvailable(err, result.err, result.err_truncated, false);
        }
        if (int_slot >= 0 && fds[int_slot].revents) {
          log::Debug("interrupted; stopping '{}' (pid {})", command_line, pid);
          Stop(std::chrono::seconds(2));
          throw InterruptedError();
        }
      }
      if ((pid_slot >= 0 && rc > 0 && fds[pid_slot].revents) || (pid_slot < 0 && Exited())) {
        Reap();
        return true;
      }
      if (deadline && Clock::now() >= *deadline) return false;
    }
    return true;
  }

  void Kill(int sig) {
    // The child made itself a group leader; while it is unreaped its pid cannot be reused, so
    // the group id is still ours. Fall back to the pid if the group is gone.
    if (::kill(-pid, sig) != 0) ::kill(pid, sig);
  }

  void Stop(std::chrono::milliseconds grace) {
    if (reaped) return;
    Kill(SIGTERM);
    if (WaitUntil(Clock::now() + grace, false)) return;
    log::Debug("'{}' (pid {}) ignored SIGTERM for {} ms; sending SIGKILL", command_line, pid,
               grace.count());
    Kill(SIGKILL);
    WaitUntil(std::nullopt, false);
  }
};

Process::Process() = default;
Process::Process(Process&&) noexcept = default;
Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    Process discard(std::move(*this));  // kills and reaps a child this object still held
    state_ = std::move(other.state_);
  }
  return *this;
}

Process::~Process() {
  if (!state_ || state_->reaped) return;
  log::Debug("killing '{}' (pid {}): its owner went away", state_->command_line, state_->pid);
  state_->Kill(SIGKILL);
  int status;
  while (::waitpid(state_->pid, &status, 0) < 0 && errno == EINTR) {
  }
}

Process Process::Start(const ProcessSpec& spec) {
  if (spec.argv.empty()) throw RunError("cannot run an empty command");
  auto state = std::make_unique<State>();
  state->command_line = CommandLine(spec.argv);
  state->limit = spec.capture_limit;
  state->interruptible = spec.interruptible;
  const std::string& name = spec.argv[0];

  // Everything the child needs is prepared here: after fork it may not allocate.
  std::vector<std::string> candidate_strings = ExecCandidates(spec);
  std::vector<char*> candidates = CStrings(candidate_strings);
  std::vector<std::string> argv_strings = spec.argv;
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<std::string> env_strings = ChildEnvironment(spec.env);
  std::vector<char*> envp = CStrings(env_strings);

  Fd netns;
  if (!spec.netns.empty()) {
    int fd = ::open(("/run/netns/" + spec.netns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      ThrowSystemError(fmt::format("cannot run '{}' in network namespace '{}'", name, spec.netns),
                       errno);
    }
    netns = Fd(fd);
  }
  std::vector<Fd> cgroup_fds;
  std::vector<int> cgroup_raw;
  for (const auto& path : spec.cgroup_procs) {
    cgroup_fds.push_back(OpenOrThrow("cannot run '" + name + "': open", path, O_WRONLY));
    cgroup_raw.push_back(cgroup_fds.back().get());
  }
  Fd devnull = OpenOrThrow("open", "/dev/null", O_RDONLY);

  Fd out_write, err_write;
  if (spec.stdout_path.empty()) {
    auto [r, w] = MakePipe();
    state->out = std::move(r);
    out_write = std::move(w);
  } else {
    out_write = OpenOrThrow("cannot run '" + name + "': open", spec.stdout_path,
                            O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  int stderr_source;
  if (spec.stderr_path.empty()) {
    auto [r, w] = MakePipe();
    state->err = std::move(r);
    err_write = std::move(w);
    stderr_source = err_write.get();
  } else if (spec.stderr_path == spec.stdout_path) {
    stderr_source = out_write.get();
  } else {
    err_write = OpenOrThrow("cannot run '" + name + "': open", spec.stderr_path,
                            O_WRONLY | O_CREAT | O_TRUNC, 0644);
    stderr_source = err_write.get();
  }
  for (Fd* fd : {&state->out, &state->err}) {
    if (fd->get() >= 0) ::fcntl(fd->get(), F_SETFL, O_NONBLOCK);
  }
  auto [report_read, report_write] = MakePipe();

  log::Debug("run{}: {}", spec.netns.empty() ? "" : " in " + spec.netns, state->command_line);
  pid_t pid = ::fork();
  if (pid < 0) ThrowSystemError("cannot run '" + name + "': fork", errno);
  if (pid == 0) {
    ChildMain(report_write.get(), devnull.get(), out_write.get(), stderr_source, netns.get(),
              cgroup_raw, candidates.data(), candidate_strings.size(), argv.data(), envp.data());
  }
  state->pid = pid;
  // Also from the parent, so the group exists before anyone signals it (whichever runs first).
  ::setpgid(pid, pid);
  report_write.Reset();
  out_write.Reset();
  err_write.Reset();

  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(report_read.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n == sizeof failure) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string detail = std::strerror(failure.err);
    switch (failure.step) {
      case Step::kExec:
        throw RunError(fmt::format("cannot run '{}': {}", name, detail));
      case Step::kNetns:
        throw RunError(
            fmt::format("cannot run '{}' in network namespace '{}': {}", name, spec.netns, detail));
      case Step::kCgroup:
        throw RunError(fmt::format("cannot move '{}' into {}: {}", name,
                                   spec.cgroup_procs.at(size_t(failure.index)).string(), detail));
      case Step::kSetup:
        throw RunError(fmt::format("cannot run '{}': setting up stdio: {}", name, detail));
    }
  }
  // EOF: exec succeeded (the pipe closed on exec).
  int pidfd = int(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    ::fcntl(pidfd, F_SETFD, FD_CLOEXEC);
    state->pidfd = Fd(pidfd);
  }
  Process process;
  process.state_ = std::move(state);
  return process;
}

std::optional<ProcessResult> Process::Wait(std::chrono::milliseconds timeout) {
  if (!state_) throw std::logic_error("Process::Wait on an empty Process");
  // Treat absurdly long timeouts as none, so the deadline arithmetic cannot overflow.
  Deadline deadline;
  if (timeout < std::chrono::hours(24 * 365)) deadline = Clock::now() + timeout;
  if (state_->WaitUntil(deadline, true)) return state_->result;
  return std::nullopt;
}

ProcessResult Process::Wait() {
  if (!state_) throw std::logic_error("Process::Wait on an empty Process");
  state_->WaitUntil(std::nullopt, true);
  return state_->result;
}

bool Process::Signal(int sig) {
  if (!running()) return false;
  state_->Kill(sig);
  return true;
}

ProcessResult Process::Terminate(std::chrono::milliseconds grace) {
  if (!state_) throw std::logic_error("Process::Terminate on an empty Process");
  state_->Stop(grace);
  return state_->result;
}

pid_t Process::pid() const { return state_ ? state_->pid : -1; }
bool Process::running() const { return state_ && !state_->reaped; }
const std::string& Process::command_line() const {
  static const std::string kEmpty;
  return state_ ? state_->command_line : kEmpty;
}

ProcessResult RunProcess(const ProcessSpec& spec, std::chrono::milliseconds timeout) {
  Process process = Process::Start(spec);
  if (auto result = process.Wait(timeout)) return *result;
  log::Debug("'{}' timed out after {} ms", process.command_line(), timeout.count());
  ProcessResult result = process.Terminate();
  result.timed_out = true;
  return result;
}

ProcessResult RunChecked(const ProcessSpec& spec, std::chrono::milliseconds timeout) {
  ProcessResult result = RunProcess(spec, timeout);
  if (!result.Succeeded()) {
    std::string message = fmt::format("'{}' failed ({})", CommandLine(spec.argv), result.Status());
    std::string err = FirstLines(result.err, 5, 600);
    if (!err.empty()) message += ": " + err;
    throw RunError(message);
  }
  return result;
}

std::string CommandLine(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& arg : argv) {
    if (!line.empty()) line += ' ';
    if (IsShellSafe(arg)) {
      line += arg;
      continue;
    }
    line += '\'';
    for (char c : arg) {
      if (c == '\'') {
        line += "'\\''";
      } else {
        line += c;
      }
    }
    line += '\'';
  }
  return line;
}

}  // namespace nfb
