#include "nfb/core/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

#include "nfb/core/error.h"
#include "nfb/core/log.h"

namespace nfb {
namespace {

int OpenNamespace(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) ThrowSystemError("open network namespace " + path, errno);
  return fd;
}

}  // namespace

std::string NamedNetnsPath(const std::string& name) { return "/run/netns/" + name; }

NetnsHandle NetnsHandle::Current() { return NetnsHandle(OpenNamespace("/proc/thread-self/ns/net")); }

NetnsHandle NetnsHandle::Named(const std::string& name) {
  return NetnsHandle(OpenNamespace(NamedNetnsPath(name)));
}

NetnsHandle::NetnsHandle(NetnsHandle&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

NetnsHandle& NetnsHandle::operator=(NetnsHandle&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

NetnsHandle::~NetnsHandle() {
  if (fd_ >= 0) ::close(fd_);
}

NetnsScope::NetnsScope(const std::string& name) {
  if (name.empty()) return;
  NetnsHandle target = NetnsHandle::Named(name);
  Enter(target.fd());
}

NetnsScope::NetnsScope(const NetnsHandle& target) { Enter(target.fd()); }

void NetnsScope::Enter(int target_fd) {
  saved_fd_ = OpenNamespace("/proc/thread-self/ns/net");
  if (::setns(target_fd, CLONE_NEWNET) != 0) {
    int err = errno;
    ::close(saved_fd_);
    saved_fd_ = -1;
    ThrowSystemError("setns into network namespace", err);
  }
}

NetnsScope::~NetnsScope() {
  if (saved_fd_ < 0) return;
  // Failing to return would leave this thread in a namespace that may soon be deleted; there is
  // no way to recover from that, so say so loudly rather than carry on in the wrong place.
  if (::setns(saved_fd_, CLONE_NEWNET) != 0) {
    log::Error("cannot return to the original network namespace (errno {}); aborting", errno);
    std::abort();
  }
  ::close(saved_fd_);
}

}  // namespace nfb
