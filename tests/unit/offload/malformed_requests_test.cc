// Hostile input through bpfd's request handling (OffloadService::HandleRequest, the seam the
// daemon feeds every frame through), with the in-memory backend: every field truncated at every
// byte, lengths of 0, huge and off by one, wrong type tags, wrong argument counts, unknown
// commands and versions, IDs never issued or owned by the other domain, wrong key/value sizes,
// quotas, oversized objects. Each request must get exactly the expected error, change nothing,
// and leave both domains served: after every one, each domain reads its own value back.
#include <fmt/core.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <string>
#include <vector>

#include "malformed_frames.h"
#include "nfb/offload/protocol.h"

namespace nfb::offload::testing {
namespace {

using proto::Command;
using ::testing::HasSubstr;
constexpr auto kOne = TwoDomains::kOne;
constexpr auto kTwo = TwoDomains::kTwo;

uint16_t Cmd(Command c) { return static_cast<uint16_t>(c); }
constexpr uint8_t kBytes = static_cast<uint8_t>(proto::Type::kBytes);
constexpr uint8_t kString = static_cast<uint8_t>(proto::Type::kString);
constexpr uint8_t kU32 = static_cast<uint8_t>(proto::Type::kU32);

// One hostile request and the exact answer expected.
struct Case {
  std::string name;
  std::vector<uint8_t> frame;
  int32_t status;        // negative errno
  std::string message;   // a substring of the reply's message
  uint16_t command = 0;  // echoed in the reply (0: the frame itself was unreadable)
  uint32_t request_id = 0;
  std::string domain = kOne;
  bool reaches_backend = false;  // the request gets as far as loading (and so counts a load)
};

// A case for a request body (honest frame length): the reply echoes its command and id.
Case BodyCase(std::string name, const RawBody& body, int errno_value, std::string message) {
  return {std::move(name),    Frame(body),  -errno_value,
          std::move(message), body.command, body.request_id};
}

// Sends the case and checks the reply, that nothing changed, and that both domains still answer.
void Check(TwoDomains& f, const Case& c) {
  SCOPED_TRACE(c.name);
  const TwoDomains::Snapshot before = f.Take();
  const Decoded r = f.Send(c.domain, c.frame);
  ASSERT_TRUE(r.ok) << "the error reply does not decode";
  // Replies to unknown commands echo a number DecodeReply does not know (see Decoded::strict).
  if (c.status != -EBADRQC) {
    EXPECT_TRUE(r.strict) << "DecodeReply refuses the reply";
  }
  EXPECT_EQ(r.reply.status, c.status) << r.reply.message;
  EXPECT_THAT(std::string(r.reply.message), HasSubstr(c.message));
  EXPECT_EQ(r.reply.command, c.command);
  EXPECT_EQ(r.reply.request_id, c.request_id);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(r.reply.result));
  TwoDomains::Snapshot after = f.Take();
  if (c.reaches_backend) after.loads = before.loads;
  EXPECT_TRUE(after == before) << "the failed request changed the service's state";
  EXPECT_EQ(f.Healthy(), "");
}

// The error DecodeMessage gives for a body cut after `cut` bytes whose header is intact and whose
// arguments are laid out as `layout` (see the checks listed at proto::DecodeMessage).
std::string TruncatedBodyMessage(const RawBody& body, size_t cut) {
  const size_t remaining = cut - proto::kBodyHeaderSize;
  const size_t count = body.args.size();
  if (count * proto::kArgumentHeaderSize > remaining) {
    return fmt::format("{} arguments cannot fit in {} bytes", count, remaining);
  }
  const std::vector<ArgSpan> layout = Layout(body);
  for (size_t i = 0; i < layout.size(); ++i) {
    if (cut >= layout[i].end) continue;
    if (cut < layout[i].header + proto::kArgumentHeaderSize) {
      return fmt::format("argument {} is truncated in its header", i);
    }
    return fmt::format("argument {} claims {} bytes, {} left", i, layout[i].length,
                       cut - layout[i].header - proto::kArgumentHeaderSize);
  }
  return "(not truncated)";
}

TEST(MalformedRequestsTest, BodyTruncatedAtEveryByteWithAnHonestLength) {
  TwoDomains f;
  int cases = 0;
  for (const auto& [name, body] : GoodRequests()) {
    const std::vector<uint8_t> bytes = Encode(body);
    for (size_t cut = 0; cut < bytes.size(); ++cut) {
      const std::span<const uint8_t> part(bytes.data(), cut);
      Case c{fmt::format("{} body cut to {} of {} bytes", name, cut, bytes.size()), Frame(part),
             -EBADMSG, ""};
      if (cut < proto::kBodyHeaderSize) {
        // The frame layer refuses it before the header is read: nothing to echo.
        c.message = fmt::format("frame body of {} bytes is shorter than the 10-byte header", cut);
      } else {
        c.message = TruncatedBodyMessage(body, cut);
        c.command = body.command;
        c.request_id = body.request_id;
      }
      Check(f, c);
      ++cases;
    }
  }
  RecordProperty("cases", cases);
  EXPECT_GT(cases, 200);
}

TEST(MalformedRequestsTest, FrameCutAtEveryByteKeepingItsLength) {
  TwoDomains f;
  int cases = 0;
  for (const auto& [name, body] : GoodRequests()) {
    const std::vector<uint8_t> frame = Frame(body);
    const size_t length = frame.size() - proto::kFrameHeaderSize;
    for (size_t cut = 0; cut < frame.size(); ++cut) {
      Case c{fmt::format("{} frame cut to {} of {} bytes", name, cut, frame.size()),
             std::vector<uint8_t>(frame.begin(), frame.begin() + cut), -EBADMSG, ""};
      c.message = cut < proto::kFrameHeaderSize
                      ? fmt::format("frame of {} bytes has no complete length prefix", cut)
                      : fmt::format("frame says {} body bytes but holds {}", length,
                                    cut - proto::kFrameHeaderSize);
      Check(f, c);
      ++cases;
    }
  }
  EXPECT_GT(cases, 200);
}

TEST(MalformedRequestsTest, FrameLengths) {
  TwoDomains f;
  const RawBody unload(Cmd(Command::kUnload), {U32(1)});
  const std::vector<uint8_t> body = Encode(unload);
  const size_t n = body.size();
  const uint32_t max = proto::kMaxFrameBody;
  // An object whose LOAD_ELF body is just over the frame limit.
  const RawBody huge(Cmd(Command::kLoadElf), {Filled(kBytes, max - 10 - 10 + 1), String("")});
  // And one exactly at it: the frame passes, the object is over its own limit.
  const RawBody at_limit(Cmd(Command::kLoadElf), {Filled(kBytes, max - 10 - 10), String("")});
  const std::vector<Case> cases = {
      {"length 0", Frame({}, 0), -EBADMSG, "frame body of 0 bytes is shorter than the 10-byte"},
      {"length 9 (header - 1)", Frame(std::span(body).first(9)), -EBADMSG,
       "frame body of 9 bytes is shorter than the 10-byte header"},
      {"length limit + 1", Frame(body, max + 1), -EMSGSIZE,
       fmt::format("frame body of {} bytes exceeds the limit of {}", max + 1, max)},
      {"length 2^32-1", Frame(body, 0xffffffffu), -EMSGSIZE,
       fmt::format("frame body of 4294967295 bytes exceeds the limit of {}", max)},
      {"length 2^31", Frame(body, 0x80000000u), -EMSGSIZE, "2147483648 bytes exceeds the limit"},
      {"length one more than the body", Frame(body, n + 1), -EBADMSG,
       fmt::format("frame says {} body bytes but holds {}", n + 1, n)},
      {"length one less than the body", Frame(body, n - 1), -EBADMSG,
       fmt::format("frame says {} body bytes but holds {}", n - 1, n)},
      {"LOAD_ELF body one byte over the frame limit", Frame(huge), -EMSGSIZE,
       fmt::format("frame body of {} bytes exceeds the limit of {}", max + 1, max)},
      {"LOAD_ELF body exactly at the frame limit", Frame(at_limit), -E2BIG,
       fmt::format("argument 0 (object) has {} bytes, the limit is 65536", max - 20),
       Cmd(Command::kLoadElf), 1},
  };
  for (const Case& c : cases) Check(f, c);
}

TEST(MalformedRequestsTest, HeaderFields) {
  TwoDomains f;
  const auto unload = [](RawBody b) {
    b.command = Cmd(Command::kUnload);
    if (b.args.empty()) b.args = {U32(1)};
    return b;
  };
  const uint16_t u = Cmd(Command::kUnload);
  std::vector<Case> cases = {
      BodyCase("version 0", unload(RawBody().Version(0)), EPROTONOSUPPORT,
               "protocol version 0 is not supported (this end speaks 1)"),
      BodyCase("version 2", unload(RawBody().Version(2)), EPROTONOSUPPORT,
               "protocol version 2 is not supported"),
      BodyCase("version 255", unload(RawBody().Version(255)), EPROTONOSUPPORT,
               "protocol version 255 is not supported"),
      BodyCase("kind 0", unload(RawBody().Kind(0)), EBADMSG, "unknown message kind 0"),
      BodyCase("kind 3", unload(RawBody().Kind(3)), EBADMSG, "unknown message kind 3"),
      BodyCase("kind 255", unload(RawBody().Kind(255)), EBADMSG, "unknown message kind 255"),
      BodyCase("a reply sent as a request", unload(RawBody().Kind(2)), EBADMSG,
               "a reply was sent as a request"),
      BodyCase("request id 0", unload(RawBody().Id(0)), EBADMSG, "request id 0 is reserved"),
      BodyCase("unknown command 0", RawBody(0, {}), EBADRQC, "unknown command 0"),
      BodyCase("unknown command 9", RawBody(9, {U32(1)}), EBADRQC, "unknown command 9"),
      BodyCase("unknown command 65535", RawBody(0xffff, {}), EBADRQC, "unknown command 65535"),
      BodyCase("argument count 65", RawBody(u, {}).Count(65), EBADMSG,
               "65 arguments exceed the limit of 64"),
      BodyCase("argument count 65535", RawBody(u, {}).Count(0xffff), EBADMSG,
               "65535 arguments exceed the limit of 64"),
      BodyCase("argument count 64 without arguments", RawBody(u, {}).Count(64), EBADMSG,
               "64 arguments cannot fit in 0 bytes"),
      BodyCase("count 3 for one argument", unload(RawBody().Count(3)), EBADMSG,
               "3 arguments cannot fit in 9 bytes"),
      BodyCase("count 2 for one argument and a stray byte",
               unload(RawBody().Count(2).Trailing({0})), EBADMSG,
               "argument 1 is truncated in its header"),
      BodyCase("count 0 with an argument", unload(RawBody().Count(0)), EBADMSG,
               "9 bytes follow the last argument"),
      BodyCase("bytes after the last argument", unload(RawBody().Trailing({1, 2})), EBADMSG,
               "2 bytes follow the last argument"),
  };
  // The reply echoes the version-independent header fields it could read.
  for (Case& c : cases) Check(f, c);
}

TEST(MalformedRequestsTest, ArgumentEncodings) {
  TwoDomains f;
  const std::vector<uint8_t> key = TwoDomains::Key7();
  const uint16_t lookup = Cmd(Command::kMapLookup);
  const uint16_t update = Cmd(Command::kMapUpdate);
  const auto with_length = [](RawArg a, uint32_t length) {
    a.length = length;
    return a;
  };
  const std::vector<uint8_t> value(8, 0x33);
  const std::vector<Case> cases = {
      BodyCase("type tag 0", RawBody(lookup, {Filled(0, 4), Bytes(key)}), EBADMSG,
               "argument 0 has unknown type 0"),
      BodyCase("type tag 6", RawBody(lookup, {Filled(6, 4), Bytes(key)}), EBADMSG,
               "argument 0 has unknown type 6"),
      BodyCase("type tag 255", RawBody(lookup, {U32(1), Filled(255, 4)}), EBADMSG,
               "argument 1 has unknown type 255"),
      BodyCase("u32 of length 0", RawBody(lookup, {Filled(kU32, 0), Bytes(key)}), EBADMSG,
               "argument 0 (u32) has length 0, must be 4"),
      BodyCase("u32 of length 3", RawBody(lookup, {Filled(kU32, 3), Bytes(key)}), EBADMSG,
               "argument 0 (u32) has length 3, must be 4"),
      BodyCase("u32 of length 5", RawBody(lookup, {Filled(kU32, 5), Bytes(key)}), EBADMSG,
               "argument 0 (u32) has length 5, must be 4"),
      BodyCase("i32 of length 2",
               RawBody(lookup, {Filled(static_cast<uint8_t>(proto::Type::kI32), 2)}), EBADMSG,
               "argument 0 (i32) has length 2, must be 4"),
      BodyCase("u64 of length 7",
               RawBody(update, {U32(1), Bytes(key), Bytes(value),
                                Filled(static_cast<uint8_t>(proto::Type::kU64), 7, 0)}),
               EBADMSG, "argument 3 (u64) has length 7, must be 8"),
      BodyCase("u64 of length 9",
               RawBody(update, {U32(1), Bytes(key), Bytes(value),
                                Filled(static_cast<uint8_t>(proto::Type::kU64), 9, 0)}),
               EBADMSG, "argument 3 (u64) has length 9, must be 8"),
      BodyCase("length 2^32-1", RawBody(lookup, {U32(1), with_length(Bytes(key), 0xffffffffu)}),
               EBADMSG, "argument 1 claims 4294967295 bytes, 4 left"),
      BodyCase("length one over the payload", RawBody(lookup, {U32(1), with_length(Bytes(key), 5)}),
               EBADMSG, "argument 1 claims 5 bytes, 4 left"),
      BodyCase("last length one under the payload",
               RawBody(lookup, {U32(1), with_length(Bytes(key), 3)}), EBADMSG,
               "1 bytes follow the last argument"),
      // The next header then starts on the key's last byte (0): an unknown type.
      BodyCase("middle length one under the payload",
               RawBody(update, {U32(1), with_length(Bytes(key), 3), Bytes(value), U64(0)}), EBADMSG,
               "argument 2 has unknown type 0"),
      BodyCase("string with a NUL byte",
               RawBody(Cmd(Command::kLoadElf), {Bytes("obj"), String({"pr\0g", 4})}), EBADMSG,
               "argument 1 (string) contains a NUL byte"),
  };
  for (const Case& c : cases) Check(f, c);
}

TEST(MalformedRequestsTest, ArgumentListsOfEachCommand) {
  TwoDomains f;
  const std::vector<uint8_t> key = TwoDomains::Key7();
  const std::vector<uint8_t> value(8, 0x33);
  const std::vector<uint8_t> insns(16, 0);
  const auto c = [](Command command, std::vector<RawArg> args) {
    return RawBody(Cmd(command), std::move(args));
  };
  const std::vector<Case> cases = {
      // Counts.
      BodyCase("LOAD_ELF without arguments", c(Command::kLoadElf, {}), EINVAL,
               "LOAD_ELF takes 2 arguments, got 0"),
      BodyCase("LOAD_ELF with 1", c(Command::kLoadElf, {Bytes("obj")}), EINVAL,
               "LOAD_ELF takes 2 arguments, got 1"),
      BodyCase("LOAD_ELF with 3", c(Command::kLoadElf, {Bytes("obj"), String(""), U32(0)}), EINVAL,
               "LOAD_ELF takes 2 arguments, got 3"),
      BodyCase("LOAD_BYTECODE with 2", c(Command::kLoadBytecode, {Bytes(insns), U32(3)}), EINVAL,
               "LOAD_BYTECODE takes 3 arguments, got 2"),
      BodyCase("UNLOAD without arguments", c(Command::kUnload, {}), EINVAL,
               "UNLOAD takes 1 arguments, got 0"),
      BodyCase("UNLOAD with 2", c(Command::kUnload, {U32(1), U32(1)}), EINVAL,
               "UNLOAD takes 1 arguments, got 2"),
      BodyCase("MAP_LOOKUP with 1", c(Command::kMapLookup, {U32(1)}), EINVAL,
               "MAP_LOOKUP takes 2 arguments, got 1"),
      BodyCase("MAP_UPDATE with 3", c(Command::kMapUpdate, {U32(1), Bytes(key), Bytes(value)}),
               EINVAL, "MAP_UPDATE takes 4 arguments, got 3"),
      BodyCase("MAP_UPDATE with 5",
               c(Command::kMapUpdate, {U32(1), Bytes(key), Bytes(value), U64(0), U64(0)}), EINVAL,
               "MAP_UPDATE takes 4 arguments, got 5"),
      BodyCase("MAP_DELETE with 3", c(Command::kMapDelete, {U32(1), Bytes(key), Bytes(key)}),
               EINVAL, "MAP_DELETE takes 2 arguments, got 3"),
      BodyCase("STATS with 1", c(Command::kStats, {U32(0)}), EINVAL,
               "STATS takes 0 arguments, got 1"),
      BodyCase("MAP_INFO without arguments", c(Command::kMapInfo, {}), EINVAL,
               "MAP_INFO takes 1 arguments, got 0"),
      // Types.
      BodyCase("LOAD_ELF object as a string", c(Command::kLoadElf, {String("obj"), String("")}),
               EINVAL, "argument 0 (object) must be bytes, got string"),
      BodyCase("LOAD_ELF program as bytes", c(Command::kLoadElf, {Bytes("obj"), Bytes("p")}),
               EINVAL, "argument 1 (program) must be string, got bytes"),
      BodyCase("LOAD_BYTECODE prog_type as u64",
               c(Command::kLoadBytecode, {Bytes(insns), U64(3), String("GPL")}), EINVAL,
               "argument 1 (prog_type) must be u32, got u64"),
      BodyCase("UNLOAD id as a string", c(Command::kUnload, {String("1")}), EINVAL,
               "argument 0 (program_id) must be u32, got string"),
      BodyCase("UNLOAD id as i32", c(Command::kUnload, {I32(1)}), EINVAL,
               "argument 0 (program_id) must be u32, got i32"),
      BodyCase("UNLOAD id as u64", c(Command::kUnload, {U64(1)}), EINVAL,
               "argument 0 (program_id) must be u32, got u64"),
      BodyCase("MAP_LOOKUP key as a string", c(Command::kMapLookup, {U32(1), String("k")}), EINVAL,
               "argument 1 (key) must be bytes, got string"),
      BodyCase("MAP_UPDATE flags as u32",
               c(Command::kMapUpdate, {U32(1), Bytes(key), Bytes(value), U32(0)}), EINVAL,
               "argument 3 (flags) must be u64, got u32"),
      BodyCase("MAP_INFO id as bytes", c(Command::kMapInfo, {Bytes(key)}), EINVAL,
               "argument 0 (map_id) must be u32, got bytes"),
      // Sizes against the protocol's limits.
      BodyCase("empty object", c(Command::kLoadElf, {Bytes(""), String("")}), EINVAL,
               "argument 0 (object) has 0 bytes, at least 1 needed"),
      BodyCase("object one byte over", c(Command::kLoadElf, {Filled(kBytes, 65537), String("")}),
               E2BIG, "argument 0 (object) has 65537 bytes, the limit is 65536"),
      BodyCase("program name one byte over",
               c(Command::kLoadElf, {Bytes("obj"), Filled(kString, 257)}), E2BIG,
               "argument 1 (program) has 257 bytes, the limit is 256"),
      BodyCase("empty bytecode", c(Command::kLoadBytecode, {Bytes(""), U32(3), String("GPL")}),
               EINVAL, "argument 0 (insns) has 0 bytes, at least 8 needed"),
      BodyCase("bytecode of 7 bytes",
               c(Command::kLoadBytecode, {Filled(kBytes, 7), U32(3), String("GPL")}), EINVAL,
               "argument 0 (insns) has 7 bytes, at least 8 needed"),
      BodyCase("bytecode of 9 bytes",
               c(Command::kLoadBytecode, {Filled(kBytes, 9), U32(3), String("GPL")}), EINVAL,
               "argument 0 (insns) has 9 bytes, not a multiple of 8"),
      BodyCase("bytecode one instruction over",
               c(Command::kLoadBytecode, {Filled(kBytes, 32768 + 8), U32(3), String("GPL")}), E2BIG,
               "argument 0 (insns) has 32776 bytes, the limit is 32768"),
      BodyCase("empty license", c(Command::kLoadBytecode, {Bytes(insns), U32(3), String("")}),
               EINVAL, "argument 2 (license) has 0 bytes, at least 1 needed"),
      BodyCase("license one byte over",
               c(Command::kLoadBytecode, {Bytes(insns), U32(3), Filled(kString, 129)}), E2BIG,
               "argument 2 (license) has 129 bytes, the limit is 128"),
      BodyCase("key one byte over", c(Command::kMapLookup, {U32(1), Filled(kBytes, 513)}), E2BIG,
               "argument 1 (key) has 513 bytes, the limit is 512"),
      BodyCase("value one byte over",
               c(Command::kMapUpdate, {U32(1), Bytes(key), Filled(kBytes, 32769), U64(0)}), E2BIG,
               "argument 2 (value) has 32769 bytes, the limit is 32768"),
  };
  for (const Case& c : cases) Check(f, c);
}

TEST(MalformedRequestsTest, IdsKeysValuesAndFlagsAgainstTheDomainsObjects) {
  TwoDomains f;
  const std::vector<uint8_t> key = TwoDomains::Key7();
  const std::vector<uint8_t> value(8, 0x33);
  const auto c = [](Command command, std::vector<RawArg> args) {
    return RawBody(Cmd(command), std::move(args));
  };
  const std::vector<Case> cases = {
      // IDs never issued in this domain (nor anywhere).
      BodyCase("UNLOAD 2", c(Command::kUnload, {U32(2)}), ENOENT, "no program with id 2"),
      BodyCase("UNLOAD 0", c(Command::kUnload, {U32(0)}), ENOENT, "no program with id 0"),
      BodyCase("UNLOAD 2^32-1", c(Command::kUnload, {U32(0xffffffffu)}), ENOENT,
               "no program with id 4294967295"),
      BodyCase("MAP_LOOKUP map 3", c(Command::kMapLookup, {U32(3), Bytes(key)}), ENOENT,
               "no map with id 3"),
      BodyCase("MAP_LOOKUP map 0", c(Command::kMapLookup, {U32(0), Bytes(key)}), ENOENT,
               "no map with id 0"),
      BodyCase("MAP_UPDATE map 99",
               c(Command::kMapUpdate, {U32(99), Bytes(key), Bytes(value), U64(0)}), ENOENT,
               "no map with id 99"),
      BodyCase("MAP_DELETE map 2^32-1", c(Command::kMapDelete, {U32(0xffffffffu), Bytes(key)}),
               ENOENT, "no map with id 4294967295"),
      BodyCase("MAP_INFO map 3", c(Command::kMapInfo, {U32(3)}), ENOENT, "no map with id 3"),
      // Key and value sizes against map 1 (4-byte keys, 8-byte values).
      BodyCase("lookup key 3 bytes", c(Command::kMapLookup, {U32(1), Filled(kBytes, 3)}), EINVAL,
               "map 1 takes 4-byte keys, got 3 bytes"),
      BodyCase("lookup key 5 bytes", c(Command::kMapLookup, {U32(1), Filled(kBytes, 5)}), EINVAL,
               "map 1 takes 4-byte keys, got 5 bytes"),
      BodyCase("lookup key 0 bytes", c(Command::kMapLookup, {U32(1), Bytes("")}), EINVAL,
               "map 1 takes 4-byte keys, got 0 bytes"),
      BodyCase("lookup key 512 bytes", c(Command::kMapLookup, {U32(1), Filled(kBytes, 512)}),
               EINVAL, "map 1 takes 4-byte keys, got 512 bytes"),
      BodyCase("delete key 8 bytes", c(Command::kMapDelete, {U32(1), Filled(kBytes, 8)}), EINVAL,
               "map 1 takes 4-byte keys, got 8 bytes"),
      BodyCase("update key 3 bytes",
               c(Command::kMapUpdate, {U32(1), Filled(kBytes, 3), Bytes(value), U64(0)}), EINVAL,
               "map 1 takes 4-byte keys, got 3 bytes"),
      BodyCase("update value 7 bytes",
               c(Command::kMapUpdate, {U32(1), Bytes(key), Filled(kBytes, 7), U64(0)}), EINVAL,
               "map 1 takes 8-byte values, got 7 bytes"),
      BodyCase("update value 9 bytes",
               c(Command::kMapUpdate, {U32(1), Bytes(key), Filled(kBytes, 9), U64(0)}), EINVAL,
               "map 1 takes 8-byte values, got 9 bytes"),
      BodyCase("update value 0 bytes",
               c(Command::kMapUpdate, {U32(1), Bytes(key), Bytes(""), U64(0)}), EINVAL,
               "map 1 takes 8-byte values, got 0 bytes"),
      BodyCase("update value 32768 bytes",
               c(Command::kMapUpdate, {U32(1), Bytes(key), Filled(kBytes, 32768), U64(0)}), EINVAL,
               "map 1 takes 8-byte values, got 32768 bytes"),
      // Flags.
      BodyCase("update flags 3", c(Command::kMapUpdate, {U32(1), Bytes(key), Bytes(value), U64(3)}),
               EINVAL, "update flags 0x3"),
      BodyCase("update flags BPF_F_LOCK",
               c(Command::kMapUpdate, {U32(1), Bytes(key), Bytes(value), U64(BPF_F_LOCK)}), EINVAL,
               "update flags 0x4"),
      BodyCase("update flags 2^64-1",
               c(Command::kMapUpdate, {U32(1), Bytes(key), Bytes(value), U64(~0ull)}), EINVAL,
               "update flags 0xffffffffffffffff"),
      BodyCase("NOEXIST on an existing key",
               c(Command::kMapUpdate, {U32(1), Bytes(key), Bytes(value), U64(BPF_NOEXIST)}), EEXIST,
               "update in map 1"),
      BodyCase("EXIST on a missing key",
               c(Command::kMapUpdate, {U32(1), Bytes({9, 0, 0, 0}), Bytes(value), U64(BPF_EXIST)}),
               ENOENT, "update in map 1"),
      // What the "kernel" refuses, passed through.
      BodyCase("lookup of a missing key", c(Command::kMapLookup, {U32(1), Bytes({9, 0, 0, 0})}),
               ENOENT, "lookup in map 1"),
      BodyCase("delete from an array", c(Command::kMapDelete, {U32(2), Bytes({0, 0, 0, 0})}),
               EINVAL, "delete in map 2"),
      BodyCase("update past an array's end",
               c(Command::kMapUpdate, {U32(2), Bytes({1, 0, 0, 0}), Bytes(value), U64(0)}), E2BIG,
               "update in map 2"),
      BodyCase(
          "bytecode of another program type",
          c(Command::kLoadBytecode, {Filled(kBytes, 16, 0), U32(BPF_PROG_TYPE_XDP), String("GPL")}),
          EINVAL, "program type 6 cannot run behind the dispatcher"),
      BodyCase("object bpfd's verifier refuses",
               c(Command::kLoadElf, {Bytes("REJECT"), String("")}), EACCES,
               "bpf_tail_call is not allowed"),
      BodyCase("object the kernel refuses",
               c(Command::kLoadElf, {Bytes("KERNEL-FAIL"), String("")}), EINVAL,
               "R1 invalid mem access"),
      BodyCase("bytecode bpfd's verifier refuses",
               c(Command::kLoadBytecode,
                 {Bytes({'R', 'E', 'J', 'E', 'C', 'T', 0, 0}), U32(3), String("GPL")}),
               EACCES, "helper #12 not allowed"),
  };
  for (const Case& c : cases) Check(f, c);

  // A domain bpfd does not know gets nothing but a refusal.
  Case stranger = BodyCase("unregistered domain", c(Command::kStats, {}), ENODEV,
                           "this domain is not registered with bpfd");
  stranger.domain = "domu9";
  Check(f, stranger);
}

TEST(MalformedRequestsTest, LimitsAreInclusive) {
  // The largest legal object and bytecode are accepted (and then unloaded again).
  TwoDomains f;
  const auto load = [&f](const RawBody& body) {
    const Decoded r = f.Send(kOne, Frame(body));
    EXPECT_TRUE(r.strict);
    EXPECT_EQ(r.reply.status, 0) << r.reply.message;
  };
  load(RawBody(Cmd(Command::kLoadElf),
               {Filled(kBytes, proto::kMaxObjectSize), Filled(kString, proto::kMaxNameSize)}));
  load(RawBody(Cmd(Command::kLoadBytecode),
               {Filled(kBytes, proto::kMaxBytecodeSize, 0), U32(BPF_PROG_TYPE_SCHED_CLS),
                Filled(kString, proto::kMaxLicenseSize)}));
  for (uint32_t id : {2u, 3u}) {
    EXPECT_EQ(f.Send(kOne, proto::UnloadRequest{id}).reply.status, 0);
  }
  EXPECT_EQ(f.Healthy(), "");
}

// --- quotas --------------------------------------------------------------------------------------

TEST(MalformedRequestsTest, ProgramQuotaExhausted) {
  TwoDomains f;  // one program each; the default quota is 4
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(f.Send(kOne, proto::LoadElfRequest{std::vector<uint8_t>{1}, ""}).reply.status, 0);
  }
  const RawBody elf(Cmd(Command::kLoadElf), {Bytes("obj"), String("")});
  const RawBody bytecode(Cmd(Command::kLoadBytecode),
                         {Filled(kBytes, 16, 0), U32(3), String("GPL")});
  Check(f, BodyCase("fifth ELF program", elf, EDQUOT,
                    "quota: 4 programs loaded, the limit is 4; unload one first"));
  Check(f, BodyCase("fifth program as bytecode", bytecode, EDQUOT,
                    "quota: 4 programs loaded, the limit is 4"));
  // The other domain's quota is its own.
  EXPECT_EQ(f.Send(kTwo, proto::LoadElfRequest{std::vector<uint8_t>{1}, ""}).reply.status, 0);
  // And freeing one makes room again.
  EXPECT_EQ(f.Send(kOne, proto::UnloadRequest{4}).reply.status, 0);
  EXPECT_EQ(f.Send(kOne, proto::LoadElfRequest{std::vector<uint8_t>{1}, ""}).reply.status, 0);
}

TEST(MalformedRequestsTest, MapQuotaExhausted) {
  bpfd::Quotas quotas;
  quotas.max_maps = 3;  // the fixture uses 2 in each domain
  TwoDomains f(quotas);
  const RawBody elf(Cmd(Command::kLoadElf), {Bytes("obj"), String("")});
  Check(f, BodyCase("two more maps with one left", elf, EDQUOT, "1 maps and"));
}

TEST(MalformedRequestsTest, MapMemoryQuotaExhausted) {
  // The fixture's object charges 16 x (8 + 8) + 1 x (8 + 8) = 272 bytes.
  bpfd::Quotas quotas;
  quotas.max_map_memory = 272 + 100;
  TwoDomains f(quotas);
  const RawBody elf(Cmd(Command::kLoadElf), {Bytes("obj"), String("")});
  Check(f, BodyCase("272 more bytes with 100 left", elf, EDQUOT, "14 maps and 100 bytes left"));
  // One map far over the default quota, for a domain that has used nothing yet.
  TwoDomains g;
  g.backend.elf_maps = {bpfd::testing::DescribeMap("huge", BPF_MAP_TYPE_HASH, 4, 32768, 1 << 20)};
  Check(g, BodyCase("a 32 GiB hash map", elf, EDQUOT, "quota"));
}

TEST(MalformedRequestsTest, NoFreeDispatcherSlot) {
  TwoDomains f;
  f.backend.max_slots = 2;  // both taken by the fixture's domains
  f.service.AddDomain("domu3", bpf::ParseMac("02:00:00:00:03:01"));
  const RawBody elf(Cmd(Command::kLoadElf), {Bytes("obj"), String("")});
  Case c = BodyCase("third domain, two slots", elf, ENOSPC, "no free dispatcher slot");
  c.domain = "domu3";
  c.reaches_backend = true;
  Check(f, c);
  // What the failed attach loaded was released.
  EXPECT_EQ(f.service.Report("domu3").programs, 0u);
}

}  // namespace
}  // namespace nfb::offload::testing
