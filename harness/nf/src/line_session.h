// A helper process the harness talks to line by line while it holds something installed: the
// guest's xenbpf-load --hold (XenBPF) and nfb-nf-attach (a program at a host's own interface when
// the harness cannot attach it in-process, e.g. in a Xen guest reached over SSH).
//
// Its stdin is a FIFO the harness keeps open for writing, so it can be sent commands and sees
// the end of its input only when the harness closes that end: its cue to remove what it
// installed and exit. Its stdout goes to a file that is read one complete line (one JSON object)
// at a time. Both work unchanged when the process is `ssh` (Platform::Command for a remote
// host): ssh forwards the FIFO to the remote stdin and the remote stdout into the file.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "nfb/core/held_stdin.h"
#include "nfb/core/subprocess.h"

namespace nfb::nf {

class LineSession {
 public:
  // Creates the FIFO `fifo` (replacing a stale one) and starts `spec` reading it, with stdout to
  // `out` and stderr to `err`. `what` names the process in errors ("xenbpf-load in domu1").
  // Throws RunError.
  LineSession(ProcessSpec spec, std::filesystem::path fifo, std::filesystem::path out,
              std::filesystem::path err, std::string what);
  LineSession(const LineSession&) = delete;
  LineSession& operator=(const LineSession&) = delete;
  ~LineSession();  // Close()

  // The next complete stdout line, parsed. Throws RunError when the line is not JSON, the
  // process ended, or nothing came within `timeout` (the messages quote its stderr).
  nlohmann::json NextLine(std::chrono::milliseconds timeout);
  // Writes `line` and returns the answer; an answer with an "error" key throws RunError.
  nlohmann::json Ask(const std::string& line, std::chrono::milliseconds timeout);
  // Closes stdin and waits up to `grace` for the process to finish on its own (after removing
  // what it installed); terminates it after that. Idempotent, never throws. The result, or
  // nullopt if there was no process.
  std::optional<ProcessResult> Close(std::chrono::milliseconds grace = std::chrono::seconds(15));
  // The end of its stderr, for messages.
  std::string ErrTail() const;
  const std::filesystem::path& out_path() const { return out_; }

 private:
  std::filesystem::path out_, err_;
  std::string what_;
  HeldStdin commands_;
  Process process_;
  size_t lines_read_ = 0;
  std::optional<ProcessResult> result_;
};

}  // namespace nfb::nf
