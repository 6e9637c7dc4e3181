// Where a guest reaches bpfd, by name (docs/libxenbpf.md, "Channels"):
//   "xenbpf", "@xenbpf"   the abstract Unix socket of that name in the caller's network namespace
//                         (netns platform)
//   "vchan:"              the vchan bpfd serves for this Xen domain, published in XenStore at
//                         data/xenbpf (relative to the domain's home, /local/domain/<domid>/)
//   "vchan:PATH"          the vchan published at XenStore PATH (absolute or relative)
// The vchan client needs libxenvchan at build time (libxen-dev) and, at run time, XenStore
// (/dev/xen/xenbus), /dev/xen/gntdev and /dev/xen/evtchn in the guest. Library
// nfb_offload_channel; exception-free like the protocol library.
#pragma once

#include <string>
#include <string_view>

#include "nfb/offload/client.h"
#include "nfb/offload/protocol.h"

namespace nfb::offload::proto {

inline constexpr std::string_view kVchanPrefix = "vchan:";
// Where bpfd (--xenstore) publishes a guest's vchan, relative to the guest's XenStore home.
inline constexpr char kDefaultVchanPath[] = "data/xenbpf";
// libxenvchan builds "<path>/event-channel" in a 64-byte buffer and silently truncates longer
// paths; refuse them instead.
inline constexpr size_t kMaxVchanPathSize = 48;

struct ChannelAddress {
  enum class Kind { kAbstractSocket, kVchan };
  Kind kind = Kind::kAbstractSocket;
  std::string name;  // the abstract socket's name without '@', or the vchan's XenStore path
};

// Parses a channel name as above. -EINVAL for an empty socket name, a socket name over 107
// bytes, or a XenStore path that is too long or has characters XenStore does not allow.
Status ParseChannel(std::string_view text, ChannelAddress* out);

// "@xenbpf", "vchan:data/xenbpf" (for messages).
std::string DescribeChannel(const ChannelAddress& address);

// Whether this build has the vchan client.
bool VchanClientAvailable();

// Connects `client` to `address` (closing what it had). Errors: those of
// BlockingClient::ConnectAbstract for sockets; for a vchan -EPROTONOSUPPORT (built without
// libxenvchan), -ENODEV (no XenStore here: not a Xen domain, or xenbus missing), -ECONNREFUSED
// (nothing published at the path: bpfd does not serve this domain), or the errno of the vchan's
// set-up (grant mapping, event channel) with libxenvchan's own message.
Status ConnectChannel(const ChannelAddress& address, BlockingClient* client);

// The default channel: the abstract socket kDefaultSocketName; if nobody listens there
// (-ECONNREFUSED) and this build has the vchan client and XenStore answers (a Xen domain), the
// vchan at kDefaultVchanPath. *used (may be null) gets the address of the last attempt. A socket
// failure other than -ECONNREFUSED, or a host without XenStore, returns the socket's status
// unchanged; when both were tried, the vchan's status, its message naming both.
Status ConnectDefaultChannel(BlockingClient* client, ChannelAddress* used);

}  // namespace nfb::offload::proto
