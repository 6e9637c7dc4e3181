// xenbpf-probe: sends bpfd well-formed and malformed frames over a guest's channel (socket or
// vchan) and checks how bpfd answers. For tests of the transports (xen_setup/lab/tests/
// vchan-offload), not for offloading: xenbpf-load and libxenbpf never send a malformed frame.
//
//   xenbpf-probe [--channel C] [--timeout-ms MS] stats
//       one STATS request: answered with status 0
//   xenbpf-probe ... bad-body
//       a frame of valid length whose body is malformed (an argument of unknown type 9), then
//       STATS on the same session: the first gets an error reply with its request id, the
//       session stays open and the second succeeds
//   xenbpf-probe ... bad-length
//       a frame header announcing 0xffffffff bytes: a connection-level error reply (request id
//       0) and bpfd closes the session
//
// Prints one JSON object per reply ({"request_id","command","status","message"}) and a last one
// {"case":..,"passed":bool,"closed":bool,"why":..}. Exit status: 0 bpfd behaved as described,
// 1 it did not, 2 usage, 3 cannot connect.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nfb/offload/channel.h"
#include "nfb/offload/client.h"
#include "nfb/offload/protocol.h"

namespace proto = nfb::offload::proto;
using nlohmann::json;

namespace {

constexpr int kPassed = 0, kFailed = 1, kBadInput = 2, kCannotConnect = 3;

void PrintReply(const proto::OwnedReply& r) {
  std::cout << json{{"request_id", r.reply.request_id},
                    {"command", r.reply.command},
                    {"status", r.reply.status},
                    {"message", std::string(r.reply.message)}}
                   .dump()
            << std::endl;
}

int Verdict(const std::string& name, bool passed, bool closed, const std::string& why) {
  std::cout << json{{"case", name}, {"passed", passed}, {"closed", closed}, {"why", why}}.dump()
            << std::endl;
  return passed ? kPassed : kFailed;
}

// Whether bpfd closed the channel: the next read ends the stream instead of timing out.
bool ClosedWithin(proto::BlockingClient& client, std::chrono::milliseconds timeout) {
  proto::OwnedReply extra;
  const proto::Status s = client.ReceiveReply(&extra, timeout);
  if (s.ok()) PrintReply(extra);
  return !s.ok() && s.code == -ECONNRESET;
}

int Stats(proto::BlockingClient& client, std::chrono::milliseconds timeout, const std::string& name,
          bool* ok) {
  proto::OwnedReply reply;
  const proto::Status s = client.Call({0, 0, proto::StatsRequest{}}, &reply, timeout);
  if (!s.ok()) {
    *ok = false;
    return Verdict(name, false, s.code == -ECONNRESET, "STATS: " + s.message);
  }
  PrintReply(reply);
  *ok = reply.reply.status == 0 && reply.reply.request_id != 0;
  return kPassed;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"xenbpf-probe: sends bpfd well-formed and malformed frames (transport tests)"};
  std::string channel;
  unsigned int timeout_ms = 10'000;
  std::string which;
  app.add_option("--channel", channel,
                 "as xenbpf-load's: an abstract socket name or vchan:[XENSTORE_PATH]; default "
                 "$XENBPF_CHANNEL, else the default channel");
  app.add_option("--timeout-ms", timeout_ms, "wait this long for each reply")
      ->capture_default_str();
  app.add_option("case", which, "stats, bad-body or bad-length")
      ->required()
      ->check(CLI::IsMember({"stats", "bad-body", "bad-length"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kBadInput;
  }
  const std::chrono::milliseconds timeout(timeout_ms);

  proto::BlockingClient client;
  proto::ChannelAddress address;
  proto::Status s;
  const char* env = std::getenv("XENBPF_CHANNEL");
  if (!channel.empty() || (env != nullptr && *env != '\0')) {
    s = proto::ParseChannel(!channel.empty() ? channel : env, &address);
    if (!s.ok()) {
      std::cerr << "xenbpf-probe: " << s.message << "\n";
      return kBadInput;
    }
    s = proto::ConnectChannel(address, &client);
  } else {
    s = proto::ConnectDefaultChannel(&client, &address);
  }
  if (!s.ok()) {
    std::cerr << "xenbpf-probe: cannot connect to bpfd: " << s.message << "\n";
    return kCannotConnect;
  }
  std::cerr << "xenbpf-probe: connected over " << proto::DescribeChannel(address) << "\n";

  bool ok = false;
  if (which == "stats") {
    if (const int rc = Stats(client, timeout, which, &ok); !ok) return rc;
    return Verdict(which, true, false, "STATS answered");
  }
  if (which == "bad-body") {
    // version 1, request, STATS, request id 7, 1 argument: type 9 (no such type), length 0.
    const std::vector<uint8_t> frame = {15, 0, 0, 0, 1, 1, 7, 0, 7, 0, 0, 0, 1, 0, 9, 0, 0, 0, 0};
    s = client.SendRaw(frame);
    if (!s.ok()) return Verdict(which, false, true, "sending: " + s.message);
    proto::OwnedReply reply;
    s = client.ReceiveReply(&reply, timeout);
    if (!s.ok()) return Verdict(which, false, s.code == -ECONNRESET, "no reply: " + s.message);
    PrintReply(reply);
    if (reply.reply.request_id != 7 || reply.reply.status >= 0) {
      return Verdict(which, false, false,
                     "expected an error reply to request 7, the session staying open");
    }
    // The session survives a malformed request: the next one is served.
    if (const int rc = Stats(client, timeout, which, &ok); !ok) {
      return rc == kPassed ? Verdict(which, false, false, "STATS after it failed") : rc;
    }
    return Verdict(which, true, false,
                   "error reply to the malformed request, STATS served on the same session");
  }
  // bad-length
  s = client.SendRaw({0xff, 0xff, 0xff, 0xff});
  if (!s.ok()) return Verdict(which, false, true, "sending: " + s.message);
  proto::OwnedReply reply;
  s = client.ReceiveReply(&reply, timeout);
  if (!s.ok()) return Verdict(which, false, s.code == -ECONNRESET, "no reply: " + s.message);
  PrintReply(reply);
  const bool closed = ClosedWithin(client, timeout);
  if (reply.reply.request_id != 0 || reply.reply.status >= 0 || !closed) {
    return Verdict(which, false, closed,
                   "expected a connection-level error (request id 0) and the session closed");
  }
  return Verdict(which, true, true, "connection-level error, session closed");
}
