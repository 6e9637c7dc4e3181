#include "nfb/bpf/dispatcher.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/core.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

#include "dispatcher.skel.h"
#include "nfb/bpf/libbpf_support.h"
#include "nfb/core/error.h"

namespace nfb::bpf {

// The layout user space writes into mac_to_slot and reads from slot_stats. A field added to
// dispatcher_abi.h without being handled here breaks the build.
static_assert(sizeof(dispatcher_mac_key) == 8);
static_assert(offsetof(dispatcher_mac_key, addr) == 0);
static_assert(sizeof(dispatcher_mac_key::addr) == std::tuple_size_v<MacAddress>);
static_assert(sizeof(dispatcher_slot_t) == 4);
static_assert(sizeof(dispatcher_slot_counters) == 16);
static_assert(offsetof(dispatcher_slot_counters, packets) == 0);
static_assert(offsetof(dispatcher_slot_counters, bytes) == 8);
static_assert(sizeof(SlotCounters) == sizeof(dispatcher_slot_counters));

namespace {

dispatcher_mac_key MakeKey(const MacAddress& mac) {
  dispatcher_mac_key key{};  // the padding is part of the hash key: it must be zero
  std::memcpy(key.addr, mac.data(), mac.size());
  return key;
}

size_t PossibleCpus() {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) ThrowLibbpfError("count possible CPUs", cpus);
  return static_cast<size_t>(cpus);
}

}  // namespace

void Dispatcher::SkeletonDeleter::operator()(::dispatcher* skel) const {
  dispatcher__destroy(skel);
}

Dispatcher::Dispatcher() {
  RouteLibbpfLog();
  skel_.reset(dispatcher__open_and_load());
  if (!skel_) ThrowLibbpfError("load the dispatcher BPF program", -errno);
  const auto& maps = skel_->maps;
  if (bpf_map__key_size(maps.mac_to_slot) != sizeof(dispatcher_mac_key) ||
      bpf_map__value_size(maps.mac_to_slot) != sizeof(dispatcher_slot_t) ||
      bpf_map__value_size(maps.slot_stats) != sizeof(dispatcher_slot_counters) ||
      bpf_map__max_entries(maps.slot_progs) != kMaxSlots) {
    throw RunError("dispatcher: the BPF object's maps do not match dispatcher_abi.h");
  }
}

Dispatcher::Dispatcher(Dispatcher&& other) noexcept = default;
Dispatcher& Dispatcher::operator=(Dispatcher&& other) noexcept = default;
Dispatcher::~Dispatcher() = default;

int Dispatcher::tc_fd() const { return bpf_program__fd(skel_->progs.dispatcher_tc); }
int Dispatcher::mac_to_slot_fd() const { return bpf_map__fd(skel_->maps.mac_to_slot); }
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
  const bool fresh = existing == slots_.end();
  uint32_t slot = 0;
  if (fresh) {
    std::vector<bool> used(kMaxSlots, false);
    for (const auto& [unused, taken] : slots_) used[taken] = true;
    while (slot < kMaxSlots && used[slot]) ++slot;
    if (slot == kMaxSlots) {
      throw RunError(fmt::format("dispatcher: all {} slots are taken, none left for {}", kMaxSlots,
                                 FormatMac(mac)));
    }
    // A slot's counters belong to its owner: the next MAC starts from zero. Nothing maps to the
    // slot yet, so no packet can race with the reset.
    ResetSlot(slot);
  } else {
    slot = existing->second;
  }

  // Program first, MAC second: a packet never finds a MAC whose slot is still empty.
  const uint32_t fd_value = static_cast<uint32_t>(prog_fd);
  int err = bpf_map_update_elem(slot_progs_fd(), &slot, &fd_value, BPF_ANY);
  if (err != 0) {
    ThrowLibbpfError(fmt::format("dispatcher: put program fd {} into slot {} for {}", prog_fd, slot,
                                 FormatMac(mac)),
                     err);
  }
  if (fresh) {
    const dispatcher_mac_key key = MakeKey(mac);
    const dispatcher_slot_t value = slot;
    err = bpf_map_update_elem(mac_to_slot_fd(), &key, &value, BPF_NOEXIST);
    if (err != 0) {
      bpf_map_delete_elem(slot_progs_fd(), &slot);
      ThrowLibbpfError(fmt::format("dispatcher: map {} to slot {}", FormatMac(mac), slot), err);
    }
    slots_.emplace(mac, slot);
  }
  return slot;
}

void Dispatcher::ClearSlot(const MacAddress& mac) {
  const auto entry = slots_.find(mac);
  if (entry == slots_.end()) return;
  const uint32_t slot = entry->second;
  // MAC first: from here on its frames pass. One already past the lookup on another CPU finds
  // the slot empty at worst, which also passes.
  const dispatcher_mac_key key = MakeKey(mac);
  int err = bpf_map_delete_elem(mac_to_slot_fd(), &key);
  if (err != 0 && err != -ENOENT) {
    ThrowLibbpfError(fmt::format("dispatcher: unmap {}", FormatMac(mac)), err);
  }
  slots_.erase(entry);
  // A program left behind in a free slot is unreachable and replaced by the next SetSlot().
  err = bpf_map_delete_elem(slot_progs_fd(), &slot);
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

void Dispatcher::ResetSlot(uint32_t slot) {
  const std::vector<dispatcher_slot_counters> zeros(PossibleCpus());
  const int err = bpf_map_update_elem(slot_stats_fd(), &slot, zeros.data(), BPF_ANY);
  if (err != 0) ThrowLibbpfError(fmt::format("dispatcher: reset counters of slot {}", slot), err);
}

}  // namespace nfb::bpf
