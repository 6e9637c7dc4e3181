// A minimal blocking client for the XenBPF protocol over a connected stream socket: connect to a
// domain's abstract Unix socket, send one request, wait for its reply. Used by tests and tools;
// libxenbpf may build on it. Exception-free like the rest of the protocol library.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "nfb/offload/protocol.h"

namespace nfb::offload::proto {

// The abstract socket name bpfd listens on in every domain's network namespace, without the
// leading NUL ("@xenbpf" in `ss -x` notation).
inline constexpr char kDefaultSocketName[] = "xenbpf";

// A reply that owns its bytes: `reply` views into `frame`. Move-only in spirit: copying would
// leave the copy's views pointing into the original's frame, so it is non-copyable.
struct OwnedReply {
  OwnedReply() = default;
  OwnedReply(OwnedReply&&) = default;
  OwnedReply& operator=(OwnedReply&&) = default;
  OwnedReply(const OwnedReply&) = delete;
  OwnedReply& operator=(const OwnedReply&) = delete;

  std::vector<uint8_t> frame;
  Reply reply;
};

class BlockingClient {
 public:
  BlockingClient() = default;
  // Takes ownership of a connected stream socket.
  explicit BlockingClient(int fd) : fd_(fd) {}
  BlockingClient(BlockingClient&& other) noexcept;
  BlockingClient& operator=(BlockingClient&& other) noexcept;
  BlockingClient(const BlockingClient&) = delete;
  BlockingClient& operator=(const BlockingClient&) = delete;
  ~BlockingClient();

  // Connects to the abstract Unix socket `name` in the calling thread's network namespace.
  // Returns a negative errno status (e.g. -ECONNREFUSED when nobody listens).
  Status ConnectAbstract(const std::string& name = kDefaultSocketName);

  // Sends `request` (its request_id is replaced by the next id of this client) and waits up to
  // `timeout` for the reply with that id. Returns the transport or decode status; the reply's own
  // status is in out->reply.status. -ETIMEDOUT on timeout, -ECONNRESET when the peer closed.
  Status Call(Request request, OwnedReply* out,
              std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Writes raw bytes (for tests that send malformed frames). Returns -errno on failure.
  Status SendRaw(const std::vector<uint8_t>& bytes);
  // Reads one reply frame whatever its id. Same errors as Call().
  Status ReceiveReply(OwnedReply* out, std::chrono::milliseconds timeout);

  int fd() const { return fd_; }
  void Close();

 private:
  int fd_ = -1;
  uint32_t next_id_ = 1;
};

}  // namespace nfb::offload::proto
