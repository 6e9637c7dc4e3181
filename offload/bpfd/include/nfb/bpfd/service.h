// The request handling of bpfd, without sockets: per-domain translation tables (guest-visible
// IDs -> kernel objects), quotas, ownership and size checks, and CPU accounting.
//
// The seam for tests and fuzzers is HandleRequest(domain, frame) -> reply frame: feed it the
// bytes a guest would send on its channel and get back exactly the bytes bpfd would answer. With
// a FakeBackend (offload/bpfd/testing/fake_backend.h) it needs no privileges:
//
//   nfb::bpfd::testing::FakeBackend backend;
//   nfb::bpfd::OffloadService service(backend);
//   service.AddDomain("domu1", nfb::bpf::ParseMac("02:00:00:00:01:01"));
//   std::vector<uint8_t> reply = service.HandleRequest("domu1", request_frame);
//   nfb::offload::proto::SplitFrame(reply, &body); DecodeReply(body, &decoded); ...
//
// Which domain speaks is the caller's knowledge (the channel the bytes came on), never a field
// of the request. Not thread-safe: bpfd calls it from its single event loop thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nfb/bpf/mac_address.h"
#include "nfb/bpfd/backend.h"
#include "nfb/offload/protocol.h"

namespace nfb::bpfd {

// Per-domain limits (docs/bpfd.md). Programs count every loaded program, attached or not.
struct Quotas {
  uint32_t max_programs = offload::proto::kDefaultMaxPrograms;
  uint32_t max_maps = offload::proto::kDefaultMaxMaps;
  uint64_t max_map_memory = offload::proto::kDefaultMaxMapMemory;  // bytes, estimated
};

// What a domain holds and has been charged, for operators (control `list`/`stats`).
struct DomainReport {
  std::string name;
  bpf::MacAddress mac{};
  uint32_t programs = 0;
  uint32_t maps = 0;
  uint64_t map_memory = 0;
  std::optional<uint32_t> attached_program;  // the guest-visible ID behind the dispatcher
  std::optional<uint32_t> slot;              // the dispatcher slot, while attached
  uint64_t packets = 0;                      // since AddDomain, across sessions
  uint64_t bytes = 0;
  uint64_t cpu_ns = 0;  // packets x cost
  uint64_t cost_ps = 0;
  std::string method;
};

class OffloadService {
 public:
  // `backend` must outlive the service.
  explicit OffloadService(KernelBackend& backend, Quotas quotas = {});
  OffloadService(const OffloadService&) = delete;
  OffloadService& operator=(const OffloadService&) = delete;
  // Removes every domain's programs and maps and clears their slots.
  ~OffloadService();

  // Registers a domain whose traffic arrives for `mac`. Throws InputError for an empty or
  // duplicate name, a MAC another domain has, or a group MAC.
  void AddDomain(const std::string& name, const bpf::MacAddress& mac);
  // Ends the domain's session (see ResetDomain) and forgets it, accounting included. Unknown
  // names are ignored. Never throws.
  void RemoveDomain(const std::string& name) noexcept;
  // What a disconnect does: unloads all the domain's programs and maps, clears its dispatcher
  // slot, and restarts its IDs at 1; the domain stays registered and keeps its packet totals.
  // Unknown names are ignored. Never throws.
  void ResetDomain(const std::string& name) noexcept;

  bool HasDomain(const std::string& name) const;
  std::vector<std::string> Domains() const;
  // Throws InputError for an unknown domain; RunError if counters cannot be read.
  DomainReport Report(const std::string& name) const;

  // Handles one request frame (the 4-byte length prefix and the body, exactly) from `domain` and
  // returns the reply frame. Malformed, truncated, oversized or unknown requests, IDs the domain
  // does not own, wrong key/value sizes, quota and kernel failures all produce an error reply;
  // nothing is thrown (except std::bad_alloc) and the service stays usable. A frame that cannot
  // be split yields a reply with command 0 and request id 0.
  std::vector<uint8_t> HandleRequest(std::string_view domain, std::span<const uint8_t> frame);
  // The same for a body a FrameDecoder has already split off.
  std::vector<uint8_t> HandleBody(std::string_view domain, std::span<const uint8_t> body);

  const Quotas& quotas() const { return quotas_; }

 private:
  struct ProgramEntry {
    std::unique_ptr<KernelProgram> program;
    std::vector<uint32_t> map_ids;  // maps created with it, removed with it
  };
  struct MapEntry {
    std::unique_ptr<KernelMap> map;
    uint32_t program_id = 0;
  };
  struct Domain {
    std::string name;
    bpf::MacAddress mac{};
    // Translation tables: guest-visible ID -> kernel object. IDs start at 1 in every domain and
    // session and are never reused within a session.
    std::map<uint32_t, ProgramEntry> programs;
    std::map<uint32_t, MapEntry> maps;
    uint32_t next_program_id = 1;
    uint32_t next_map_id = 1;
    uint64_t map_memory = 0;
    std::optional<uint32_t> attached;  // program ID behind the dispatcher
    // Counters of slots this domain held before (a slot's counters restart when it is given out
    // again), so totals survive unload/reload and sessions.
    uint64_t retired_packets = 0;
    uint64_t retired_bytes = 0;
  };
  struct Handled;  // a reply's result plus the storage its views point into

  Domain* Find(std::string_view name);
  const Domain* Find(std::string_view name) const;
  void DetachAndRetire(Domain& domain) noexcept;
  void ClearDomain(Domain& domain) noexcept;
  bpf::SlotCounters Totals(const Domain& domain) const;

  Handled LoadElf(Domain& domain, const offload::proto::LoadElfRequest& request);
  Handled LoadBytecode(Domain& domain, const offload::proto::LoadBytecodeRequest& request);
  Handled Unload(Domain& domain, const offload::proto::UnloadRequest& request);
  Handled MapLookup(Domain& domain, const offload::proto::MapLookupRequest& request);
  Handled MapUpdate(Domain& domain, const offload::proto::MapUpdateRequest& request);
  Handled MapDelete(Domain& domain, const offload::proto::MapDeleteRequest& request);
  Handled Stats(Domain& domain, const offload::proto::StatsRequest& request);
  Handled MapInfo(Domain& domain, const offload::proto::MapInfoRequest& request);
  KernelMap& OwnedMap(Domain& domain, uint32_t map_id);
  void AttachNew(Domain& domain, KernelProgram& program);

  KernelBackend& backend_;
  Quotas quotas_;
  std::map<std::string, Domain, std::less<>> domains_;
};

}  // namespace nfb::bpfd
