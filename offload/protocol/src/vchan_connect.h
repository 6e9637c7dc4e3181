// The vchan half of nfb_offload_channel: vchan_client.cc over libxenvchan when libxen-dev was
// found at build time, vchan_client_stub.cc otherwise.
#pragma once

#include <memory>
#include <string>

#include "nfb/offload/client.h"
#include "nfb/offload/protocol.h"

namespace nfb::offload::proto::internal {

// Connects as the client of the vchan dom0 serves at XenStore `path` (see channel.h).
Status ConnectVchan(const std::string& path, std::unique_ptr<ClientStream>* out);

// Whether XenStore answers (xs_open succeeds): a Xen domain with xenbus, or dom0.
bool XenStoreReachable();

}  // namespace nfb::offload::proto::internal
