// Reading and writing a network namespace's sysfs and /proc/sys/net from the harness process.
//
// /proc/sys/net follows the network namespace of the thread that opens a file, so entering the
// namespace around the open is enough. sysfs is different: which devices /sys/class/net shows is
// fixed when sysfs is mounted, which is why `ip netns exec` remounts /sys (and hides a bpffs
// mounted under it). Instead, a detached sysfs instance is created from inside the namespace
// (fsopen/fsmount, Linux 5.2+); it is attached nowhere, so nothing changes for anyone else, and it
// disappears when the descriptor is closed.
#pragma once

#include <string>

namespace nfb::platform::internal {

class NetnsSysfs {
 public:
  // Throws RunError if the namespace does not exist or sysfs cannot be mounted.
  explicit NetnsSysfs(const std::string& netns);
  NetnsSysfs(const NetnsSysfs&) = delete;
  NetnsSysfs& operator=(const NetnsSysfs&) = delete;
  ~NetnsSysfs();

  // `relative` is below the sysfs root, e.g. "class/net/eth0/queues/rx-0/rps_cpus".
  // Throw RunError on failure.
  void Write(const std::string& relative, const std::string& value) const;
  std::string Read(const std::string& relative) const;

 private:
  std::string netns_;
  int mount_fd_ = -1;
};

// Writes /proc/sys/net/<key> (e.g. "ipv6/conf/default/disable_ipv6") inside the namespace.
// Throws RunError.
void WriteNetSysctl(const std::string& netns, const std::string& key, const std::string& value);

}  // namespace nfb::platform::internal
