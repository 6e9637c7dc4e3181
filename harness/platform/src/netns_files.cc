#include "netns_files.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/core/netns.h"

namespace nfb::platform::internal {
namespace {

void WriteFd(int fd, const std::string& value, const std::string& what) {
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size())) ThrowSystemError(what, n < 0 ? err : EIO);
}

}  // namespace

NetnsSysfs::NetnsSysfs(const std::string& netns) : netns_(netns) {
  // The sysfs instance takes its network namespace tag from the thread that creates the
  // filesystem context, so only fsopen needs to happen inside.
  int fs_fd;
  {
    NetnsScope inside(netns);
    fs_fd = static_cast<int>(::syscall(SYS_fsopen, "sysfs", FSOPEN_CLOEXEC));
  }
  if (fs_fd < 0) ThrowSystemError("fsopen(sysfs) in network namespace " + netns, errno);
  if (::syscall(SYS_fsconfig, fs_fd, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    int err = errno;
    ::close(fs_fd);
    ThrowSystemError("create sysfs for network namespace " + netns, err);
  }
  mount_fd_ = static_cast<int>(
      ::syscall(SYS_fsmount, fs_fd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSUID));
  int err = errno;
  ::close(fs_fd);
  if (mount_fd_ < 0) ThrowSystemError("mount sysfs for network namespace " + netns, err);
}

NetnsSysfs::~NetnsSysfs() {
  if (mount_fd_ >= 0) ::close(mount_fd_);
}

void NetnsSysfs::Write(const std::string& relative, const std::string& value) const {
  std::string what = "write '" + value + "' to /sys/" + relative + " in " + netns_;
  int fd = ::openat(mount_fd_, relative.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) ThrowSystemError(what, errno);
  WriteFd(fd, value, what);
  log::Debug("{}: /sys/{} = {}", netns_, relative, value);
}

std::string NetnsSysfs::Read(const std::string& relative) const {
  int fd = ::openat(mount_fd_, relative.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) ThrowSystemError("read /sys/" + relative + " in " + netns_, errno);
  std::string out;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) out.append(buffer, size_t(n));
  int err = errno;
  ::close(fd);
  if (n < 0) ThrowSystemError("read /sys/" + relative + " in " + netns_, err);
  return out;
}

void WriteNetSysctl(const std::string& netns, const std::string& key, const std::string& value) {
  const std::string path = "/proc/sys/net/" + key;
  const std::string what = "write '" + value + "' to " + path + " in " + netns;
  int fd;
  {
    NetnsScope inside(netns);
    fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  }
  if (fd < 0) ThrowSystemError(what, errno);
  WriteFd(fd, value, what);
  log::Debug("{}: {} = {}", netns, path, value);
}

}  // namespace nfb::platform::internal
