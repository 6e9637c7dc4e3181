// The request fuzz target (offload/fuzz) replayed in the normal build, without libFuzzer: every
// seed, every prefix of every seed, and a few thousand deterministic mutations of them. Each run
// aborts the test process if one of the target's invariants breaks, so passing means none did.
// scripts/fuzz.sh explores far more under ASan and UBSan.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "nfb/offload/request_fuzz.h"

namespace nfb::offload::fuzz {
namespace {

TEST(MalformedFuzzReplayTest, SeedsAndTheirPrefixes) {
  const auto seeds = SeedCorpus();
  ASSERT_GE(seeds.size(), 10u);
  int runs = 0;
  for (const auto& [name, bytes] : seeds) {
    SCOPED_TRACE(name);
    EXPECT_LE(bytes.size(), MaxInputLength());
    RunOne(bytes.data(), bytes.size());
    // Prefixes: every byte for small seeds, a sample for the 64 KiB one.
    const size_t step = bytes.size() > 4096 ? 997 : 1;
    for (size_t cut = 0; cut < bytes.size(); cut += step) {
      RunOne(bytes.data(), cut);
      ++runs;
    }
  }
  RecordProperty("runs", runs);
}

TEST(MalformedFuzzReplayTest, DeterministicMutations) {
  const auto seeds = SeedCorpus();
  std::mt19937 rng(20240611);
  int runs = 0;
  for (int i = 0; i < 4000; ++i) {
    std::vector<uint8_t> input = seeds[i % seeds.size()].second;
    if (input.size() > 4096) continue;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !input.empty(); ++e) {
      const size_t pos = rng() % input.size();
      switch (rng() % 4) {
        case 0:
          input[pos] = static_cast<uint8_t>(rng());
          break;  // replace a byte
        case 1:
          input[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;  // flip a bit
        case 2:
          input.erase(input.begin() + static_cast<long>(pos));
          break;  // drop a byte
        default:
          input.insert(input.begin() + static_cast<long>(pos), static_cast<uint8_t>(rng()));
      }
    }
    RunOne(input.data(), input.size());
    ++runs;
  }
  RecordProperty("runs", runs);
  EXPECT_GT(runs, 3000);
}

}  // namespace
}  // namespace nfb::offload::fuzz
