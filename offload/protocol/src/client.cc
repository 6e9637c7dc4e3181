#include "nfb/offload/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "nfb/offload/frame_decoder.h"

namespace nfb::offload::proto {
namespace {

Status Errno(int err, const std::string& what) {
  return Status::Error(err, what + ": " + std::strerror(err));
}

}  // namespace

BlockingClient::BlockingClient(BlockingClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), next_id_(other.next_id_) {}

BlockingClient& BlockingClient::operator=(BlockingClient&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
    next_id_ = other.next_id_;
  }
  return *this;
}

BlockingClient::~BlockingClient() { Close(); }

void BlockingClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

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
  fd_ = fd;
  return Status::Ok();
}

Status BlockingClient::SendRaw(const std::vector<uint8_t>& bytes) {
  if (fd_ < 0) return Status::Error(ENOTCONN, "not connected");
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
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

Status BlockingClient::ReceiveReply(OwnedReply* out, std::chrono::milliseconds timeout) {
  if (fd_ < 0) return Status::Error(ENOTCONN, "not connected");
  FrameDecoder decoder;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  uint8_t byte_buffer[4096];
  while (!decoder.HasFrame()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::Error(ETIMEDOUT, "no reply within the timeout");
    pollfd pfd{fd_, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return Errno(errno, "poll");
    }
    if (ready == 0) continue;
    // Read no further than the current frame, so bytes of a following reply stay in the socket.
    const size_t want = std::min(sizeof(byte_buffer), decoder.needed());
    const ssize_t n = ::recv(fd_, byte_buffer, want, 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == ECONNRESET) return Status::Error(ECONNRESET, "bpfd closed the connection");
      return Errno(errno, "recv");
    }
    if (n == 0) return Status::Error(ECONNRESET, "bpfd closed the connection");
    std::span<const uint8_t> input(byte_buffer, static_cast<size_t>(n));
    decoder.Feed(input);
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
  s = SendRaw(frame);
  if (!s.ok()) return s;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
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
