#include "nfb/core/cancel.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "nfb/core/error.h"

namespace nfb {
namespace {

// Everything the handler touches is a lock-free atomic: the handler may run on any thread, at
// any point, including while another thread holds a lock.
std::atomic<bool> g_interrupted{false};
std::atomic<int> g_signal{0};
std::atomic<int> g_teardown_depth{0};
std::atomic<int> g_pipe_read{-1};
std::atomic<int> g_pipe_write{-1};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free);

std::once_flag g_pipe_once;
int g_pipe_errno = 0;

std::mutex g_scope_mutex;  // guards the two fields below (normal code only, never the handler)
int g_scope_depth = 0;
struct sigaction g_saved_int, g_saved_term;

void WriteStderr(const char* message) {
  // Best effort: nothing useful can be done in a handler if stderr is gone.
  ssize_t ignored = ::write(STDERR_FILENO, message, std::strlen(message));
  (void)ignored;
}

void EnsurePipe() {
  std::call_once(g_pipe_once, [] {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
      g_pipe_errno = errno;
      return;
    }
    g_pipe_read = fds[0];
    g_pipe_write = fds[1];
  });
  if (g_pipe_read < 0) ThrowSystemError("create interrupt pipe", g_pipe_errno);
}

// Sets the flag and wakes every poller. Returns true if this was the first request.
bool MarkInterrupted(int sig) {
  if (g_interrupted.exchange(true)) return false;
  g_signal = sig;
  int fd = g_pipe_write.load();
  if (fd >= 0) {
    // The pipe is never drained by pollers, so a single byte keeps it readable; if it is full
    // (impossible with one byte per request, but harmless) the write simply fails.
    ssize_t ignored = ::write(fd, "x", 1);
    (void)ignored;
  }
  return true;
}

void OnSignal(int sig) {
  int saved_errno = errno;
  bool first = MarkInterrupted(sig);
  if (g_teardown_depth.load() > 0) {
    WriteStderr(
        "warning: teardown in progress, please wait (it must finish to leave the host clean; "
        "SIGKILL skips it, and a later run removes the leftovers)\n");
  } else if (first) {
    WriteStderr("warning: interrupted; stopping and tearing down\n");
  } else {
    WriteStderr("warning: already stopping; teardown will follow\n");
  }
  errno = saved_errno;
}

}  // namespace

InterruptScope::InterruptScope() {
  EnsurePipe();
  std::lock_guard lock(g_scope_mutex);
  if (g_scope_depth++ > 0) return;
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  // SA_RESTART keeps unrelated blocking calls (reads of files, waitpid) from failing with EINTR;
  // waits that must wake up poll InterruptFd() instead of relying on EINTR.
  action.sa_flags = SA_RESTART;
  if (::sigaction(SIGINT, &action, &g_saved_int) != 0) {
    --g_scope_depth;
    ThrowSystemError("install the SIGINT handler", errno);
  }
  if (::sigaction(SIGTERM, &action, &g_saved_term) != 0) {
    int err = errno;
    ::sigaction(SIGINT, &g_saved_int, nullptr);
    --g_scope_depth;
    ThrowSystemError("install the SIGTERM handler", err);
  }
}

InterruptScope::~InterruptScope() {
  std::lock_guard lock(g_scope_mutex);
  if (--g_scope_depth > 0) return;
  ::sigaction(SIGINT, &g_saved_int, nullptr);
  ::sigaction(SIGTERM, &g_saved_term, nullptr);
}

TeardownScope::TeardownScope() { ++g_teardown_depth; }
TeardownScope::~TeardownScope() { --g_teardown_depth; }

bool Interrupted() { return g_interrupted.load(); }

int InterruptSignal() { return g_interrupted.load() ? g_signal.load() : 0; }

void ThrowIfInterrupted() {
  if (Interrupted()) throw InterruptedError();
}

void RequestInterrupt() {
  EnsurePipe();
  MarkInterrupted(0);
}

void ClearInterrupt() {
  EnsurePipe();
  char buffer[64];
  while (::read(g_pipe_read, buffer, sizeof buffer) > 0) {
  }
  g_signal = 0;
  g_interrupted = false;
}

int InterruptFd() {
  EnsurePipe();
  return g_pipe_read;
}

bool SleepFor(std::chrono::nanoseconds duration) {
  using Clock = std::chrono::steady_clock;
  const int fd = InterruptFd();
  const auto deadline = Clock::now() + duration;
  while (!Interrupted()) {
    auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) return true;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    struct timespec timeout {
      static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)
    };
    struct pollfd pfd {
      fd, POLLIN, 0
    };
    int rc = ::ppoll(&pfd, 1, &timeout, nullptr);
    if (rc < 0 && errno != EINTR) ThrowSystemError("ppoll", errno);
  }
  return false;
}

}  // namespace nfb
