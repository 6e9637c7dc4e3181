// Where each MAC lives in the dispatcher's MAC table (mac_table in dispatcher.bpf.c, encoding and
// lookup in nf/dispatcher_abi.h), and in which order the table's 64-bit entries must be written
// so that a lookup running at the same time never misses a MAC that stays in the table. Pure
// bookkeeping: Dispatcher applies the writes to the kernel's map, tests apply them to a copy.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "nf/dispatcher_abi.h"
#include "nfb/bpf/mac_address.h"

namespace nfb::bpf {

// One atomic 64-bit store into the table: entries[bucket] = entry (0 frees the bucket).
struct TableWrite {
  uint32_t bucket = 0;
  uint64_t entry = 0;
  bool operator==(const TableWrite&) const = default;
};

// What Insert() decided: the moves that make room, then the new MAC's own entry.
struct TablePlacement {
  // Other MACs moved from their primary to their secondary bucket, as pairs of writes (the copy
  // into the secondary bucket, then the primary freed); apply them in order before `entry`.
  std::vector<TableWrite> moves;
  TableWrite entry;  // the new MAC in its bucket
};

// Collision handling (docs/nf-programs.md): a MAC goes into its primary bucket if free, else its
// secondary; if both hold other MACs, an occupant that sits in its own primary bucket is moved to
// its secondary (recursively, at most kMaxMoves MACs in a chain) to make room. A MAC is only ever
// moved from its primary bucket to its secondary, new copy first: the program reads the primary
// before the secondary, so it finds a MAC being moved in one or the other. When no bucket can be
// freed that way the MAC is refused; with 4096 buckets and 64 MACs that takes three MACs whose
// two buckets are the same two buckets (odds in docs/nf-programs.md).
class DispatcherTable {
 public:
  static constexpr uint32_t kBuckets = DISPATCHER_TABLE_SIZE;
  static constexpr int kMaxMoves = 4;

  // The MAC as the program packs it (dispatcher_mac_value), and its two buckets.
  static uint64_t MacValue(const MacAddress& mac);
  static uint32_t PrimaryBucket(const MacAddress& mac);
  static uint32_t SecondaryBucket(const MacAddress& mac);

  // Places `mac` with `slot` (below DISPATCHER_MAX_SLOTS) and records it. Returns the writes to
  // make, or nullopt (nothing recorded) when both of its buckets are taken by MACs that cannot
  // move. Throws InputError if `mac` is already in the table or `slot` is out of range.
  std::optional<TablePlacement> Insert(const MacAddress& mac, uint32_t slot);

  // Forgets `mac`; returns the write that frees its bucket, nullopt if it was not in the table.
  // Other MACs stay where they are (one in its secondary bucket keeps being found there).
  std::optional<TableWrite> Erase(const MacAddress& mac);

  // The bucket `mac` occupies, if it is in the table.
  std::optional<uint32_t> BucketOf(const MacAddress& mac) const;

  // The table as the kernel's copy must look once every write returned so far has been applied.
  const std::vector<uint64_t>& entries() const { return entries_; }
  size_t size() const { return buckets_.size(); }

 private:
  // Frees `bucket` by moving its occupant down its chain of primary -> secondary buckets,
  // appending the writes to `moves`. False (and nothing changed) if it cannot.
  bool MakeRoom(uint32_t bucket, int moves_left, std::vector<TableWrite>& moves);

  std::vector<uint64_t> entries_ = std::vector<uint64_t>(kBuckets, 0);
  std::map<uint64_t, uint32_t> buckets_;  // MacValue -> bucket
};

}  // namespace nfb::bpf
