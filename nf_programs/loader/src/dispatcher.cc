#include "nfb/bpf/dispatcher.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/core.h>
#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <vector>

#include "dispatcher.skel.h"
#include "nfb/bpf/libbpf_support.h"
#include "nfb/core/error.h"

namespace nfb::bpf {

// The layout user space writes into mac_table and reads from slot_stats. A field added to
// dispatcher_abi.h without being handled here breaks the build.
static_assert(sizeof(dispatcher_mac_table) == sizeof(__u64) * DISPATCHER_TABLE_SIZE);
static_assert((DISPATCHER_TABLE_SIZE & (DISPATCHER_TABLE_SIZE - 1)) == 0);
static_assert(DISPATCHER_MAX_SLOTS - 1 <= DISPATCHER_ENTRY_SLOT_MASK, "a slot fits its field");
static_assert(std::atomic_ref<__u64>::is_always_lock_free);
static_assert(alignof(dispatcher_mac_table) >= std::atomic_ref<__u64>::required_alignment);
static_assert(sizeof(dispatcher_slot_counters) == 16);
static_assert(offsetof(dispatcher_slot_counters, packets) == 0);
static_assert(offsetof(dispatcher_slot_counters, bytes) == 8);
static_assert(sizeof(SlotCounters) == sizeof(dispatcher_slot_counters));

namespace {

size_t PossibleCpus() {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) ThrowLibbpfError("count possible CPUs", cpus);
  return static_cast<size_t>(cpus);
}

}  // namespace

void Dispatcher::SkeletonDeleter::operator()(::dispatcher* skel) const {
  dispatcher__destroy(skel);
}

void Dispatcher::TableUnmapper::operator()(dispatcher_mac_table* table) const {
  munmap(table, sizeof(dispatcher_mac_table));
}

Dispatcher::Dispatcher() {
  RouteLibbpfLog();
  skel_.reset(dispatcher__open_and_load());
  if (!skel_) ThrowLibbpfError("load the dispatcher BPF program", -errno);
  const auto& maps = skel_->maps;
  if (bpf_map__value_size(maps.mac_table) != sizeof(dispatcher_mac_table) ||
      bpf_map__max_entries(maps.mac_table) != 1 ||
      (bpf_map__map_flags(maps.mac_table) & BPF_F_MMAPABLE) == 0 ||
      bpf_map__value_size(maps.slot_stats) != sizeof(dispatcher_slot_counters) ||
      bpf_map__max_entries(maps.slot_stats) != kMaxSlots ||
      bpf_map__max_entries(maps.slot_progs) != kMaxSlots) {
    throw RunError("dispatcher: the BPF object's maps do not match dispatcher_abi.h");
  }
  // The map's one value, page-aligned at offset 0 of the mapping (the kernel zeroed it: every
  // bucket free).
  void* mapped = mmap(nullptr, sizeof(dispatcher_mac_table), PROT_READ | PROT_WRITE, MAP_SHARED,
                      mac_table_fd(), 0);
  if (mapped == MAP_FAILED) ThrowSystemError("dispatcher: mmap the MAC table", errno);
  mapped_table_.reset(static_cast<dispatcher_mac_table*>(mapped));
}

Dispatcher::Dispatcher(Dispatcher&& other) noexcept = default;
Dispatcher& Dispatcher::operator=(Dispatcher&& other) noexcept = default;
Dispatcher::~Dispatcher() = default;

int Dispatcher::tc_fd() const { return bpf_program__fd(skel_->progs.dispatcher_tc); }
int Dispatcher::mac_table_fd() const { return bpf_map__fd(skel_->maps.mac_table); }
int Dispatcher::slot_progs_fd() const { return bpf_map__fd(skel_->maps.slot_progs); }
int Dispatcher::slot_stats_fd() const { return bpf_map__fd(skel_->maps.slot_stats); }

uint32_t Dispatcher::SetSlot(const MacAddress& mac, int prog_fd) {
  if (IsGroupMac(mac)) {
    throw InputError(fmt::format("dispatcher: {} is a group address; only unicast MACs get a slot",
                                 FormatMac(mac)));
  }
  if (prog_fd < 0) {
    throw InputError(
        fmt::format("dispatcher: invalid program fd {} for {}", prog_fd, FormatMac(mac)));
  }
  const auto existing = slots_.find(mac);
  const uint32_t fd_value = static_cast<uint32_t>(prog_fd);
  if (existing != slots_.end()) {
    // A known MAC: only the program changes (one atomic update of the program array).
    const uint32_t slot = existing->second;
    const int err = bpf_map_update_elem(slot_progs_fd(), &slot, &fd_value, BPF_ANY);
    if (err != 0) {
      ThrowLibbpfError(fmt::format("dispatcher: put program fd {} into slot {} for {}", prog_fd,
                                   slot, FormatMac(mac)),
                       err);
    }
    return slot;
  }

  std::vector<bool> used(kMaxSlots, false);
  for (const auto& [unused, taken] : slots_) used[taken] = true;
  uint32_t slot = 0;
  while (slot < kMaxSlots && used[slot]) ++slot;
  if (slot == kMaxSlots) {
    throw SlotUnavailableError(fmt::format("dispatcher: all {} slots are taken, none left for {}",
                                           kMaxSlots, FormatMac(mac)));
  }
  const std::optional<TablePlacement> placement = table_.Insert(mac, slot);
  if (!placement) {
    throw SlotUnavailableError(fmt::format(
        "dispatcher: both MAC table buckets of {} ({} and {}) hold MACs that cannot move",
        FormatMac(mac), DispatcherTable::PrimaryBucket(mac),
        DispatcherTable::SecondaryBucket(mac)));
  }
  // Making room moves other MACs between their own buckets; they are found throughout and keep
  // their slots, so this is safe to do before anything that can fail.
  for (const TableWrite& move : placement->moves) Apply(move);
  try {
    // A slot's counters belong to its owner: the next MAC starts from zero. Nothing maps to the
    // slot yet, so no packet can race with the reset.
    ResetSlot(slot);
    // Program first, MAC second: a packet never finds a MAC whose slot is still empty.
    const int err = bpf_map_update_elem(slot_progs_fd(), &slot, &fd_value, BPF_ANY);
    if (err != 0) {
      ThrowLibbpfError(fmt::format("dispatcher: put program fd {} into slot {} for {}", prog_fd,
                                   slot, FormatMac(mac)),
                       err);
    }
  } catch (...) {
    table_.Erase(mac);  // its entry was never written: the kernel's bucket is still free
    throw;
  }
  Apply(placement->entry);
  slots_.emplace(mac, slot);
  return slot;
}

void Dispatcher::ClearSlot(const MacAddress& mac) {
  const auto entry = slots_.find(mac);
  if (entry == slots_.end()) return;
  const uint32_t slot = entry->second;
  // MAC first: from here on its frames pass. One already past the lookup on another CPU finds
  // the slot empty at worst, which also passes.
  if (const std::optional<TableWrite> freed = table_.Erase(mac)) Apply(*freed);
  slots_.erase(entry);
  // A program left behind in a free slot is unreachable and replaced by the next SetSlot().
  const int err = bpf_map_delete_elem(slot_progs_fd(), &slot);
  if (err != 0 && err != -ENOENT) {
    ThrowLibbpfError(fmt::format("dispatcher: empty slot {}", slot), err);
  }
}

std::optional<uint32_t> Dispatcher::SlotOf(const MacAddress& mac) const {
  const auto entry = slots_.find(mac);
  if (entry == slots_.end()) return std::nullopt;
  return entry->second;
}

SlotCounters Dispatcher::Counters(const MacAddress& mac) const {
  const auto entry = slots_.find(mac);
  if (entry == slots_.end()) {
    throw InputError(fmt::format("dispatcher: {} has no slot", FormatMac(mac)));
  }
  return ReadSlot(entry->second);
}

SlotCounters Dispatcher::ReadSlot(uint32_t slot) const {
  std::vector<dispatcher_slot_counters> per_cpu(PossibleCpus());
  const int err = bpf_map_lookup_elem(slot_stats_fd(), &slot, per_cpu.data());
  if (err != 0) ThrowLibbpfError(fmt::format("dispatcher: read counters of slot {}", slot), err);
  SlotCounters total;
  for (const dispatcher_slot_counters& cpu : per_cpu) {
    total.packets += cpu.packets;
    total.bytes += cpu.bytes;
  }
  return total;
}

void Dispatcher::Apply(const TableWrite& write) {
  // Release: on weakly ordered CPUs, earlier writes (the program array, a moved MAC's new copy)
  // become visible no later than this one.
  std::atomic_ref<__u64>(mapped_table_->entries[write.bucket])
      .store(write.entry, std::memory_order_release);
}

void Dispatcher::ResetSlot(uint32_t slot) {
  const std::vector<dispatcher_slot_counters> zeros(PossibleCpus());
  const int err = bpf_map_update_elem(slot_stats_fd(), &slot, zeros.data(), BPF_ANY);
  if (err != 0) ThrowLibbpfError(fmt::format("dispatcher: reset counters of slot {}", slot), err);
}

}  // namespace nfb::bpf
