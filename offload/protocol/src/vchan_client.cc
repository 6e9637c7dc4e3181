// The guest's end of the Xen transport: a libxenvchan client of the server bpfd publishes in
// XenStore (bpfd --xenstore, offload/bpfd/src/vchan_transport.cc).
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <type_traits>

extern "C" {
#include <libxenvchan.h>
#include <xenstore.h>
#include <xentoollog.h>
}

#include "nfb/offload/channel.h"
#include "vchan_connect.h"

namespace nfb::offload::proto {
namespace {

Status Errno(int err, const std::string& what) {
  return Status::Error(err, what + ": " + std::strerror(err));
}

// libxenvchan's libraries log through a xentoollog logger; by default to stderr, which is not a
// library's to write. This one keeps the last warning or error for the caller's message.
struct CapturingLogger {
  xentoollog_logger base{};
  char last[256] = {};  // plain data: the struct stays standard-layout for the cast below

  CapturingLogger() {
    base.vmessage = &VMessage;
    base.progress = nullptr;
    base.destroy = &Destroy;
  }
  static void VMessage(xentoollog_logger* logger, xentoollog_level level, int errnoval,
                       const char* context, const char* format, va_list al) {
    if (level < XTL_WARN) return;
    auto* self = reinterpret_cast<CapturingLogger*>(logger);
    char text[192];
    std::vsnprintf(text, sizeof(text), format, al);
    if (errnoval > 0) {
      std::snprintf(self->last, sizeof(self->last), "%s: %s: %s",
                    context != nullptr ? context : "xen", text, std::strerror(errnoval));
    } else {
      std::snprintf(self->last, sizeof(self->last), "%s: %s", context != nullptr ? context : "xen",
                    text);
    }
  }
  static void Destroy(xentoollog_logger* /*logger*/) {
  }  // owned by the stream, not by the Xen libraries
};
static_assert(std::is_standard_layout_v<CapturingLogger> && offsetof(CapturingLogger, base) == 0);

int PollTimeoutMs(ClientStream::Deadline deadline) {
  if (deadline == ClientStream::Deadline::max()) return -1;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now())
                        .count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, INT_MAX));
}

class VchanClientStream : public ClientStream {
 public:
  VchanClientStream() = default;
  VchanClientStream(const VchanClientStream&) = delete;
  VchanClientStream& operator=(const VchanClientStream&) = delete;
  // Closing tells bpfd (cli_live = 0 and an event): it ends the session and unloads what it
  // loaded, as for a closed socket.
  ~VchanClientStream() override {
    if (ctrl_ != nullptr) libxenvchan_close(ctrl_);
  }

  Status Connect(const std::string& path) {
    // dom0 serves; the guest is the client. libxenvchan reads <path>/ring-ref and
    // <path>/event-channel, maps the ring pages dom0 granted to this domain and binds the event
    // channel dom0 allocated for it: only this domain can complete the connection.
    errno = 0;
    ctrl_ = libxenvchan_client_init(&logger_.base, 0, path.c_str());
    if (ctrl_ == nullptr) {
      const int err = errno != 0 ? errno : EIO;
      return Status::Error(err, std::string("libxenvchan could not connect: ") +
                                    (logger_.last[0] == '\0' ? std::strerror(err) : logger_.last));
    }
    ctrl_->blocking = 0;  // client_init leaves it unset
    return Status::Ok();
  }

  int fd() const override { return libxenvchan_fd_for_select(ctrl_); }

  Status WriteAll(std::span<const uint8_t> data, Deadline deadline) override {
    size_t done = 0;
    while (done < data.size()) {
      const int n = libxenvchan_write(ctrl_, data.data() + done, data.size() - done);
      if (n < 0) return Status::Error(ECONNRESET, "bpfd closed the vchan");
      if (n > 0) {
        done += static_cast<size_t>(n);
        continue;
      }
      Status s = Wait(deadline, "bpfd did not read its vchan within the timeout");
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }

  Status ReadSome(std::span<uint8_t> buffer, size_t* n, Deadline deadline) override {
    for (;;) {
      // Data left in the ring is returned even after bpfd closed (its last error reply).
      const int got = libxenvchan_read(ctrl_, buffer.data(), buffer.size());
      if (got < 0) return Status::Error(ECONNRESET, "bpfd closed the vchan");
      if (got > 0) {
        *n = static_cast<size_t>(got);
        return Status::Ok();
      }
      Status s = Wait(deadline, "no reply within the timeout");
      if (!s.ok()) return s;
    }
  }

 private:
  // Waits for the next event (data, space, or the peer closing) and consumes it. libxenvchan
  // asks for a notification before it reports "nothing to read" or "no room", so an event that
  // comes after that check is not missed.
  Status Wait(Deadline deadline, const char* timeout_message) {
    for (;;) {
      const int timeout = PollTimeoutMs(deadline);
      if (timeout == 0) return Status::Error(ETIMEDOUT, timeout_message);
      pollfd pfd{fd(), POLLIN, 0};
      const int ready = ::poll(&pfd, 1, timeout);
      if (ready < 0) {
        if (errno == EINTR) continue;
        return Errno(errno, "poll on the vchan's event channel");
      }
      if (ready == 0) continue;
      if (libxenvchan_wait(ctrl_) < 0) return Errno(errno, "vchan event channel");
      return Status::Ok();
    }
  }

  CapturingLogger logger_;  // outlives ctrl_: the Xen handles keep a pointer to it
  libxenvchan* ctrl_ = nullptr;
};

struct XsCloser {
  void operator()(xs_handle* h) const { xs_close(h); }
};

}  // namespace

bool VchanClientAvailable() { return true; }

namespace internal {

bool XenStoreReachable() {
  std::unique_ptr<xs_handle, XsCloser> xs(xs_open(0));
  return xs != nullptr;
}

Status ConnectVchan(const std::string& path, std::unique_ptr<ClientStream>* out) {
  // Checked first for a clear answer: libxenvchan says only "failed" when nothing is published.
  {
    std::unique_ptr<xs_handle, XsCloser> xs(xs_open(0));
    if (!xs) {
      return Status::Error(ENODEV, std::string("XenStore is not reachable (") +
                                       std::strerror(errno) +
                                       "): not a Xen domain, or no /dev/xen/xenbus");
    }
    unsigned int len = 0;
    void* ref = xs_read(xs.get(), XBT_NULL, (path + "/ring-ref").c_str(), &len);
    if (ref == nullptr) {
      return Status::Error(ECONNREFUSED,
                           "nothing published at " + path + "/ring-ref in XenStore (" +
                               std::strerror(errno) +
                               "): is bpfd running with --xenstore in dom0 and serving this "
                               "domain?");
    }
    std::free(ref);
  }
  auto stream = std::make_unique<VchanClientStream>();
  Status s = stream->Connect(path);
  if (!s.ok()) return s;
  *out = std::move(stream);
  return Status::Ok();
}

}  // namespace internal
}  // namespace nfb::offload::proto
