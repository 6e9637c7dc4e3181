// Attaching programs to network interfaces, undone by RAII.
//
// An attachment remembers the network namespace it was made in, so it can be removed from any
// thread and namespace (a harness thread that has since left the domain's namespace, a teardown
// path running on the main thread). Holding that namespace open keeps it, and its interfaces,
// alive until the attachment is gone, even after `ip netns del`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "nfb/core/netns.h"

namespace nfb::bpf {

// A SCHED_CLS program attached at the clsact ingress hook of one interface.
class TcIngressAttachment {
 public:
  // Attaches prog_fd at the ingress of interface `ifname` in the calling thread's current network
  // namespace. A clsact qdisc that already exists is used as is (another tool or attachment may
  // own it); otherwise one is created and removed again on Detach(). The kernel picks the filter
  // handle and priority, so several attachments can share an interface.
  // Throws RunError if the interface does not exist or the kernel refuses the program, and
  // PrerequisiteError without CAP_NET_ADMIN.
  static TcIngressAttachment Attach(const std::string& ifname, int prog_fd);

  TcIngressAttachment(TcIngressAttachment&& other) noexcept;
  TcIngressAttachment& operator=(TcIngressAttachment&& other) noexcept;
  TcIngressAttachment(const TcIngressAttachment&) = delete;
  TcIngressAttachment& operator=(const TcIngressAttachment&) = delete;
  // Detaches like Detach(), but logs failures instead of throwing.
  ~TcIngressAttachment();

  // Removes the filter, and the clsact qdisc if Attach() created it, in the namespace the
  // attachment was made in. An interface, filter or qdisc that is already gone counts as
  // detached. Does nothing the second time. Throws RunError on any other failure (the attachment
  // is then considered detached all the same, so the destructor does not retry).
  void Detach();

  bool attached() const { return netns_.has_value(); }
  const std::string& ifname() const { return ifname_; }
  int ifindex() const { return ifindex_; }
  // Whether Attach() created the clsact qdisc (and Detach() will remove it).
  bool created_qdisc() const { return created_qdisc_; }
  uint32_t handle() const { return handle_; }
  uint32_t priority() const { return priority_; }

 private:
  TcIngressAttachment(NetnsHandle netns, std::string ifname, int ifindex, uint32_t handle,
                      uint32_t priority, bool created_qdisc);
  void DetachOrWarn() noexcept;

  std::optional<NetnsHandle> netns_;  // empty once detached or moved from
  std::string ifname_;
  int ifindex_ = 0;
  uint32_t handle_ = 0;
  uint32_t priority_ = 0;
  bool created_qdisc_ = false;
};

enum class XdpMode {
  kNative,   // in the driver (XDP_FLAGS_DRV_MODE); veth supports it
  kGeneric,  // on the skb after allocation (XDP_FLAGS_SKB_MODE); works on any interface
};

// An XDP program attached to one interface.
class XdpAttachment {
 public:
  // Attaches prog_fd at the XDP hook of `ifname` in the calling thread's current network
  // namespace. Refuses (RunError, "Device or resource busy") to replace a program someone else
  // attached. Keeps its own duplicate of prog_fd so Detach() removes only this program.
  // Throws RunError if the interface does not exist, the mode is unsupported or the kernel
  // refuses the program, and PrerequisiteError without CAP_NET_ADMIN.
  static XdpAttachment Attach(const std::string& ifname, int prog_fd,
                              XdpMode mode = XdpMode::kNative);

  XdpAttachment(XdpAttachment&& other) noexcept;
  XdpAttachment& operator=(XdpAttachment&& other) noexcept;
  XdpAttachment(const XdpAttachment&) = delete;
  XdpAttachment& operator=(const XdpAttachment&) = delete;
  // Detaches like Detach(), but logs failures instead of throwing.
  ~XdpAttachment();

  // Removes the program from the interface, in the namespace it was attached in, provided it is
  // still the one attached there. A missing interface or a program already replaced by someone
  // else counts as detached. Does nothing the second time. Throws RunError on other failures.
  void Detach();

  bool attached() const { return netns_.has_value(); }
  const std::string& ifname() const { return ifname_; }
  int ifindex() const { return ifindex_; }
  XdpMode mode() const { return mode_; }

 private:
  XdpAttachment(NetnsHandle netns, std::string ifname, int ifindex, int prog_fd, XdpMode mode);
  void DetachOrWarn() noexcept;
  void Release();

  std::optional<NetnsHandle> netns_;  // empty once detached or moved from
  std::string ifname_;
  int ifindex_ = 0;
  int prog_fd_ = -1;  // our duplicate, identifies the program on detach
  XdpMode mode_ = XdpMode::kNative;
};

}  // namespace nfb::bpf
