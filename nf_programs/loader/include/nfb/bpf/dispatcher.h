// Loader for nf_programs/dispatcher.bpf.c, the XenBPF dispatcher: destination MAC -> slot ->
// tail call into the program of the domain that owns that MAC.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>

#include "nf/dispatcher_abi.h"
#include "nfb/bpf/dispatcher_table.h"
#include "nfb/bpf/mac_address.h"
#include "nfb/core/error.h"

struct dispatcher;  // the generated skeleton (dispatcher.skel.h), kept out of this header

namespace nfb::bpf {

// Per-slot counters, summed over all CPUs.
struct SlotCounters {
  uint64_t packets = 0;  // frames whose destination MAC mapped to the slot
  uint64_t bytes = 0;    // their length from the Ethernet header on
};

// SetSlot() found no room for a new MAC: every slot is taken, or both of the MAC's buckets in the
// MAC table are held by MACs that cannot move (DispatcherTable).
class SlotUnavailableError : public RunError {
 public:
  using RunError::RunError;
};

// One loaded dispatcher with its own maps. Attach tc_fd() at the NIC's ingress with
// TcIngressAttachment. Not thread-safe; movable, not copyable. Destroying it empties the slots
// (the kernel clears a program array when its last user reference goes), so an attachment that
// outlives it passes every packet.
class Dispatcher {
 public:
  static constexpr uint32_t kMaxSlots = DISPATCHER_MAX_SLOTS;

  // Opens and loads the dispatcher. Throws PrerequisiteError without privileges and RunError if
  // the kernel rejects it.
  Dispatcher();
  Dispatcher(Dispatcher&& other) noexcept;
  Dispatcher& operator=(Dispatcher&& other) noexcept;
  ~Dispatcher();

  int tc_fd() const;
  int mac_table_fd() const;
  int slot_progs_fd() const;
  int slot_stats_fd() const;

  // Sends frames for `mac` to the SCHED_CLS program prog_fd (the map takes its own reference, so
  // the caller may close prog_fd afterwards). A MAC that already has a slot keeps it and its
  // counters, and gets the new program atomically; a new MAC gets the lowest free slot with
  // counters reset to zero and a bucket in the MAC table (which may move another MAC to its
  // other bucket; it keeps its slot, counters and program). Returns the slot.
  // Throws InputError for a group (multicast) MAC or a negative fd, SlotUnavailableError when all
  // kMaxSlots slots are taken or the MAC's buckets cannot be freed, RunError when the kernel
  // refuses the program (e.g. not a tc program). When it throws, no MAC has gained or lost a slot.
  uint32_t SetSlot(const MacAddress& mac, int prog_fd);

  // Stops dispatching frames for `mac` (they pass from then on) and frees its slot. Does
  // nothing for a MAC without a slot. Throws RunError if the maps cannot be updated.
  void ClearSlot(const MacAddress& mac);

  // The slot of `mac`, if it has one.
  std::optional<uint32_t> SlotOf(const MacAddress& mac) const;

  // The bucket of the MAC table `mac` occupies, if it has a slot (for tests and operators).
  std::optional<uint32_t> BucketOf(const MacAddress& mac) const { return table_.BucketOf(mac); }

  // Counters of the slot of `mac`, summed over CPUs. Throws InputError if `mac` has no slot,
  // RunError if the map cannot be read.
  SlotCounters Counters(const MacAddress& mac) const;

 private:
  struct SkeletonDeleter {
    void operator()(::dispatcher* skel) const;
  };
  struct TableUnmapper {
    void operator()(dispatcher_mac_table* table) const;
  };
  SlotCounters ReadSlot(uint32_t slot) const;
  void ResetSlot(uint32_t slot);
  // One atomic 64-bit store into the kernel's MAC table, through the mapping.
  void Apply(const TableWrite& write);

  std::unique_ptr<::dispatcher, SkeletonDeleter> skel_;
  // mac_table's value, mmap()ed: entries are written with single atomic stores, which the
  // BPF_MAP_UPDATE_ELEM syscall (a memcpy) does not promise.
  std::unique_ptr<dispatcher_mac_table, TableUnmapper> mapped_table_;
  DispatcherTable table_;  // what mapped_table_ holds, and where each MAC is
  std::map<MacAddress, uint32_t> slots_;
};

}  // namespace nfb::bpf
