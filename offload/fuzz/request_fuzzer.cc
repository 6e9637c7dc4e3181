// libFuzzer entry for the XenBPF request path (see nfb/offload/request_fuzz.h). Built only with
// -DNFB_FUZZ=ON and clang; scripts/fuzz.sh builds and runs it.
#include <cstddef>
#include <cstdint>

#include "nfb/offload/request_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nfb::offload::fuzz::RunOne(data, size);
  return 0;
}
