#include "host_files.h"

#include <fmt/format.h>

#include <chrono>

#include "line_session.h"
#include "nfb/core/error.h"

namespace nfb::nf {

std::string ToolOnHost(const platform::HostInfo& host, const std::filesystem::path& local_path) {
  return host.IsLocal() ? local_path.string() : local_path.filename().string();
}

std::string FileOnHost(const platform::Platform& platform, const std::string& host,
                       const std::filesystem::path& local, const std::string& remote_dir) {
  if (platform.Host(host).IsLocal()) return local.string();
  const std::string remote = remote_dir + "/" + local.filename().string();
  // One remote shell: mkdir and cat (each process is expensive in a guest under TCG). The
  // positional parameters carry the paths, so nothing in them is re-parsed by the shell.
  ProcessSpec copy = platform.Command(
      host, {"sh", "-c", "mkdir -p \"$0\" && cat >\"$1.tmp\" && mv \"$1.tmp\" \"$1\"", remote_dir,
             remote});
  ProcessResult r = RunProcess(WithStdinFrom(std::move(copy), local), std::chrono::seconds(60));
  if (!r.Succeeded()) {
    throw RunError(fmt::format("cannot copy {} to {}:{} ({}): {}", local.string(), host, remote,
                               r.Status(), r.err));
  }
  return remote;
}

}  // namespace nfb::nf
