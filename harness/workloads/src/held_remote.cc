#include "held_remote.h"

#include <stdexcept>

namespace nfb::workloads::internal {

namespace fs = std::filesystem;

Process StartHeldRemote(const platform::Platform& platform, const std::string& host,
                        const std::vector<std::string>& argv, const HeldStdin& stdin,
                        const fs::path& stdout_path, const fs::path& stderr_path,
                        bool interruptible) {
  if (!stdin.open()) throw std::logic_error("StartHeldRemote: stdin is not open");
  ProcessSpec spec = WithStdinFrom(platform.Command(host, StopOnStdinEof(argv)), stdin.path());
  spec.stdout_path = stdout_path;
  spec.stderr_path = stderr_path;
  spec.interruptible = interruptible;
  return Process::Start(spec);
}

fs::path HeldStdinPath(const platform::Platform& platform, const std::string& host,
                       const std::string& what) {
  return platform.StateDirectory() / (host + "-" + what + ".stdin");
}

}  // namespace nfb::workloads::internal
