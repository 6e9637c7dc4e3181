// A minimal blocking client for the XenBPF protocol over a connected byte stream: a domain's
// abstract Unix socket (netns platform) or, through nfb/offload/channel.h, a vchan (Xen). Send
// one request, wait for its reply. Used by libxenbpf, tests and tools. Exception-free like the
// rest of the protocol library.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
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

// A connected byte stream to bpfd, used blocking with deadlines.
class ClientStream {
 public:
  using Deadline = std::chrono::steady_clock::time_point;
  virtual ~ClientStream() = default;
  // Readable when input arrives or the peer goes away. A vchan's descriptor (its event channel)
  // can also be readable for a notification whose data was already read: a reader that sees it
  // readable between requests must ask (send a request) rather than conclude the peer left.
  virtual int fd() const = 0;
  // Writes all of `data`. -ECONNRESET when the peer is gone, -ETIMEDOUT if it could not be
  // written before `deadline` (Deadline::max(): no limit). Sockets block until the kernel took it.
  virtual Status WriteAll(std::span<const uint8_t> data, Deadline deadline) = 0;
  // Reads 1..buffer.size() bytes, waiting until `deadline`; *n gets the count. -ECONNRESET at the
  // end of the stream, -ETIMEDOUT ("no reply within the timeout").
  virtual Status ReadSome(std::span<uint8_t> buffer, size_t* n, Deadline deadline) = 0;
};

// A connected stream socket (blocking) as a ClientStream; takes ownership of `fd`.
std::unique_ptr<ClientStream> SocketStream(int fd);

class BlockingClient {
 public:
  BlockingClient() = default;
  // Takes ownership of a connected stream socket.
  explicit BlockingClient(int fd);
  // Takes ownership of any connected stream (a vchan: nfb/offload/channel.h).
  explicit BlockingClient(std::unique_ptr<ClientStream> stream) : stream_(std::move(stream)) {}
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

  // Writes raw bytes (for tests and probes that send malformed frames). Returns -errno on
  // failure (-ECONNRESET when the peer closed).
  Status SendRaw(const std::vector<uint8_t>& bytes);
  // Reads one reply frame whatever its id. Same errors as Call().
  Status ReceiveReply(OwnedReply* out, std::chrono::milliseconds timeout);

  // The stream's descriptor for poll (see ClientStream::fd), -1 when not connected.
  int fd() const { return stream_ ? stream_->fd() : -1; }
  bool connected() const { return stream_ != nullptr; }
  void Close();

 private:
  std::unique_ptr<ClientStream> stream_;
  uint32_t next_id_ = 1;
};

}  // namespace nfb::offload::proto
