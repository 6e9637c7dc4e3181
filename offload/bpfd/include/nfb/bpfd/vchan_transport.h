// The Xen transport: one libxenvchan server per guest domain, carrying the same frame stream as
// the Unix sockets of the netns platform. Compiled for real only when libxen-dev is found at build
// time; otherwise ListenVchan() throws PrerequisiteError.
//
// How it is used (bpfd --xenstore, docs/bpfd.md "Xen"): XenStoreDiscovery (xen_discovery.h)
// finds guests and their vif MACs and calls Daemon::RegisterDomain with a DomainSpec whose domid
// is set; the daemon's listener factory then calls ListenVchan(domid, VchanXenStorePath(domid)),
// and the guest's libxenbpf reads that XenStore path to connect as the vchan client
// (nfb/offload/channel.h, "vchan:").
#pragma once

#include <memory>
#include <string>

#include "nfb/bpfd/transport.h"

namespace nfb::bpfd {

// Whether this build has libxenvchan.
bool VchanAvailable();

// "/local/domain/<domid>/data/xenbpf": where the server publishes its ring and event channel,
// readable by the guest.
std::string VchanXenStorePath(int domid);

// A vchan server for `domid` at `xs_path`. Each accepted session takes the connected vchan; the
// listener then re-arms with a fresh server at the same path, so a second client meets a server
// that answers it with EBUSY, as a second Unix connection would. The listener owns the XenStore
// entries (removed when it is destroyed); sessions closing leave them. Throws PrerequisiteError
// without vchan support and RunError if the server cannot be created (not dom0, no Xen, no such
// domain).
std::unique_ptr<Listener> ListenVchan(int domid, const std::string& xs_path);

}  // namespace nfb::bpfd
