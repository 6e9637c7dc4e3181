// A tiny guest-side client of bpfd for the integration tests, run inside a guest's network
// namespace. It speaks the protocol through nfb_offload_protocol's BlockingClient (not
// libxenbpf, which is built on top of the same protocol separately).
//
//   offload_test_client load-elf FILE [PROGRAM] [--hold]
//       LOAD_ELF; prints {"status":..,"message":..,"program_id":..,"maps":{name:id}} and, with
//       --hold, keeps the session (and so the program) until killed.
//   offload_test_client stats            STATS; prints the results as JSON.
//   offload_test_client partial FILE     sends the first half of a LOAD_ELF frame, prints
//                                        {"sent":n}, then hangs: a guest killed mid-request.
//   offload_test_client unload ID        UNLOAD (new session: shows IDs are per session).
// Exit status 0 when the request got a reply (whatever its status), 1 on transport errors.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nfb/offload/client.h"
#include "nfb/offload/protocol.h"

namespace proto = nfb::offload::proto;
using nlohmann::json;

namespace {

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void Hold() {
  // Until a signal ends the process (the test kills it, as a guest dying would).
  std::cout.flush();
  for (;;) ::pause();
}

int Fail(const proto::Status& s) {
  std::cout << json{{"transport_error", s.code}, {"message", s.message}}.dump() << std::endl;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: offload_test_client load-elf|stats|partial|unload ...\n";
    return 2;
  }
  const std::string command = argv[1];
  proto::BlockingClient client;
  proto::Status s = client.ConnectAbstract();
  if (!s.ok()) return Fail(s);

  if (command == "load-elf" && argc >= 3) {
    const std::vector<uint8_t> object = ReadFile(argv[2]);
    std::string program;
    bool hold = false;
    for (int i = 3; i < argc; ++i) {
      if (std::string(argv[i]) == "--hold") {
        hold = true;
      } else {
        program = argv[i];
      }
    }
    proto::OwnedReply reply;
    s = client.Call({0, 0, proto::LoadElfRequest{object, program}}, &reply);
    if (!s.ok()) return Fail(s);
    json out{{"status", reply.reply.status}, {"message", reply.reply.message}};
    if (const auto* r = std::get_if<proto::LoadElfResult>(&reply.reply.result)) {
      out["program_id"] = r->program_id;
      json maps = json::object();
      for (const auto& m : r->maps) maps[std::string(m.name)] = m.map_id;
      out["maps"] = maps;
    }
    std::cout << out.dump() << std::endl;
    if (hold) Hold();
    return 0;
  }
  if (command == "stats") {
    proto::OwnedReply reply;
    s = client.Call({0, 0, proto::StatsRequest{}}, &reply);
    if (!s.ok()) return Fail(s);
    json out{{"status", reply.reply.status}, {"message", reply.reply.message}};
    if (const auto* r = std::get_if<proto::StatsResult>(&reply.reply.result)) {
      out.update({{"packets", r->packets},
                  {"bytes", r->bytes},
                  {"cpu_ns", r->cpu_ns},
                  {"cost_ps", r->cost_ps},
                  {"method", r->method}});
    }
    std::cout << out.dump() << std::endl;
    return 0;
  }
  if (command == "unload" && argc >= 3) {
    proto::OwnedReply reply;
    s = client.Call({0, 0, proto::UnloadRequest{static_cast<uint32_t>(std::stoul(argv[2]))}},
                    &reply);
    if (!s.ok()) return Fail(s);
    std::cout << json{{"status", reply.reply.status}, {"message", reply.reply.message}}.dump()
              << std::endl;
    return 0;
  }
  if (command == "partial" && argc >= 3) {
    const std::vector<uint8_t> object = ReadFile(argv[2]);
    std::vector<uint8_t> frame;
    s = proto::EncodeRequest({0, 1, proto::LoadElfRequest{object, {}}}, &frame);
    if (!s.ok()) return Fail(s);
    frame.resize(frame.size() / 2);
    s = client.SendRaw(frame);
    if (!s.ok()) return Fail(s);
    std::cout << json{{"sent", frame.size()}}.dump() << std::endl;
    Hold();
    return 0;
  }
  std::cerr << "unknown command " << command << "\n";
  return 2;
}
