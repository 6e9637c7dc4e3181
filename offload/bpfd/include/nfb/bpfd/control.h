// bpfd's control socket: dom0 only (a filesystem path, mode 0600), one JSON object per line in
// each direction. The harness registers and unregisters domains here on the netns platform (on
// Xen, bpfd --xenstore does the same through Daemon::RegisterDomain, see xen_discovery.h) and
// reads per-domain accounting. docs/bpfd.md lists the commands.
//
//   -> {"cmd":"register","name":"domu1","netns":"nfb1a2b3c-domu1","mac":"02:00:00:00:01:01"}
//   <- {"ok":true}
//   -> {"cmd":"stats","name":"domu1"}
//   <- {"ok":true,"domain":{"name":"domu1","packets":10,"cpu_ns":350,...}}
//   -> {"cmd":"bogus"}
//   <- {"ok":false,"error":"unknown command 'bogus'"}
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace nfb::bpfd {

// Longest control line bpfd reads; a longer one closes the control connection.
inline constexpr size_t kMaxControlLine = 4096;

// A domain as the harness (or XenStore) knows it.
struct DomainSpec {
  std::string name;   // [A-Za-z0-9_.-]{1,64}
  std::string netns;  // network namespace holding its channel socket (netns platform)
  std::string mac;    // the MAC its traffic is addressed to, "02:00:00:00:01:01"
  int domid = -1;     // Xen domain id (vchan transport); -1 on the netns platform
};

// One domain in `list`/`stats` answers.
struct DomainStatus {
  std::string name;
  std::string netns;
  std::string mac;
  int domid = -1;          // Xen domain id, -1 on the netns platform ("domid" only when set)
  bool connected = false;  // a client session is open
  uint32_t programs = 0;
  uint32_t maps = 0;
  uint64_t map_memory = 0;
  std::optional<uint32_t> attached_program;  // guest-visible ID
  std::optional<uint32_t> slot;              // dispatcher slot
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t cpu_ns = 0;
  uint64_t cost_ps = 0;
  std::string method;
};

void to_json(nlohmann::json& j, const DomainSpec& spec);
void from_json(const nlohmann::json& j, DomainSpec& spec);
void to_json(nlohmann::json& j, const DomainStatus& status);
void from_json(const nlohmann::json& j, DomainStatus& status);

// Checks a registration: name charset and length, MAC syntax and unicast, netns name (or domid)
// present. Throws InputError naming the field.
void ValidateDomainSpec(const DomainSpec& spec);

// A blocking client of the control socket, for the harness and tests. Each call sends one line
// and reads one line. Throws RunError when bpfd cannot be reached or answers {"ok":false} (the
// message is bpfd's error), InputError for a malformed answer.
class ControlClient {
 public:
  // Connects to the control socket at `path`. Throws RunError.
  explicit ControlClient(const std::filesystem::path& path,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ControlClient(ControlClient&& other) noexcept;
  ControlClient& operator=(ControlClient&& other) noexcept;
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;
  ~ControlClient();

  // Waits until a bpfd answers `ping` at `path` (it creates the socket only once the dispatcher
  // is attached and calibrated). Throws RunError after `timeout`.
  static void WaitReady(const std::filesystem::path& path, std::chrono::milliseconds timeout);

  void Ping();
  void Register(const DomainSpec& spec);
  void Unregister(const std::string& name);
  std::vector<DomainStatus> List();
  DomainStatus Stats(const std::string& name);
  // Asks bpfd to exit as on SIGTERM (it answers first).
  void Shutdown();

  // Sends any JSON object and returns the answer, {"ok":false} included (for tests).
  nlohmann::json Call(const nlohmann::json& request);

 private:
  nlohmann::json CallChecked(const nlohmann::json& request);
  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string pending_;  // bytes read past the last line
};

}  // namespace nfb::bpfd
