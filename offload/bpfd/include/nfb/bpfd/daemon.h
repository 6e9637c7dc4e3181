// bpfd's event loop: one thread, one epoll set holding every domain's listener and session, the
// control socket and the interrupt fd.
//
// Why one thread: every request touches shared state (the dispatcher's maps, the per-domain
// tables, libbpf's process-wide handlers) and takes microseconds to milliseconds, so threads per
// domain would spend their time waiting on one global lock; a single loop has no locks to get
// wrong and makes the order of events per domain obvious. Fairness comes from bounding the work
// per wake-up (a few frames per session before the next session's turn); the one long operation
// is the kernel verifier on a large program, which no design avoids without a process per load.
//
// Bounds on misbehaving peers: a frame whose header announces more than kMaxFrameBody, or less
// than a body header, gets an error reply and the session is closed (a byte stream cannot be
// resynchronised); a frame left incomplete for `frame_timeout` (slowloris) gets -ETIMEDOUT and
// is closed; a peer that does not read its replies stops being read once `max_output` bytes are
// queued; well-framed garbage gets an error reply per frame, at the cost of its own bandwidth.
// Closing a session unloads everything the domain loaded (OffloadService::ResetDomain).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nfb/bpfd/control.h"
#include "nfb/bpfd/service.h"
#include "nfb/bpfd/transport.h"

namespace nfb::bpfd {

struct DaemonOptions {
  std::string control_path;  // dom0 control socket; empty = no control socket
  std::chrono::milliseconds frame_timeout{10'000};  // to complete a started frame
  size_t max_output = 256 * 1024;  // queued reply bytes per session before reading stops
  int frames_per_turn = 4;         // frames handled per session per wake-up
};

// Creates the listener of a newly registered domain (netns: ListenAbstract in spec.netns; Xen:
// ListenVchan(spec.domid)). Throws on failure, which fails the registration.
using ListenerFactory = std::function<std::unique_ptr<Listener>(const DomainSpec& spec)>;

// The factory bpfd uses: a vchan when spec.domid >= 0, else the abstract socket `socket_name`
// inside spec.netns.
ListenerFactory DefaultListenerFactory(std::string socket_name);

class Daemon {
 public:
  // `service` must outlive the daemon. Creates the epoll set and, if options.control_path is
  // set, the control socket (RunError if it is in use by another bpfd).
  Daemon(OffloadService& service, ListenerFactory listeners, DaemonOptions options);
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  // Closes every session (unloading what their domains loaded), listener and control connection,
  // and removes the control socket file.
  ~Daemon();

  // Registers a domain: checks the spec, creates its listener, adds it to the service. Throws
  // InputError (bad spec, name or MAC taken) or whatever the listener factory throws.
  void RegisterDomain(const DomainSpec& spec);
  // Closes the domain's session and listener and removes everything it loaded. Throws
  // InputError for an unknown name.
  void UnregisterDomain(const std::string& name);

  // Serves until Stop() is called or, when `stop_on_interrupt`, SIGINT/SIGTERM arrive (see
  // nfb/core/cancel.h; the caller installs the InterruptScope). Throws RunError if epoll fails.
  void Run(bool stop_on_interrupt = true);
  // Makes Run() return after the current event (or at once, if called before Run()); safe from
  // any thread and from callbacks. The daemon does not run again afterwards.
  void Stop();

  // Adds a descriptor to the loop (the Xen platform's XenStore watch will come in here);
  // `on_readable` runs in the loop thread each time it is readable. Throws RunError.
  void AddWatch(int fd, std::function<void()> on_readable);
  void RemoveWatch(int fd);

  std::vector<DomainStatus> Status() const;
  DomainStatus Status(const std::string& name) const;
  size_t sessions() const;

 private:
  struct Session;
  struct DomainEntry;
  struct ControlConnection;
  enum class Kind { kListener, kSession, kControlListener, kControl, kWakeup, kInterrupt, kWatch };
  struct Token {
    Kind kind;
    std::string name;  // domain of a listener/session
    int fd = -1;       // control connection, watch
  };

  uint64_t AddToken(int fd, uint32_t events, Token token);
  void Modify(uint64_t token, int fd, uint32_t events);
  void Forget(uint64_t token, int fd);

  void OnListener(const std::string& domain);
  void OnSession(const std::string& domain, uint32_t events, bool from_epoll);
  void CloseSession(DomainEntry& entry, const std::string& why);
  void Flush(DomainEntry& entry);
  void UpdateInterest(DomainEntry& entry);
  void SendFinal(Channel& channel, std::vector<uint8_t> frame);
  void CheckDeadlines();
  int NextTimeoutMs() const;

  void OnControlListener();
  void OnControl(int fd);
  std::string HandleControl(const std::string& line, bool* shutdown);
  void CloseControl(int fd);

  OffloadService& service_;
  ListenerFactory listeners_;
  DaemonOptions options_;
  int epoll_fd_ = -1;
  int wakeup_fd_ = -1;
  int control_fd_ = -1;
  std::atomic<bool> stop_{false};  // set by Stop() from any thread
  uint64_t next_token_ = 1;
  std::map<uint64_t, Token> tokens_;
  std::map<std::string, std::unique_ptr<DomainEntry>, std::less<>> domains_;
  std::map<int, std::unique_ptr<ControlConnection>> controls_;
  std::map<int, std::pair<uint64_t, std::function<void()>>> watches_;
};

}  // namespace nfb::bpfd
