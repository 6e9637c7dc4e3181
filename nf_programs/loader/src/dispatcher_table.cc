#include "nfb/bpf/dispatcher_table.h"

#include <fmt/core.h>

#include <cstring>

#include "nfb/core/error.h"

namespace nfb::bpf {

uint64_t DispatcherTable::MacValue(const MacAddress& mac) {
  // The same bytes the program loads, in the same byte order (this CPU's).
  uint32_t first4 = 0;
  uint16_t last2 = 0;
  std::memcpy(&first4, mac.data(), sizeof(first4));
  std::memcpy(&last2, mac.data() + sizeof(first4), sizeof(last2));
  return dispatcher_mac_value(first4, last2);
}

uint32_t DispatcherTable::PrimaryBucket(const MacAddress& mac) {
  return dispatcher_primary_bucket(MacValue(mac));
}

uint32_t DispatcherTable::SecondaryBucket(const MacAddress& mac) {
  return dispatcher_secondary_bucket(MacValue(mac));
}

std::optional<TablePlacement> DispatcherTable::Insert(const MacAddress& mac, uint32_t slot) {
  if (slot >= DISPATCHER_MAX_SLOTS) {
    throw InputError(fmt::format("dispatcher table: slot {} out of range", slot));
  }
  const uint64_t value = MacValue(mac);
  if (buckets_.contains(value)) {
    throw InputError(fmt::format("dispatcher table: {} is already in the table", FormatMac(mac)));
  }
  const uint32_t primary = dispatcher_primary_bucket(value);
  const uint32_t secondary = dispatcher_secondary_bucket(value);
  TablePlacement placement;
  std::optional<uint32_t> chosen;
  // A free bucket first (the primary preferred), then one that can be freed.
  for (const uint32_t bucket : {primary, secondary}) {
    if (!chosen && entries_[bucket] == 0) chosen = bucket;
  }
  for (const uint32_t bucket : {primary, secondary}) {
    if (!chosen && MakeRoom(bucket, kMaxMoves, placement.moves)) chosen = bucket;
  }
  if (!chosen) return std::nullopt;
  placement.entry = TableWrite{*chosen, dispatcher_entry(value, slot)};
  entries_[*chosen] = placement.entry.entry;
  buckets_.emplace(value, *chosen);
  return placement;
}

bool DispatcherTable::MakeRoom(uint32_t bucket, int moves_left, std::vector<TableWrite>& moves) {
  const uint64_t occupant = entries_[bucket];
  if (occupant == 0) return true;
  if (moves_left == 0) return false;
  const uint64_t value = occupant & DISPATCHER_ENTRY_MAC_MASK;
  // Only primary -> secondary: a MAC in its secondary bucket stays (see the class comment).
  if (dispatcher_primary_bucket(value) != bucket) return false;
  const uint32_t target = dispatcher_secondary_bucket(value);
  if (target == bucket) return false;
  // Each occupant has one possible move, so the chain either completes or nothing has moved.
  if (!MakeRoom(target, moves_left - 1, moves)) return false;
  moves.push_back({target, occupant});  // the copy first: the MAC is in both buckets now
  moves.push_back({bucket, 0});         // then the old place is freed
  entries_[target] = occupant;
  entries_[bucket] = 0;
  buckets_[value] = target;
  return true;
}

std::optional<TableWrite> DispatcherTable::Erase(const MacAddress& mac) {
  const auto it = buckets_.find(MacValue(mac));
  if (it == buckets_.end()) return std::nullopt;
  const uint32_t bucket = it->second;
  entries_[bucket] = 0;
  buckets_.erase(it);
  return TableWrite{bucket, 0};
}

std::optional<uint32_t> DispatcherTable::BucketOf(const MacAddress& mac) const {
  const auto it = buckets_.find(MacValue(mac));
  if (it == buckets_.end()) return std::nullopt;
  return it->second;
}

}  // namespace nfb::bpf
