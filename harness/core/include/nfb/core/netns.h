// Entering network namespaces from the current thread.
//
// setns(2) with CLONE_NEWNET only affects the calling thread, and sockets (netlink, packet,
// BPF links) stay bound to the namespace they were created in. So the harness enters a namespace
// just long enough to create a socket or attach a program, then returns to where it was.
#pragma once

#include <string>

namespace nfb {

// Path of a named namespace created by `ip netns add` (/run/netns/<name>).
std::string NamedNetnsPath(const std::string& name);

// An open handle on a network namespace; keeps it reachable even after its name is removed.
class NetnsHandle {
 public:
  // The namespace of the calling thread.
  static NetnsHandle Current();
  // A named namespace; throws RunError if it does not exist.
  static NetnsHandle Named(const std::string& name);

  NetnsHandle(NetnsHandle&& other) noexcept;
  NetnsHandle& operator=(NetnsHandle&& other) noexcept;
  NetnsHandle(const NetnsHandle&) = delete;
  NetnsHandle& operator=(const NetnsHandle&) = delete;
  ~NetnsHandle();

  int fd() const { return fd_; }

 private:
  explicit NetnsHandle(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Moves the calling thread into a namespace for the lifetime of the object and back afterwards.
// An empty name means "stay where you are", so callers need no special case for the host.
class NetnsScope {
 public:
  explicit NetnsScope(const std::string& name);
  explicit NetnsScope(const NetnsHandle& target);
  NetnsScope(const NetnsScope&) = delete;
  NetnsScope& operator=(const NetnsScope&) = delete;
  ~NetnsScope();

 private:
  void Enter(int target_fd);
  int saved_fd_ = -1;
};

}  // namespace nfb
