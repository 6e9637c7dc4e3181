#include "nfb/bpfd/service.h"

#include <fmt/core.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

#include "nfb/core/error.h"
#include "nfb/core/log.h"

namespace nfb::bpfd {

namespace proto = offload::proto;

struct OffloadService::Handled {
  proto::ReplyResult result;
  // Storage for views in `result` that do not point into long-lived objects (a vector's heap
  // buffer survives moves of the vector).
  std::vector<uint8_t> value;
};

namespace {

uint64_t CpuNs(uint64_t packets, uint64_t cost_ps) {
  // packets x ps / 1000 without overflowing for any realistic count (2^64 ps is 213 days).
  return packets / 1000 * cost_ps + packets % 1000 * cost_ps / 1000;
}

}  // namespace

OffloadService::OffloadService(KernelBackend& backend, Quotas quotas)
    : backend_(backend), quotas_(quotas) {}

OffloadService::~OffloadService() {
  for (auto& [name, domain] : domains_) ClearDomain(domain);
}

void OffloadService::AddDomain(const std::string& name, const bpf::MacAddress& mac) {
  if (name.empty()) throw InputError("a domain needs a name");
  if (bpf::IsGroupMac(mac)) {
    throw InputError(fmt::format("domain {}: {} is a group address, a domain needs a unicast MAC",
                                 name, bpf::FormatMac(mac)));
  }
  if (domains_.count(name) != 0)
    throw InputError(fmt::format("domain {} is already registered", name));
  for (const auto& [other, domain] : domains_) {
    if (domain.mac == mac) {
      throw InputError(fmt::format("domain {}: MAC {} already belongs to domain {}", name,
                                   bpf::FormatMac(mac), other));
    }
  }
  Domain domain;
  domain.name = name;
  domain.mac = mac;
  domains_.emplace(name, std::move(domain));
}

void OffloadService::RemoveDomain(const std::string& name) noexcept {
  const auto it = domains_.find(name);
  if (it == domains_.end()) return;
  ClearDomain(it->second);
  domains_.erase(it);
}

void OffloadService::ResetDomain(const std::string& name) noexcept {
  Domain* domain = Find(name);
  if (domain == nullptr) return;
  ClearDomain(*domain);
}

void OffloadService::ClearDomain(Domain& domain) noexcept {
  DetachAndRetire(domain);
  const size_t programs = domain.programs.size();
  const size_t maps = domain.maps.size();
  // Maps first: an ELF program and its maps may share one libbpf object, whichever goes last
  // closes it.
  domain.maps.clear();
  domain.programs.clear();
  domain.map_memory = 0;
  domain.next_program_id = 1;
  domain.next_map_id = 1;
  if (programs + maps > 0) {
    log::Info("domain {}: removed {} program(s) and {} map(s)", domain.name, programs, maps);
  }
}

void OffloadService::DetachAndRetire(Domain& domain) noexcept {
  if (!domain.attached) return;
  try {
    const bpf::SlotCounters counters = backend_.Counters(domain.mac);
    domain.retired_packets += counters.packets;
    domain.retired_bytes += counters.bytes;
  } catch (const std::exception& e) {
    log::Warn("domain {}: counters lost on detach: {}", domain.name, e.what());
  }
  backend_.Detach(domain.mac);
  domain.attached.reset();
}

bpf::SlotCounters OffloadService::Totals(const Domain& domain) const {
  bpf::SlotCounters total{domain.retired_packets, domain.retired_bytes};
  if (domain.attached) {
    const bpf::SlotCounters now = backend_.Counters(domain.mac);
    total.packets += now.packets;
    total.bytes += now.bytes;
  }
  return total;
}

bool OffloadService::HasDomain(const std::string& name) const { return Find(name) != nullptr; }

std::vector<std::string> OffloadService::Domains() const {
  std::vector<std::string> names;
  for (const auto& [name, domain] : domains_) names.push_back(name);
  return names;
}

DomainReport OffloadService::Report(const std::string& name) const {
  const Domain* domain = Find(name);
  if (domain == nullptr) throw InputError(fmt::format("unknown domain {}", name));
  DomainReport r;
  r.name = domain->name;
  r.mac = domain->mac;
  r.programs = static_cast<uint32_t>(domain->programs.size());
  r.maps = static_cast<uint32_t>(domain->maps.size());
  r.map_memory = domain->map_memory;
  r.attached_program = domain->attached;
  r.slot = domain->attached ? backend_.SlotOf(domain->mac) : std::nullopt;
  bpf::SlotCounters totals;
  try {
    totals = Totals(*domain);
  } catch (const RequestError& e) {
    throw RunError(fmt::format("domain {}: {}", name, e.what()));
  }
  r.packets = totals.packets;
  r.bytes = totals.bytes;
  r.cost_ps = backend_.cost_model().cost_ps;
  r.cpu_ns = CpuNs(r.packets, r.cost_ps);
  r.method = backend_.cost_model().method;
  return r;
}

OffloadService::Domain* OffloadService::Find(std::string_view name) {
  const auto it = domains_.find(name);
  return it == domains_.end() ? nullptr : &it->second;
}

const OffloadService::Domain* OffloadService::Find(std::string_view name) const {
  const auto it = domains_.find(name);
  return it == domains_.end() ? nullptr : &it->second;
}

// --- request dispatch ----------------------------------------------------------------------------

std::vector<uint8_t> OffloadService::HandleRequest(std::string_view domain,
                                                   std::span<const uint8_t> frame) {
  std::span<const uint8_t> body;
  const proto::Status split = proto::SplitFrame(frame, &body);
  if (!split.ok()) {
    std::vector<uint8_t> reply;
    proto::EncodeReply(proto::ErrorReply(0, 0, split), &reply);
    return reply;
  }
  return HandleBody(domain, body);
}

std::vector<uint8_t> OffloadService::HandleBody(std::string_view domain_name,
                                                std::span<const uint8_t> body) {
  proto::Request request;
  proto::Status status = proto::DecodeRequest(body, &request);
  Handled handled;
  if (status.ok()) {
    Domain* domain = Find(domain_name);
    try {
      if (domain == nullptr) throw RequestError(ENODEV, "this domain is not registered with bpfd");
      handled = std::visit(
          [&](const auto& args) -> Handled {
            using T = std::decay_t<decltype(args)>;
            if constexpr (std::is_same_v<T, proto::LoadElfRequest>) return LoadElf(*domain, args);
            if constexpr (std::is_same_v<T, proto::LoadBytecodeRequest>) {
              return LoadBytecode(*domain, args);
            }
            if constexpr (std::is_same_v<T, proto::UnloadRequest>) return Unload(*domain, args);
            if constexpr (std::is_same_v<T, proto::MapLookupRequest>) {
              return MapLookup(*domain, args);
            }
            if constexpr (std::is_same_v<T, proto::MapUpdateRequest>) {
              return MapUpdate(*domain, args);
            }
            if constexpr (std::is_same_v<T, proto::MapDeleteRequest>) {
              return MapDelete(*domain, args);
            }
            if constexpr (std::is_same_v<T, proto::StatsRequest>) return Stats(*domain, args);
            if constexpr (std::is_same_v<T, proto::MapInfoRequest>) return MapInfo(*domain, args);
          },
          request.args);
    } catch (const RequestError& e) {
      status = proto::Status::Error(e.code(), e.what());
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const std::exception& e) {
      // A bug or an unexpected host failure: the guest learns only that it failed.
      log::Error("domain {}: {} failed: {}", domain_name, proto::CommandName(request.command),
                 e.what());
      status = proto::Status::Error(EIO, "internal error in bpfd");
    }
  }
  if (!status.ok()) {
    log::Debug("domain {}: {} request {} -> {} ({})", domain_name,
               proto::CommandName(request.command), request.request_id, status.code,
               status.message);
  }
  proto::Reply reply =
      status.ok()
          ? proto::Reply{request.command, request.request_id, 0, {}, std::move(handled.result)}
          : proto::ErrorReply(request.command, request.request_id, status);
  std::vector<uint8_t> frame;
  proto::Status encoded = proto::EncodeReply(reply, &frame);
  if (!encoded.ok()) {
    // Only a bug gets here (results are bounded by the same limits); still answer.
    log::Error("domain {}: cannot encode the reply to {}: {}", domain_name,
               proto::CommandName(request.command), encoded.message);
    frame.clear();
    proto::EncodeReply(proto::ErrorReply(request.command, request.request_id,
                                         proto::Status::Error(EIO, "internal error in bpfd")),
                       &frame);
  }
  return frame;
}

// --- commands ------------------------------------------------------------------------------------

void OffloadService::AttachNew(Domain& domain, KernelProgram& program) {
  // The slot keeps its counters when a program replaces another; a fresh slot starts at zero.
  backend_.Attach(domain.mac, program);
}

OffloadService::Handled OffloadService::LoadElf(Domain& domain,
                                                const proto::LoadElfRequest& request) {
  if (domain.programs.size() >= quotas_.max_programs) {
    throw RequestError(EDQUOT, fmt::format("quota: {} programs loaded, the limit is {}; unload one "
                                           "first",
                                           domain.programs.size(), quotas_.max_programs));
  }
  ObjectBudget budget;
  budget.maps = quotas_.max_maps > domain.maps.size()
                    ? quotas_.max_maps - static_cast<uint32_t>(domain.maps.size())
                    : 0;
  budget.map_memory =
      quotas_.max_map_memory > domain.map_memory ? quotas_.max_map_memory - domain.map_memory : 0;
  LoadedElf loaded = backend_.LoadElf(request.object, request.program, budget);
  // The backend enforces the budget; checking again here keeps a faulty backend from breaking
  // the quota or the reply's limits.
  uint64_t memory = 0;
  for (const auto& map : loaded.maps) memory += map->description().memory;
  if (loaded.maps.size() > proto::kMaxMapsPerObject || loaded.maps.size() > budget.maps ||
      memory > budget.map_memory) {
    throw RequestError(EDQUOT,
                       fmt::format("quota: the object's {} maps ({} bytes) exceed what is "
                                   "left ({} maps, {} bytes)",
                                   loaded.maps.size(), memory, budget.maps, budget.map_memory));
  }
  AttachNew(domain, *loaded.program);

  const uint32_t program_id = domain.next_program_id++;
  ProgramEntry entry;
  entry.program = std::move(loaded.program);
  proto::LoadElfResult result;
  result.program_id = program_id;
  for (auto& map : loaded.maps) {
    const uint32_t map_id = domain.next_map_id++;
    entry.map_ids.push_back(map_id);
    KernelMap& stored =
        *domain.maps.emplace(map_id, MapEntry{std::move(map), program_id}).first->second.map;
    result.maps.push_back({stored.description().name, map_id});
  }
  const std::string program_name = entry.program->name();
  domain.programs.emplace(program_id, std::move(entry));
  domain.map_memory += memory;
  const std::optional<uint32_t> previous = domain.attached;
  domain.attached = program_id;
  for (const std::string& note : loaded.notes)
    log::Info("domain {}: verifier: {}", domain.name, note);
  log::Info("domain {}: loaded ELF program {} as id {} with {} map(s), attached for {}{}",
            domain.name, program_name, program_id, result.maps.size(), bpf::FormatMac(domain.mac),
            previous ? fmt::format(" (replacing id {})", *previous) : "");
  return Handled{std::move(result), {}};
}

OffloadService::Handled OffloadService::LoadBytecode(Domain& domain,
                                                     const proto::LoadBytecodeRequest& request) {
  if (domain.programs.size() >= quotas_.max_programs) {
    throw RequestError(EDQUOT, fmt::format("quota: {} programs loaded, the limit is {}; unload one "
                                           "first",
                                           domain.programs.size(), quotas_.max_programs));
  }
  if (request.prog_type != BPF_PROG_TYPE_SCHED_CLS) {
    throw RequestError(EINVAL,
                       fmt::format("program type {} cannot run behind the dispatcher; "
                                   "only BPF_PROG_TYPE_SCHED_CLS ({}) can",
                                   request.prog_type, static_cast<int>(BPF_PROG_TYPE_SCHED_CLS)));
  }
  std::unique_ptr<KernelProgram> program =
      backend_.LoadBytecode(request.insns, request.prog_type, request.license);
  AttachNew(domain, *program);
  const uint32_t program_id = domain.next_program_id++;
  domain.programs.emplace(program_id, ProgramEntry{std::move(program), {}});
  domain.attached = program_id;
  log::Info("domain {}: loaded {} instructions of bytecode as id {}, attached for {}", domain.name,
            request.insns.size() / proto::kInstructionSize, program_id, bpf::FormatMac(domain.mac));
  return Handled{proto::LoadBytecodeResult{program_id}, {}};
}

OffloadService::Handled OffloadService::Unload(Domain& domain,
                                               const proto::UnloadRequest& request) {
  const auto it = domain.programs.find(request.program_id);
  if (it == domain.programs.end()) {
    throw RequestError(ENOENT, fmt::format("no program with id {}", request.program_id));
  }
  if (domain.attached == request.program_id) DetachAndRetire(domain);
  for (const uint32_t map_id : it->second.map_ids) {
    const auto map = domain.maps.find(map_id);
    if (map == domain.maps.end()) continue;
    domain.map_memory -= map->second.map->description().memory;
    domain.maps.erase(map);
  }
  log::Info("domain {}: unloaded program id {} and {} map(s)", domain.name, request.program_id,
            it->second.map_ids.size());
  domain.programs.erase(it);
  return Handled{proto::EmptyResult{}, {}};
}

KernelMap& OffloadService::OwnedMap(Domain& domain, uint32_t map_id) {
  // Another domain's IDs are just unknown numbers here: the tables are per domain.
  const auto it = domain.maps.find(map_id);
  if (it == domain.maps.end()) throw RequestError(ENOENT, fmt::format("no map with id {}", map_id));
  return *it->second.map;
}

namespace {

void CheckKey(const MapDescription& d, uint32_t map_id, std::span<const uint8_t> key) {
  if (key.size() != d.key_size) {
    throw RequestError(EINVAL, fmt::format("map {} takes {}-byte keys, got {} bytes", map_id,
                                           d.key_size, key.size()));
  }
}

void CheckKernel(int rc, std::string_view what, uint32_t map_id) {
  if (rc >= 0) return;
  throw RequestError(rc, fmt::format("{} in map {}: {}", what, map_id, std::strerror(-rc)));
}

}  // namespace

OffloadService::Handled OffloadService::MapLookup(Domain& domain,
                                                  const proto::MapLookupRequest& request) {
  KernelMap& map = OwnedMap(domain, request.map_id);
  CheckKey(map.description(), request.map_id, request.key);
  Handled handled;
  handled.value.resize(map.description().wire_value_size);
  CheckKernel(map.Lookup(request.key, handled.value), "lookup", request.map_id);
  handled.result = proto::MapLookupResult{handled.value};
  return handled;
}

OffloadService::Handled OffloadService::MapUpdate(Domain& domain,
                                                  const proto::MapUpdateRequest& request) {
  KernelMap& map = OwnedMap(domain, request.map_id);
  const MapDescription& d = map.description();
  CheckKey(d, request.map_id, request.key);
  if (request.value.size() != d.wire_value_size) {
    throw RequestError(EINVAL,
                       fmt::format("map {} takes {}-byte values, got {} bytes", request.map_id,
                                   d.wire_value_size, request.value.size()));
  }
  if (request.flags != BPF_ANY && request.flags != BPF_NOEXIST && request.flags != BPF_EXIST) {
    throw RequestError(EINVAL, fmt::format("update flags {:#x}: only BPF_ANY (0), BPF_NOEXIST (1) "
                                           "and BPF_EXIST (2) are accepted",
                                           request.flags));
  }
  CheckKernel(map.Update(request.key, request.value, request.flags), "update", request.map_id);
  return Handled{proto::EmptyResult{}, {}};
}

OffloadService::Handled OffloadService::MapDelete(Domain& domain,
                                                  const proto::MapDeleteRequest& request) {
  KernelMap& map = OwnedMap(domain, request.map_id);
  CheckKey(map.description(), request.map_id, request.key);
  CheckKernel(map.Delete(request.key), "delete", request.map_id);
  return Handled{proto::EmptyResult{}, {}};
}

OffloadService::Handled OffloadService::Stats(Domain& domain, const proto::StatsRequest&) {
  const bpf::SlotCounters totals = Totals(domain);
  const CostModel& cost = backend_.cost_model();
  proto::StatsResult r;
  r.packets = totals.packets;
  r.bytes = totals.bytes;
  r.cost_ps = cost.cost_ps;
  r.cpu_ns = CpuNs(totals.packets, cost.cost_ps);
  r.method = std::string_view(cost.method).substr(0, proto::kMaxNameSize);
  return Handled{r, {}};
}

OffloadService::Handled OffloadService::MapInfo(Domain& domain,
                                                const proto::MapInfoRequest& request) {
  const MapDescription& d = OwnedMap(domain, request.map_id).description();
  return Handled{proto::MapInfoResult{d.type, d.key_size, d.wire_value_size, d.max_entries, d.name},
                 {}};
}

}  // namespace nfb::bpfd
