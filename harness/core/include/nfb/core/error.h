// Error types of the harness. Each kind of failure maps to one process exit code so that scripts
// and CI can tell bad input from a host that lacks something from a run that went wrong.
#pragma once

#include <stdexcept>
#include <string>

namespace nfb {

enum class ExitCode : int {
  kOk = 0,
  kRegression = 1,           // `compare` found a real regression
  kBadInput = 2,             // usage, scenario file, override or result directory is wrong
  kMissingPrerequisite = 3,  // not root, no BPF, a tool missing: the host cannot run this
  kRunFailed = 4,            // provisioning, a workload or the analysis failed during a run
  kInterrupted = 130,        // SIGINT/SIGTERM; teardown still ran
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& what) : std::runtime_error(what), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

// Scenario, CLI or other user-supplied input is invalid. Thrown before the system is touched.
class InputError : public Error {
 public:
  explicit InputError(const std::string& what) : Error(ExitCode::kBadInput, what) {}
};

// The host lacks something the run needs (privileges, kernel feature, external tool).
class PrerequisiteError : public Error {
 public:
  explicit PrerequisiteError(const std::string& what)
      : Error(ExitCode::kMissingPrerequisite, what) {}
};

// Something failed while provisioning, measuring or analysing.
class RunError : public Error {
 public:
  explicit RunError(const std::string& what) : Error(ExitCode::kRunFailed, what) {}
};

// A run was interrupted by a signal; thrown from cancellation points after teardown is armed.
class InterruptedError : public Error {
 public:
  InterruptedError() : Error(ExitCode::kInterrupted, "interrupted") {}
};

// "<what>: <strerror(err)>" as a RunError, for failed system calls (err is a positive errno).
[[noreturn]] void ThrowSystemError(const std::string& what, int err);

}  // namespace nfb
