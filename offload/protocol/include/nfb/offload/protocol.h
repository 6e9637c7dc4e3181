// The XenBPF wire protocol between a guest (libxenbpf) and bpfd in dom0: frames, typed arguments,
// the commands with their fixed argument lists, and the hard limits. docs/offload-protocol.md is
// the specification; this header is its C++ rendering, shared by both ends.
//
//   frame     = u32 body_length (little endian) | body
//   body      = u8 version | u8 kind | u16 command | u32 request_id | u16 argument_count | args
//   argument  = u8 type | u32 length | length bytes of data
//
// All integers are little endian. A request carries the command's arguments in a fixed order;
// a reply carries i32 status (0 or a negative errno) and a string message, followed, only when
// the status is 0, by the command's results in a fixed order.
//
// Nothing here throws (apart from std::bad_alloc): decoding untrusted bytes returns a Status, so
// a daemon can answer with an error reply and go on serving. Every length is checked against its
// limit before anything is allocated for it. Decoded messages are views (spans, string_views)
// into the buffer they were decoded from and are valid only as long as that buffer is.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace nfb::offload::proto {

// ---------------------------------------------------------------------------------------------
// Limits. A peer that exceeds one gets an error (E2BIG for an argument, EMSGSIZE for a frame).

inline constexpr uint8_t kVersion = 1;

inline constexpr size_t kFrameHeaderSize = 4;     // u32 body length
inline constexpr size_t kBodyHeaderSize = 10;     // version, kind, command, request id, count
inline constexpr size_t kArgumentHeaderSize = 5;  // type, length
inline constexpr size_t kInstructionSize = 8;     // sizeof(struct bpf_insn)

// The kernel's limit for programs loaded without CAP_BPF-style privileges, and the thesis's.
inline constexpr uint32_t kMaxInstructions = 4096;
// LOAD_BYTECODE: raw instructions.
inline constexpr uint32_t kMaxBytecodeSize = kMaxInstructions * kInstructionSize;  // 32 KiB
// LOAD_ELF: the whole object file. 4096 instructions are 32 KiB of .text; the rest is room for
// maps, relocations and BTF (nf_programs/icmp_echo.bpf.o is 30 KB with debug info, 15 KB
// stripped). Strip line info (llvm-strip -g) if an object does not fit.
inline constexpr uint32_t kMaxObjectSize = 64 * 1024;
// Program names (LOAD_ELF) and map names (LOAD_ELF and MAP_INFO results).
inline constexpr uint32_t kMaxNameSize = 256;
// LOAD_BYTECODE license ("GPL", "Dual BSD/GPL" ...); libbpf uses the same bound.
inline constexpr uint32_t kMaxLicenseSize = 128;
// Reply messages: a human-readable reason, e.g. the tail of the kernel verifier's log.
inline constexpr uint32_t kMaxMessageSize = 1024;
// Map keys and values as they cross the wire. The kernel allows keys up to 512 bytes (the BPF
// stack). A per-CPU map's value is transferred for every possible CPU (round_up(value_size, 8) x
// CPUs), and that total must fit kMaxValueSize.
inline constexpr uint32_t kMaxKeySize = 512;
inline constexpr uint32_t kMaxValueSize = 32 * 1024;
// Most maps one LOAD_ELF object may create (and so list in its reply).
inline constexpr uint32_t kMaxMapsPerObject = 16;
// Most arguments in any body (the largest legal message, a LOAD_ELF reply, has 4 + 2 x 16).
inline constexpr uint16_t kMaxArguments = 64;
// Largest body: a LOAD_ELF request with a kMaxObjectSize object and a kMaxNameSize name, plus
// headers, rounded up. Checked from the frame header alone, before anything is buffered.
inline constexpr uint32_t kMaxFrameBody = kMaxObjectSize + 1024;

static_assert(kBodyHeaderSize + 2 * kArgumentHeaderSize + kMaxObjectSize + kMaxNameSize <=
              kMaxFrameBody);
static_assert(kBodyHeaderSize + 4 * kArgumentHeaderSize + 4 + kMaxKeySize + kMaxValueSize + 8 <=
              kMaxFrameBody);
static_assert(kBodyHeaderSize + 3 * kArgumentHeaderSize + 4 + kMaxMessageSize + kMaxValueSize <=
              kMaxFrameBody);

// Default per-domain quotas enforced by bpfd (its command line can lower or raise them; they are
// not part of the wire format, but a client should expect EDQUOT beyond them).
inline constexpr uint32_t kDefaultMaxPrograms = 4;
inline constexpr uint32_t kDefaultMaxMaps = 16;
inline constexpr uint64_t kDefaultMaxMapMemory = 16ull << 20;  // bytes, see docs/bpfd.md

// ---------------------------------------------------------------------------------------------
// Codes.

enum class Kind : uint8_t {
  kRequest = 1,  // guest -> bpfd
  kReply = 2,    // bpfd -> guest
};

enum class Type : uint8_t {
  kU32 = 1,     // length 4
  kU64 = 2,     // length 8
  kBytes = 3,   // length 0..limit of the argument
  kString = 4,  // length 0..limit, no NUL byte, no terminator on the wire
  kI32 = 5,     // length 4, two's complement
};

enum class Command : uint16_t {
  kLoadElf = 1,       // (bytes object, string program) -> u32 program_id, u32 map_count,
                      //                                   map_count x (string name, u32 map_id)
  kLoadBytecode = 2,  // (bytes insns, u32 prog_type, string license) -> u32 program_id
  kUnload = 3,        // (u32 program_id) -> ()
  kMapLookup = 4,     // (u32 map_id, bytes key) -> bytes value
  kMapUpdate = 5,     // (u32 map_id, bytes key, bytes value, u64 flags) -> ()
  kMapDelete = 6,     // (u32 map_id, bytes key) -> ()
  kStats = 7,         // () -> u64 packets, u64 bytes, u64 cpu_ns, u64 cost_ps, string method
  kMapInfo = 8,       // (u32 map_id) -> u32 type, u32 key_size, u32 value_size, u32 max_entries,
                      //                 string name
};
inline constexpr uint16_t kFirstCommand = 1;
inline constexpr uint16_t kLastCommand = 8;

// "LOAD_ELF", ..., or "UNKNOWN" for a code outside kFirstCommand..kLastCommand.
std::string_view CommandName(uint16_t command);

// Reply statuses are 0 or a negative errno (Linux numbering). The protocol layer itself produces
// these; bpfd adds ENOENT (unknown id), EDQUOT (quota), EACCES (rejected by bpfd's verifier),
// EBUSY (another session is active), ENOSPC (no dispatcher slot) and passes kernel errors through.
namespace status {
inline constexpr int32_t kOk = 0;
inline constexpr int32_t kMalformed = -EBADMSG;  // body does not parse (types, lengths)
inline constexpr int32_t kBadVersion = -EPROTONOSUPPORT;
inline constexpr int32_t kUnknownCommand = -EBADRQC;
inline constexpr int32_t kBadArguments = -EINVAL;   // wrong count/types/values for the command
inline constexpr int32_t kTooBig = -E2BIG;          // an argument over its limit
inline constexpr int32_t kFrameTooBig = -EMSGSIZE;  // frame length over kMaxFrameBody
}  // namespace status

// The outcome of an encode or decode step. Cheap to copy when ok.
struct Status {
  int32_t code = status::kOk;  // 0 or a negative errno
  std::string message;         // why, for the reply message and logs; empty when ok

  bool ok() const { return code == status::kOk; }
  static Status Ok() { return {}; }
  // `errno_value` may be given positive or negative; the stored code is negative.
  static Status Error(int errno_value, std::string message);
};

// ---------------------------------------------------------------------------------------------
// Generic layer: a body as a sequence of typed arguments, without command semantics.

struct Argument {
  Type type = Type::kU32;
  uint64_t scalar = 0;            // kU32, kU64; kI32 as its 32-bit pattern (use AsI32())
  std::span<const uint8_t> data;  // kBytes, kString: the payload (a view)

  int32_t AsI32() const { return static_cast<int32_t>(static_cast<uint32_t>(scalar)); }
  std::string_view AsString() const {
    return {reinterpret_cast<const char*>(data.data()), data.size()};
  }

  static Argument U32(uint32_t v) { return {Type::kU32, v, {}}; }
  static Argument U64(uint64_t v) { return {Type::kU64, v, {}}; }
  static Argument I32(int32_t v) { return {Type::kI32, static_cast<uint32_t>(v), {}}; }
  static Argument Bytes(std::span<const uint8_t> v) { return {Type::kBytes, 0, v}; }
  static Argument String(std::string_view v) {
    return {Type::kString, 0, {reinterpret_cast<const uint8_t*>(v.data()), v.size()}};
  }
};

struct Message {
  uint8_t version = kVersion;
  Kind kind = Kind::kRequest;
  uint16_t command = 0;     // raw, may be unknown
  uint32_t request_id = 0;  // chosen by the client, echoed in the reply; 0 is reserved
  std::vector<Argument> arguments;
};

// Parses one body (without the 4-byte length prefix). Checks: at least kBodyHeaderSize bytes,
// version == kVersion (else kBadVersion), kind 1 or 2, argument count <= kMaxArguments (before
// reserving room for them), each argument header and payload inside the body, known type tags,
// scalar lengths exactly 4/8, no string containing NUL, no bytes after the last argument (all
// kMalformed). Command semantics are not checked here. On error `out` holds whatever header
// fields were read (command and request id when the first 8 bytes are present).
Status DecodeMessage(std::span<const uint8_t> body, Message* out);

// Appends one complete frame (length prefix and body) to `frame`. Fails with kTooBig if the body
// would exceed kMaxFrameBody or a payload exceeds 2^32-1, kMalformed for too many arguments or a
// string containing NUL. `frame` is unchanged on failure.
Status EncodeMessage(const Message& message, std::vector<uint8_t>* frame);

// ---------------------------------------------------------------------------------------------
// Typed layer: requests.

struct LoadElfRequest {
  std::span<const uint8_t> object;  // the ELF file, 1..kMaxObjectSize bytes
  std::string_view program;         // program (function) name; empty = the only tc program
};
struct LoadBytecodeRequest {
  std::span<const uint8_t> insns;  // struct bpf_insn array, 8..kMaxBytecodeSize, multiple of 8
  uint32_t prog_type = 0;          // enum bpf_prog_type; bpfd accepts BPF_PROG_TYPE_SCHED_CLS
  std::string_view license;        // 1..kMaxLicenseSize bytes
};
struct UnloadRequest {
  uint32_t program_id = 0;
};
struct MapLookupRequest {
  uint32_t map_id = 0;
  std::span<const uint8_t> key;  // 0..kMaxKeySize; must equal the map's key size
};
struct MapUpdateRequest {
  uint32_t map_id = 0;
  std::span<const uint8_t> key;    // 0..kMaxKeySize; must equal the map's key size
  std::span<const uint8_t> value;  // 0..kMaxValueSize; must equal the map's value size
  uint64_t flags = 0;              // BPF_ANY (0), BPF_NOEXIST (1) or BPF_EXIST (2)
};
struct MapDeleteRequest {
  uint32_t map_id = 0;
  std::span<const uint8_t> key;
};
struct StatsRequest {};
struct MapInfoRequest {
  uint32_t map_id = 0;
};

// The alternative's index + 1 is the Command code.
using RequestArgs =
    std::variant<LoadElfRequest, LoadBytecodeRequest, UnloadRequest, MapLookupRequest,
                 MapUpdateRequest, MapDeleteRequest, StatsRequest, MapInfoRequest>;
static_assert(std::variant_size_v<RequestArgs> == kLastCommand);

struct Request {
  uint16_t command = 0;     // raw code as received; equals CommandOf(args) after a good decode
  uint32_t request_id = 0;  // nonzero
  RequestArgs args;
};

Command CommandOf(const RequestArgs& args);

// Parses a request body: DecodeMessage, then kind == request (else kMalformed), request id != 0
// (kMalformed), a known command (kUnknownCommand), exactly the command's argument count and
// types (kBadArguments), and each bytes/string argument within its limit (kTooBig; e.g. an empty
// object or bytecode that is not a multiple of 8 is kBadArguments). On any error `out->command`
// and `out->request_id` still hold what the header said (0 if absent), for the error reply.
Status DecodeRequest(std::span<const uint8_t> body, Request* out);

// Appends the request's frame to `frame`, checking the same limits as DecodeRequest, so a client
// cannot send what bpfd would reject for its shape. request_id must be nonzero.
Status EncodeRequest(const Request& request, std::vector<uint8_t>* frame);

// ---------------------------------------------------------------------------------------------
// Typed layer: replies.

struct MapEntry {
  std::string_view name;  // the map's name in the object (".rodata" etc. for global data)
  uint32_t map_id = 0;
};
struct LoadElfResult {
  uint32_t program_id = 0;
  std::vector<MapEntry> maps;  // at most kMaxMapsPerObject
};
struct LoadBytecodeResult {
  uint32_t program_id = 0;
};
struct EmptyResult {};  // UNLOAD, MAP_UPDATE, MAP_DELETE
struct MapLookupResult {
  std::span<const uint8_t> value;
};
struct StatsResult {
  uint64_t packets = 0;     // frames to this domain's MAC seen by the dispatcher while it had a
                            // program attached, since the domain was registered
  uint64_t bytes = 0;       // their bytes
  uint64_t cpu_ns = 0;      // estimated dom0 CPU time spent on them: packets x cost_ps / 1000
  uint64_t cost_ps = 0;     // per-packet cost used, in picoseconds
  std::string_view method;  // how cost_ps was obtained, e.g. the BPF_PROG_TEST_RUN calibration
};
struct MapInfoResult {
  uint32_t map_type = 0;    // enum bpf_map_type
  uint32_t key_size = 0;    // bytes a key must have on the wire
  uint32_t value_size = 0;  // bytes a value has on the wire (per-CPU maps: for all CPUs)
  uint32_t max_entries = 0;
  std::string_view name;
};

// monostate: an error reply (status != 0), which has no results.
using ReplyResult = std::variant<std::monostate, LoadElfResult, LoadBytecodeResult, EmptyResult,
                                 MapLookupResult, StatsResult, MapInfoResult>;

struct Reply {
  uint16_t command = 0;      // the request's command (0 when the request's header was unreadable)
  uint32_t request_id = 0;   // the request's id (0 when unreadable: a connection-level error)
  int32_t status = 0;        // 0 or a negative errno
  std::string_view message;  // at most kMaxMessageSize bytes (longer ones are cut on encode)
  ReplyResult result;        // set iff status == 0; its alternative must match `command`
};

// An error reply for `request` (whose command and id may be partial), carrying `error`'s code and
// message (which must outlive the reply).
Reply ErrorReply(uint16_t command, uint32_t request_id, const Status& error);

// Parses a reply body: DecodeMessage, kind == reply, status (i32, <= 0) and message first; an
// error reply (status < 0) has nothing else and may carry any command code (it echoes the
// request's, even an unknown one); a success (status 0) must be for a known command (else
// kUnknownCommand) with exactly that command's results (kBadArguments otherwise).
Status DecodeReply(std::span<const uint8_t> body, Reply* out);

// Appends the reply's frame to `frame`. A message longer than kMaxMessageSize is cut (at a UTF-8
// boundary is not guaranteed: it is bytes). Fails with kBadArguments when status is 0 and the
// result does not match the command, or status is positive.
Status EncodeReply(const Reply& reply, std::vector<uint8_t>* frame);

// ---------------------------------------------------------------------------------------------
// Frames.

// Reads the length prefix of `frame` and checks it against [kBodyHeaderSize, max_body] and
// against the bytes present: the frame must be exactly 4 + length bytes. Sets `body` to the part
// after the prefix. kFrameTooBig for a length over max_body, kMalformed otherwise.
Status SplitFrame(std::span<const uint8_t> frame, std::span<const uint8_t>* body,
                  uint32_t max_body = kMaxFrameBody);

// Checks a body length read from a frame header: kFrameTooBig above max_body, kMalformed below
// kBodyHeaderSize.
Status CheckBodyLength(uint32_t length, uint32_t max_body = kMaxFrameBody);

// Little-endian helpers, for hand-built frames (tests, fuzzers, clients in other languages).
void AppendU16(std::vector<uint8_t>* out, uint16_t v);
void AppendU32(std::vector<uint8_t>* out, uint32_t v);
void AppendU64(std::vector<uint8_t>* out, uint64_t v);
uint16_t LoadU16(const uint8_t* p);
uint32_t LoadU32(const uint8_t* p);
uint64_t LoadU64(const uint8_t* p);

}  // namespace nfb::offload::proto
