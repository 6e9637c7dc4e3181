// The few XenStore operations bpfd's domain discovery needs, behind an interface so the
// discovery logic runs in tests against an in-memory store (no Xen on a build host).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nfb::bpfd {

struct XenStoreWatchEvent {
  std::string path;   // the node that changed (or "@introduceDomain", "@releaseDomain")
  std::string token;  // as given to Watch()
};

class XenStore {
 public:
  virtual ~XenStore() = default;
  // The children of `path`, or nullopt if it does not exist or cannot be read.
  virtual std::optional<std::vector<std::string>> Directory(const std::string& path) = 0;
  // The value at `path` (any bytes), or nullopt if it does not exist or cannot be read.
  virtual std::optional<std::string> Read(const std::string& path) = 0;
  // Watches `path` and everything below it (or a special path such as "@introduceDomain"). As
  // XenStore does, a new watch fires once at once. Throws RunError.
  virtual void Watch(const std::string& path, const std::string& token) = 0;
  // Readable while watch events are pending; -1 for a store without one.
  virtual int fd() const = 0;
  // The pending watch events, without blocking (none: empty).
  virtual std::vector<XenStoreWatchEvent> TakeEvents() = 0;
};

// Whether this build has libxenstore (libxen-dev).
bool XenStoreAvailable();

// A connection to the XenStore daemon (xs_open: /run/xenstored/socket in dom0). Throws
// PrerequisiteError when bpfd was built without libxenstore or XenStore does not answer (not on
// Xen, xenstored not running).
std::unique_ptr<XenStore> OpenXenStore();

}  // namespace nfb::bpfd
