// Built when libxenvchan is not available: the Xen transport reports itself missing.
#include <fmt/core.h>

#include "nfb/bpfd/vchan_transport.h"
#include "nfb/core/error.h"
#include "nfb/offload/channel.h"

namespace nfb::bpfd {

bool VchanAvailable() { return false; }

std::string VchanXenStorePath(int domid) {
  // Where the guest's libxenbpf looks by default ("vchan:" = data/xenbpf in its own home).
  return fmt::format("/local/domain/{}/{}", domid, offload::proto::kDefaultVchanPath);
}

std::unique_ptr<Listener> ListenVchan(int domid, const std::string&) {
  throw PrerequisiteError(
      fmt::format("domain {}: this bpfd was built without libxenvchan "
                  "(install libxen-dev and rebuild for the Xen transport)",
                  domid));
}

}  // namespace nfb::bpfd
