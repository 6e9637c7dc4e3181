// The Xen transport over libxenvchan (built when libxen-dev is present).
#include "nfb/bpfd/vchan_transport.h"

extern "C" {
#include <libxenvchan.h>
}

#include <fmt/core.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/offload/channel.h"

namespace nfb::bpfd {
namespace {

// Ring sizes: a whole LOAD_ELF frame fits in one direction, so a client can write its request
// without waiting for bpfd to drain the ring.
constexpr size_t kRingBytes = 128 * 1024;

struct VchanDeleter {
  void operator()(libxenvchan* ctrl) const { libxenvchan_close(ctrl); }
};
using VchanPtr = std::unique_ptr<libxenvchan, VchanDeleter>;

class VchanChannel : public Channel {
 public:
  VchanChannel(VchanPtr ctrl, std::string description)
      : ctrl_(std::move(ctrl)), description_(std::move(description)) {
    ctrl_->blocking = 0;
  }
  int fd() const override { return libxenvchan_fd_for_select(ctrl_.get()); }
  bool WritableByEpollout() const override { return false; }
  void Acknowledge() override {
    // Consumes the pending notification and re-enables it; only called when fd() is readable,
    // so it does not block.
    libxenvchan_wait(ctrl_.get());
  }
  bool HasPendingInput() override { return libxenvchan_data_ready(ctrl_.get()) > 0; }
  IoResult Read(std::span<uint8_t> buffer) override {
    IoResult r;
    if (libxenvchan_is_open(ctrl_.get()) == 0 && libxenvchan_data_ready(ctrl_.get()) == 0) {
      r.closed = true;
      return r;
    }
    const int n = libxenvchan_read(ctrl_.get(), buffer.data(), buffer.size());
    if (n < 0) {
      r.closed = true;
    } else if (n == 0) {
      r.would_block = true;
    } else {
      r.bytes = static_cast<size_t>(n);
    }
    return r;
  }
  IoResult Write(std::span<const uint8_t> data) override {
    IoResult r;
    const int n = libxenvchan_write(ctrl_.get(), data.data(), data.size());
    if (n < 0) {
      r.closed = true;
    } else if (n == 0 && !data.empty()) {
      r.would_block = true;
    } else {
      r.bytes = static_cast<size_t>(n);
    }
    return r;
  }
  std::string Describe() const override { return description_; }

 private:
  VchanPtr ctrl_;
  std::string description_;
};

class VchanListener : public Listener {
 public:
  VchanListener(int domid, std::string xs_path) : domid_(domid), xs_path_(std::move(xs_path)) {
    Arm();
  }
  // -1 once re-arming failed (the domain went away): the daemon then stops watching it.
  int fd() const override { return waiting_ ? libxenvchan_fd_for_select(waiting_.get()) : -1; }
  std::unique_ptr<Channel> Accept() override {
    if (!waiting_) return nullptr;
    libxenvchan_wait(waiting_.get());
    // A server's peer state: 2 = no client yet, 1 = connected, 0 = the client left again.
    const int state = libxenvchan_is_open(waiting_.get());
    if (state == 2) return nullptr;
    if (state == 0) {
      Arm();
      return nullptr;
    }
    // The XenStore entries now belong to the server that re-arms below: libxenvchan_close of a
    // server removes its xs_path, so the session's vchan must forget it, or closing the session
    // would unpublish the listener and the guest could never connect again.
    std::free(waiting_->xs_path);
    waiting_->xs_path = nullptr;
    auto channel = std::make_unique<VchanChannel>(std::move(waiting_), Describe());
    Arm();
    return channel;
  }
  std::string Describe() const override {
    return fmt::format("vchan domain {} at {}", domid_, xs_path_);
  }

 private:
  void Arm() {
    // The old server first: its close removes the XenStore entries the new one writes.
    waiting_.reset();
    // Writes <xs_path>/ring-ref and <xs_path>/event-channel, owned by dom0 and readable by the
    // guest only; the grants and the unbound event channel are for `domid_` alone.
    waiting_.reset(
        libxenvchan_server_init(nullptr, domid_, xs_path_.c_str(), kRingBytes, kRingBytes));
    if (!waiting_) {
      ThrowSystemError(fmt::format("create a vchan server for domain {} at {}", domid_, xs_path_),
                       errno != 0 ? errno : EIO);
    }
  }

  int domid_;
  std::string xs_path_;
  VchanPtr waiting_;
};

}  // namespace

bool VchanAvailable() { return true; }

std::string VchanXenStorePath(int domid) {
  // Where the guest's libxenbpf looks by default ("vchan:" = data/xenbpf in its own home).
  return fmt::format("/local/domain/{}/{}", domid, offload::proto::kDefaultVchanPath);
}

std::unique_ptr<Listener> ListenVchan(int domid, const std::string& xs_path) {
  if (domid <= 0) throw InputError(fmt::format("vchan: invalid guest domain id {}", domid));
  return std::make_unique<VchanListener>(domid, xs_path);
}

}  // namespace nfb::bpfd
