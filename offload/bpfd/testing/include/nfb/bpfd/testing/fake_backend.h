// An in-memory KernelBackend for tests and fuzzers of bpfd's request handling: no kernel, no
// privileges. Maps behave like the kernel's (sizes, max_entries, update flags, ENOENT); programs
// are tokens; the dispatcher is a table of MAC -> program with counters the test sets.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "nfb/bpfd/backend.h"

namespace nfb::bpfd::testing {

class FakeBackend : public KernelBackend {
 public:
  // What LoadElf does with an object is decided by its first bytes, so tables of requests can
  // pick an outcome:
  //   "REJECT..."     RequestError(EACCES), as bpfd's verifier refusing a tail call
  //   "KERNEL-FAIL..." RequestError(EINVAL), as the kernel verifier refusing it
  //   anything else   success, creating the maps in `elf_maps`
  // Bytecode "REJECT..." and "KERNEL-FAIL..." likewise.
  FakeBackend();

  LoadedElf LoadElf(std::span<const uint8_t> object, std::string_view program,
                    const ObjectBudget& budget) override;
  std::unique_ptr<KernelProgram> LoadBytecode(std::span<const uint8_t> insns, uint32_t prog_type,
                                              std::string_view license) override;
  void Attach(const bpf::MacAddress& mac, const KernelProgram& program) override;
  void Detach(const bpf::MacAddress& mac) noexcept override;
  bpf::SlotCounters Counters(const bpf::MacAddress& mac) override;
  std::optional<uint32_t> SlotOf(const bpf::MacAddress& mac) const override;
  const CostModel& cost_model() const override { return cost_; }

  // The maps each successful LoadElf creates. Default: "counters" (HASH, 4-byte key, 8-byte
  // value, 16 entries) and ".rodata" (ARRAY, 4-byte key, 8-byte value, 1 entry).
  std::vector<MapDescription> elf_maps;
  // Dispatcher slots available (the real dispatcher has 64).
  uint32_t max_slots = 64;

  // Adds traffic to the slot of `mac` (no-op without one), as the dispatcher would count it.
  void AddTraffic(const bpf::MacAddress& mac, uint64_t packets, uint64_t bytes);
  // Name of the program attached for `mac`, empty if none.
  std::string AttachedProgram(const bpf::MacAddress& mac) const;
  // Kernel objects alive right now (created and not yet destroyed).
  int live_programs() const { return *live_programs_; }
  int live_maps() const { return *live_maps_; }
  // How many loads reached the "kernel".
  int loads() const { return loads_; }

 private:
  struct Slot {
    uint32_t index = 0;
    const KernelProgram* program = nullptr;
    bpf::SlotCounters counters;
  };
  CostModel cost_;
  std::map<bpf::MacAddress, Slot> slots_;
  std::shared_ptr<int> live_programs_ = std::make_shared<int>(0);
  std::shared_ptr<int> live_maps_ = std::make_shared<int>(0);
  int loads_ = 0;
};

// A MapDescription with wire_value_size and memory filled in the way LibbpfBackend does it, for
// `cpus` possible CPUs.
MapDescription DescribeMap(std::string name, uint32_t type, uint32_t key_size, uint32_t value_size,
                           uint32_t max_entries, uint32_t cpus = 2);

}  // namespace nfb::bpfd::testing
