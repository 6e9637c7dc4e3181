// Cooperative cancellation on SIGINT/SIGTERM.
//
// The signal handler only records the request (a flag plus a byte in a self-pipe, both
// async-signal-safe); the code then notices it at cancellation points (ThrowIfInterrupted,
// SleepFor, interruptible process waits) and unwinds, so teardown always runs in normal code
// rather than in a handler. Interruption is sticky: once requested it stays requested, because
// teardown after Ctrl-C must not be mistaken for a fresh start.
//
// Child processes run in their own process groups (see subprocess.h), so a Ctrl-C on the terminal
// reaches only the harness, which then stops its children itself, in order.
#pragma once

#include <chrono>

namespace nfb {

// Installs the SIGINT/SIGTERM handlers for its lifetime and restores the previous dispositions
// afterwards. Scopes nest; only the outermost one installs. Throws RunError if sigaction fails.
class InterruptScope {
 public:
  InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;
  ~InterruptScope();
};

// Marks teardown in progress. Further SIGINT/SIGTERM are then only acknowledged with a message
// on stderr ("teardown in progress ..."), so a second Ctrl-C cannot cut cleanup short; SIGKILL
// still can, and a later run removes what is left (see CleanupStale in the platform).
class TeardownScope {
 public:
  TeardownScope();
  TeardownScope(const TeardownScope&) = delete;
  TeardownScope& operator=(const TeardownScope&) = delete;
  ~TeardownScope();
};

// True once SIGINT or SIGTERM arrived (with an InterruptScope installed) or RequestInterrupt ran.
bool Interrupted();

// The signal that interrupted (SIGINT, SIGTERM), 0 for RequestInterrupt or none.
int InterruptSignal();

// Throws InterruptedError if Interrupted().
void ThrowIfInterrupted();

// Requests an interrupt from code, e.g. a worker thread that failed and wants the run to stop.
void RequestInterrupt();

// Forgets an interrupt request so the process can continue (an interactive tool after the
// operation it interrupted was abandoned, or a test).
void ClearInterrupt();

// A file descriptor that becomes (and stays) readable once an interrupt was requested, to add to
// poll() sets so waits wake up immediately. Never read from it. Throws RunError if the pipe
// cannot be created (first call only).
int InterruptFd();

// Sleeps for `duration` unless interrupted. Returns true after the full duration, false as soon
// as an interrupt is (or already was) requested.
bool SleepFor(std::chrono::nanoseconds duration);

}  // namespace nfb
