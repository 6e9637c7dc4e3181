// A long-running command in a host reached over SSH (a Xen guest), stopped by the end of its
// stdin. Killing the local `ssh` (all a local Process can do) does not stop a remote command that
// does not read its stdin or write: iperf3's server and nfb-udp-sink would stay in the guest. So
// the command runs under a small remote shell that starts it in the background and sends it
// SIGTERM when the shell's stdin ends, and the harness holds that stdin open through a FIFO
// (ssh forwards it) until it wants the command stopped. When ssh itself dies (harness killed,
// connection lost), the remote stdin ends as well, so nothing outlives the run.
// The command's stdout, stderr and exit status stay the remote command's own.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "nfb/core/subprocess.h"
#include "nfb/platform/platform.h"

namespace nfb::workloads::internal {

// The remote shell program (POSIX sh; argv follows as "$@"): the command with its stdin from
// /dev/null, a watcher that reads the original stdin to its end and then sends the command
// SIGTERM, and the command's exit status as the shell's.
extern const char* const kStopOnStdinEofScript;

// {"sh", "-c", kStopOnStdinEofScript, "sh", argv...}: argv run so that the end of stdin stops it.
std::vector<std::string> StopOnStdinEof(const std::vector<std::string>& argv);

// `spec` with its stdin read from `path` (a local `sh` redirects and execs; namespace and
// cgroups of `spec` still apply). The same as nf::WithStdinFrom.
ProcessSpec WithStdinFromFile(ProcessSpec spec, const std::filesystem::path& path);

// A FIFO held open for writing (so its reader sees EOF only once Close() is called).
class HeldStdin {
 public:
  HeldStdin() = default;
  explicit HeldStdin(std::filesystem::path fifo);  // creates the FIFO (replacing a stale one)
  HeldStdin(HeldStdin&& other) noexcept;
  HeldStdin& operator=(HeldStdin&& other) noexcept;
  HeldStdin(const HeldStdin&) = delete;
  HeldStdin& operator=(const HeldStdin&) = delete;
  ~HeldStdin();  // Close()

  const std::filesystem::path& path() const { return fifo_; }
  bool open() const { return fd_ >= 0; }
  // Closes the writing end (the reader then sees EOF) and removes the FIFO. Idempotent.
  void Close();

 private:
  std::filesystem::path fifo_;
  int fd_ = -1;
};

// Starts argv in `host` (not local) through platform.Command under kStopOnStdinEofScript, with
// stdin from `stdin` (which must be open) and stdout/stderr to the given files.
Process StartHeldRemote(const platform::Platform& platform, const std::string& host,
                        const std::vector<std::string>& argv, const HeldStdin& stdin,
                        const std::filesystem::path& stdout_path,
                        const std::filesystem::path& stderr_path, bool interruptible);

// A FIFO path in the platform's run state directory for `host`'s `what` (e.g. "iperf3-server"):
// FIFOs cannot live in every results directory (the lab's is a 9p share).
std::filesystem::path HeldStdinPath(const platform::Platform& platform, const std::string& host,
                                    const std::string& what);

}  // namespace nfb::workloads::internal
