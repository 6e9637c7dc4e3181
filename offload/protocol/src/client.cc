#include "nfb/offload/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "nfb/offload/frame_decoder.h"

namespace nfb::offload::proto {
namespace {

Status Errno(int err, const std::string& what) {
  return Status::Error(err, what + ": " + std::strerror(err));
}

// Milliseconds left until `deadline` for poll (-1: no deadline), floored like the deadline checks.
int PollTimeoutMs(ClientStream::Deadline deadline) {
  if (deadline == ClientStream::Deadline::max()) return -1;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now())
                        .count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, INT_MAX));
}

class SocketClientStream : public ClientStream {
 public:
  explicit SocketClientStream(int fd) : fd_(fd) {}
  SocketClientStream(const SocketClientStream&) = delete;
  SocketClientStream& operator=(const SocketClientStream&) = delete;
  ~SocketClientStream() override { ::close(fd_); }

  int fd() const override { return fd_; }

  Status WriteAll(std::span<const uint8_t> data, Deadline /*deadline*/) override {
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        // The same code whether the peer's close is noticed on send or on receive.
        if (errno == EPIPE || errno == ECONNRESET) {
          return Status::Error(ECONNRESET, "bpfd closed the connection");
        }
        return Errno(errno, "send");
      }
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  Status ReadSome(std::span<uint8_t> buffer, size_t* n, Deadline deadline) override {
    for (;;) {
      const int timeout = PollTimeoutMs(deadline);
      if (timeout == 0) return Status::Error(ETIMEDOUT, "no reply within the timeout");
      pollfd pfd{fd_, POLLIN, 0};
      const int ready = ::poll(&pfd, 1, timeout);
      if (ready < 0) {
        if (errno == EINTR) continue;
        return Errno(errno, "poll");
      }
      if (ready == 0) continue;
      const ssize_t got = ::recv(fd_, buffer.data(), buffer.size(), 0);
      if (got < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        if (errno == ECONNRESET) return Status::Error(ECONNRESET, "bpfd closed the connection");
        return Errno(errno, "recv");
      }
      if (got == 0) return Status::Error(ECONNRESET, "bpfd closed the connection");
      *n = static_cast<size_t>(got);
      return Status::Ok();
    }
  }

 private:
  int fd_;
};

}  // namespace

std::unique_ptr<ClientStream> SocketStream(int fd) {
  return std::make_unique<SocketClientStream>(fd);
}

BlockingClient::BlockingClient(int fd) {
  if (fd >= 0) stream_ = SocketStream(fd);
}

BlockingClient::BlockingClient(BlockingClient&& other) noexcept
    : stream_(std::move(other.stream_)), next_id_(other.next_id_) {}

BlockingClient& BlockingClient::operator=(BlockingClient&& other) noexcept {
  if (this != &other) {
    stream_ = std::move(other.stream_);
    next_id_ = other.next_id_;
  }
  return *this;
}

BlockingClient::~BlockingClient() = default;

void BlockingClient::Close() { stream_.reset(); }

Status BlockingClient::ConnectAbstract(const std::string& name) {
  Close();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (name.empty() || name.size() + 1 > sizeof(addr.sun_path)) {
    return Status::Error(EINVAL, "abstract socket name must have 1.." +
                                     std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
  }
  // Abstract names start with a NUL byte and are not NUL-terminated: the length says where the
  // name ends.
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno(errno, "socket");
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
    const int err = errno;
    ::close(fd);
    return Errno(err, "connect to @" + name);
  }
  stream_ = SocketStream(fd);
  return Status::Ok();
}

Status BlockingClient::SendRaw(const std::vector<uint8_t>& bytes) {
  if (!stream_) return Status::Error(ENOTCONN, "not connected");
  return stream_->WriteAll(bytes, ClientStream::Deadline::max());
}

Status BlockingClient::ReceiveReply(OwnedReply* out, std::chrono::milliseconds timeout) {
  if (!stream_) return Status::Error(ENOTCONN, "not connected");
  FrameDecoder decoder;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  uint8_t byte_buffer[4096];
  while (!decoder.HasFrame()) {
    // Read no further than the current frame, so bytes of a following reply stay in the stream.
    const size_t want = std::min(sizeof(byte_buffer), decoder.needed());
    size_t n = 0;
    Status s = stream_->ReadSome(std::span(byte_buffer, want), &n, deadline);
    if (!s.ok()) return s;
    decoder.Feed(std::span<const uint8_t>(byte_buffer, n));
    if (decoder.failed()) return decoder.status();
  }
  const std::span<const uint8_t> body = decoder.Body();
  out->frame.assign(body.begin(), body.end());
  return DecodeReply(out->frame, &out->reply);
}

Status BlockingClient::Call(Request request, OwnedReply* out, std::chrono::milliseconds timeout) {
  request.request_id = next_id_++;
  if (next_id_ == 0) next_id_ = 1;
  std::vector<uint8_t> frame;
  Status s = EncodeRequest(request, &frame);
  if (!s.ok()) return s;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (!stream_) return Status::Error(ENOTCONN, "not connected");
  s = stream_->WriteAll(frame, deadline);
  if (!s.ok()) return s;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    s = ReceiveReply(out, std::max(left, std::chrono::milliseconds(0)));
    if (!s.ok()) return s;
    if (out->reply.request_id == request.request_id) return Status::Ok();
    // A connection-level error (id 0) is about this connection: report it.
    if (out->reply.request_id == 0) return Status::Ok();
  }
}

}  // namespace nfb::offload::proto
