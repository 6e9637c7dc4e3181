// nfb-nf-attach: attaches one of the project's BPF programs at an interface's tc ingress of the
// host it runs on, for as long as its stdin stays open. The harness runs it where it cannot
// attach a program in-process: inside a Xen guest, over SSH (harness/nf/src/remote_bpf.h).
//
//   nfb-nf-attach --object icmp_echo --interface eth0
//   -> {"attached":true,"object":"icmp_echo","interface":"eth0","ifindex":2,"created_clsact":true}
//   <- counters                      (a line on stdin)
//   -> {"answered":12,"passed":3}
//   <- (end of stdin)                detaches, then prints the last counters and exits 0:
//   -> {"detached":true,"counters":{"answered":12,"passed":3}}
//
// Same loaders as the harness's in-process path (nfb/bpf: skeletons, RAII attachments), so both
// paths run the same program. SIGINT, SIGTERM and SIGHUP also detach and exit. Exit codes as
// nfbench's: 2 bad input, 3 missing privileges, 4 the program could not be loaded or attached.
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "nfb/bpf/attach.h"
#include "nfb/bpf/icmp_echo.h"
#include "nfb/bpf/udp_drop.h"
#include "nfb/core/error.h"

namespace {

using json = nlohmann::json;

struct Options {
  std::string object;
  std::string interface = "eth0";
  uint16_t port = 0;
  std::string only_daddr;
};

using Program = std::variant<nfb::bpf::IcmpEchoProgram, nfb::bpf::UdpDropProgram>;

json Counters(const Program& program) {
  if (const auto* echo = std::get_if<nfb::bpf::IcmpEchoProgram>(&program)) {
    const nfb::bpf::IcmpEchoCounters c = echo->Counters();
    return {{"answered", c.answered}, {"passed", c.passed}};
  }
  const nfb::bpf::UdpDropCounters c = std::get<nfb::bpf::UdpDropProgram>(program).Counters();
  return {{"dropped", c.dropped}, {"passed", c.passed}};
}

void Print(const json& line) { std::cout << line.dump() << std::endl; }

// Serves stdin until it ends or a signal arrives.
void Serve(const Program& program, int signal_fd) {
  std::string pending;
  for (;;) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {signal_fd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      nfb::ThrowSystemError("poll", errno);
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    char buffer[512];
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // end of input (or an error on it): the cue to detach
    pending.append(buffer, static_cast<size_t>(n));
    for (size_t end; (end = pending.find('\n')) != std::string::npos;) {
      std::string line = pending.substr(0, end);
      pending.erase(0, end + 1);
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (line.empty()) continue;
      if (line == "counters") {
        Print(Counters(program));
      } else {
        Print({{"error", "unknown command '" + line + "' (known: counters)"}});
      }
    }
  }
}

int Run(const Options& o) {
  uint32_t only_daddr_be = 0;
  if (!o.only_daddr.empty()) {
    in_addr a{};
    if (::inet_pton(AF_INET, o.only_daddr.c_str(), &a) != 1) {
      throw nfb::InputError("--only-daddr: '" + o.only_daddr + "' is not an IPv4 address");
    }
    only_daddr_be = a.s_addr;
  }
  // Signals are taken through a descriptor from here on, so one arriving while the program is
  // loaded or attached still leads to a clean detach.
  sigset_t signals;
  sigemptyset(&signals);
  for (const int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, s);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  const int signal_fd = ::signalfd(-1, &signals, SFD_CLOEXEC);
  if (signal_fd < 0) nfb::ThrowSystemError("signalfd", errno);
  // A reader that went away (ssh gone) must not kill us before we detach.
  ::signal(SIGPIPE, SIG_IGN);

  std::optional<Program> program;
  if (o.object == "icmp_echo") {
    program.emplace(nfb::bpf::IcmpEchoProgram(
        nfb::bpf::IcmpEchoProgram::Options{.only_daddr_be = only_daddr_be}));
  } else if (o.object == "udp_drop") {
    if (o.port == 0) throw nfb::InputError("udp_drop needs --port (1..65535)");
    program.emplace(nfb::bpf::UdpDropProgram(
        nfb::bpf::UdpDropConfig{.port = o.port, .only_daddr_be = only_daddr_be}));
  } else {
    throw nfb::InputError("unknown object '" + o.object + "' (known: icmp_echo, udp_drop)");
  }
  const int fd = std::visit([](const auto& p) { return p.tc_fd(); }, *program);
  auto attachment = nfb::bpf::TcIngressAttachment::Attach(o.interface, fd);
  Print({{"attached", true},
         {"object", o.object},
         {"interface", o.interface},
         {"ifindex", attachment.ifindex()},
         {"created_clsact", attachment.created_qdisc()},
         {"pid", ::getpid()}});
  Serve(*program, signal_fd);
  attachment.Detach();
  Print({{"detached", true}, {"counters", Counters(*program)}});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "nfb-nf-attach: holds a BPF program at an interface's tc ingress while stdin is open"};
  Options o;
  app.add_option("--object", o.object, "icmp_echo or udp_drop")->required();
  app.add_option("--interface", o.interface, "the interface (default eth0)");
  app.add_option("--port", o.port, "udp_drop: the UDP destination port to drop");
  app.add_option("--only-daddr", o.only_daddr, "act only on traffic to this IPv4 address");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(nfb::ExitCode::kBadInput);
  }
  try {
    return Run(o);
  } catch (const nfb::Error& e) {
    std::cerr << "nfb-nf-attach: " << e.what() << "\n";
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::cerr << "nfb-nf-attach: " << e.what() << "\n";
    return static_cast<int>(nfb::ExitCode::kRunFailed);
  }
}
