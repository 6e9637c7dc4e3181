// Channels between bpfd and a domain, behind one interface. Both carry the same byte stream of
// protocol frames (docs/offload-protocol.md):
//   - netns platform: a Unix stream socket in the ABSTRACT namespace ("@xenbpf"), created by bpfd
//     inside the domain's network namespace. Abstract Unix sockets belong to a network
//     namespace, so a process in that domain can reach its own channel and no other, like a
//     vchan; the channel a connection arrived on says which domain speaks.
//   - Xen: a vchan (libxenvchan) per domain, see vchan_transport.h (built with libxen-dev).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>

namespace nfb::bpfd {

// The outcome of one non-blocking read or write.
struct IoResult {
  size_t bytes = 0;          // transferred
  bool would_block = false;  // nothing more right now
  bool closed = false;       // the peer is gone (EOF, reset, vchan closed)
  int error = 0;             // errno of a failure other than the above (the channel is unusable)
};

// One session with one domain's client. Non-blocking.
class Channel {
 public:
  virtual ~Channel() = default;
  // The descriptor to watch for readability (and, if WritableByEpollout(), for writability).
  virtual int fd() const = 0;
  // Sockets report free buffer space with EPOLLOUT; a vchan reports it, like new data, as an
  // event on its event channel fd.
  virtual bool WritableByEpollout() const { return true; }
  // Called once each time fd() reports readable, before Read/Write (a vchan must consume the
  // event notification).
  virtual void Acknowledge() {}
  // Input that arrived but that fd() will not report again (a vchan ring with data left after a
  // partial read). Sockets: false, epoll is level-triggered.
  virtual bool HasPendingInput() { return false; }
  virtual IoResult Read(std::span<uint8_t> buffer) = 0;
  virtual IoResult Write(std::span<const uint8_t> data) = 0;
  // For logs, e.g. "unix @xenbpf in netns nfb1a2b3c-domu1".
  virtual std::string Describe() const = 0;
};

// Where one domain's client connects.
class Listener {
 public:
  virtual ~Listener() = default;
  // Watched for readability; may change after Accept() (a vchan server re-arms with a new event
  // channel, possibly under the old descriptor's number), so the owner registers it again after
  // every Accept(). -1 when the listener can no longer accept (it failed to re-arm).
  virtual int fd() const = 0;
  // Called when fd() is readable: the next session, or nullptr if none is ready (spurious
  // wake-up, a client that went away before it was accepted). Throws RunError on a failure that
  // makes the listener unusable.
  virtual std::unique_ptr<Channel> Accept() = 0;
  virtual std::string Describe() const = 0;
};

// A connected stream socket (an accepted Unix connection, one end of a socketpair) as a Channel.
// Takes ownership of fd and makes it non-blocking.
class SocketChannel : public Channel {
 public:
  SocketChannel(int fd, std::string description);
  SocketChannel(const SocketChannel&) = delete;
  SocketChannel& operator=(const SocketChannel&) = delete;
  ~SocketChannel() override;
  int fd() const override { return fd_; }
  IoResult Read(std::span<uint8_t> buffer) override;
  IoResult Write(std::span<const uint8_t> data) override;
  std::string Describe() const override { return description_; }

 private:
  int fd_;
  std::string description_;
};

// Listens on the abstract Unix socket `name` (no leading '@' or NUL) inside network namespace
// `netns` (a name under /run/netns; empty = the calling thread's namespace). The socket stays in
// that namespace wherever bpfd's thread goes afterwards, and keeps the namespace alive while it
// exists. Throws RunError if the namespace does not exist or the name is taken there
// (EADDRINUSE: another bpfd already serves that domain).
std::unique_ptr<Listener> ListenAbstract(const std::string& netns, const std::string& name);

// A connected pair of stream sockets: {bpfd's end as a Channel, the client's fd}. For tests of
// the framing over any Channel, and in-process clients. Throws RunError.
std::pair<std::unique_ptr<Channel>, int> ChannelPair(const std::string& description);

// A listening Unix stream socket at a filesystem path (bpfd's control socket), mode 0600. A
// stale socket file nobody listens on is replaced; a live one is an error (RunError: "another
// bpfd is running"). Returns the fd (non-blocking, close-on-exec).
int ListenPath(const std::string& path);

}  // namespace nfb::bpfd
