#include "nfb/bpfd/daemon.h"

#include <fmt/core.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "nfb/bpf/mac_address.h"
#include "nfb/bpfd/vchan_transport.h"
#include "nfb/core/cancel.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/offload/frame_decoder.h"
#include "nfb/offload/protocol.h"

namespace nfb::bpfd {

namespace proto = offload::proto;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct Daemon::Session {
  std::unique_ptr<Channel> channel;
  uint64_t token = 0;
  int fd = -1;            // as registered with epoll
  uint32_t interest = 0;  // as registered with epoll
  proto::FrameDecoder decoder;
  std::vector<uint8_t> output;  // replies not yet written
  size_t written = 0;           // of `output`
  std::optional<Clock::time_point> frame_deadline;
  uint64_t requests = 0;
};

struct Daemon::DomainEntry {
  DomainSpec spec;
  std::unique_ptr<Listener> listener;
  uint64_t listener_token = 0;
  int listener_fd = -1;
  std::unique_ptr<Session> session;
};

struct Daemon::ControlConnection {
  uint64_t token = 0;
  std::string input;
};

namespace {

constexpr int kMaxControlConnections = 16;

std::vector<uint8_t> ConnectionError(int errno_value, const std::string& message) {
  std::vector<uint8_t> frame;
  proto::EncodeReply(proto::ErrorReply(0, 0, proto::Status::Error(errno_value, message)), &frame);
  return frame;
}

}  // namespace

ListenerFactory DefaultListenerFactory(std::string socket_name) {
  return [socket_name](const DomainSpec& spec) -> std::unique_ptr<Listener> {
    if (spec.netns.empty() && spec.domid >= 0) {
      return ListenVchan(spec.domid, VchanXenStorePath(spec.domid));
    }
    return ListenAbstract(spec.netns, socket_name);
  };
}

Daemon::Daemon(OffloadService& service, ListenerFactory listeners, DaemonOptions options)
    : service_(service), listeners_(std::move(listeners)), options_(std::move(options)) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) ThrowSystemError("epoll_create1", errno);
  wakeup_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wakeup_fd_ < 0) {
    const int err = errno;
    ::close(epoll_fd_);
    ThrowSystemError("eventfd", err);
  }
  AddToken(wakeup_fd_, EPOLLIN, Token{Kind::kWakeup, {}, wakeup_fd_});
  if (!options_.control_path.empty()) {
    control_fd_ = ListenPath(options_.control_path);
    AddToken(control_fd_, EPOLLIN, Token{Kind::kControlListener, {}, control_fd_});
  }
}

Daemon::~Daemon() {
  for (auto& [name, entry] : domains_) {
    if (entry->session) CloseSession(*entry, "bpfd is shutting down");
    service_.RemoveDomain(name);
  }
  domains_.clear();
  for (auto& [fd, connection] : controls_) ::close(fd);
  controls_.clear();
  if (control_fd_ >= 0) {
    ::close(control_fd_);
    ::unlink(options_.control_path.c_str());
  }
  ::close(wakeup_fd_);
  ::close(epoll_fd_);
}

// --- epoll bookkeeping ---------------------------------------------------------------------------

uint64_t Daemon::AddToken(int fd, uint32_t events, Token token) {
  const uint64_t id = next_token_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) ThrowSystemError("epoll_ctl ADD", errno);
  tokens_.emplace(id, std::move(token));
  return id;
}

void Daemon::Modify(uint64_t token, int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0) ThrowSystemError("epoll_ctl MOD", errno);
}

void Daemon::Forget(uint64_t token, int fd) {
  // The fd may already be closed by its owner; the token is what matters for stale events.
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  tokens_.erase(token);
}

void Daemon::AddWatch(int fd, std::function<void()> on_readable) {
  const uint64_t token = AddToken(fd, EPOLLIN, Token{Kind::kWatch, {}, fd});
  watches_[fd] = {token, std::move(on_readable)};
}

void Daemon::RemoveWatch(int fd) {
  const auto it = watches_.find(fd);
  if (it == watches_.end()) return;
  Forget(it->second.first, fd);
  watches_.erase(it);
}

// --- domains -------------------------------------------------------------------------------------

void Daemon::RegisterDomain(const DomainSpec& spec) {
  ValidateDomainSpec(spec);
  if (domains_.count(spec.name) != 0) {
    throw InputError(fmt::format("domain {} is already registered", spec.name));
  }
  const bpf::MacAddress mac = bpf::ParseMac(spec.mac);
  std::unique_ptr<Listener> listener = listeners_(spec);
  service_.AddDomain(spec.name, mac);
  auto entry = std::make_unique<DomainEntry>();
  entry->spec = spec;
  entry->listener = std::move(listener);
  entry->listener_fd = entry->listener->fd();
  try {
    entry->listener_token =
        AddToken(entry->listener_fd, EPOLLIN, Token{Kind::kListener, spec.name, -1});
  } catch (...) {
    service_.RemoveDomain(spec.name);
    throw;
  }
  log::Info("domain {} registered: MAC {}, channel {}", spec.name, spec.mac,
            entry->listener->Describe());
  domains_.emplace(spec.name, std::move(entry));
}

void Daemon::UnregisterDomain(const std::string& name) {
  const auto it = domains_.find(name);
  if (it == domains_.end()) throw InputError(fmt::format("domain {} is not registered", name));
  DomainEntry& entry = *it->second;
  if (entry.session) CloseSession(entry, "domain unregistered");
  if (entry.listener_fd >= 0) Forget(entry.listener_token, entry.listener_fd);
  service_.RemoveDomain(name);
  domains_.erase(it);
  log::Info("domain {} unregistered", name);
}

DomainStatus Daemon::Status(const std::string& name) const {
  const auto it = domains_.find(name);
  if (it == domains_.end()) throw InputError(fmt::format("domain {} is not registered", name));
  const DomainEntry& entry = *it->second;
  const DomainReport r = service_.Report(name);
  DomainStatus s;
  s.name = name;
  s.netns = entry.spec.netns;
  s.domid = entry.spec.domid;
  s.mac = bpf::FormatMac(r.mac);
  s.connected = entry.session != nullptr;
  s.programs = r.programs;
  s.maps = r.maps;
  s.map_memory = r.map_memory;
  s.attached_program = r.attached_program;
  s.slot = r.slot;
  s.packets = r.packets;
  s.bytes = r.bytes;
  s.cpu_ns = r.cpu_ns;
  s.cost_ps = r.cost_ps;
  s.method = r.method;
  return s;
}

std::vector<DomainStatus> Daemon::Status() const {
  std::vector<DomainStatus> all;
  for (const auto& [name, entry] : domains_) all.push_back(Status(name));
  return all;
}

size_t Daemon::sessions() const {
  return std::count_if(domains_.begin(), domains_.end(),
                       [](const auto& entry) { return entry.second->session != nullptr; });
}

// --- sessions ------------------------------------------------------------------------------------

void Daemon::OnListener(const std::string& domain) {
  const auto it = domains_.find(domain);
  if (it == domains_.end()) return;
  DomainEntry& entry = *it->second;
  std::unique_ptr<Channel> channel;
  try {
    channel = entry.listener->Accept();
  } catch (const std::exception& e) {
    log::Error("domain {}: {}", domain, e.what());
  }
  // Always registered again: a listener may re-arm with a new descriptor, possibly under the
  // number of the one it just closed (a vchan server replaced), which epoll no longer watches.
  Forget(entry.listener_token, entry.listener_fd);
  entry.listener_token = 0;
  entry.listener_fd = entry.listener->fd();
  if (entry.listener_fd >= 0) {
    entry.listener_token = AddToken(entry.listener_fd, EPOLLIN, Token{Kind::kListener, domain, -1});
  } else {
    log::Error(
        "domain {}: its channel could not be re-armed; no new sessions until it is "
        "registered again",
        domain);
  }
  if (!channel) return;
  if (entry.session) {
    // One session per domain, like the single vchan of the thesis: the domain's objects belong
    // to the session that loaded them, and a second client would see IDs it did not create.
    log::Warn("domain {}: refused a second connection on {} while a session is open", domain,
              channel->Describe());
    SendFinal(*channel, ConnectionError(EBUSY, "another session of this domain is open"));
    return;
  }
  auto session = std::make_unique<Session>();
  session->channel = std::move(channel);
  session->fd = session->channel->fd();
  session->interest = EPOLLIN;
  session->token = AddToken(session->fd, session->interest, Token{Kind::kSession, domain, -1});
  log::Info("domain {}: session opened on {}", domain, session->channel->Describe());
  entry.session = std::move(session);
}

void Daemon::SendFinal(Channel& channel, std::vector<uint8_t> frame) {
  // Best effort: the reply is small and the channel about to close, so one non-blocking write.
  const IoResult r = channel.Write(frame);
  if (r.bytes != frame.size()) log::Debug("final error reply not fully delivered");
}

void Daemon::CloseSession(DomainEntry& entry, const std::string& why) {
  if (!entry.session) return;
  Session& s = *entry.session;
  Forget(s.token, s.fd);
  log::Info("domain {}: session closed after {} request(s) ({}); removing what it loaded",
            entry.spec.name, s.requests, why);
  entry.session.reset();
  service_.ResetDomain(entry.spec.name);
}

void Daemon::Flush(DomainEntry& entry) {
  Session& s = *entry.session;
  while (s.written < s.output.size()) {
    const IoResult r = s.channel->Write(std::span(s.output).subspan(s.written));
    if (r.closed || r.error != 0) {
      CloseSession(entry, r.error != 0 ? std::strerror(r.error) : "peer closed while we wrote");
      return;
    }
    if (r.would_block || r.bytes == 0) break;
    s.written += r.bytes;
  }
  if (s.written == s.output.size()) {
    s.output.clear();
    s.written = 0;
    if (s.output.capacity() > 64 * 1024) s.output.shrink_to_fit();
  }
}

void Daemon::UpdateInterest(DomainEntry& entry) {
  if (!entry.session) return;
  Session& s = *entry.session;
  const size_t backlog = s.output.size() - s.written;
  uint32_t want = 0;
  if (!s.channel->WritableByEpollout()) {
    want = EPOLLIN;  // a vchan signals both directions on one fd
  } else {
    if (backlog < options_.max_output) want |= EPOLLIN;
    if (backlog > 0) want |= EPOLLOUT;
  }
  if (want != s.interest) {
    Modify(s.token, s.fd, want);
    s.interest = want;
  }
}

void Daemon::OnSession(const std::string& domain, uint32_t events, bool from_epoll) {
  const auto it = domains_.find(domain);
  if (it == domains_.end() || !it->second->session) return;
  DomainEntry& entry = *it->second;
  Session* s = entry.session.get();
  // Only after epoll reported the fd: a vchan's acknowledgement blocks when no event is pending.
  if (from_epoll) s->channel->Acknowledge();
  if (events & EPOLLERR) {
    CloseSession(entry, "channel error");
    return;
  }
  if (s->output.size() > s->written) {
    Flush(entry);
    if (!entry.session) return;
  }
  uint8_t buffer[16 * 1024];
  int frames = 0;
  while (frames < options_.frames_per_turn && s->output.size() - s->written < options_.max_output) {
    // Read no further than the current frame: the rest stays in the channel, which is where
    // bounded buffering and fairness between domains come from.
    const size_t want = std::min(sizeof(buffer), s->decoder.needed());
    const IoResult r = s->channel->Read(std::span(buffer, want));
    if (r.closed || r.error != 0) {
      CloseSession(entry, r.error != 0
                              ? std::strerror(r.error)
                              : (s->decoder.MidFrame() ? "peer closed mid-frame" : "peer closed"));
      return;
    }
    if (r.would_block || r.bytes == 0) break;
    s->decoder.Feed(std::span<const uint8_t>(buffer, r.bytes));
    if (s->decoder.failed()) {
      const proto::Status& status = s->decoder.status();
      log::Warn("domain {}: {}; closing the session", domain, status.message);
      SendFinal(*s->channel, ConnectionError(status.code, status.message));
      CloseSession(entry, "unreadable frame header");
      return;
    }
    if (s->decoder.HasFrame()) {
      std::vector<uint8_t> reply = service_.HandleBody(domain, s->decoder.Body());
      s->decoder.Pop();
      s->frame_deadline.reset();
      ++s->requests;
      ++frames;
      s->output.insert(s->output.end(), reply.begin(), reply.end());
      Flush(entry);
      if (!entry.session) return;
    }
  }
  if (s->decoder.MidFrame() && !s->frame_deadline) {
    s->frame_deadline = Clock::now() + options_.frame_timeout;
  }
  UpdateInterest(entry);
}

void Daemon::CheckDeadlines() {
  const auto now = Clock::now();
  for (auto& [name, entry] : domains_) {
    if (!entry->session || !entry->session->frame_deadline) continue;
    if (*entry->session->frame_deadline > now) continue;
    const std::string message =
        fmt::format("frame not completed within {} ms", options_.frame_timeout.count());
    log::Warn("domain {}: {}; closing the session", name, message);
    SendFinal(*entry->session->channel, ConnectionError(ETIMEDOUT, message));
    CloseSession(*entry, "frame timeout");
  }
}

int Daemon::NextTimeoutMs() const {
  int timeout = 1000;
  const auto now = Clock::now();
  for (const auto& [name, entry] : domains_) {
    if (!entry->session) continue;
    if (entry->session->channel->HasPendingInput()) return 0;
    if (entry->session->frame_deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            *entry->session->frame_deadline - now)
                            .count();
      timeout = std::min<int>(timeout, static_cast<int>(std::max<int64_t>(0, left + 1)));
    }
  }
  return timeout;
}

// --- the loop ------------------------------------------------------------------------------------

void Daemon::Stop() {
  stop_ = true;
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wakeup_fd_, &one, sizeof(one));
}

void Daemon::Run(bool stop_on_interrupt) {
  std::optional<uint64_t> interrupt_token;
  int interrupt_fd = -1;
  if (stop_on_interrupt) {
    interrupt_fd = InterruptFd();
    interrupt_token = AddToken(interrupt_fd, EPOLLIN, Token{Kind::kInterrupt, {}, interrupt_fd});
  }
  epoll_event events[32];
  while (!stop_ && !(stop_on_interrupt && Interrupted())) {
    const int n = ::epoll_wait(epoll_fd_, events, 32, NextTimeoutMs());
    if (n < 0) {
      if (errno == EINTR) continue;
      ThrowSystemError("epoll_wait", errno);
    }
    for (int i = 0; i < n && !stop_; ++i) {
      const auto it = tokens_.find(events[i].data.u64);
      if (it == tokens_.end()) continue;  // its owner went away earlier in this batch
      const Token token = it->second;
      try {
        switch (token.kind) {
          case Kind::kListener:
            OnListener(token.name);
            break;
          case Kind::kSession:
            OnSession(token.name, events[i].events, /*from_epoll=*/true);
            break;
          case Kind::kControlListener:
            OnControlListener();
            break;
          case Kind::kControl:
            OnControl(token.fd);
            break;
          case Kind::kWakeup: {
            uint64_t value = 0;
            [[maybe_unused]] const ssize_t r = ::read(wakeup_fd_, &value, sizeof(value));
            break;
          }
          case Kind::kInterrupt:
            stop_ = true;
            break;
          case Kind::kWatch: {
            const auto watch = watches_.find(token.fd);
            if (watch != watches_.end()) watch->second.second();
            break;
          }
        }
      } catch (const std::bad_alloc&) {
        throw;
      } catch (const std::exception& e) {
        // One domain's trouble (an epoll or kernel failure around its session) must not stop the
        // others: drop that session and go on.
        log::Error("{}: {}", token.name.empty() ? "bpfd" : "domain " + token.name, e.what());
        if (token.kind == Kind::kSession) {
          const auto entry = domains_.find(token.name);
          if (entry != domains_.end()) CloseSession(*entry->second, "internal error");
        }
      }
    }
    CheckDeadlines();
    // Vchan rings can hold data their fd no longer reports.
    for (auto& [name, entry] : domains_) {
      if (entry->session && entry->session->channel->HasPendingInput()) {
        OnSession(name, EPOLLIN, /*from_epoll=*/false);
      }
    }
  }
  if (interrupt_token) Forget(*interrupt_token, interrupt_fd);
}

// --- control socket ------------------------------------------------------------------------------

void Daemon::OnControlListener() {
  const int fd = ::accept4(control_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;
  if (controls_.size() >= kMaxControlConnections) {
    log::Warn("control: too many connections, refusing one");
    ::close(fd);
    return;
  }
  auto connection = std::make_unique<ControlConnection>();
  connection->token = AddToken(fd, EPOLLIN, Token{Kind::kControl, {}, fd});
  controls_.emplace(fd, std::move(connection));
}

void Daemon::CloseControl(int fd) {
  const auto it = controls_.find(fd);
  if (it == controls_.end()) return;
  Forget(it->second->token, fd);
  ::close(fd);
  controls_.erase(it);
}

namespace {

// Writes all of `text`, waiting up to a second for room: control clients are dom0's own harness.
bool WriteControl(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd pfd{fd, POLLOUT, 0};
      if (::poll(&pfd, 1, 1000) > 0) continue;
    }
    return false;
  }
  return true;
}

}  // namespace

void Daemon::OnControl(int fd) {
  const auto it = controls_.find(fd);
  if (it == controls_.end()) return;
  ControlConnection& c = *it->second;
  char buffer[4096];
  const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    CloseControl(fd);
    return;
  }
  c.input.append(buffer, static_cast<size_t>(n));
  bool shutdown = false;
  for (size_t newline = c.input.find('\n'); newline != std::string::npos;
       newline = c.input.find('\n')) {
    if (newline > kMaxControlLine) break;
    const std::string line = c.input.substr(0, newline);
    c.input.erase(0, newline + 1);
    if (!WriteControl(fd, HandleControl(line, &shutdown) + "\n")) {
      CloseControl(fd);
      return;
    }
  }
  const size_t newline = c.input.find('\n');
  if ((newline == std::string::npos ? c.input.size() : newline) > kMaxControlLine) {
    WriteControl(fd, json{{"ok", false}, {"error", "control line too long"}}.dump() + "\n");
    CloseControl(fd);
    return;
  }
  if (shutdown) {
    log::Info("control: shutdown requested");
    Stop();
  }
}

std::string Daemon::HandleControl(const std::string& line, bool* shutdown) {
  json answer;
  try {
    json request;
    try {
      request = json::parse(line);
    } catch (const json::exception& e) {
      throw InputError(fmt::format("malformed JSON: {}", e.what()));
    }
    if (!request.is_object() || !request.contains("cmd") || !request.at("cmd").is_string()) {
      throw InputError("a control request is a JSON object with a string 'cmd'");
    }
    const std::string cmd = request.at("cmd").get<std::string>();
    const auto name = [&request]() {
      if (!request.contains("name") || !request.at("name").is_string()) {
        throw InputError("'name' must be a string");
      }
      return request.at("name").get<std::string>();
    };
    answer = {{"ok", true}};
    if (cmd == "ping") {
      answer["protocol_version"] = proto::kVersion;
      answer["domains"] = domains_.size();
    } else if (cmd == "register") {
      RegisterDomain(request.get<DomainSpec>());
    } else if (cmd == "unregister") {
      UnregisterDomain(name());
    } else if (cmd == "list") {
      answer["domains"] = Status();
    } else if (cmd == "stats") {
      answer["domain"] = Status(name());
    } else if (cmd == "shutdown") {
      *shutdown = true;
    } else {
      throw InputError(fmt::format("unknown command '{}'", cmd));
    }
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    answer = {{"ok", false}, {"error", e.what()}};
  }
  return answer.dump();
}

}  // namespace nfb::bpfd
