#include "nfb/bpf/attach.h"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <exception>
#include <utility>

#include "nfb/bpf/libbpf_support.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"

namespace nfb::bpf {
namespace {

// Index of `ifname` in the calling thread's namespace (if_nametoindex opens its socket there).
int InterfaceIndex(const std::string& ifname) {
  const unsigned int index = if_nametoindex(ifname.c_str());
  if (index == 0) ThrowSystemError("network interface " + ifname, errno);
  return static_cast<int>(index);
}

// What netlink answers when the thing to remove is no longer there: the interface was deleted
// (ENODEV), the filter (ENOENT) or the whole qdisc (EINVAL, "parent qdisc doesn't exist").
bool AlreadyGone(int err) {
  err = std::abs(err);
  return err == ENODEV || err == ENOENT || err == EINVAL;
}

bpf_tc_hook IngressHook(int ifindex) {
  bpf_tc_hook hook{};
  hook.sz = sizeof(hook);
  hook.ifindex = ifindex;
  hook.attach_point = BPF_TC_INGRESS;
  return hook;
}

// Removes the clsact qdisc (libbpf does that for INGRESS|EGRESS) and every filter on it.
int DestroyClsact(int ifindex) {
  bpf_tc_hook hook = IngressHook(ifindex);
  hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
  return bpf_tc_hook_destroy(&hook);
}

uint32_t XdpModeFlags(XdpMode mode) {
  return mode == XdpMode::kNative ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
}

const char* XdpModeName(XdpMode mode) { return mode == XdpMode::kNative ? "native" : "generic"; }

void CheckProgFd(int prog_fd, const std::string& ifname) {
  if (prog_fd < 0) throw InputError("invalid program fd for " + ifname);
}

}  // namespace

// ---- TcIngressAttachment ------------------------------------------------------------------------

TcIngressAttachment::TcIngressAttachment(NetnsHandle netns, std::string ifname, int ifindex,
                                         uint32_t handle, uint32_t priority, bool created_qdisc)
    : netns_(std::move(netns)),
      ifname_(std::move(ifname)),
      ifindex_(ifindex),
      handle_(handle),
      priority_(priority),
      created_qdisc_(created_qdisc) {}

TcIngressAttachment TcIngressAttachment::Attach(const std::string& ifname, int prog_fd) {
  RouteLibbpfLog();
  CheckProgFd(prog_fd, ifname);
  NetnsHandle netns = NetnsHandle::Current();
  const int ifindex = InterfaceIndex(ifname);

  bpf_tc_hook hook = IngressHook(ifindex);
  // EEXIST: a clsact qdisc is already there (tc, another attachment, a previous run). Use it,
  // and leave it in place on detach since it is not ours.
  int err = bpf_tc_hook_create(&hook);
  const bool created_qdisc = err == 0;
  if (err != 0 && err != -EEXIST) {
    ThrowLibbpfError("create a clsact qdisc on " + ifname, err);
  }

  bpf_tc_opts opts{};
  opts.sz = sizeof(opts);
  opts.prog_fd = prog_fd;  // handle and priority 0: the kernel picks, libbpf reports them back
  err = bpf_tc_attach(&hook, &opts);
  if (err != 0) {
    if (created_qdisc) DestroyClsact(ifindex);
    ThrowLibbpfError("attach a tc program at the ingress of " + ifname, err);
  }
  log::Debug("tc: attached program {} at ingress of {} (handle {:#x}, priority {}{})", opts.prog_id,
             ifname, opts.handle, opts.priority, created_qdisc ? ", created clsact" : "");
  return TcIngressAttachment(std::move(netns), ifname, ifindex, opts.handle, opts.priority,
                             created_qdisc);
}

TcIngressAttachment::TcIngressAttachment(TcIngressAttachment&& other) noexcept
    : netns_(std::exchange(other.netns_, std::nullopt)),
      ifname_(std::move(other.ifname_)),
      ifindex_(other.ifindex_),
      handle_(other.handle_),
      priority_(other.priority_),
      created_qdisc_(other.created_qdisc_) {}

TcIngressAttachment& TcIngressAttachment::operator=(TcIngressAttachment&& other) noexcept {
  if (this != &other) {
    DetachOrWarn();
    netns_ = std::exchange(other.netns_, std::nullopt);
    ifname_ = std::move(other.ifname_);
    ifindex_ = other.ifindex_;
    handle_ = other.handle_;
    priority_ = other.priority_;
    created_qdisc_ = other.created_qdisc_;
  }
  return *this;
}

TcIngressAttachment::~TcIngressAttachment() { DetachOrWarn(); }

void TcIngressAttachment::DetachOrWarn() noexcept {
  try {
    Detach();
  } catch (const std::exception& e) {
    log::Warn("tc: {}", e.what());
  }
}

void TcIngressAttachment::Detach() {
  if (!netns_) return;
  // Mark detached before anything can throw, so a failed detach is not retried on destruction.
  const NetnsHandle netns = std::move(*netns_);
  netns_.reset();
  const NetnsScope in_namespace(netns);

  bpf_tc_hook hook = IngressHook(ifindex_);
  bpf_tc_opts opts{};
  opts.sz = sizeof(opts);
  opts.handle = handle_;
  opts.priority = priority_;
  const int detach_err = bpf_tc_detach(&hook, &opts);
  const int destroy_err = created_qdisc_ ? DestroyClsact(ifindex_) : 0;
  if (detach_err != 0 && !AlreadyGone(detach_err)) {
    ThrowLibbpfError("detach the tc program from the ingress of " + ifname_, detach_err);
  }
  if (destroy_err != 0 && !AlreadyGone(destroy_err)) {
    ThrowLibbpfError("remove the clsact qdisc from " + ifname_, destroy_err);
  }
  log::Debug("tc: detached from ingress of {}{}", ifname_,
             detach_err != 0 ? " (already gone)" : "");
}

// ---- XdpAttachment ------------------------------------------------------------------------------

XdpAttachment::XdpAttachment(NetnsHandle netns, std::string ifname, int ifindex, int prog_fd,
                             XdpMode mode)
    : netns_(std::move(netns)),
      ifname_(std::move(ifname)),
      ifindex_(ifindex),
      prog_fd_(prog_fd),
      mode_(mode) {}

XdpAttachment XdpAttachment::Attach(const std::string& ifname, int prog_fd, XdpMode mode) {
  RouteLibbpfLog();
  CheckProgFd(prog_fd, ifname);
  NetnsHandle netns = NetnsHandle::Current();
  const int ifindex = InterfaceIndex(ifname);
  // Our own reference: Detach() names the program it expects to remove, even if the caller has
  // closed its fd by then.
  const int own_fd = ::fcntl(prog_fd, F_DUPFD_CLOEXEC, 0);
  if (own_fd < 0) ThrowSystemError("duplicate XDP program fd", errno);

  // UPDATE_IF_NOEXIST: never silently replace a program someone else attached.
  const int err =
      bpf_xdp_attach(ifindex, prog_fd, XdpModeFlags(mode) | XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr);
  if (err != 0) {
    ::close(own_fd);
    ThrowLibbpfError(
        std::string("attach an XDP program to ") + ifname + " in " + XdpModeName(mode) + " mode",
        err);
  }
  log::Debug("xdp: attached to {} in {} mode", ifname, XdpModeName(mode));
  return XdpAttachment(std::move(netns), ifname, ifindex, own_fd, mode);
}

XdpAttachment::XdpAttachment(XdpAttachment&& other) noexcept
    : netns_(std::exchange(other.netns_, std::nullopt)),
      ifname_(std::move(other.ifname_)),
      ifindex_(other.ifindex_),
      prog_fd_(std::exchange(other.prog_fd_, -1)),
      mode_(other.mode_) {}

XdpAttachment& XdpAttachment::operator=(XdpAttachment&& other) noexcept {
  if (this != &other) {
    DetachOrWarn();
    netns_ = std::exchange(other.netns_, std::nullopt);
    ifname_ = std::move(other.ifname_);
    ifindex_ = other.ifindex_;
    prog_fd_ = std::exchange(other.prog_fd_, -1);
    mode_ = other.mode_;
  }
  return *this;
}

XdpAttachment::~XdpAttachment() { DetachOrWarn(); }

void XdpAttachment::DetachOrWarn() noexcept {
  try {
    Detach();
  } catch (const std::exception& e) {
    log::Warn("xdp: {}", e.what());
  }
  Release();
}

void XdpAttachment::Release() {
  if (prog_fd_ >= 0) ::close(prog_fd_);
  prog_fd_ = -1;
}

void XdpAttachment::Detach() {
  if (!netns_) return;
  const NetnsHandle netns = std::move(*netns_);
  netns_.reset();
  const NetnsScope in_namespace(netns);

  bpf_xdp_attach_opts opts{};
  opts.sz = sizeof(opts);
  opts.old_prog_fd = prog_fd_;  // libbpf adds XDP_FLAGS_REPLACE: remove only our program
  const int err = bpf_xdp_detach(ifindex_, XdpModeFlags(mode_), &opts);
  Release();
  if (err == -EEXIST) {
    // Not ours any more (replaced or removed by someone else): nothing of ours to undo.
    log::Debug("xdp: program on {} is no longer ours; left as it is", ifname_);
    return;
  }
  if (err != 0 && std::abs(err) != ENODEV) {
    ThrowLibbpfError("detach the XDP program from " + ifname_, err);
  }
  log::Debug("xdp: detached from {}{}", ifname_, err != 0 ? " (interface gone)" : "");
}

}  // namespace nfb::bpf
