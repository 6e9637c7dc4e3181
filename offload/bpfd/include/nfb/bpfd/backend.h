// What bpfd needs from the kernel, behind an interface: loading a guest's program and maps,
// operating on maps, putting a program behind the dispatcher for a MAC, and the dispatcher's
// counters. LibbpfBackend (libbpf_backend.h) is the real one; testing/fake_backend.h keeps
// everything in memory so the request handling can be tested without privileges.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "nfb/bpf/dispatcher.h"
#include "nfb/bpf/mac_address.h"

namespace nfb::bpfd {

// A request that fails for a reason the guest should hear about: a negative errno and a message
// that reveals nothing about dom0 or other domains (no fds, no kernel IDs, no paths). Thrown by
// backends and request handlers; OffloadService turns it into an error reply.
class RequestError : public std::runtime_error {
 public:
  // `errno_value` positive or negative; code() is negative.
  RequestError(int errno_value, const std::string& message);
  int code() const { return code_; }

 private:
  int code_;
};

struct MapDescription {
  std::string name;   // as the guest sees it (".rodata" for global data)
  uint32_t type = 0;  // enum bpf_map_type
  uint32_t key_size = 0;
  uint32_t value_size = 0;  // as declared in the object
  uint32_t max_entries = 0;
  uint32_t wire_value_size = 0;  // value bytes on the wire: per-CPU maps hold one
                                 // round_up(value_size, 8) per possible CPU
  uint64_t memory = 0;           // estimate charged to the domain's quota (docs/bpfd.md)
};

// Map types a guest's object may create: plain, per-CPU and LRU hash maps, arrays (global data
// included), LPM tries, queues and stacks. Not program arrays (tail calls), map-in-map,
// device/CPU/socket maps (redirects past the verifier's pinning), ring buffers or anything needing
// BTF-typed values.
bool IsAllowedMapType(uint32_t type);
bool IsPerCpuMap(uint32_t type);
// Bytes one value occupies on the wire: value_size, or for per-CPU maps round_up(value_size, 8)
// for each possible CPU (what the kernel's lookup syscall copies).
uint64_t WireValueSize(uint32_t type, uint32_t value_size, uint32_t possible_cpus);
// The memory charged to a domain's quota for a map: max_entries x (round_up(key_size, 8) +
// round_up(value_size, 8) x (per-CPU ? possible CPUs : 1)). An estimate of what the kernel
// allocates (it adds per-element and per-map overhead, and allocates hash maps lazily with
// BPF_F_NO_PREALLOC), good enough to bound what a guest can pin down in dom0.
uint64_t EstimateMapMemory(uint32_t type, uint32_t key_size, uint32_t value_size,
                           uint32_t max_entries, uint32_t possible_cpus);

class KernelMap {
 public:
  virtual ~KernelMap() = default;
  virtual const MapDescription& description() const = 0;
  // Each returns 0 or a negative errno from the kernel (ENOENT for a missing key, EEXIST/ENOENT
  // for flags, E2BIG when full ...). The caller has checked key.size() == key_size and
  // value.size() == wire_value_size.
  virtual int Lookup(std::span<const uint8_t> key, std::span<uint8_t> value) = 0;
  virtual int Update(std::span<const uint8_t> key, std::span<const uint8_t> value,
                     uint64_t flags) = 0;
  virtual int Delete(std::span<const uint8_t> key) = 0;
};

class KernelProgram {
 public:
  virtual ~KernelProgram() = default;
  // The program's fd, for the dispatcher; only backends look at it.
  virtual int fd() const = 0;
  virtual const std::string& name() const = 0;
};

// What one LOAD_ELF created. The maps live as long as their KernelMap objects, the program as
// long as its KernelProgram (an implementation may share the underlying object between them).
struct LoadedElf {
  std::unique_ptr<KernelProgram> program;
  std::vector<std::unique_ptr<KernelMap>> maps;  // every map the object created
  std::vector<std::string> notes;                // what bpfd's verifier changed, for the log
};

// What is left of the domain's quota for one load.
struct ObjectBudget {
  uint32_t maps = 0;
  uint64_t map_memory = 0;
};

// The per-packet cost of CPU accounting and how it was obtained.
struct CostModel {
  uint64_t cost_ps = 0;  // picoseconds per packet
  std::string method;    // one line, shown to guests (STATS) and operators (control `stats`)
};

class KernelBackend {
 public:
  virtual ~KernelBackend() = default;

  // Loads the tc program named `program` (or, if empty, the object's only tc program) and the
  // object's maps, after bpfd's checks and verifier pass; attaches nothing. Throws RequestError:
  // EINVAL (not a BPF object, no such tc program, bad map definition), E2BIG (more maps than
  // kMaxMapsPerObject, key/value over the wire limits), EDQUOT (over `budget`), EACCES (bpfd's
  // verifier refused it), or the kernel's errno with the tail of its verifier log.
  virtual LoadedElf LoadElf(std::span<const uint8_t> object, std::string_view program,
                            const ObjectBudget& budget) = 0;

  // Loads raw instructions (`insns` is a struct bpf_insn array, a multiple of 8 bytes) as a
  // program of `prog_type`. No maps can be referenced. Throws RequestError like LoadElf.
  virtual std::unique_ptr<KernelProgram> LoadBytecode(std::span<const uint8_t> insns,
                                                      uint32_t prog_type,
                                                      std::string_view license) = 0;

  // Runs `program` for frames to `mac` from now on, replacing the MAC's previous program
  // atomically (its counters continue). Throws RequestError (ENOSPC: no free dispatcher slot,
  // which includes a MAC the dispatcher's table has no room for; the kernel's errno if it
  // refuses the program).
  virtual void Attach(const bpf::MacAddress& mac, const KernelProgram& program) = 0;
  // Stops running anything for `mac`; its frames pass untouched. No-op without a slot. Never
  // throws (failures are logged: the domain is being torn down either way).
  virtual void Detach(const bpf::MacAddress& mac) noexcept = 0;
  // The counters of the MAC's slot since it was attached; zero without a slot. Throws
  // RequestError (EIO) if they cannot be read.
  virtual bpf::SlotCounters Counters(const bpf::MacAddress& mac) = 0;
  // The slot of `mac`, for operators (control `list`).
  virtual std::optional<uint32_t> SlotOf(const bpf::MacAddress& mac) const = 0;

  virtual const CostModel& cost_model() const = 0;
};

}  // namespace nfb::bpfd
