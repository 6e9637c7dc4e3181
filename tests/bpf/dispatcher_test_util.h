// Helpers for tests of the dispatcher's MAC table: MACs that land in chosen buckets (to make
// collisions on purpose) and tc programs that only return a verdict (to see which slot ran).
// Used by tests/bpf, tests/unit/offload and tests/integration/offload.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "nfb/bpf/dispatcher_table.h"
#include "nfb/bpf/mac_address.h"
#include "packet_builder.h"

namespace nfb::bpf::testing {

// The first locally administered unicast MAC 02:00:00:xx:xx:xx from `*next` on that satisfies
// `wanted`; *next moves past it. 2^24 candidates: plenty for a condition on one or two buckets
// (4096 each).
inline MacAddress FindMac(const std::function<bool(const MacAddress&)>& wanted, uint32_t* next) {
  for (; *next < (1U << 24); ++*next) {
    const MacAddress mac{0x02,
                         0x00,
                         0x00,
                         static_cast<uint8_t>(*next >> 16),
                         static_cast<uint8_t>(*next >> 8),
                         static_cast<uint8_t>(*next)};
    if (wanted(mac)) {
      ++*next;
      return mac;
    }
  }
  ADD_FAILURE() << "no MAC found";
  return {};
}

inline uint32_t Primary(const MacAddress& mac) { return DispatcherTable::PrimaryBucket(mac); }
inline uint32_t Secondary(const MacAddress& mac) { return DispatcherTable::SecondaryBucket(mac); }

// A MAC whose two buckets differ.
inline MacAddress TwoBucketMac(uint32_t* next) {
  return FindMac([](const MacAddress& m) { return Primary(m) != Secondary(m); }, next);
}

// A MAC `colliding` with `mac`: same primary bucket, and a secondary bucket of its own (neither
// `mac`'s primary nor its secondary).
inline MacAddress SamePrimary(const MacAddress& mac, uint32_t* next) {
  return FindMac(
      [&](const MacAddress& m) {
        return m != mac && Primary(m) == Primary(mac) && Secondary(m) != Primary(mac) &&
               Secondary(m) != Secondary(mac);
      },
      next);
}

// Four MACs that, inserted in this order, fill both buckets of `n` with MACs that cannot move:
// for each of n's buckets, a MAC taking the primary bucket of a second MAC, which therefore lands
// in its secondary bucket, n's. A MAC in its secondary bucket is never moved, so n is refused.
// [1] ends up in n's primary bucket, [3] in n's secondary.
inline std::vector<MacAddress> MacsBlocking(const MacAddress& n, uint32_t* next) {
  std::vector<MacAddress> order;
  for (const uint32_t bucket : {Primary(n), Secondary(n)}) {
    const MacAddress stuck = FindMac(
        [&](const MacAddress& m) {
          return Secondary(m) == bucket && Primary(m) != Primary(n) && Primary(m) != Secondary(n);
        },
        next);
    const MacAddress blocker = FindMac(
        [&](const MacAddress& m) {
          return Primary(m) == Primary(stuck) && Secondary(m) != Primary(n) &&
                 Secondary(m) != Secondary(n);
        },
        next);
    order.push_back(blocker);
    order.push_back(stuck);
  }
  return order;
}

// An ARP-sized frame to `dst` that no program here parses.
inline Bytes FrameTo(const MacAddress& dst) {
  PacketBuilder frame;
  frame.Ethernet(dst, {0x02, 0x00, 0x00, 0x00, 0xee, 0x01})
      .EtherType(kEthPArp)
      .Payload(PingPayload(46));
  return frame.Build();
}

}  // namespace nfb::bpf::testing
