#include "nfb/core/held_stdin.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <utility>

#include "nfb/core/error.h"

namespace nfb {

namespace fs = std::filesystem;

ProcessSpec WithStdinFrom(ProcessSpec spec, const fs::path& path) {
  std::vector<std::string> argv = {"sh", "-c", "exec \"$@\" <\"$0\"", path.string()};
  argv.insert(argv.end(), spec.argv.begin(), spec.argv.end());
  spec.argv = std::move(argv);
  return spec;
}

// - `exec 3<&0` keeps the original stdin (ssh's channel) as fd 3; the command runs in the
//   background without it (a background command's stdin is /dev/null in a non-interactive sh).
// - The watcher gets fd 3 back as its stdin by an explicit redirection (which overrides that
//   /dev/null rule), and its stdout/stderr go to /dev/null, so when the command ends by itself
//   nothing but the channel's stdin is held: the SSH server then sees the session's output end,
//   reports the exit status and closes the channel, which ends the watcher's stdin too.
// - `wait` returns the command's exit status (128 + signal number when a signal ended it).
const char* const kStopOnStdinEofScript =
    "exec 3<&0\n"
    "\"$@\" 3<&- &\n"
    "p=$!\n"
    "{ cat >/dev/null; kill -TERM \"$p\"; } <&3 >/dev/null 2>&1 &\n"
    "exec 3<&-\n"
    "wait \"$p\"\n";

std::vector<std::string> StopOnStdinEof(const std::vector<std::string>& argv,
                                        const std::string& name) {
  if (argv.empty()) throw std::logic_error("StopOnStdinEof: empty argv");
  std::vector<std::string> out = {"sh", "-c", kStopOnStdinEofScript, name};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

HeldStdin::HeldStdin(fs::path fifo) : fifo_(std::move(fifo)) {
  std::error_code ec;
  fs::remove(fifo_, ec);
  if (::mkfifo(fifo_.c_str(), 0600) != 0) ThrowSystemError("mkfifo " + fifo_.string(), errno);
  // Read-write: the open does not block, and the reader sees EOF only once this end is closed.
  fd_ = ::open(fifo_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) {
    const int err = errno;
    fs::remove(fifo_, ec);
    ThrowSystemError("open " + fifo_.string(), err);
  }
}

HeldStdin::HeldStdin(HeldStdin&& other) noexcept
    : fifo_(std::move(other.fifo_)), fd_(std::exchange(other.fd_, -1)) {
  other.fifo_.clear();
}

HeldStdin& HeldStdin::operator=(HeldStdin&& other) noexcept {
  if (this != &other) {
    Close();
    fifo_ = std::move(other.fifo_);
    other.fifo_.clear();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

HeldStdin::~HeldStdin() { Close(); }

void HeldStdin::Write(std::string_view text) {
  if (fd_ < 0) throw RunError("write to " + fifo_.string() + ": it is closed");
  while (!text.empty()) {
    ssize_t n = ::write(fd_, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ThrowSystemError("write to " + fifo_.string(), errno);
    text.remove_prefix(static_cast<size_t>(n));
  }
}

void HeldStdin::Close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!fifo_.empty()) {
    std::error_code ec;
    fs::remove(fifo_, ec);
    fifo_.clear();
  }
}

}  // namespace nfb
