// The XenBPF wire protocol (offload/protocol, docs/offload-protocol.md): round trips of every
// request and reply, the incremental decoder, and the rejection of bad frames and bodies.
#include "nfb/offload/protocol.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "nfb/offload/frame_decoder.h"

namespace nfb::offload::proto {
namespace {

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

std::span<const uint8_t> Body(const std::vector<uint8_t>& frame) {
  std::span<const uint8_t> body;
  const Status s = SplitFrame(frame, &body);
  EXPECT_TRUE(s.ok()) << s.message;
  return body;
}

Request RoundTrip(const Request& in, std::vector<uint8_t>* frame) {
  frame->clear();
  const Status e = EncodeRequest(in, frame);
  EXPECT_TRUE(e.ok()) << e.message;
  Request out;
  const Status d = DecodeRequest(Body(*frame), &out);
  EXPECT_TRUE(d.ok()) << d.message;
  EXPECT_EQ(out.request_id, in.request_id);
  EXPECT_EQ(out.command, static_cast<uint16_t>(CommandOf(in.args)));
  EXPECT_EQ(out.args.index(), in.args.index());
  return out;
}

bool Same(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// ---- the annotated example of docs/offload-protocol.md, byte for byte
// ----------------------------

TEST(ProtocolTest, DocumentedExampleIsExact) {
  // MAP_LOOKUP(map 1, key 00 00 00 00) with request id 7.
  std::vector<uint8_t> frame;
  const uint8_t key[4] = {0, 0, 0, 0};
  ASSERT_TRUE(EncodeRequest({0, 7, MapLookupRequest{1, key}}, &frame).ok());
  const std::vector<uint8_t> expected = {
      0x1c, 0x00, 0x00, 0x00,                                // body length 28
      0x01,                                                  // version 1
      0x01,                                                  // kind request
      0x04, 0x00,                                            // command MAP_LOOKUP
      0x07, 0x00, 0x00, 0x00,                                // request id 7
      0x02, 0x00,                                            // 2 arguments
      0x01, 0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,  // u32 map_id = 1
      0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // bytes key (4)
  };
  EXPECT_EQ(frame, expected);

  // Its reply: status 0, empty message, an 8-byte value.
  const uint8_t value[8] = {0x2a, 0, 0, 0, 0, 0, 0, 0};
  std::vector<uint8_t> reply;
  ASSERT_TRUE(EncodeReply({4, 7, 0, "", MapLookupResult{value}}, &reply).ok());
  const std::vector<uint8_t> expected_reply = {
      0x25, 0x00, 0x00, 0x00,                                            // body length 37
      0x01, 0x02,                                                        // version 1, kind reply
      0x04, 0x00,                                                        // MAP_LOOKUP
      0x07, 0x00, 0x00, 0x00,                                            // request id 7
      0x03, 0x00,                                                        // 3 arguments
      0x05, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,              // i32 status 0
      0x04, 0x00, 0x00, 0x00, 0x00,                                      // string message ""
      0x03, 0x08, 0x00, 0x00, 0x00, 0x2a, 0,    0,    0,    0, 0, 0, 0,  // bytes value
  };
  EXPECT_EQ(reply, expected_reply);
}

std::vector<uint8_t> Hex(std::string_view text) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < text.size();) {
    if (text[i] == ' ' || text[i] == '\n') {
      ++i;
      continue;
    }
    out.push_back(static_cast<uint8_t>(std::stoul(std::string(text.substr(i, 2)), nullptr, 16)));
    i += 2;
  }
  return out;
}

TEST(ProtocolTest, DocumentedReplyAndBytecodeExamplesAreExact) {
  std::vector<uint8_t> frame;
  ASSERT_TRUE(
      EncodeReply({1, 1, 0, "", LoadElfResult{1, {{"icmp_echo_stats", 1}, {".rodata", 2}}}}, &frame)
          .ok());
  EXPECT_EQ(frame, Hex("5c 00 00 00 01 02 01 00 01 00 00 00 08 00 05 04 00 00 00 00 00 00 00 04 00 "
                       "00 00 00 01 04 00 00 00 01 00 00 00 01 04 00 00 00 02 00 00 00 04 0f 00 00 "
                       "00 69 63 6d 70 5f 65 63 68 6f 5f 73 74 61 74 73 01 04 00 00 00 01 00 00 00 "
                       "04 07 00 00 00 2e 72 6f 64 61 74 61 01 04 00 00 00 02 00 00 00"));
  frame.clear();
  ASSERT_TRUE(EncodeReply({4, 8, -ENOENT, "no map with id 9", std::monostate{}}, &frame).ok());
  EXPECT_EQ(frame, Hex("28 00 00 00 01 02 04 00 08 00 00 00 02 00 05 04 00 00 00 fe ff ff ff 04 10 "
                       "00 00 00 6e 6f 20 6d 61 70 20 77 69 74 68 20 69 64 20 39"));
  frame.clear();
  const uint8_t insns[16] = {0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0};
  ASSERT_TRUE(EncodeRequest({0, 3, LoadBytecodeRequest{insns, 3, "GPL"}}, &frame).ok());
  EXPECT_EQ(frame, Hex("30 00 00 00 01 01 02 00 03 00 00 00 03 00 03 10 00 00 00 b7 00 00 00 00 00 "
                       "00 00 95 00 00 00 00 00 00 00 01 04 00 00 00 03 00 00 00 04 03 00 00 00 47 "
                       "50 4c"));
}

// ---- requests -----------------------------------------------------------------------------------

TEST(ProtocolTest, EveryRequestRoundTrips) {
  const std::vector<uint8_t> object = Bytes(
      "\x7f"
      "ELF fake object");
  std::vector<uint8_t> insns(16, 0x11);
  const std::vector<uint8_t> key = Bytes("kkkk");
  const std::vector<uint8_t> value = Bytes("vvvvvvvv");
  std::vector<uint8_t> frame;

  Request r = RoundTrip({0, 1, LoadElfRequest{object, "icmp_echo_tc"}}, &frame);
  const auto& elf = std::get<LoadElfRequest>(r.args);
  EXPECT_TRUE(Same(elf.object, object));
  EXPECT_EQ(elf.program, "icmp_echo_tc");

  r = RoundTrip({0, 2, LoadBytecodeRequest{insns, 3, "GPL"}}, &frame);
  const auto& bc = std::get<LoadBytecodeRequest>(r.args);
  EXPECT_TRUE(Same(bc.insns, insns));
  EXPECT_EQ(bc.prog_type, 3u);
  EXPECT_EQ(bc.license, "GPL");

  r = RoundTrip({0, 3, UnloadRequest{42}}, &frame);
  EXPECT_EQ(std::get<UnloadRequest>(r.args).program_id, 42u);

  r = RoundTrip({0, 4, MapLookupRequest{5, key}}, &frame);
  EXPECT_EQ(std::get<MapLookupRequest>(r.args).map_id, 5u);
  EXPECT_TRUE(Same(std::get<MapLookupRequest>(r.args).key, key));

  r = RoundTrip({0, 5, MapUpdateRequest{6, key, value, 2}}, &frame);
  const auto& up = std::get<MapUpdateRequest>(r.args);
  EXPECT_EQ(up.map_id, 6u);
  EXPECT_TRUE(Same(up.key, key));
  EXPECT_TRUE(Same(up.value, value));
  EXPECT_EQ(up.flags, 2u);

  r = RoundTrip({0, 6, MapDeleteRequest{7, key}}, &frame);
  EXPECT_EQ(std::get<MapDeleteRequest>(r.args).map_id, 7u);

  r = RoundTrip({0, 0xfffffffe, StatsRequest{}}, &frame);
  EXPECT_EQ(r.request_id, 0xfffffffeu);

  r = RoundTrip({0, 9, MapInfoRequest{8}}, &frame);
  EXPECT_EQ(std::get<MapInfoRequest>(r.args).map_id, 8u);
}

TEST(ProtocolTest, LimitsAreInclusive) {
  std::vector<uint8_t> frame;
  const std::vector<uint8_t> object(kMaxObjectSize, 0xab);
  const std::string name(kMaxNameSize, 'n');
  Request r = RoundTrip({0, 1, LoadElfRequest{object, name}}, &frame);
  EXPECT_EQ(std::get<LoadElfRequest>(r.args).object.size(), kMaxObjectSize);
  EXPECT_LE(frame.size() - kFrameHeaderSize, kMaxFrameBody);

  const std::vector<uint8_t> insns(kMaxBytecodeSize, 0);
  RoundTrip({0, 1, LoadBytecodeRequest{insns, 3, std::string(kMaxLicenseSize, 'L')}}, &frame);
  const std::vector<uint8_t> key(kMaxKeySize), value(kMaxValueSize);
  RoundTrip({0, 1, MapUpdateRequest{1, key, value, 0}}, &frame);
  RoundTrip({0, 1, MapLookupRequest{1, {}}}, &frame);  // zero-length keys are legal on the wire
}

TEST(ProtocolTest, EncoderRefusesWhatTheDecoderWouldReject) {
  std::vector<uint8_t> frame;
  const std::vector<uint8_t> big_object(kMaxObjectSize + 1);
  EXPECT_EQ(EncodeRequest({0, 1, LoadElfRequest{big_object, ""}}, &frame).code, -E2BIG);
  EXPECT_EQ(EncodeRequest({0, 1, LoadElfRequest{{}, ""}}, &frame).code, -EINVAL);
  const std::vector<uint8_t> odd(12);
  EXPECT_EQ(EncodeRequest({0, 1, LoadBytecodeRequest{odd, 3, "GPL"}}, &frame).code, -EINVAL);
  EXPECT_EQ(EncodeRequest({0, 1, LoadBytecodeRequest{std::vector<uint8_t>(8), 3, ""}}, &frame).code,
            -EINVAL);
  const std::vector<uint8_t> key(kMaxKeySize + 1);
  EXPECT_EQ(EncodeRequest({0, 1, MapLookupRequest{1, key}}, &frame).code, -E2BIG);
  EXPECT_EQ(EncodeRequest({0, 0, StatsRequest{}}, &frame).code, -EINVAL);  // id 0 is reserved
  const std::string with_nul("a\0b", 3);
  EXPECT_EQ(EncodeRequest({0, 1, LoadElfRequest{Bytes("x"), with_nul}}, &frame).code, -EBADMSG);
  EXPECT_TRUE(frame.empty()) << "a failed encode leaves the output alone";
}

// ---- replies ------------------------------------------------------------------------------------

Reply ReplyRoundTrip(const Reply& in, std::vector<uint8_t>* frame) {
  frame->clear();
  const Status e = EncodeReply(in, frame);
  EXPECT_TRUE(e.ok()) << e.message;
  Reply out;
  const Status d = DecodeReply(Body(*frame), &out);
  EXPECT_TRUE(d.ok()) << d.message;
  EXPECT_EQ(out.command, in.command);
  EXPECT_EQ(out.request_id, in.request_id);
  EXPECT_EQ(out.status, in.status);
  EXPECT_EQ(out.message, in.message);
  EXPECT_EQ(out.result.index(), in.result.index());
  return out;
}

TEST(ProtocolTest, EveryReplyRoundTrips) {
  std::vector<uint8_t> frame;
  LoadElfResult elf{1, {{"icmp_echo_stats", 1}, {".rodata", 2}}};
  Reply r = ReplyRoundTrip({1, 10, 0, "", elf}, &frame);
  const auto& e = std::get<LoadElfResult>(r.result);
  EXPECT_EQ(e.program_id, 1u);
  ASSERT_EQ(e.maps.size(), 2u);
  EXPECT_EQ(e.maps[0].name, "icmp_echo_stats");
  EXPECT_EQ(e.maps[1].map_id, 2u);

  r = ReplyRoundTrip({1, 10, 0, "", LoadElfResult{3, {}}}, &frame);  // an object without maps
  EXPECT_TRUE(std::get<LoadElfResult>(r.result).maps.empty());

  std::vector<MapEntry> many;
  for (uint32_t i = 0; i < kMaxMapsPerObject; ++i) many.push_back({"m", i + 1});
  r = ReplyRoundTrip({1, 10, 0, "", LoadElfResult{4, many}}, &frame);
  EXPECT_EQ(std::get<LoadElfResult>(r.result).maps.size(), kMaxMapsPerObject);

  r = ReplyRoundTrip({2, 11, 0, "", LoadBytecodeResult{9}}, &frame);
  EXPECT_EQ(std::get<LoadBytecodeResult>(r.result).program_id, 9u);
  for (Command c : {Command::kUnload, Command::kMapUpdate, Command::kMapDelete}) {
    ReplyRoundTrip({static_cast<uint16_t>(c), 12, 0, "", EmptyResult{}}, &frame);
  }
  const std::vector<uint8_t> value = Bytes("0123456789abcdef");
  r = ReplyRoundTrip({4, 13, 0, "", MapLookupResult{value}}, &frame);
  EXPECT_TRUE(Same(std::get<MapLookupResult>(r.result).value, value));

  r = ReplyRoundTrip({7, 14, 0, "", StatsResult{10, 980, 350, 35000, "calibrated"}}, &frame);
  const auto& s = std::get<StatsResult>(r.result);
  EXPECT_EQ(s.packets, 10u);
  EXPECT_EQ(s.bytes, 980u);
  EXPECT_EQ(s.cpu_ns, 350u);
  EXPECT_EQ(s.cost_ps, 35000u);
  EXPECT_EQ(s.method, "calibrated");

  r = ReplyRoundTrip({8, 15, 0, "", MapInfoResult{6, 4, 32, 1, "stats"}}, &frame);
  const auto& i = std::get<MapInfoResult>(r.result);
  EXPECT_EQ(i.map_type, 6u);
  EXPECT_EQ(i.key_size, 4u);
  EXPECT_EQ(i.value_size, 32u);
  EXPECT_EQ(i.max_entries, 1u);
  EXPECT_EQ(i.name, "stats");

  // Errors carry no results, for any command and for the connection (command 0, id 0).
  r = ReplyRoundTrip({5, 16, -ENOENT, "no map with id 3", std::monostate{}}, &frame);
  EXPECT_EQ(r.status, -ENOENT);
  ReplyRoundTrip({0, 0, -EMSGSIZE, "frame too big", std::monostate{}}, &frame);
}

TEST(ProtocolTest, ReplyEncodingChecksResults) {
  std::vector<uint8_t> frame;
  EXPECT_EQ(EncodeReply({4, 1, 0, "", EmptyResult{}}, &frame).code,
            -EINVAL);  // lookup needs a value
  EXPECT_EQ(EncodeReply({0, 1, 0, "", EmptyResult{}}, &frame).code, -EINVAL);  // no command
  EXPECT_EQ(EncodeReply({3, 1, 5, "", EmptyResult{}}, &frame).code, -EINVAL);  // positive status
  // Over-long messages are cut, NULs replaced: an error must always get through.
  const std::string long_message(kMaxMessageSize + 100, 'x');
  Reply out;
  ASSERT_TRUE(EncodeReply({3, 1, -EIO, long_message, {}}, &frame).ok());
  ASSERT_TRUE(DecodeReply(Body(frame), &out).ok());
  EXPECT_EQ(out.message.size(), kMaxMessageSize);
  frame.clear();
  ASSERT_TRUE(EncodeReply({3, 1, -EIO, std::string("a\0b", 3), {}}, &frame).ok());
  ASSERT_TRUE(DecodeReply(Body(frame), &out).ok());
  EXPECT_EQ(out.message, "a?b");
}

// ---- malformed bodies ---------------------------------------------------------------------------

// A request body built by hand: header fields and raw argument bytes.
std::vector<uint8_t> RawBody(uint8_t version, uint8_t kind, uint16_t command, uint32_t id,
                             uint16_t count, const std::vector<uint8_t>& args) {
  std::vector<uint8_t> b{version, kind};
  AppendU16(&b, command);
  AppendU32(&b, id);
  AppendU16(&b, count);
  b.insert(b.end(), args.begin(), args.end());
  return b;
}

std::vector<uint8_t> Arg(uint8_t type, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> a{type};
  AppendU32(&a, static_cast<uint32_t>(data.size()));
  a.insert(a.end(), data.begin(), data.end());
  return a;
}

std::vector<uint8_t> U32(uint32_t v) {
  std::vector<uint8_t> a;
  AppendU32(&a, v);
  return Arg(1, a);
}

std::vector<uint8_t> Cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

struct BadBody {
  const char* what;
  std::vector<uint8_t> body;
  int32_t code;
};

TEST(ProtocolTest, MalformedRequestsGetTypedErrors) {
  const std::vector<uint8_t> key4 = {1, 2, 3, 4};
  const std::vector<BadBody> table = {
      {"empty body", {}, -EBADMSG},
      {"header cut", {1, 1, 4, 0, 7}, -EBADMSG},
      {"version 2", RawBody(2, 1, 7, 1, 0, {}), -EPROTONOSUPPORT},
      {"version 0", RawBody(0, 1, 7, 1, 0, {}), -EPROTONOSUPPORT},
      {"kind 0", RawBody(1, 0, 7, 1, 0, {}), -EBADMSG},
      {"kind reply", RawBody(1, 2, 7, 1, 0, {}), -EBADMSG},
      {"request id 0", RawBody(1, 1, 7, 0, 0, {}), -EBADMSG},
      {"unknown command 0", RawBody(1, 1, 0, 1, 0, {}), -EBADRQC},
      {"unknown command 9", RawBody(1, 1, 9, 1, 0, {}), -EBADRQC},
      {"unknown command 65535", RawBody(1, 1, 0xffff, 1, 0, {}), -EBADRQC},
      {"too many arguments", RawBody(1, 1, 7, 1, kMaxArguments + 1, {}), -EBADMSG},
      {"count beyond the body", RawBody(1, 1, 3, 1, 3, U32(1)), -EBADMSG},
      {"argument count 1 for STATS", RawBody(1, 1, 7, 1, 1, U32(1)), -EINVAL},
      {"no argument for UNLOAD", RawBody(1, 1, 3, 1, 0, {}), -EINVAL},
      {"two arguments for UNLOAD", RawBody(1, 1, 3, 1, 2, Cat({U32(1), U32(2)})), -EINVAL},
      {"u64 where u32", RawBody(1, 1, 3, 1, 1, Arg(2, std::vector<uint8_t>(8))), -EINVAL},
      {"bytes where u32", RawBody(1, 1, 3, 1, 1, Arg(3, key4)), -EINVAL},
      {"u32 of length 3", RawBody(1, 1, 3, 1, 1, Arg(1, {1, 2, 3})), -EBADMSG},
      {"u32 of length 5", RawBody(1, 1, 3, 1, 1, Arg(1, {1, 2, 3, 4, 5})), -EBADMSG},
      {"u64 of length 4",
       RawBody(1, 1, 5, 1, 4, Cat({U32(1), Arg(3, key4), Arg(3, key4), Arg(2, key4)})), -EBADMSG},
      {"type tag 0", RawBody(1, 1, 3, 1, 1, Arg(0, key4)), -EBADMSG},
      {"type tag 6", RawBody(1, 1, 3, 1, 1, Arg(6, key4)), -EBADMSG},
      {"argument header cut", RawBody(1, 1, 3, 1, 1, {1, 4, 0}), -EBADMSG},
      {"payload cut", RawBody(1, 1, 3, 1, 1, {1, 4, 0, 0, 0, 1, 2}), -EBADMSG},
      {"payload length huge", RawBody(1, 1, 3, 1, 1, {1, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}),
       -EBADMSG},
      {"trailing byte", Cat({RawBody(1, 1, 3, 1, 1, U32(1)), {0}}), -EBADMSG},
      {"string with NUL", RawBody(1, 1, 1, 1, 2, Cat({Arg(3, key4), Arg(4, {'a', 0})})), -EBADMSG},
      {"empty object", RawBody(1, 1, 1, 1, 2, Cat({Arg(3, {}), Arg(4, {})})), -EINVAL},
      {"object one over the limit",
       RawBody(1, 1, 1, 1, 2, Cat({Arg(3, std::vector<uint8_t>(kMaxObjectSize + 1)), Arg(4, {})})),
       -E2BIG},
      {"bytecode not whole instructions",
       RawBody(1, 1, 2, 1, 3, Cat({Arg(3, std::vector<uint8_t>(9)), U32(3), Arg(4, {'G'})})),
       -EINVAL},
      {"empty license",
       RawBody(1, 1, 2, 1, 3, Cat({Arg(3, std::vector<uint8_t>(8)), U32(3), Arg(4, {})})), -EINVAL},
      {"key one over the limit",
       RawBody(1, 1, 4, 1, 2, Cat({U32(1), Arg(3, std::vector<uint8_t>(kMaxKeySize + 1))})),
       -E2BIG},
  };
  for (const BadBody& row : table) {
    Request out;
    const Status s = DecodeRequest(row.body, &out);
    EXPECT_EQ(s.code, row.code) << row.what << ": " << s.message;
    EXPECT_FALSE(s.message.empty()) << row.what;
  }
}

TEST(ProtocolTest, FailedDecodeStillNamesCommandAndId) {
  Request out;
  const Status s = DecodeRequest(RawBody(1, 1, 3, 77, 0, {}), &out);
  EXPECT_EQ(s.code, -EINVAL);
  EXPECT_EQ(out.command, 3);
  EXPECT_EQ(out.request_id, 77u);
}

TEST(ProtocolTest, MalformedRepliesAreRejected) {
  Reply out;
  std::vector<uint8_t> i32;
  AppendU32(&i32, 0);
  const auto status0 = Arg(5, i32);
  const auto empty = Arg(4, {});
  // LOAD_ELF claiming 2 maps with only one pair.
  EXPECT_EQ(DecodeReply(
                RawBody(1, 2, 1, 1, 5, Cat({status0, empty, U32(1), U32(2), Arg(4, {'m'})})), &out)
                .code,
            -EINVAL);
  // LOAD_ELF claiming more maps than the limit.
  EXPECT_EQ(
      DecodeReply(RawBody(1, 2, 1, 1, 4, Cat({status0, empty, U32(1), U32(1000)})), &out).code,
      -EINVAL);
  // Success without the results.
  EXPECT_EQ(DecodeReply(RawBody(1, 2, 4, 1, 2, Cat({status0, empty})), &out).code, -EINVAL);
  // Status as u32.
  EXPECT_EQ(DecodeReply(RawBody(1, 2, 3, 1, 2, Cat({U32(0), empty})), &out).code, -EINVAL);
  // A request where a reply belongs.
  EXPECT_EQ(DecodeReply(RawBody(1, 1, 3, 1, 2, Cat({status0, empty})), &out).code, -EBADMSG);
}

// ---- frames and the incremental decoder ---------------------------------------------------------

std::vector<uint8_t> SampleStream() {
  // Three frames of different sizes back to back.
  std::vector<uint8_t> stream;
  const std::vector<uint8_t> object(300, 0x5a);
  EncodeRequest({0, 1, LoadElfRequest{object, "prog"}}, &stream);
  EncodeRequest({0, 2, StatsRequest{}}, &stream);
  const std::vector<uint8_t> key = Bytes("abcd");
  EncodeRequest({0, 3, MapDeleteRequest{4, key}}, &stream);
  return stream;
}

std::vector<uint32_t> DecodeIds(const std::vector<uint8_t>& stream,
                                const std::vector<size_t>& chunk_ends) {
  FrameDecoder decoder;
  std::vector<uint32_t> ids;
  size_t begin = 0;
  for (const size_t end : chunk_ends) {
    std::span<const uint8_t> input(stream.data() + begin, end - begin);
    while (!input.empty()) {
      const size_t used = decoder.Feed(input);
      input = input.subspan(used);
      EXPECT_FALSE(decoder.failed()) << decoder.status().message;
      EXPECT_LE(decoder.buffered(), kFrameHeaderSize + kMaxFrameBody);
      if (decoder.HasFrame()) {
        Request r;
        const Status s = DecodeRequest(decoder.Body(), &r);
        EXPECT_TRUE(s.ok()) << s.message;
        ids.push_back(r.request_id);
        decoder.Pop();
      } else {
        EXPECT_TRUE(input.empty()) << "without a complete frame it takes all it is given";
      }
    }
    begin = end;
  }
  EXPECT_FALSE(decoder.MidFrame());
  return ids;
}

TEST(FrameDecoderTest, SplitAtEveryByteBoundary) {
  const std::vector<uint8_t> stream = SampleStream();
  const std::vector<uint32_t> expected = {1, 2, 3};
  for (size_t cut = 1; cut < stream.size(); ++cut) {
    EXPECT_EQ(DecodeIds(stream, {cut, stream.size()}), expected) << "cut at " << cut;
  }
  // Byte by byte, and all at once.
  std::vector<size_t> every;
  for (size_t i = 1; i <= stream.size(); ++i) every.push_back(i);
  EXPECT_EQ(DecodeIds(stream, every), expected);
  EXPECT_EQ(DecodeIds(stream, {stream.size()}), expected);
}

TEST(FrameDecoderTest, TakesNothingWhileAFrameWaits) {
  const std::vector<uint8_t> stream = SampleStream();
  FrameDecoder decoder;
  const size_t first = decoder.Feed(stream);
  ASSERT_TRUE(decoder.HasFrame());
  EXPECT_LT(first, stream.size());
  EXPECT_EQ(decoder.Feed(std::span(stream).subspan(first)), 0u);
  EXPECT_EQ(decoder.needed(), 0u);
  decoder.Pop();
  EXPECT_EQ(decoder.needed(), kFrameHeaderSize);
  EXPECT_GT(decoder.Feed(std::span(stream).subspan(first)), 0u);
}

TEST(FrameDecoderTest, OversizedHeaderIsRejectedWithoutAllocating) {
  for (const uint32_t length : {kMaxFrameBody + 1, 0x7fffffffu, 0xffffffffu}) {
    std::vector<uint8_t> header;
    AppendU32(&header, length);
    header.push_back(1);  // a body byte that must not be taken
    FrameDecoder decoder;
    EXPECT_EQ(decoder.Feed(header), kFrameHeaderSize);
    ASSERT_TRUE(decoder.failed());
    EXPECT_EQ(decoder.status().code, -EMSGSIZE);
    EXPECT_EQ(decoder.buffered(), kFrameHeaderSize);
    EXPECT_FALSE(decoder.HasFrame());
    EXPECT_EQ(decoder.Feed(header), 0u) << "a failed decoder stays failed";

    std::span<const uint8_t> body;
    EXPECT_EQ(SplitFrame(header, &body).code, -EMSGSIZE);
  }
  // Exactly at the limit is fine; it waits for the body.
  std::vector<uint8_t> header;
  AppendU32(&header, kMaxFrameBody);
  FrameDecoder decoder;
  decoder.Feed(header);
  EXPECT_FALSE(decoder.failed());
  EXPECT_TRUE(decoder.MidFrame());
  EXPECT_EQ(decoder.needed(), kMaxFrameBody);
}

TEST(FrameDecoderTest, UndersizedHeaderIsRejected) {
  for (const uint32_t length : {0u, 1u, static_cast<uint32_t>(kBodyHeaderSize - 1)}) {
    std::vector<uint8_t> header;
    AppendU32(&header, length);
    FrameDecoder decoder;
    decoder.Feed(header);
    ASSERT_TRUE(decoder.failed()) << length;
    EXPECT_EQ(decoder.status().code, -EBADMSG);
  }
}

TEST(FrameDecoderTest, SmallerConfiguredLimit) {
  std::vector<uint8_t> frame;
  ASSERT_TRUE(EncodeRequest({0, 1, LoadElfRequest{std::vector<uint8_t>(100), ""}}, &frame).ok());
  FrameDecoder decoder(64);
  decoder.Feed(frame);
  EXPECT_EQ(decoder.status().code, -EMSGSIZE);
}

TEST(FrameTest, SplitFrameChecksTheLength) {
  std::vector<uint8_t> frame;
  ASSERT_TRUE(EncodeRequest({0, 1, StatsRequest{}}, &frame).ok());
  std::span<const uint8_t> body;
  EXPECT_TRUE(SplitFrame(frame, &body).ok());
  EXPECT_EQ(body.size(), frame.size() - 4);
  EXPECT_EQ(SplitFrame(std::span(frame).first(frame.size() - 1), &body).code, -EBADMSG);
  frame.push_back(0);
  EXPECT_EQ(SplitFrame(frame, &body).code, -EBADMSG);
  EXPECT_EQ(SplitFrame(std::span(frame).first(3), &body).code, -EBADMSG);
}

TEST(ProtocolTest, CommandNames) {
  EXPECT_EQ(CommandName(1), "LOAD_ELF");
  EXPECT_EQ(CommandName(7), "STATS");
  EXPECT_EQ(CommandName(8), "MAP_INFO");
  EXPECT_EQ(CommandName(0), "UNKNOWN");
  EXPECT_EQ(CommandName(9), "UNKNOWN");
}

}  // namespace
}  // namespace nfb::offload::proto
