// A long-running command in a host reached over SSH (a Xen guest), stopped by the end of its
// stdin. Killing the local `ssh` (all a local Process can do) does not stop a remote command that
// does not read its stdin or write: iperf3's server and nfb-udp-sink would stay in the guest. So
// the command runs under nfb::StopOnStdinEof and the harness holds its stdin open with an
// nfb::HeldStdin (core/held_stdin.h) until it wants the command stopped. When ssh itself dies
// (harness killed, connection lost), the remote stdin ends as well, so nothing outlives the run.
// The command's stdout, stderr and exit status stay the remote command's own.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "nfb/core/held_stdin.h"
#include "nfb/core/subprocess.h"
#include "nfb/platform/platform.h"

namespace nfb::workloads::internal {

// Starts argv in `host` (not local) through platform.Command under StopOnStdinEof, with stdin
// from `stdin` (which must be open) and stdout/stderr to the given files.
Process StartHeldRemote(const platform::Platform& platform, const std::string& host,
                        const std::vector<std::string>& argv, const HeldStdin& stdin,
                        const std::filesystem::path& stdout_path,
                        const std::filesystem::path& stderr_path, bool interruptible);

// A FIFO path in the platform's run state directory for `host`'s `what` (e.g. "iperf3-server"):
// FIFOs cannot live in every results directory (the lab's is a 9p share).
std::filesystem::path HeldStdinPath(const platform::Platform& platform, const std::string& host,
                                    const std::string& what);

}  // namespace nfb::workloads::internal
