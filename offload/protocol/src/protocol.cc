#include "nfb/offload/protocol.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

namespace nfb::offload::proto {
namespace {

// One argument of a command's fixed list. `min`/`max` bound the payload of bytes and strings.
struct ArgSpec {
  Type type;
  const char* name;
  uint32_t min = 0;
  uint32_t max = 0;
  uint32_t multiple = 1;  // payload length must be a multiple of this
};

constexpr ArgSpec U32Arg(const char* name) { return {Type::kU32, name}; }
constexpr ArgSpec U64Arg(const char* name) { return {Type::kU64, name}; }
constexpr ArgSpec BytesArg(const char* name, uint32_t min, uint32_t max, uint32_t multiple = 1) {
  return {Type::kBytes, name, min, max, multiple};
}
constexpr ArgSpec StringArg(const char* name, uint32_t min, uint32_t max) {
  return {Type::kString, name, min, max};
}

struct CommandSpec {
  std::string_view name;
  std::vector<ArgSpec> request;
  std::vector<ArgSpec> results;  // after status and message; LOAD_ELF's map pairs are extra
};

const CommandSpec& Spec(uint16_t command) {
  static const std::array<CommandSpec, kLastCommand + 1> specs = {{
      {"UNKNOWN", {}, {}},
      {"LOAD_ELF",
       {BytesArg("object", 1, kMaxObjectSize), StringArg("program", 0, kMaxNameSize)},
       {U32Arg("program_id"), U32Arg("map_count")}},
      {"LOAD_BYTECODE",
       {BytesArg("insns", kInstructionSize, kMaxBytecodeSize, kInstructionSize),
        U32Arg("prog_type"), StringArg("license", 1, kMaxLicenseSize)},
       {U32Arg("program_id")}},
      {"UNLOAD", {U32Arg("program_id")}, {}},
      {"MAP_LOOKUP",
       {U32Arg("map_id"), BytesArg("key", 0, kMaxKeySize)},
       {BytesArg("value", 0, kMaxValueSize)}},
      {"MAP_UPDATE",
       {U32Arg("map_id"), BytesArg("key", 0, kMaxKeySize), BytesArg("value", 0, kMaxValueSize),
        U64Arg("flags")},
       {}},
      {"MAP_DELETE", {U32Arg("map_id"), BytesArg("key", 0, kMaxKeySize)}, {}},
      {"STATS",
       {},
       {U64Arg("packets"), U64Arg("bytes"), U64Arg("cpu_ns"), U64Arg("cost_ps"),
        StringArg("method", 0, kMaxNameSize)}},
      {"MAP_INFO",
       {U32Arg("map_id")},
       {U32Arg("map_type"), U32Arg("key_size"), U32Arg("value_size"), U32Arg("max_entries"),
        StringArg("name", 0, kMaxNameSize)}},
  }};
  if (command < kFirstCommand || command > kLastCommand) return specs[0];
  return specs[command];
}

bool KnownCommand(uint16_t command) { return command >= kFirstCommand && command <= kLastCommand; }

std::string_view TypeName(Type type) {
  switch (type) {
    case Type::kU32:
      return "u32";
    case Type::kU64:
      return "u64";
    case Type::kBytes:
      return "bytes";
    case Type::kString:
      return "string";
    case Type::kI32:
      return "i32";
  }
  return "?";
}

bool KnownType(uint8_t tag) { return tag >= 1 && tag <= 5; }

// Checks one argument against its spec; `role` names the list ("argument", "result") in errors.
Status CheckArg(const Argument& arg, const ArgSpec& spec, size_t index, std::string_view what) {
  if (arg.type != spec.type) {
    return Status::Error(EINVAL, fmt::format("{} {} ({}) must be {}, got {}", what, index,
                                             spec.name, TypeName(spec.type), TypeName(arg.type)));
  }
  if (spec.type == Type::kBytes || spec.type == Type::kString) {
    const size_t size = arg.data.size();
    if (size > spec.max) {
      return Status::Error(E2BIG, fmt::format("{} {} ({}) has {} bytes, the limit is {}", what,
                                              index, spec.name, size, spec.max));
    }
    if (size < spec.min) {
      return Status::Error(EINVAL, fmt::format("{} {} ({}) has {} bytes, at least {} needed", what,
                                               index, spec.name, size, spec.min));
    }
    if (size % spec.multiple != 0) {
      return Status::Error(EINVAL, fmt::format("{} {} ({}) has {} bytes, not a multiple of {}",
                                               what, index, spec.name, size, spec.multiple));
    }
  }
  return Status::Ok();
}

Status CheckArgs(std::span<const Argument> args, std::span<const ArgSpec> specs,
                 std::string_view what, size_t first_index) {
  for (size_t i = 0; i < specs.size(); ++i) {
    Status s = CheckArg(args[i], specs[i], first_index + i, what);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

std::string_view Text(const Argument& arg) { return arg.AsString(); }

}  // namespace

Status Status::Error(int errno_value, std::string message) {
  Status s;
  s.code = errno_value > 0 ? -errno_value : errno_value;
  if (s.code == 0) s.code = -EIO;  // an "error" without a code is still an error
  s.message = std::move(message);
  return s;
}

std::string_view CommandName(uint16_t command) { return Spec(command).name; }

Command CommandOf(const RequestArgs& args) { return static_cast<Command>(args.index() + 1); }

// --- little endian -----------------------------------------------------------------------------

void AppendU16(std::vector<uint8_t>* out, uint16_t v) {
  out->push_back(static_cast<uint8_t>(v));
  out->push_back(static_cast<uint8_t>(v >> 8));
}
void AppendU32(std::vector<uint8_t>* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void AppendU64(std::vector<uint8_t>* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}
uint16_t LoadU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t LoadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t LoadU64(const uint8_t* p) {
  return static_cast<uint64_t>(LoadU32(p)) | (static_cast<uint64_t>(LoadU32(p + 4)) << 32);
}

// --- frames --------------------------------------------------------------------------------------

Status CheckBodyLength(uint32_t length, uint32_t max_body) {
  if (length > max_body) {
    return Status::Error(
        EMSGSIZE, fmt::format("frame body of {} bytes exceeds the limit of {}", length, max_body));
  }
  if (length < kBodyHeaderSize) {
    return Status::Error(EBADMSG, fmt::format("frame body of {} bytes is shorter than the {}-byte "
                                              "header",
                                              length, kBodyHeaderSize));
  }
  return Status::Ok();
}

Status SplitFrame(std::span<const uint8_t> frame, std::span<const uint8_t>* body,
                  uint32_t max_body) {
  if (frame.size() < kFrameHeaderSize) {
    return Status::Error(
        EBADMSG, fmt::format("frame of {} bytes has no complete length prefix", frame.size()));
  }
  const uint32_t length = LoadU32(frame.data());
  Status s = CheckBodyLength(length, max_body);
  if (!s.ok()) return s;
  if (frame.size() - kFrameHeaderSize != length) {
    return Status::Error(EBADMSG, fmt::format("frame says {} body bytes but holds {}", length,
                                              frame.size() - kFrameHeaderSize));
  }
  *body = frame.subspan(kFrameHeaderSize);
  return Status::Ok();
}

// --- generic layer ------------------------------------------------------------------------------

Status DecodeMessage(std::span<const uint8_t> body, Message* out) {
  *out = Message{};
  out->version = 0;
  if (body.size() >= 2) {
    out->version = body[0];
    out->kind = static_cast<Kind>(body[1]);
  }
  if (body.size() >= 8) {
    out->command = LoadU16(body.data() + 2);
    out->request_id = LoadU32(body.data() + 4);
  }
  if (body.size() < kBodyHeaderSize) {
    return Status::Error(EBADMSG, fmt::format("body of {} bytes is shorter than the {}-byte header",
                                              body.size(), kBodyHeaderSize));
  }
  if (out->version != kVersion) {
    return Status::Error(EPROTONOSUPPORT, fmt::format("protocol version {} is not supported "
                                                      "(this end speaks {})",
                                                      out->version, kVersion));
  }
  if (body[1] != static_cast<uint8_t>(Kind::kRequest) &&
      body[1] != static_cast<uint8_t>(Kind::kReply)) {
    return Status::Error(EBADMSG, fmt::format("unknown message kind {}", body[1]));
  }
  const uint16_t count = LoadU16(body.data() + 8);
  if (count > kMaxArguments) {
    return Status::Error(EBADMSG,
                         fmt::format("{} arguments exceed the limit of {}", count, kMaxArguments));
  }
  // Each argument needs at least its header, so a count the body cannot hold is rejected before
  // anything is reserved for it.
  const size_t remaining = body.size() - kBodyHeaderSize;
  if (static_cast<size_t>(count) * kArgumentHeaderSize > remaining) {
    return Status::Error(EBADMSG,
                         fmt::format("{} arguments cannot fit in {} bytes", count, remaining));
  }
  out->arguments.reserve(count);
  size_t pos = kBodyHeaderSize;
  for (uint16_t i = 0; i < count; ++i) {
    if (body.size() - pos < kArgumentHeaderSize) {
      return Status::Error(EBADMSG, fmt::format("argument {} is truncated in its header", i));
    }
    const uint8_t tag = body[pos];
    const uint32_t length = LoadU32(body.data() + pos + 1);
    pos += kArgumentHeaderSize;
    if (!KnownType(tag)) {
      return Status::Error(EBADMSG, fmt::format("argument {} has unknown type {}", i, tag));
    }
    if (length > body.size() - pos) {
      return Status::Error(EBADMSG, fmt::format("argument {} claims {} bytes, {} left", i, length,
                                                body.size() - pos));
    }
    Argument arg;
    arg.type = static_cast<Type>(tag);
    const uint8_t* data = body.data() + pos;
    switch (arg.type) {
      case Type::kU32:
      case Type::kI32:
        if (length != 4) {
          return Status::Error(EBADMSG, fmt::format("argument {} ({}) has length {}, must be 4", i,
                                                    TypeName(arg.type), length));
        }
        arg.scalar = LoadU32(data);
        break;
      case Type::kU64:
        if (length != 8) {
          return Status::Error(
              EBADMSG, fmt::format("argument {} (u64) has length {}, must be 8", i, length));
        }
        arg.scalar = LoadU64(data);
        break;
      case Type::kString:
        if (std::memchr(data, 0, length) != nullptr) {
          return Status::Error(EBADMSG, fmt::format("argument {} (string) contains a NUL byte", i));
        }
        arg.data = body.subspan(pos, length);
        break;
      case Type::kBytes:
        arg.data = body.subspan(pos, length);
        break;
    }
    pos += length;
    out->arguments.push_back(arg);
  }
  if (pos != body.size()) {
    return Status::Error(EBADMSG,
                         fmt::format("{} bytes follow the last argument", body.size() - pos));
  }
  return Status::Ok();
}

Status EncodeMessage(const Message& message, std::vector<uint8_t>* frame) {
  if (message.arguments.size() > kMaxArguments) {
    return Status::Error(EBADMSG, fmt::format("{} arguments exceed the limit of {}",
                                              message.arguments.size(), kMaxArguments));
  }
  size_t body_size = kBodyHeaderSize;
  for (const Argument& arg : message.arguments) {
    size_t payload = 0;
    switch (arg.type) {
      case Type::kU32:
      case Type::kI32:
        payload = 4;
        break;
      case Type::kU64:
        payload = 8;
        break;
      case Type::kBytes:
      case Type::kString:
        payload = arg.data.size();
        break;
      default:
        return Status::Error(EBADMSG,
                             fmt::format("unknown argument type {}", static_cast<int>(arg.type)));
    }
    if (arg.type == Type::kString && !arg.data.empty() &&
        std::memchr(arg.data.data(), 0, arg.data.size()) != nullptr) {
      return Status::Error(EBADMSG, "a string argument contains a NUL byte");
    }
    body_size += kArgumentHeaderSize + payload;
    if (body_size > kMaxFrameBody) {
      return Status::Error(
          E2BIG, fmt::format("message exceeds the frame limit of {} bytes", kMaxFrameBody));
    }
  }
  const size_t start = frame->size();
  frame->reserve(start + kFrameHeaderSize + body_size);
  AppendU32(frame, static_cast<uint32_t>(body_size));
  frame->push_back(message.version);
  frame->push_back(static_cast<uint8_t>(message.kind));
  AppendU16(frame, message.command);
  AppendU32(frame, message.request_id);
  AppendU16(frame, static_cast<uint16_t>(message.arguments.size()));
  for (const Argument& arg : message.arguments) {
    frame->push_back(static_cast<uint8_t>(arg.type));
    switch (arg.type) {
      case Type::kU32:
      case Type::kI32:
        AppendU32(frame, 4);
        AppendU32(frame, static_cast<uint32_t>(arg.scalar));
        break;
      case Type::kU64:
        AppendU32(frame, 8);
        AppendU64(frame, arg.scalar);
        break;
      case Type::kBytes:
      case Type::kString:
        AppendU32(frame, static_cast<uint32_t>(arg.data.size()));
        frame->insert(frame->end(), arg.data.begin(), arg.data.end());
        break;
    }
  }
  return Status::Ok();
}

// --- requests ------------------------------------------------------------------------------------

Status DecodeRequest(std::span<const uint8_t> body, Request* out) {
  *out = Request{};
  Message m;
  Status s = DecodeMessage(body, &m);
  out->command = m.command;
  out->request_id = m.request_id;
  if (!s.ok()) return s;
  if (m.kind != Kind::kRequest) return Status::Error(EBADMSG, "a reply was sent as a request");
  if (m.request_id == 0) return Status::Error(EBADMSG, "request id 0 is reserved");
  if (!KnownCommand(m.command)) {
    return Status::Error(EBADRQC, fmt::format("unknown command {}", m.command));
  }
  const CommandSpec& spec = Spec(m.command);
  if (m.arguments.size() != spec.request.size()) {
    return Status::Error(EINVAL, fmt::format("{} takes {} arguments, got {}", spec.name,
                                             spec.request.size(), m.arguments.size()));
  }
  s = CheckArgs(m.arguments, spec.request, "argument", 0);
  if (!s.ok()) return s;
  const auto& a = m.arguments;
  switch (static_cast<Command>(m.command)) {
    case Command::kLoadElf:
      out->args = LoadElfRequest{a[0].data, Text(a[1])};
      break;
    case Command::kLoadBytecode:
      out->args = LoadBytecodeRequest{a[0].data, static_cast<uint32_t>(a[1].scalar), Text(a[2])};
      break;
    case Command::kUnload:
      out->args = UnloadRequest{static_cast<uint32_t>(a[0].scalar)};
      break;
    case Command::kMapLookup:
      out->args = MapLookupRequest{static_cast<uint32_t>(a[0].scalar), a[1].data};
      break;
    case Command::kMapUpdate:
      out->args =
          MapUpdateRequest{static_cast<uint32_t>(a[0].scalar), a[1].data, a[2].data, a[3].scalar};
      break;
    case Command::kMapDelete:
      out->args = MapDeleteRequest{static_cast<uint32_t>(a[0].scalar), a[1].data};
      break;
    case Command::kStats:
      out->args = StatsRequest{};
      break;
    case Command::kMapInfo:
      out->args = MapInfoRequest{static_cast<uint32_t>(a[0].scalar)};
      break;
  }
  return Status::Ok();
}

Status EncodeRequest(const Request& request, std::vector<uint8_t>* frame) {
  if (request.request_id == 0) return Status::Error(EINVAL, "request id 0 is reserved");
  Message m;
  m.kind = Kind::kRequest;
  m.command = static_cast<uint16_t>(CommandOf(request.args));
  m.request_id = request.request_id;
  std::visit(
      [&m](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        auto& a = m.arguments;
        if constexpr (std::is_same_v<T, LoadElfRequest>) {
          a = {Argument::Bytes(r.object), Argument::String(r.program)};
        } else if constexpr (std::is_same_v<T, LoadBytecodeRequest>) {
          a = {Argument::Bytes(r.insns), Argument::U32(r.prog_type), Argument::String(r.license)};
        } else if constexpr (std::is_same_v<T, UnloadRequest>) {
          a = {Argument::U32(r.program_id)};
        } else if constexpr (std::is_same_v<T, MapLookupRequest>) {
          a = {Argument::U32(r.map_id), Argument::Bytes(r.key)};
        } else if constexpr (std::is_same_v<T, MapUpdateRequest>) {
          a = {Argument::U32(r.map_id), Argument::Bytes(r.key), Argument::Bytes(r.value),
               Argument::U64(r.flags)};
        } else if constexpr (std::is_same_v<T, MapDeleteRequest>) {
          a = {Argument::U32(r.map_id), Argument::Bytes(r.key)};
        } else if constexpr (std::is_same_v<T, StatsRequest>) {
          a = {};
        } else if constexpr (std::is_same_v<T, MapInfoRequest>) {
          a = {Argument::U32(r.map_id)};
        }
      },
      request.args);
  Status s = CheckArgs(m.arguments, Spec(m.command).request, "argument", 0);
  if (!s.ok()) return s;
  return EncodeMessage(m, frame);
}

// --- replies -------------------------------------------------------------------------------------

Reply ErrorReply(uint16_t command, uint32_t request_id, const Status& error) {
  Reply r;
  r.command = command;
  r.request_id = request_id;
  r.status = error.ok() ? -EIO : error.code;
  r.message = error.message;
  return r;
}

Status DecodeReply(std::span<const uint8_t> body, Reply* out) {
  *out = Reply{};
  Message m;
  Status s = DecodeMessage(body, &m);
  out->command = m.command;
  out->request_id = m.request_id;
  if (!s.ok()) return s;
  if (m.kind != Kind::kReply) return Status::Error(EBADMSG, "a request was sent as a reply");
  const auto& a = m.arguments;
  if (a.size() < 2) {
    return Status::Error(
        EINVAL, fmt::format("a reply needs status and message, got {} arguments", a.size()));
  }
  static const std::array<ArgSpec, 2> kHead = {ArgSpec{Type::kI32, "status"},
                                               StringArg("message", 0, kMaxMessageSize)};
  s = CheckArgs(std::span(a).first(2), kHead, "result", 0);
  if (!s.ok()) return s;
  out->status = a[0].AsI32();
  out->message = Text(a[1]);
  if (out->status > 0) return Status::Error(EINVAL, "reply status must be 0 or negative");
  // An error reply echoes whatever command the request carried, known or not (0 when the request
  // was unreadable); a success must be for a known command.
  if (out->status != 0 || !KnownCommand(m.command)) {
    if (out->status == 0) {
      return Status::Error(EBADRQC, fmt::format("success reply to unknown command {}", m.command));
    }
    if (a.size() != 2) {
      return Status::Error(EINVAL, fmt::format("an error reply has 2 arguments, got {}", a.size()));
    }
    out->result = std::monostate{};
    return Status::Ok();
  }
  const CommandSpec& spec = Spec(m.command);
  std::span<const Argument> results = std::span(a).subspan(2);
  if (results.size() < spec.results.size()) {
    return Status::Error(EINVAL, fmt::format("{} reply needs {} results, got {}", spec.name,
                                             spec.results.size(), results.size()));
  }
  s = CheckArgs(results, spec.results, "result", 2);
  if (!s.ok()) return s;
  const size_t fixed = spec.results.size();
  if (m.command == static_cast<uint16_t>(Command::kLoadElf)) {
    const uint64_t map_count = results[1].scalar;
    if (map_count > kMaxMapsPerObject) {
      return Status::Error(
          EINVAL, fmt::format("{} maps exceed the limit of {}", map_count, kMaxMapsPerObject));
    }
    if (results.size() != fixed + 2 * map_count) {
      return Status::Error(EINVAL, fmt::format("LOAD_ELF reply with {} maps needs {} results, "
                                               "got {}",
                                               map_count, fixed + 2 * map_count, results.size()));
    }
    LoadElfResult r;
    r.program_id = static_cast<uint32_t>(results[0].scalar);
    r.maps.reserve(map_count);
    static const std::array<ArgSpec, 2> kPair = {StringArg("map_name", 0, kMaxNameSize),
                                                 U32Arg("map_id")};
    for (size_t i = 0; i < map_count; ++i) {
      s = CheckArgs(results.subspan(fixed + 2 * i, 2), kPair, "result", 2 + fixed + 2 * i);
      if (!s.ok()) return s;
      r.maps.push_back(
          {Text(results[fixed + 2 * i]), static_cast<uint32_t>(results[fixed + 2 * i + 1].scalar)});
    }
    out->result = std::move(r);
    return Status::Ok();
  }
  if (results.size() != fixed) {
    return Status::Error(
        EINVAL, fmt::format("{} reply has {} results, got {}", spec.name, fixed, results.size()));
  }
  switch (static_cast<Command>(m.command)) {
    case Command::kLoadBytecode:
      out->result = LoadBytecodeResult{static_cast<uint32_t>(results[0].scalar)};
      break;
    case Command::kUnload:
    case Command::kMapUpdate:
    case Command::kMapDelete:
      out->result = EmptyResult{};
      break;
    case Command::kMapLookup:
      out->result = MapLookupResult{results[0].data};
      break;
    case Command::kStats:
      out->result = StatsResult{results[0].scalar, results[1].scalar, results[2].scalar,
                                results[3].scalar, Text(results[4])};
      break;
    case Command::kMapInfo:
      out->result = MapInfoResult{static_cast<uint32_t>(results[0].scalar),
                                  static_cast<uint32_t>(results[1].scalar),
                                  static_cast<uint32_t>(results[2].scalar),
                                  static_cast<uint32_t>(results[3].scalar), Text(results[4])};
      break;
    case Command::kLoadElf:
      break;  // handled above
  }
  return Status::Ok();
}

Status EncodeReply(const Reply& reply, std::vector<uint8_t>* frame) {
  if (reply.status > 0) return Status::Error(EINVAL, "reply status must be 0 or negative");
  Message m;
  m.kind = Kind::kReply;
  m.command = reply.command;
  m.request_id = reply.request_id;
  std::string_view message = reply.message.substr(0, kMaxMessageSize);
  // A NUL would make the message undecodable; an error must still get through, so replace it.
  std::string cleaned;
  if (message.find('\0') != std::string_view::npos) {
    cleaned.assign(message);
    std::replace(cleaned.begin(), cleaned.end(), '\0', '?');
    message = cleaned;
  }
  m.arguments = {Argument::I32(reply.status), Argument::String(message)};
  if (reply.status != 0) return EncodeMessage(m, frame);

  auto& a = m.arguments;
  const auto mismatch = [&reply] {
    return Status::Error(
        EINVAL, fmt::format("reply result does not match command {}", CommandName(reply.command)));
  };
  const auto command = static_cast<Command>(reply.command);
  if (!KnownCommand(reply.command)) return mismatch();
  switch (command) {
    case Command::kLoadElf: {
      const auto* r = std::get_if<LoadElfResult>(&reply.result);
      if (r == nullptr) return mismatch();
      if (r->maps.size() > kMaxMapsPerObject) {
        return Status::Error(E2BIG, fmt::format("{} maps exceed the limit of {}", r->maps.size(),
                                                kMaxMapsPerObject));
      }
      a.push_back(Argument::U32(r->program_id));
      a.push_back(Argument::U32(static_cast<uint32_t>(r->maps.size())));
      for (const MapEntry& e : r->maps) {
        if (e.name.size() > kMaxNameSize) {
          return Status::Error(
              E2BIG, fmt::format("map name of {} bytes exceeds {}", e.name.size(), kMaxNameSize));
        }
        a.push_back(Argument::String(e.name));
        a.push_back(Argument::U32(e.map_id));
      }
      return EncodeMessage(m, frame);
    }
    case Command::kLoadBytecode: {
      const auto* r = std::get_if<LoadBytecodeResult>(&reply.result);
      if (r == nullptr) return mismatch();
      a.push_back(Argument::U32(r->program_id));
      break;
    }
    case Command::kUnload:
    case Command::kMapUpdate:
    case Command::kMapDelete:
      if (!std::holds_alternative<EmptyResult>(reply.result)) return mismatch();
      break;
    case Command::kMapLookup: {
      const auto* r = std::get_if<MapLookupResult>(&reply.result);
      if (r == nullptr) return mismatch();
      a.push_back(Argument::Bytes(r->value));
      break;
    }
    case Command::kStats: {
      const auto* r = std::get_if<StatsResult>(&reply.result);
      if (r == nullptr) return mismatch();
      a.insert(a.end(),
               {Argument::U64(r->packets), Argument::U64(r->bytes), Argument::U64(r->cpu_ns),
                Argument::U64(r->cost_ps), Argument::String(r->method)});
      break;
    }
    case Command::kMapInfo: {
      const auto* r = std::get_if<MapInfoResult>(&reply.result);
      if (r == nullptr) return mismatch();
      a.insert(a.end(), {Argument::U32(r->map_type), Argument::U32(r->key_size),
                         Argument::U32(r->value_size), Argument::U32(r->max_entries),
                         Argument::String(r->name)});
      break;
    }
  }
  Status s = CheckArgs(std::span(a).subspan(2), Spec(reply.command).results, "result", 2);
  if (!s.ok()) return s;
  return EncodeMessage(m, frame);
}

}  // namespace nfb::offload::proto
