#include "nfb/bpfd/transport.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "nfb/core/error.h"
#include "nfb/core/netns.h"

namespace nfb::bpfd {
namespace {

void SetNonBlocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    ThrowSystemError("make a socket non-blocking", errno);
  }
}

// sockaddr for an abstract name: sun_path[0] = NUL, then the name, not terminated.
socklen_t AbstractAddress(const std::string& name, sockaddr_un* addr) {
  *addr = sockaddr_un{};
  addr->sun_family = AF_UNIX;
  if (name.empty() || name.size() + 1 > sizeof(addr->sun_path)) {
    throw InputError(fmt::format("abstract socket name '{}' must have 1..{} bytes", name,
                                 sizeof(addr->sun_path) - 1));
  }
  std::memcpy(addr->sun_path + 1, name.data(), name.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
}

class AbstractListener : public Listener {
 public:
  AbstractListener(int fd, std::string description)
      : fd_(fd), description_(std::move(description)) {}
  ~AbstractListener() override { ::close(fd_); }
  int fd() const override { return fd_; }
  std::unique_ptr<Channel> Accept() override {
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      // The client may have given up between the wake-up and accept(); try again next time.
      if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED || errno == EPROTO) {
        return nullptr;
      }
      // Out of fds or memory: keep the listener, say so, and wait for the next wake-up.
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        return nullptr;
      }
      ThrowSystemError("accept on " + description_, errno);
    }
    return std::make_unique<SocketChannel>(fd, description_);
  }
  std::string Describe() const override { return description_; }

 private:
  int fd_;
  std::string description_;
};

}  // namespace

SocketChannel::SocketChannel(int fd, std::string description)
    : fd_(fd), description_(std::move(description)) {
  SetNonBlocking(fd_);
}

SocketChannel::~SocketChannel() { ::close(fd_); }

namespace {

// What a failed recv/send means for the session: retry, wait for readiness, peer gone, or error.
// Shared by Read and Write so both directions treat a vanished peer the same way.
IoResult FailedIo(int err) {
  IoResult r;
  if (err == EAGAIN || err == EWOULDBLOCK) {
    r.would_block = true;
  } else if (err == ECONNRESET || err == EPIPE) {
    r.closed = true;
  } else {
    r.error = err;
  }
  return r;
}

}  // namespace

IoResult SocketChannel::Read(std::span<uint8_t> buffer) {
  for (;;) {
    const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailedIo(errno);
    IoResult r;
    if (n > 0) {
      r.bytes = static_cast<size_t>(n);
    } else {
      r.closed = buffer.size() > 0;  // 0 from a non-empty read: orderly shutdown
    }
    return r;
  }
}

IoResult SocketChannel::Write(std::span<const uint8_t> data) {
  for (;;) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailedIo(errno);
    IoResult r;
    r.bytes = static_cast<size_t>(n);
    return r;
  }
}

std::unique_ptr<Listener> ListenAbstract(const std::string& netns, const std::string& name) {
  sockaddr_un addr;
  const socklen_t len = AbstractAddress(name, &addr);
  int fd = -1;
  {
    // The namespace a socket belongs to is fixed when it is created; bind and listen may happen
    // anywhere afterwards, but doing them here keeps errors next to their cause.
    NetnsScope scope(netns);
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) ThrowSystemError("create a Unix socket", errno);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
      const int err = errno;
      ::close(fd);
      ThrowSystemError(fmt::format("bind @{} in netns {}{}", name, netns.empty() ? "(own)" : netns,
                                   err == EADDRINUSE ? " (is another bpfd serving it?)" : ""),
                       err);
    }
    if (::listen(fd, 8) != 0) {
      const int err = errno;
      ::close(fd);
      ThrowSystemError("listen on @" + name, err);
    }
  }
  return std::make_unique<AbstractListener>(
      fd, fmt::format("unix @{}{}", name, netns.empty() ? "" : " in netns " + netns));
}

std::pair<std::unique_ptr<Channel>, int> ChannelPair(const std::string& description) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    ThrowSystemError("socketpair", errno);
  }
  return {std::make_unique<SocketChannel>(fds[0], description), fds[1]};
}

int ListenPath(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    throw InputError(fmt::format("control socket path '{}' must have 1..{} bytes", path,
                                 sizeof(addr.sun_path) - 1));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) ThrowSystemError("create a Unix socket", errno);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      ::close(fd);
      throw RunError(fmt::format("{} exists and is not a socket", path));
    }
    // Someone listening there means another bpfd; a refused connection means a stale file.
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool live =
        probe >= 0 && ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
    if (probe >= 0) ::close(probe);
    if (live) {
      ::close(fd);
      throw RunError(fmt::format("{} is in use: is another bpfd running?", path));
    }
    ::unlink(path.c_str());
  }
  // Only root (dom0's harness) may register domains: create the socket with no access for others.
  const mode_t old_mask = ::umask(0077);
  const int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  const int err = errno;
  ::umask(old_mask);
  if (rc != 0) {
    ::close(fd);
    ThrowSystemError("bind the control socket " + path, err);
  }
  if (::listen(fd, 8) != 0) {
    const int listen_err = errno;
    ::close(fd);
    ThrowSystemError("listen on " + path, listen_err);
  }
  return fd;
}

}  // namespace nfb::bpfd
