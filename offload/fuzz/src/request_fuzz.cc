#include "nfb/offload/request_fuzz.h"

#include <fmt/core.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

#include "nfb/bpf/mac_address.h"
#include "nfb/bpfd/service.h"
#include "nfb/bpfd/testing/fake_backend.h"
#include "nfb/core/log.h"
#include "nfb/offload/frame_decoder.h"
#include "nfb/offload/protocol.h"

namespace nfb::offload::fuzz {
namespace {

namespace proto = offload::proto;

constexpr std::string_view kInternalError = "internal error in bpfd";

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "request fuzz: invariant broken: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

#define FUZZ_CHECK(cond, ...)                                                \
  do {                                                                       \
    if (!(cond)) Fail(std::string(#cond) + ": " + fmt::format(__VA_ARGS__)); \
  } while (0)

// --- target 1: the codec alone -------------------------------------------------------------------

void CheckCodec(std::span<const uint8_t> body) {
  proto::Request request;
  if (proto::DecodeRequest(body, &request).ok()) {
    std::vector<uint8_t> frame;
    const proto::Status s = proto::EncodeRequest(request, &frame);
    FUZZ_CHECK(s.ok(), "a decoded request does not re-encode: {}", s.message);
    FUZZ_CHECK(
        std::equal(body.begin(), body.end(), frame.begin() + proto::kFrameHeaderSize, frame.end()),
        "{} re-encodes to different bytes", proto::CommandName(request.command));
  }
  proto::Reply reply;
  if (proto::DecodeReply(body, &reply).ok()) {
    std::vector<uint8_t> frame;
    const proto::Status s = proto::EncodeReply(reply, &frame);
    FUZZ_CHECK(s.ok(), "a decoded reply does not re-encode: {}", s.message);
    FUZZ_CHECK(
        std::equal(body.begin(), body.end(), frame.begin() + proto::kFrameHeaderSize, frame.end()),
        "a {} reply re-encodes to different bytes", proto::CommandName(reply.command));
  }
  proto::Message message;
  if (proto::DecodeMessage(body, &message).ok()) {
    FUZZ_CHECK(message.arguments.size() <= proto::kMaxArguments, "{} arguments",
               message.arguments.size());
  }
}

// --- target 2: bpfd's request path ---------------------------------------------------------------

struct Service {
  static constexpr char kGuest[] = "domu1";
  static constexpr char kBystander[] = "domu2";

  Service() : service(backend, Quotas()) {
    service.AddDomain(kGuest, bpf::ParseMac("02:00:00:00:01:01"));
    service.AddDomain(kBystander, bpf::ParseMac("02:00:00:00:02:01"));
    Request(kBystander, proto::LoadElfRequest{object, ""});
    Request(kBystander, proto::MapUpdateRequest{1, key, value, BPF_ANY});
    before = Describe(kBystander);
  }

  static bpfd::Quotas Quotas() {
    bpfd::Quotas q;
    q.max_maps = 6;  // three objects of the fake's two maps: reachable by a short input
    return q;
  }

  void Request(const char* domain, proto::RequestArgs args) {
    std::vector<uint8_t> frame;
    proto::EncodeRequest({0, 1, std::move(args)}, &frame);
    std::vector<uint8_t> reply = service.HandleRequest(domain, frame);
    std::span<const uint8_t> body;
    proto::Reply decoded;
    FUZZ_CHECK(proto::SplitFrame(reply, &body).ok() && proto::DecodeReply(body, &decoded).ok(),
               "a good request from {} got an undecodable reply", domain);
    FUZZ_CHECK(decoded.status == 0, "a good request from {} failed: {}", domain, decoded.message);
  }

  std::string Describe(const char* domain) const {
    const bpfd::DomainReport r = service.Report(domain);
    return fmt::format("{} programs, {} maps, {} bytes, attached {}, backend '{}'", r.programs,
                       r.maps, r.map_memory, r.attached_program.value_or(0),
                       backend.AttachedProgram(r.mac));
  }

  bpfd::testing::FakeBackend backend;
  bpfd::OffloadService service;
  const std::vector<uint8_t> object = {0x7f, 'E', 'L', 'F'};
  const std::vector<uint8_t> key = {7, 0, 0, 0};
  const std::vector<uint8_t> value = std::vector<uint8_t>(8, 0x22);
  std::string before;
};

void CheckReply(std::span<const uint8_t> request_body, const std::vector<uint8_t>& reply_frame) {
  proto::Request request;
  const proto::Status decoded = proto::DecodeRequest(request_body, &request);
  FUZZ_CHECK(reply_frame.size() <= proto::kFrameHeaderSize + proto::kMaxFrameBody,
             "reply of {} bytes", reply_frame.size());
  std::span<const uint8_t> body;
  const proto::Status split = proto::SplitFrame(reply_frame, &body);
  FUZZ_CHECK(split.ok(), "reply frame: {}", split.message);
  proto::Message message;
  const proto::Status parsed = proto::DecodeMessage(body, &message);
  FUZZ_CHECK(parsed.ok(), "reply body: {}", parsed.message);
  FUZZ_CHECK(message.kind == proto::Kind::kReply, "reply kind {}", static_cast<int>(message.kind));
  FUZZ_CHECK(message.request_id == request.request_id && message.command == request.command,
             "reply echoes {}/{}, the request said {}/{}", message.command, message.request_id,
             request.command, request.request_id);
  FUZZ_CHECK(message.arguments.size() >= 2, "reply without status and message");
  const int32_t status = message.arguments[0].AsI32();
  const std::string_view text = message.arguments[1].AsString();
  FUZZ_CHECK(text != kInternalError, "bpfd failed internally on a {} request",
             proto::CommandName(request.command));
  if (!decoded.ok()) {
    // The guest hears exactly why its request does not parse.
    FUZZ_CHECK(status == decoded.code && text == decoded.message,
               "decode said {} '{}', the reply {} '{}'", decoded.code, decoded.message, status,
               text);
    return;
  }
  proto::Reply reply;
  const proto::Status strict = proto::DecodeReply(body, &reply);
  FUZZ_CHECK(strict.ok(), "the reply to a valid {} request does not decode: {}",
             proto::CommandName(request.command), strict.message);
}

void CheckService(Service& s) {
  const bpfd::DomainReport guest = s.service.Report(Service::kGuest);
  const bpfd::DomainReport bystander = s.service.Report(Service::kBystander);
  const bpfd::Quotas& q = s.service.quotas();
  FUZZ_CHECK(guest.programs <= q.max_programs && guest.maps <= q.max_maps &&
                 guest.map_memory <= q.max_map_memory,
             "quota exceeded: {}", s.Describe(Service::kGuest));
  FUZZ_CHECK(s.backend.live_programs() == static_cast<int>(guest.programs + bystander.programs) &&
                 s.backend.live_maps() == static_cast<int>(guest.maps + bystander.maps),
             "the backend holds {} programs and {} maps, the domains report {} and {}",
             s.backend.live_programs(), s.backend.live_maps(), guest.programs + bystander.programs,
             guest.maps + bystander.maps);
  FUZZ_CHECK(guest.attached_program.has_value() == !s.backend.AttachedProgram(guest.mac).empty(),
             "attachment out of sync: {}", s.Describe(Service::kGuest));
  const std::string after = s.Describe(Service::kBystander);
  FUZZ_CHECK(after == s.before, "the bystander changed: '{}' became '{}'", s.before, after);
  // The bystander is still served, with its own data.
  std::vector<uint8_t> frame;
  proto::EncodeRequest({0, 9, proto::MapLookupRequest{1, s.key}}, &frame);
  const std::vector<uint8_t> reply = s.service.HandleRequest(Service::kBystander, frame);
  std::span<const uint8_t> body;
  proto::Reply r;
  FUZZ_CHECK(
      proto::SplitFrame(reply, &body).ok() && proto::DecodeReply(body, &r).ok() && r.status == 0,
      "the bystander's lookup failed");
  const auto value = std::get<proto::MapLookupResult>(r.result).value;
  FUZZ_CHECK(std::equal(value.begin(), value.end(), s.value.begin(), s.value.end()),
             "the bystander's value changed");
  // A disconnect frees everything the guest loaded.
  s.service.ResetDomain(Service::kGuest);
  FUZZ_CHECK(s.backend.live_programs() == static_cast<int>(bystander.programs) &&
                 s.backend.live_maps() == static_cast<int>(bystander.maps),
             "the guest's reset left {} programs and {} maps", s.backend.live_programs(),
             s.backend.live_maps());
}

void RunStream(std::span<const uint8_t> input) {
  Service s;
  proto::FrameDecoder decoder;
  while (!input.empty()) {
    const size_t taken = decoder.Feed(input);
    input = input.subspan(taken);
    if (decoder.failed()) {
      // bpfd answers with a connection-level error and closes: the error must encode.
      std::vector<uint8_t> frame;
      const proto::Status encoded =
          proto::EncodeReply(proto::ErrorReply(0, 0, decoder.status()), &frame);
      FUZZ_CHECK(encoded.ok(), "connection error does not encode: {}", encoded.message);
      FUZZ_CHECK(decoder.status().code == proto::status::kFrameTooBig ||
                     decoder.status().code == proto::status::kMalformed,
                 "frame header error {}", decoder.status().code);
      break;
    }
    if (!decoder.HasFrame()) {
      FUZZ_CHECK(taken > 0, "the decoder took nothing without a frame or an error");
      continue;
    }
    const std::vector<uint8_t> body(decoder.Body().begin(), decoder.Body().end());
    decoder.Pop();
    CheckCodec(body);
    CheckReply(body, s.service.HandleBody(Service::kGuest, body));
  }
  CheckService(s);
}

}  // namespace

void RunOne(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    log::SetLevel(log::Level::kError);
    return true;
  }();
  (void)quiet;
  const std::span<const uint8_t> input(data, size);
  CheckCodec(input);
  std::span<const uint8_t> body;
  if (proto::SplitFrame(input, &body).ok()) CheckCodec(body);
  RunStream(input);
}

size_t MaxInputLength() { return proto::kFrameHeaderSize + proto::kMaxFrameBody; }

std::vector<std::pair<std::string, std::vector<uint8_t>>> SeedCorpus() {
  const std::vector<uint8_t> key = {7, 0, 0, 0};
  const std::vector<uint8_t> value(8, 0x5a);
  const std::vector<uint8_t> object = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
  // r0 = 0; exit
  const std::vector<uint8_t> insns = {0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0};
  const std::vector<std::pair<std::string, proto::RequestArgs>> requests = {
      {"load_elf", proto::LoadElfRequest{object, "prog"}},
      {"load_bytecode", proto::LoadBytecodeRequest{insns, BPF_PROG_TYPE_SCHED_CLS, "GPL"}},
      {"unload", proto::UnloadRequest{1}},
      {"map_lookup", proto::MapLookupRequest{1, key}},
      {"map_update", proto::MapUpdateRequest{1, key, value, BPF_NOEXIST}},
      {"map_delete", proto::MapDeleteRequest{1, key}},
      {"stats", proto::StatsRequest{}},
      {"map_info", proto::MapInfoRequest{2}},
  };
  std::vector<std::pair<std::string, std::vector<uint8_t>>> seeds;
  uint32_t id = 1;
  for (const auto& [name, args] : requests) {
    std::vector<uint8_t> frame;
    proto::EncodeRequest({0, id++, args}, &frame);
    seeds.emplace_back(name, std::move(frame));
  }
  // Sessions: load, then use the maps, then unload; and loads until the quota bites.
  std::vector<uint8_t> session;
  for (const proto::RequestArgs& args : std::vector<proto::RequestArgs>{
           proto::LoadElfRequest{object, ""}, proto::MapUpdateRequest{1, key, value, BPF_ANY},
           proto::MapLookupRequest{1, key}, proto::MapInfoRequest{1},
           proto::MapDeleteRequest{1, key}, proto::StatsRequest{}, proto::UnloadRequest{1},
           proto::MapLookupRequest{1, key}}) {
    proto::EncodeRequest({0, id++, args}, &session);
  }
  seeds.emplace_back("session", session);
  std::vector<uint8_t> quota;
  for (int i = 0; i < 5; ++i)
    proto::EncodeRequest({0, id++, proto::LoadElfRequest{object, ""}}, &quota);
  seeds.emplace_back("quota", quota);
  // The largest legal object, and a reply (the decoder must refuse it as a request).
  std::vector<uint8_t> big;
  proto::EncodeRequest(
      {0, id++, proto::LoadElfRequest{std::vector<uint8_t>(proto::kMaxObjectSize, 0x7f), ""}},
      &big);
  seeds.emplace_back("load_elf_max", big);
  std::vector<uint8_t> reply;
  proto::EncodeReply({static_cast<uint16_t>(proto::Command::kStats),
                      5,
                      0,
                      {},
                      proto::StatsResult{1, 2, 3, 4, "seed"}},
                     &reply);
  seeds.emplace_back("stats_reply", reply);
  return seeds;
}

}  // namespace nfb::offload::fuzz
