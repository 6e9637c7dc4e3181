// Commands on hosts reached over SSH (Xen guests; external machines on real hardware): how an
// argv becomes the one string the remote shell runs, and the ssh client's own argv. Pure
// functions, tested without a network (tests/unit/platform).
//
// Why one SSH master connection per host: a connection costs a key exchange (~1 s in a PV guest
// under TCG, and CPU time on both ends), so the platform opens one while provisioning, before any
// measurement, and every later command multiplexes over it (ControlMaster). The master is a child
// process of the harness (not a daemonised ControlPersist process), so it ends with the run.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace nfb::platform::internal {

struct SshTarget {
  std::string destination;                 // "root@198.18.0.11"
  std::filesystem::path control_path;      // the master connection's socket
  std::vector<std::string> extra_options;  // more `-o Key=Value` (or other ssh flags), verbatim
  int connect_timeout_s = 10;
};

// One argument quoted for a POSIX shell (dash, bash, busybox sh): left bare when it consists only
// of characters no shell treats specially, otherwise in single quotes with each ' written '\''.
// The empty string becomes ''.
std::string ShellQuote(const std::string& word);

// The line the remote shell runs for argv: "exec" and each argument quoted, so the remote
// process is argv itself (no shell left in between to hold stdin or swallow signals).
// Throws InputError for an empty argv or an argument holding a NUL byte.
std::string RemoteCommandLine(const std::vector<std::string>& argv);

// ssh's argv for running `remote_line` over the master connection at target.control_path. When
// no master is there (it died), ssh connects on its own rather than failing: slower, still right.
// -T: no terminal, so stdin/stdout are plain pipes and the remote command sees EOF on stdin when
// ours ends. BatchMode: never prompt for a password or host key; a missing key fails at once.
std::vector<std::string> SshArgv(const SshTarget& target, const std::string& remote_line);

// ssh's argv for the master connection itself: authenticates, then holds the connection open in
// the foreground (-N) until it is terminated.
std::vector<std::string> SshMasterArgv(const SshTarget& target);

}  // namespace nfb::platform::internal
