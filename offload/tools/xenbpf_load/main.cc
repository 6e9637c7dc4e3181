// xenbpf-load: the guest side of XenBPF on the command line. Loads a BPF object into dom0
// through libxenbpf and, with --hold, keeps it there while the harness measures.
//
//   xenbpf-load load icmp_echo.bpf.o --hold     # "program 1 maps icmp_echo_stats=1 .rodata=2"
//   xenbpf-load --json stats
//
// Exit codes as nfbench's: 2 bad input, 3 cannot connect to bpfd, 4 bpfd refused or the
// session broke. Results go to stdout (one line each), diagnostics to stderr.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "commands.h"
#include "xenbpf/xenbpf.h"

namespace {

using nfb::xenbpf_load::Exit;

int Fail(const std::string& message, Exit code) {
  std::cerr << "xenbpf-load: " << message << "\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"xenbpf-load: offloads a guest's BPF program to dom0 through bpfd (XenBPF)"};
  std::string channel;
  unsigned int timeout_ms = 0;
  nfb::xenbpf_load::Output out;
  nfb::xenbpf_load::Command command;
  app.add_option("--channel", channel,
                 "bpfd's channel: an abstract socket name, or vchan:[XENSTORE_PATH] on Xen; "
                 "default $" XENBPF_CHANNEL_ENV ", else @" XENBPF_DEFAULT_CHANNEL
                 " and, on a Xen guest where nobody listens there, vchan:data/xenbpf");
  app.add_option("--timeout-ms", timeout_ms, "wait this long for each reply (default 30000)");
  app.add_flag("--json", out.json, "print results as JSON, one object per line");
  nfb::xenbpf_load::AddCommands(app, command, /*line=*/false);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : Exit::kBadInput;
  }

  if (command.hold) {
    // Blocked before connecting, so a SIGTERM during the load waits for Hold() (which then
    // disconnects cleanly) instead of killing the process half-way.
    sigset_t signals;
    sigemptyset(&signals);
    for (const int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, s);
    sigprocmask(SIG_BLOCK, &signals, nullptr);
  }

  xenbpf* h = nullptr;
  if (const int rc = xenbpf_connect(channel.empty() ? nullptr : channel.c_str(), &h); rc < 0) {
    return Fail(xenbpf_errmsg(nullptr), Exit::kCannotConnect);
  }
  if (timeout_ms != 0) xenbpf_set_timeout(h, timeout_ms);

  nfb::xenbpf_load::Failure failure;
  Exit result = nfb::xenbpf_load::Execute(h, command, out, &failure);
  if (result == Exit::kOk && command.hold) result = nfb::xenbpf_load::Hold(h, out, &failure);
  xenbpf_disconnect(h);
  if (result != Exit::kOk) return Fail(failure.message, result);
  return Exit::kOk;
}
