#include "nfb/core/error.h"

#include <cstring>

namespace nfb {

void ThrowSystemError(const std::string& what, int err) {
  throw RunError(what + ": " + std::strerror(err));
}

}  // namespace nfb
