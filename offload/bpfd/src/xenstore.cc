// XenStore over libxenstore (built when libxen-dev is present).
#include "nfb/bpfd/xenstore.h"

extern "C" {
#include <xenstore.h>
}

#include <fmt/core.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "nfb/core/error.h"

namespace nfb::bpfd {
namespace {

class LibXenStore : public XenStore {
 public:
  explicit LibXenStore(xs_handle* h) : h_(h) {
    // Creates the pipe that signals pending watch events (libxenstore's reader thread fills it).
    fd_ = xs_fileno(h_);
    if (fd_ < 0) {
      const int err = errno;
      xs_close(h_);
      ThrowSystemError("xs_fileno", err);
    }
  }
  LibXenStore(const LibXenStore&) = delete;
  LibXenStore& operator=(const LibXenStore&) = delete;
  ~LibXenStore() override { xs_close(h_); }

  std::optional<std::vector<std::string>> Directory(const std::string& path) override {
    unsigned int n = 0;
    char** entries = xs_directory(h_, XBT_NULL, path.c_str(), &n);
    if (entries == nullptr) return std::nullopt;
    std::vector<std::string> out(entries, entries + n);
    std::free(entries);  // one allocation holds the array and the strings
    return out;
  }

  std::optional<std::string> Read(const std::string& path) override {
    unsigned int len = 0;
    void* value = xs_read(h_, XBT_NULL, path.c_str(), &len);
    if (value == nullptr) return std::nullopt;
    std::string out(static_cast<const char*>(value), len);
    std::free(value);
    return out;
  }

  void Watch(const std::string& path, const std::string& token) override {
    if (!xs_watch(h_, path.c_str(), token.c_str())) {
      ThrowSystemError(fmt::format("xs_watch {}", path), errno);
    }
  }

  int fd() const override { return fd_; }

  std::vector<XenStoreWatchEvent> TakeEvents() override {
    std::vector<XenStoreWatchEvent> events;
    // Bounded: a burst is handled by one re-read anyway, and the pipe stays readable for more.
    for (int i = 0; i < 4096; ++i) {
      errno = 0;
      char** w = xs_check_watch(h_);
      if (w == nullptr) {
        if (errno == EAGAIN || errno == 0) break;
        ThrowSystemError("reading XenStore watch events (lost xenstored?)", errno);
      }
      events.push_back({w[XS_WATCH_PATH], w[XS_WATCH_TOKEN]});
      std::free(w);
    }
    return events;
  }

 private:
  xs_handle* h_;
  int fd_ = -1;
};

}  // namespace

bool XenStoreAvailable() { return true; }

std::unique_ptr<XenStore> OpenXenStore() {
  xs_handle* h = xs_open(0);
  if (h == nullptr) {
    throw PrerequisiteError(
        fmt::format("cannot open XenStore ({}): --xenstore needs Xen's dom0 "
                    "with xenstored running",
                    std::strerror(errno)));
  }
  return std::make_unique<LibXenStore>(h);
}

}  // namespace nfb::bpfd
