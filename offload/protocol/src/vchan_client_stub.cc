// Built without libxenvchan: "vchan:" channels report the transport missing.
#include <cerrno>

#include "nfb/offload/channel.h"
#include "vchan_connect.h"

namespace nfb::offload::proto {

bool VchanClientAvailable() { return false; }

namespace internal {

Status ConnectVchan(const std::string& /*path*/, std::unique_ptr<ClientStream>* /*out*/) {
  return Status::Error(EPROTONOSUPPORT,
                       "the vchan transport is not built into this library (build with "
                       "libxen-dev installed)");
}

bool XenStoreReachable() { return false; }

}  // namespace internal
}  // namespace nfb::offload::proto
