#include "malformed_frames.h"

#include <fmt/core.h>

#include <stdexcept>
#include <utility>

#include "nfb/core/log.h"

namespace nfb::offload::testing {
namespace {

constexpr auto T = [](proto::Type t) { return static_cast<uint8_t>(t); };

std::vector<uint8_t> Le(uint64_t v, int bytes) {
  std::vector<uint8_t> out;
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return out;
}

uint16_t Cmd(proto::Command c) { return static_cast<uint16_t>(c); }

}  // namespace

RawArg U32(uint32_t v) { return {T(proto::Type::kU32), Le(v, 4), {}}; }
RawArg U64(uint64_t v) { return {T(proto::Type::kU64), Le(v, 8), {}}; }
RawArg I32(int32_t v) { return {T(proto::Type::kI32), Le(static_cast<uint32_t>(v), 4), {}}; }
RawArg Bytes(std::vector<uint8_t> v) { return {T(proto::Type::kBytes), std::move(v), {}}; }
RawArg Bytes(std::string_view v) { return Bytes(std::vector<uint8_t>(v.begin(), v.end())); }
RawArg String(std::string_view v) {
  return {T(proto::Type::kString), std::vector<uint8_t>(v.begin(), v.end()), {}};
}
RawArg Filled(uint8_t type, size_t size, uint8_t fill) {
  return {type, std::vector<uint8_t>(size, fill), {}};
}

std::vector<uint8_t> Encode(const RawBody& body) {
  std::vector<uint8_t> out;
  out.push_back(body.version);
  out.push_back(body.kind);
  proto::AppendU16(&out, body.command);
  proto::AppendU32(&out, body.request_id);
  proto::AppendU16(&out, body.count.value_or(static_cast<uint16_t>(body.args.size())));
  for (const RawArg& arg : body.args) {
    out.push_back(arg.type);
    proto::AppendU32(&out, arg.length.value_or(static_cast<uint32_t>(arg.payload.size())));
    out.insert(out.end(), arg.payload.begin(), arg.payload.end());
  }
  out.insert(out.end(), body.trailing.begin(), body.trailing.end());
  return out;
}

std::vector<ArgSpan> Layout(const RawBody& body) {
  std::vector<ArgSpan> spans;
  size_t pos = proto::kBodyHeaderSize;
  for (const RawArg& arg : body.args) {
    ArgSpan s;
    s.header = pos;
    s.length = arg.length.value_or(static_cast<uint32_t>(arg.payload.size()));
    pos += proto::kArgumentHeaderSize + arg.payload.size();
    s.end = pos;
    spans.push_back(s);
  }
  return spans;
}

std::vector<uint8_t> Frame(std::span<const uint8_t> body, std::optional<uint32_t> length) {
  std::vector<uint8_t> out;
  proto::AppendU32(&out, length.value_or(static_cast<uint32_t>(body.size())));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::vector<uint8_t> Frame(const RawBody& body) { return Frame(Encode(body)); }

std::vector<std::pair<std::string, RawBody>> GoodRequests() {
  using proto::Command;
  const std::vector<uint8_t> key = TwoDomains::Key7();
  // Two instructions: r0 = 0; exit. The fake backend accepts anything not starting "REJECT".
  const std::vector<uint8_t> insns = {0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0};
  return {
      {"LOAD_ELF", RawBody(Cmd(Command::kLoadElf), {Bytes("\x7f"
                                                          "ELF-obj"),
                                                    String("prog")})},
      {"LOAD_BYTECODE",
       RawBody(Cmd(Command::kLoadBytecode), {Bytes(insns), U32(3), String("GPL")})},
      {"UNLOAD", RawBody(Cmd(Command::kUnload), {U32(1)})},
      {"MAP_LOOKUP", RawBody(Cmd(Command::kMapLookup), {U32(1), Bytes(key)})},
      {"MAP_UPDATE", RawBody(Cmd(Command::kMapUpdate),
                             {U32(1), Bytes(key), Bytes(std::vector<uint8_t>(8, 0x5a)), U64(0)})},
      {"MAP_DELETE", RawBody(Cmd(Command::kMapDelete), {U32(1), Bytes(key)})},
      {"STATS", RawBody(Cmd(Command::kStats), {})},
      {"MAP_INFO", RawBody(Cmd(Command::kMapInfo), {U32(1)})},
  };
}

Decoded DecodeReplyFrame(std::vector<uint8_t> frame) {
  Decoded d;
  d.frame = std::move(frame);
  std::span<const uint8_t> body;
  if (!proto::SplitFrame(d.frame, &body).ok()) return d;
  d.strict = proto::DecodeReply(body, &d.reply).ok();
  if (d.strict) {
    d.ok = true;
    return d;
  }
  // An error reply whose command DecodeReply does not know: read status and message by hand.
  proto::Message m;
  if (!proto::DecodeMessage(body, &m).ok() || m.kind != proto::Kind::kReply ||
      m.arguments.size() != 2 || m.arguments[0].type != proto::Type::kI32 ||
      m.arguments[1].type != proto::Type::kString) {
    return d;
  }
  d.reply = proto::Reply{m.command, m.request_id, m.arguments[0].AsI32(), m.arguments[1].AsString(),
                         std::monostate{}};
  d.ok = d.reply.status < 0;
  return d;
}

const bpf::MacAddress TwoDomains::kMacOne = bpf::ParseMac("02:00:00:00:01:01");
const bpf::MacAddress TwoDomains::kMacTwo = bpf::ParseMac("02:00:00:00:02:01");

TwoDomains::TwoDomains(bpfd::Quotas quotas) : service(backend, quotas) {
  // Hundreds of requests per test: bpfd's info lines about each would drown the failures.
  log::SetLevel(log::Level::kWarn);
  service.AddDomain(kOne, kMacOne);
  service.AddDomain(kTwo, kMacTwo);
  for (const char* domain : {kOne, kTwo}) {
    const std::vector<uint8_t> object = {0x7f, 'E', 'L', 'F'};
    Decoded r = Send(domain, proto::LoadElfRequest{object, ""});
    if (!r.ok || r.reply.status != 0) {
      throw std::runtime_error(
          fmt::format("fixture: load in {} failed: {}", domain, r.reply.message));
    }
    const std::vector<uint8_t> key = Key7();
    const std::vector<uint8_t> value = ValueOf(domain);
    r = Send(domain, proto::MapUpdateRequest{1, key, value, 0});
    if (!r.ok || r.reply.status != 0) {
      throw std::runtime_error(
          fmt::format("fixture: update in {} failed: {}", domain, r.reply.message));
    }
  }
}

Decoded TwoDomains::Send(std::string_view domain, std::span<const uint8_t> frame) {
  return DecodeReplyFrame(service.HandleRequest(domain, frame));
}

Decoded TwoDomains::Send(std::string_view domain, const proto::RequestArgs& args,
                         uint32_t request_id) {
  std::vector<uint8_t> frame;
  const proto::Status s = proto::EncodeRequest({0, request_id, args}, &frame);
  if (!s.ok()) throw std::runtime_error("fixture: cannot encode: " + s.message);
  return Send(domain, frame);
}

std::vector<uint8_t> TwoDomains::ValueOf(std::string_view domain) {
  const uint8_t fill = domain == kOne ? 0x11 : 0x22;
  return std::vector<uint8_t>(8, fill);
}

std::vector<uint8_t> TwoDomains::Key7() { return {7, 0, 0, 0}; }

TwoDomains::Snapshot TwoDomains::Take() const {
  Snapshot s;
  const bpfd::DomainReport one = service.Report(kOne);
  const bpfd::DomainReport two = service.Report(kTwo);
  s.programs_one = one.programs;
  s.maps_one = one.maps;
  s.memory_one = one.map_memory;
  s.attached_one = one.attached_program;
  s.programs_two = two.programs;
  s.maps_two = two.maps;
  s.memory_two = two.map_memory;
  s.attached_two = two.attached_program;
  s.backend_one = backend.AttachedProgram(kMacOne);
  s.backend_two = backend.AttachedProgram(kMacTwo);
  s.live_programs = backend.live_programs();
  s.live_maps = backend.live_maps();
  s.loads = backend.loads();
  return s;
}

std::string TwoDomains::Healthy() {
  for (const char* domain : {kOne, kTwo}) {
    const Decoded r = Send(domain, proto::MapLookupRequest{1, Key7()}, 4242);
    if (!r.ok) return fmt::format("{}: the reply does not decode", domain);
    if (r.reply.request_id != 4242) return fmt::format("{}: reply has the wrong id", domain);
    if (r.reply.status != 0) {
      return fmt::format("{}: lookup failed: {} {}", domain, r.reply.status, r.reply.message);
    }
    const auto value = std::get<proto::MapLookupResult>(r.reply.result).value;
    if (std::vector<uint8_t>(value.begin(), value.end()) != ValueOf(domain)) {
      return fmt::format("{}: map 1 key 7 does not hold this domain's value", domain);
    }
  }
  return {};
}

}  // namespace nfb::offload::testing
