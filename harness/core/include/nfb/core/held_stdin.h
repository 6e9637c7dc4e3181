// A process's stdin that the harness holds open and ends on purpose. ProcessSpec has no stdin of
// its own, so the process reads a FIFO (WithStdinFrom) whose writing end HeldStdin keeps open:
// the reader sees the end of its input only when Close() is called. Used for line-by-line helpers
// (nf's LineSession), and with StopOnStdinEof for long-running commands on hosts reached over
// SSH (a guest's iperf3 server, a remote tcpdump): ssh forwards the FIFO to the remote stdin, so
// closing it, or ssh dying, stops the remote command instead of leaving it behind.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "nfb/core/subprocess.h"

namespace nfb {

// `spec` with its stdin read from `path`: a local `sh` redirects and execs the command, so no
// quoting of it is involved. Namespace and cgroups of `spec` still apply.
ProcessSpec WithStdinFrom(ProcessSpec spec, const std::filesystem::path& path);

// The remote shell program (POSIX sh; argv follows as "$@"): the command with its stdin from
// /dev/null, a watcher that reads the original stdin to its end and then sends the command
// SIGTERM, and the command's exit status as the shell's.
extern const char* const kStopOnStdinEofScript;

// {"sh", "-c", kStopOnStdinEofScript, name, argv...}: argv run so that the end of stdin stops it
// with SIGTERM. `name` is $0 (what ps shows). Throws std::logic_error for an empty argv.
std::vector<std::string> StopOnStdinEof(const std::vector<std::string>& argv,
                                        const std::string& name = "sh");

// A FIFO held open for writing.
class HeldStdin {
 public:
  HeldStdin() = default;
  // Creates the FIFO (replacing a stale one) and opens it read-write, so neither side blocks on
  // open. It must be on a filesystem with FIFOs (not 9p): callers use the run's state directory.
  // Throws RunError.
  explicit HeldStdin(std::filesystem::path fifo);
  HeldStdin(HeldStdin&& other) noexcept;
  HeldStdin& operator=(HeldStdin&& other) noexcept;
  HeldStdin(const HeldStdin&) = delete;
  HeldStdin& operator=(const HeldStdin&) = delete;
  ~HeldStdin();  // Close()

  const std::filesystem::path& path() const { return fifo_; }
  bool open() const { return fd_ >= 0; }
  // Writes all of `text`; throws RunError when closed or the write fails.
  void Write(std::string_view text);
  // Closes the writing end (the reader then sees EOF) and removes the FIFO. Idempotent.
  void Close();

 private:
  std::filesystem::path fifo_;
  int fd_ = -1;
};

}  // namespace nfb
