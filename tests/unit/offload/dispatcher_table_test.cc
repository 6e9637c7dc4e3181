// The dispatcher's MAC table without a kernel (nfb::bpf::DispatcherTable and the lookup shared with
// dispatcher.bpf.c in nf/dispatcher_abi.h): where colliding MACs go, when a MAC is refused, and
// that the order of the 64-bit writes never lets a concurrent lookup miss a MAC that stays.
// The same cases run against the kernel in tests/bpf/dispatcher_test.cc.
#include "nfb/bpf/dispatcher_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include "dispatcher_test_util.h"  // tests/bpf: MACs in chosen buckets
#include "nf/dispatcher_abi.h"
#include "nfb/core/error.h"

namespace nfb::bpf {
namespace {

using testing::FindMac;
using testing::MacsBlocking;
using testing::Primary;
using testing::SamePrimary;
using testing::Secondary;
using testing::TwoBucketMac;

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr uint32_t kNone = UINT32_MAX;

// dispatcher_table_find() on a copy of the table, as the program runs it.
uint32_t Find(const std::vector<uint64_t>& entries, const MacAddress& mac) {
  dispatcher_mac_table table{};
  std::copy(entries.begin(), entries.end(), table.entries);
  uint32_t slot = 0;
  return dispatcher_table_find(&table, DispatcherTable::MacValue(mac), &slot) ? slot : kNone;
}

void Apply(const TableWrite& write, std::vector<uint64_t>& entries) {
  entries.at(write.bucket) = write.entry;
}

// Every write of `placement`, in the order they must be made.
std::vector<TableWrite> Writes(const TablePlacement& placement) {
  std::vector<TableWrite> writes = placement.moves;
  writes.push_back(placement.entry);
  return writes;
}

TEST(DispatcherTableTest, AMacGoesToItsPrimaryBucket) {
  DispatcherTable table;
  const MacAddress mac{0x02, 0x00, 0x00, 0x00, 0x01, 0x01};
  const std::optional<TablePlacement> placed = table.Insert(mac, 7);
  ASSERT_TRUE(placed.has_value());
  EXPECT_THAT(placed->moves, IsEmpty());
  EXPECT_EQ(placed->entry.bucket, Primary(mac));
  EXPECT_EQ(placed->entry.entry,
            DISPATCHER_ENTRY_IN_USE | 7ULL << 48 | DispatcherTable::MacValue(mac));
  EXPECT_EQ(table.BucketOf(mac), Primary(mac));
  EXPECT_EQ(Find(table.entries(), mac), 7u);
  EXPECT_THROW(table.Insert(mac, 8), InputError) << "a MAC is in the table once";
  EXPECT_THROW(table.Insert({0x02, 0, 0, 0, 0x01, 0x02}, DISPATCHER_MAX_SLOTS), InputError);
}

TEST(DispatcherTableTest, TheMacValueIsTheFramesFirstSixBytes) {
  // What the program loads from the frame: bytes 0-3 and 4-5 as integers in the CPU's order.
  const MacAddress mac{0x00, 0x16, 0x3e, 0x12, 0x34, 0x56};
  uint64_t expected = 0;
  std::memcpy(&expected, mac.data(), mac.size());  // little- or big-endian alike: bytes 6-7 zero
  const uint8_t frame[8] = {0x00, 0x16, 0x3e, 0x12, 0x34, 0x56, 0xff, 0xff};
  uint32_t first4 = 0;
  uint16_t last2 = 0;
  std::memcpy(&first4, frame, 4);
  std::memcpy(&last2, frame + 4, 2);
  EXPECT_EQ(DispatcherTable::MacValue(mac), dispatcher_mac_value(first4, last2));
  if constexpr (std::endian::native == std::endian::little) {
    EXPECT_EQ(DispatcherTable::MacValue(mac), expected);
  }
}

TEST(DispatcherTableTest, AnEmptyBucketMatchesNoFrame) {
  const std::vector<uint64_t> empty(DispatcherTable::kBuckets, 0);
  EXPECT_EQ(Find(empty, {0, 0, 0, 0, 0, 0}), kNone) << "a free bucket is not the MAC 00:..:00";
  EXPECT_EQ(Find(empty, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), kNone);
}

TEST(DispatcherTableTest, TwoMacsInOneBucketBothFoundWithTheirOwnSlots) {
  uint32_t next = 0;
  const MacAddress a = TwoBucketMac(&next);
  const MacAddress b = SamePrimary(a, &next);
  DispatcherTable table;
  ASSERT_TRUE(table.Insert(a, 0));
  const std::optional<TablePlacement> placed = table.Insert(b, 1);
  ASSERT_TRUE(placed.has_value());
  EXPECT_THAT(placed->moves, IsEmpty()) << "b's secondary bucket was free";
  EXPECT_EQ(placed->entry.bucket, Secondary(b));
  EXPECT_EQ(Find(table.entries(), a), 0u);
  EXPECT_EQ(Find(table.entries(), b), 1u);

  // A MAC nobody registered whose primary bucket holds a is not found: the full MAC is compared,
  // not just the bucket. Nor once its secondary bucket is taken too.
  const MacAddress stranger = FindMac(
      [&](const MacAddress& m) {
        return m != a && m != b && Primary(m) == Primary(a) && Secondary(m) != Primary(m) &&
               Secondary(m) != Secondary(b);
      },
      &next);
  EXPECT_EQ(Find(table.entries(), stranger), kNone);
  const MacAddress d = FindMac(
      [&](const MacAddress& m) { return Primary(m) == Secondary(stranger) && m != stranger; },
      &next);
  ASSERT_TRUE(table.Insert(d, 2));
  ASSERT_EQ(table.BucketOf(d), Secondary(stranger));
  EXPECT_EQ(Find(table.entries(), stranger), kNone);
  ASSERT_TRUE(table.Erase(d));

  // Removing a leaves b where it is, found through its secondary bucket; and the other way round.
  DispatcherTable copy = table;
  ASSERT_EQ(table.Erase(a), (TableWrite{Primary(a), 0}));
  EXPECT_EQ(Find(table.entries(), a), kNone);
  EXPECT_EQ(Find(table.entries(), b), 1u);
  EXPECT_EQ(table.BucketOf(b), Secondary(b));
  EXPECT_EQ(table.Erase(a), std::nullopt) << "erasing twice is a no-op";
  ASSERT_EQ(copy.Erase(b), (TableWrite{Secondary(b), 0}));
  EXPECT_EQ(Find(copy.entries(), a), 0u);
  EXPECT_EQ(Find(copy.entries(), b), kNone);
}

TEST(DispatcherTableTest, AnOccupantMovesToItsSecondaryBucketToMakeRoom) {
  // n's primary bucket holds a (in a's primary), n's secondary holds c (in c's primary); a can
  // move to its own secondary bucket, which is free.
  uint32_t next = 0;
  const MacAddress n = TwoBucketMac(&next);
  const MacAddress a = SamePrimary(n, &next);
  const MacAddress c = FindMac(
      [&](const MacAddress& m) {
        return Primary(m) == Secondary(n) && Secondary(m) != Primary(n) &&
               Secondary(m) != Secondary(a);
      },
      &next);
  DispatcherTable table;
  ASSERT_TRUE(table.Insert(a, 3));
  ASSERT_TRUE(table.Insert(c, 4));
  const std::optional<TablePlacement> placed = table.Insert(n, 5);
  ASSERT_TRUE(placed.has_value());
  const uint64_t a_entry = DISPATCHER_ENTRY_IN_USE | 3ULL << 48 | DispatcherTable::MacValue(a);
  // The copy first, then the old bucket freed, then n.
  EXPECT_THAT(Writes(*placed),
              ElementsAre(TableWrite{Secondary(a), a_entry}, TableWrite{Primary(a), 0},
                          TableWrite{Primary(n), placed->entry.entry}));
  EXPECT_EQ(Find(table.entries(), a), 3u) << "a keeps its slot";
  EXPECT_EQ(Find(table.entries(), c), 4u);
  EXPECT_EQ(Find(table.entries(), n), 5u);
  EXPECT_EQ(table.BucketOf(a), Secondary(a));
}

TEST(DispatcherTableTest, AMacWhoseBucketsHoldMacsThatCannotMoveIsRefused) {
  // n's two buckets each hold a MAC sitting in its *secondary* bucket (its primary is taken by
  // yet another MAC); those never move back, so nothing can make room for n.
  uint32_t next = 0;
  const MacAddress n = TwoBucketMac(&next);
  const std::vector<MacAddress> order = MacsBlocking(n, &next);
  DispatcherTable table;
  uint32_t slot = 0;
  for (const MacAddress& mac : order) ASSERT_TRUE(table.Insert(mac, slot++));
  ASSERT_EQ(table.BucketOf(order[1]), Primary(n));
  ASSERT_EQ(table.BucketOf(order[3]), Secondary(n));

  const std::vector<uint64_t> before = table.entries();
  EXPECT_EQ(table.Insert(n, slot), std::nullopt);
  EXPECT_EQ(table.entries(), before) << "a refusal changes nothing";
  EXPECT_EQ(table.BucketOf(n), std::nullopt);
  EXPECT_EQ(Find(table.entries(), n), kNone);
  EXPECT_EQ(table.size(), order.size());

  // Once one of the stuck MACs goes, n fits.
  table.Erase(order[3]);
  const std::optional<TablePlacement> placed = table.Insert(n, slot);
  ASSERT_TRUE(placed.has_value());
  EXPECT_EQ(placed->entry.bucket, Secondary(n));
  for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(Find(table.entries(), order[i]), i);
}

TEST(DispatcherTableTest, SixtyFourTypicalMacsAllFit) {
  // Xen's 00:16:3e prefix with consecutive and with random suffixes, and the harness's style.
  std::mt19937 rng(42);
  for (int set = 0; set < 3; ++set) {
    DispatcherTable table;
    for (uint32_t i = 0; i < DISPATCHER_MAX_SLOTS; ++i) {
      const uint32_t suffix = set == 1 ? rng() & 0xffffff : i;
      const MacAddress mac = set == 2
                                 ? MacAddress{0x02, 0x00, 0x00, 0x00, static_cast<uint8_t>(i), 0x01}
                                 : MacAddress{0x00,
                                              0x16,
                                              0x3e,
                                              static_cast<uint8_t>(suffix >> 16),
                                              static_cast<uint8_t>(suffix >> 8),
                                              static_cast<uint8_t>(suffix)};
      ASSERT_TRUE(table.Insert(mac, i)) << "set " << set << ", MAC " << i;
    }
    for (uint32_t b = 0; b < DispatcherTable::kBuckets; ++b) {
      if (table.entries()[b] != 0) {
        EXPECT_LT(dispatcher_entry_slot(table.entries()[b]), 64u);
      }
    }
  }
}

// A lookup racing with the writes of one Insert or Erase may read the primary bucket in one state
// of the table and the secondary in a later one (never earlier: x86-64 does not reorder loads).
// Every MAC in the table both before and after the operation must be found, with its slot, in
// every such combination; the MAC being added or removed may or may not be found, but only with
// its own slot; no other MAC is ever found.
void CheckRacingLookups(const std::vector<std::vector<uint64_t>>& states,
                        const std::vector<MacAddress>& pool,
                        const std::map<MacAddress, uint32_t>& before,
                        const std::map<MacAddress, uint32_t>& after) {
  for (const MacAddress& mac : pool) {
    const uint64_t value = DispatcherTable::MacValue(mac);
    const auto was = before.find(mac);
    const auto is = after.find(mac);
    const bool stays = was != before.end() && is != after.end();
    const std::optional<uint32_t> own_slot = was != before.end() ? std::optional(was->second)
                                             : is != after.end() ? std::optional(is->second)
                                                                 : std::nullopt;
    for (size_t i = 0; i < states.size(); ++i) {
      for (size_t j = i; j < states.size(); ++j) {
        uint64_t entry = states[i][Primary(mac)];
        if (!dispatcher_entry_matches(entry, value)) entry = states[j][Secondary(mac)];
        const bool found = dispatcher_entry_matches(entry, value);
        if (stays) {
          ASSERT_TRUE(found) << FormatMac(mac) << " missed between writes " << i << " and " << j;
        }
        if (found) {
          ASSERT_TRUE(own_slot.has_value()) << FormatMac(mac) << " found but never in the table";
          ASSERT_EQ(dispatcher_entry_slot(entry), *own_slot) << FormatMac(mac);
        }
      }
    }
  }
}

TEST(DispatcherTableTest, RacingLookupsNeverMissAMacThatStays) {
  // A pool of MACs whose two buckets all fall into 8 buckets, so that nearly every insertion
  // collides, moves happen and some MACs are refused.
  std::set<uint32_t> crowded;
  for (uint32_t b = 0; b < 8; ++b) crowded.insert(b * 509 % DispatcherTable::kBuckets);
  std::vector<MacAddress> pool;
  uint32_t next = 0;
  while (pool.size() < 20) {
    pool.push_back(FindMac(
        [&](const MacAddress& m) {
          return crowded.contains(Primary(m)) && crowded.contains(Secondary(m));
        },
        &next));
  }

  DispatcherTable table;
  std::vector<uint64_t> kernel(DispatcherTable::kBuckets, 0);  // what the program sees
  std::map<MacAddress, uint32_t> slots;
  std::mt19937 rng(7);
  int moves = 0;
  int refusals = 0;
  for (int op = 0; op < 3000; ++op) {
    const MacAddress& mac = pool[rng() % pool.size()];
    std::map<MacAddress, uint32_t> after = slots;
    std::vector<TableWrite> writes;
    if (slots.contains(mac)) {
      const std::optional<TableWrite> freed = table.Erase(mac);
      ASSERT_TRUE(freed.has_value());
      writes.push_back(*freed);
      after.erase(mac);
    } else {
      std::set<uint32_t> used;
      for (const auto& [unused, slot] : slots) used.insert(slot);
      uint32_t slot = 0;
      while (used.contains(slot)) ++slot;
      const std::optional<TablePlacement> placed = table.Insert(mac, slot);
      if (!placed) {
        ++refusals;
        ASSERT_EQ(table.entries(), kernel) << "a refusal changes nothing";
        continue;
      }
      moves += static_cast<int>(placed->moves.size() / 2);
      writes = Writes(*placed);
      after[mac] = slot;
    }
    std::vector<std::vector<uint64_t>> states{kernel};
    for (const TableWrite& write : writes) {
      Apply(write, kernel);
      states.push_back(kernel);
    }
    ASSERT_NO_FATAL_FAILURE(CheckRacingLookups(states, pool, slots, after)) << "operation " << op;
    slots = std::move(after);
    ASSERT_EQ(table.entries(), kernel);
    for (const MacAddress& m : pool) {
      const auto it = slots.find(m);
      ASSERT_EQ(Find(kernel, m), it == slots.end() ? kNone : it->second) << FormatMac(m);
    }
  }
  // The pool is crowded enough to exercise every branch.
  EXPECT_GT(moves, 10);
  EXPECT_GT(refusals, 10);
}

}  // namespace
}  // namespace nfb::bpf
