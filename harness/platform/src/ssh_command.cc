#include "ssh_command.h"

#include <fmt/format.h>

#include "nfb/core/error.h"

namespace nfb::platform::internal {

std::string ShellQuote(const std::string& word) {
  if (word.empty()) return "''";
  bool plain = true;
  for (const char c : word) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-' || c == '.' || c == '/' || c == ':' || c == ',' ||
                      c == '+' || c == '@' || c == '%';
    if (!safe) {
      plain = false;
      break;
    }
  }
  // '=' is left quoted on purpose: a leading NAME=value word would be an assignment, not argv[0].
  if (plain) return word;
  std::string quoted = "'";
  for (const char c : word) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

std::string RemoteCommandLine(const std::vector<std::string>& argv) {
  if (argv.empty()) throw InputError("no command to run over SSH");
  std::string line = "exec";
  for (const std::string& word : argv) {
    if (word.find('\0') != std::string::npos) {
      throw InputError("an argument for a remote command holds a NUL byte");
    }
    line += ' ';
    line += ShellQuote(word);
  }
  return line;
}

namespace {

std::vector<std::string> CommonOptions(const SshTarget& target) {
  std::vector<std::string> argv = {
      "ssh",
      "-T",
      "-o",
      "BatchMode=yes",
      "-o",
      fmt::format("ConnectTimeout={}", target.connect_timeout_s),
      "-o",
      "LogLevel=ERROR",
      // Keep-alives let a dead guest fail a command within ~30 s instead of hanging it.
      "-o",
      "ServerAliveInterval=10",
      "-o",
      "ServerAliveCountMax=3",
      "-o",
      "ControlPath=" + target.control_path.string(),
  };
  argv.insert(argv.end(), target.extra_options.begin(), target.extra_options.end());
  return argv;
}

}  // namespace

std::vector<std::string> SshArgv(const SshTarget& target, const std::string& remote_line) {
  std::vector<std::string> argv = CommonOptions(target);
  // Options given first win over ~/.ssh/config, whose ControlMaster/ControlPersist (the lab's
  // keeps daemonised masters for 300 s) would otherwise outlive the run.
  argv.insert(argv.end(), {"-o", "ControlMaster=no", target.destination, remote_line});
  return argv;
}

std::vector<std::string> SshMasterArgv(const SshTarget& target) {
  std::vector<std::string> argv = CommonOptions(target);
  argv.insert(argv.end(),
              {"-o", "ControlMaster=yes", "-o", "ControlPersist=no", "-N", target.destination});
  return argv;
}

}  // namespace nfb::platform::internal
