// Hand-built XenBPF frames, byte by byte, so tests can get every field wrong on purpose (the
// protocol's own encoder refuses to), and a two-domain bpfd service with the in-memory backend
// to send them to. Shared by malformed_requests_test.cc and isolation_test.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nfb/bpf/mac_address.h"
#include "nfb/bpfd/service.h"
#include "nfb/bpfd/testing/fake_backend.h"
#include "nfb/offload/protocol.h"

namespace nfb::offload::testing {

// One argument: a type tag, a payload and, to lie about it, a length other than the payload's.
struct RawArg {
  uint8_t type = 0;
  std::vector<uint8_t> payload;
  std::optional<uint32_t> length;  // the header's length field; default: payload.size()
};

RawArg U32(uint32_t v);
RawArg U64(uint64_t v);
RawArg I32(int32_t v);
RawArg Bytes(std::vector<uint8_t> v);
RawArg Bytes(std::string_view v);
RawArg String(std::string_view v);
// `size` bytes of `fill`.
RawArg Filled(uint8_t type, size_t size, uint8_t fill = 0x41);

struct RawBody {
  RawBody() = default;
  RawBody(uint16_t command_code, std::vector<RawArg> arguments)
      : command(command_code), args(std::move(arguments)) {}
  // Setters for the fields a test gets wrong on purpose, chainable on a temporary.
  RawBody& Version(uint8_t v) {
    version = v;
    return *this;
  }
  RawBody& Kind(uint8_t k) {
    kind = k;
    return *this;
  }
  RawBody& Id(uint32_t id) {
    request_id = id;
    return *this;
  }
  RawBody& Count(uint16_t n) {
    count = n;
    return *this;
  }
  RawBody& Trailing(std::vector<uint8_t> bytes) {
    trailing = std::move(bytes);
    return *this;
  }

  uint8_t version = proto::kVersion;
  uint8_t kind = static_cast<uint8_t>(proto::Kind::kRequest);
  uint16_t command = 0;
  uint32_t request_id = 1;
  std::optional<uint16_t> count;  // the header's argument count; default: args.size()
  std::vector<RawArg> args;
  std::vector<uint8_t> trailing;  // bytes after the last argument
};

// The body's bytes exactly as described (lies included).
std::vector<uint8_t> Encode(const RawBody& body);
// Body offset where argument i's header starts, and where its payload ends, as encoded.
struct ArgSpan {
  size_t header = 0;
  size_t end = 0;
  uint32_t length = 0;  // the header's length field
};
std::vector<ArgSpan> Layout(const RawBody& body);
// A frame: the length prefix (default: the body's size) and the body.
std::vector<uint8_t> Frame(std::span<const uint8_t> body, std::optional<uint32_t> length = {});
std::vector<uint8_t> Frame(const RawBody& body);

// A well-formed request of each command, with small arguments, for ids that exist in the
// fixture below (program 1, map 1: the "counters" hash with 4-byte keys and 8-byte values).
std::vector<std::pair<std::string, RawBody>> GoodRequests();

// A reply frame decoded, owning its bytes.
struct Decoded {
  Decoded() = default;
  Decoded(Decoded&&) = default;
  Decoded& operator=(Decoded&&) = default;
  // `reply` views into `frame`; a copy would view into the original.
  Decoded(const Decoded&) = delete;
  Decoded& operator=(const Decoded&) = delete;

  std::vector<uint8_t> frame;
  proto::Reply reply;
  // The frame split and its body parsed as a message with status and message (and for
  // successes, results), so `reply` is meaningful.
  bool ok = false;
  // proto::DecodeReply accepted it too. It refuses error replies that echo an unknown command
  // number, which bpfd sends to unknown commands; for those `reply` is filled from the message.
  bool strict = false;
};
Decoded DecodeReplyFrame(std::vector<uint8_t> frame);

// bpfd's request handling for two registered domains on a FakeBackend. Both have loaded the
// same object, so both hold program 1 and maps 1 ("counters", HASH 4/8/16) and 2 (".rodata").
// Each has key 7 in its map 1, with a value that differs between them.
class TwoDomains {
 public:
  static constexpr char kOne[] = "domu1";
  static constexpr char kTwo[] = "domu2";
  static const bpf::MacAddress kMacOne;
  static const bpf::MacAddress kMacTwo;

  explicit TwoDomains(bpfd::Quotas quotas = {});

  Decoded Send(std::string_view domain, std::span<const uint8_t> frame);
  Decoded Send(std::string_view domain, const proto::RequestArgs& args, uint32_t request_id = 77);

  // The value stored under key 7 in `domain`'s map 1.
  static std::vector<uint8_t> ValueOf(std::string_view domain);
  // Key 7 as 4 little-endian bytes.
  static std::vector<uint8_t> Key7();

  // Everything observable about the service and the backend, to compare before and after.
  struct Snapshot {
    uint32_t programs_one = 0, maps_one = 0, programs_two = 0, maps_two = 0;
    uint64_t memory_one = 0, memory_two = 0;
    std::optional<uint32_t> attached_one, attached_two;
    std::string backend_one, backend_two;  // program names in the fake dispatcher
    int live_programs = 0, live_maps = 0, loads = 0;
    bool operator==(const Snapshot&) const = default;
  };
  Snapshot Take() const;

  // Both domains answer a good request with the right data: map 1 key 7 holds their own value.
  // Returns an empty string, or what went wrong.
  std::string Healthy();

  bpfd::testing::FakeBackend backend;
  bpfd::OffloadService service;
};

}  // namespace nfb::offload::testing
