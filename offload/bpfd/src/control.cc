#include "nfb/bpfd/control.h"

#include <fmt/core.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "nfb/bpf/mac_address.h"
#include "nfb/core/error.h"

namespace nfb::bpfd {

using nlohmann::json;

void to_json(json& j, const DomainSpec& spec) {
  j = json{{"name", spec.name}, {"netns", spec.netns}, {"mac", spec.mac}};
  if (spec.domid >= 0) j["domid"] = spec.domid;
}

void from_json(const json& j, DomainSpec& spec) {
  if (!j.is_object()) throw InputError("a domain must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (key != "cmd" && key != "name" && key != "netns" && key != "mac" && key != "domid") {
      throw InputError(fmt::format("unknown field '{}'", key));
    }
  }
  spec = DomainSpec{};
  if (!j.contains("name") || !j.at("name").is_string()) throw InputError("'name' must be a string");
  spec.name = j.at("name").get<std::string>();
  if (j.contains("netns")) {
    if (!j.at("netns").is_string()) throw InputError("'netns' must be a string");
    spec.netns = j.at("netns").get<std::string>();
  }
  if (!j.contains("mac") || !j.at("mac").is_string()) throw InputError("'mac' must be a string");
  spec.mac = j.at("mac").get<std::string>();
  if (j.contains("domid")) {
    if (!j.at("domid").is_number_integer()) throw InputError("'domid' must be an integer");
    spec.domid = j.at("domid").get<int>();
  }
}

void to_json(json& j, const DomainStatus& s) {
  j = json{{"name", s.name},
           {"netns", s.netns},
           {"mac", s.mac},
           {"connected", s.connected},
           {"programs", s.programs},
           {"maps", s.maps},
           {"map_memory", s.map_memory},
           {"attached_program", s.attached_program ? json(*s.attached_program) : json(nullptr)},
           {"slot", s.slot ? json(*s.slot) : json(nullptr)},
           {"packets", s.packets},
           {"bytes", s.bytes},
           {"cpu_ns", s.cpu_ns},
           {"cost_ps", s.cost_ps},
           {"method", s.method}};
  if (s.domid >= 0) j["domid"] = s.domid;
}

void from_json(const json& j, DomainStatus& s) {
  s = DomainStatus{};
  s.name = j.at("name").get<std::string>();
  s.netns = j.at("netns").get<std::string>();
  s.mac = j.at("mac").get<std::string>();
  s.connected = j.at("connected").get<bool>();
  s.programs = j.at("programs").get<uint32_t>();
  s.maps = j.at("maps").get<uint32_t>();
  s.map_memory = j.at("map_memory").get<uint64_t>();
  if (!j.at("attached_program").is_null())
    s.attached_program = j.at("attached_program").get<uint32_t>();
  if (!j.at("slot").is_null()) s.slot = j.at("slot").get<uint32_t>();
  s.packets = j.at("packets").get<uint64_t>();
  s.bytes = j.at("bytes").get<uint64_t>();
  s.cpu_ns = j.at("cpu_ns").get<uint64_t>();
  s.cost_ps = j.at("cost_ps").get<uint64_t>();
  s.method = j.at("method").get<std::string>();
  if (j.contains("domid")) s.domid = j.at("domid").get<int>();
}

void ValidateDomainSpec(const DomainSpec& spec) {
  if (spec.name.empty() || spec.name.size() > 64) {
    throw InputError(fmt::format("domain name '{}' must have 1..64 characters", spec.name));
  }
  for (const char c : spec.name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok)
      throw InputError(fmt::format("domain name '{}' may only use A-Z a-z 0-9 _ . -", spec.name));
  }
  const bpf::MacAddress mac = bpf::ParseMac(spec.mac);
  if (bpf::IsGroupMac(mac)) {
    throw InputError(fmt::format("domain {}: {} is a group address", spec.name, spec.mac));
  }
  if (spec.netns.empty() && spec.domid < 0) {
    throw InputError(
        fmt::format("domain {}: give its network namespace ('netns') or, on Xen, its "
                    "'domid'",
                    spec.name));
  }
  if (spec.netns.find('/') != std::string::npos || spec.netns == "." || spec.netns == "..") {
    throw InputError(fmt::format("domain {}: '{}' is not a namespace name", spec.name, spec.netns));
  }
}

// --- client --------------------------------------------------------------------------------------

namespace {

int ConnectPath(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string p = path.string();
  if (p.empty() || p.size() >= sizeof(addr.sun_path)) {
    throw InputError(fmt::format("control socket path '{}' is too long", p));
  }
  std::memcpy(addr.sun_path, p.data(), p.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) ThrowSystemError("socket", errno);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    ::close(fd);
    ThrowSystemError("connect to bpfd's control socket " + p, err);
  }
  return fd;
}

}  // namespace

ControlClient::ControlClient(const std::filesystem::path& path, std::chrono::milliseconds timeout)
    : fd_(ConnectPath(path)), timeout_(timeout) {}

ControlClient::ControlClient(ControlClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      timeout_(other.timeout_),
      pending_(std::move(other.pending_)) {}

ControlClient& ControlClient::operator=(ControlClient&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    timeout_ = other.timeout_;
    pending_ = std::move(other.pending_);
  }
  return *this;
}

ControlClient::~ControlClient() {
  if (fd_ >= 0) ::close(fd_);
}

void ControlClient::WaitReady(const std::filesystem::path& path,
                              std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last_error = "not started";
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      ControlClient client(path, std::chrono::seconds(5));
      client.Ping();
      return;
    } catch (const Error& e) {
      last_error = e.what();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw RunError(fmt::format("bpfd did not answer on {} within {} ms: {}", path.string(),
                             timeout.count(), last_error));
}

json ControlClient::Call(const json& request) {
  if (fd_ < 0) throw RunError("control client is not connected");
  const std::string line = request.dump() + "\n";
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::send(fd_, line.data() + done, line.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      ThrowSystemError("send to bpfd's control socket", errno);
    }
    done += static_cast<size_t>(n);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    const size_t newline = pending_.find('\n');
    if (newline != std::string::npos) {
      const std::string answer = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      try {
        return json::parse(answer);
      } catch (const json::exception& e) {
        throw InputError(fmt::format("bpfd sent a malformed control answer: {}", e.what()));
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw RunError("bpfd did not answer on its control socket in time");
    pollfd pfd{fd_, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) ThrowSystemError("poll", errno);
    if (ready <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      ThrowSystemError("recv from bpfd's control socket", errno);
    }
    if (n == 0) throw RunError("bpfd closed the control connection");
    pending_.append(buffer, static_cast<size_t>(n));
    if (pending_.size() > (1u << 24)) throw RunError("bpfd's control answer is too long");
  }
}

json ControlClient::CallChecked(const json& request) {
  json answer = Call(request);
  if (!answer.is_object() || !answer.contains("ok") || !answer.at("ok").is_boolean()) {
    throw InputError("bpfd's control answer has no 'ok'");
  }
  if (!answer.at("ok").get<bool>()) {
    throw RunError(fmt::format("bpfd: {} failed: {}", request.value("cmd", "?"),
                               answer.value("error", std::string("no reason given"))));
  }
  return answer;
}

void ControlClient::Ping() { CallChecked({{"cmd", "ping"}}); }

void ControlClient::Register(const DomainSpec& spec) {
  json request = spec;
  request["cmd"] = "register";
  CallChecked(request);
}

void ControlClient::Unregister(const std::string& name) {
  CallChecked({{"cmd", "unregister"}, {"name", name}});
}

std::vector<DomainStatus> ControlClient::List() {
  const json answer = CallChecked({{"cmd", "list"}});
  try {
    return answer.at("domains").get<std::vector<DomainStatus>>();
  } catch (const json::exception& e) {
    throw InputError(fmt::format("bpfd's list answer is malformed: {}", e.what()));
  }
}

DomainStatus ControlClient::Stats(const std::string& name) {
  const json answer = CallChecked({{"cmd", "stats"}, {"name", name}});
  try {
    return answer.at("domain").get<DomainStatus>();
  } catch (const json::exception& e) {
    throw InputError(fmt::format("bpfd's stats answer is malformed: {}", e.what()));
  }
}

void ControlClient::Shutdown() { CallChecked({{"cmd", "shutdown"}}); }

}  // namespace nfb::bpfd
