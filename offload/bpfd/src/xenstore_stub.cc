// Built without libxenstore: --xenstore reports it missing.
#include "nfb/bpfd/xenstore.h"
#include "nfb/core/error.h"

namespace nfb::bpfd {

bool XenStoreAvailable() { return false; }

std::unique_ptr<XenStore> OpenXenStore() {
  throw PrerequisiteError(
      "this bpfd was built without libxenstore (install libxen-dev and rebuild for --xenstore)");
}

}  // namespace nfb::bpfd
