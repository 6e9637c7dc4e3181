#include "nfb/core/error.h"
#include "workload_driver.h"

namespace nfb::runner {
std::unique_ptr<WorkloadDriver> MakeFloodDriver(const scenario::Scenario&) {
  throw InputError("udp_flood: not wired yet");
}
}  // namespace nfb::runner
