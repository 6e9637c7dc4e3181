// Isolation between two domains through bpfd's request handling (OffloadService::HandleRequest)
// with the in-memory backend: the same IDs in both domains name different objects, another
// domain's IDs look exactly like IDs never issued, unloading and resetting stay in their domain,
// statistics count only the domain's own traffic, quotas are per domain.
//
// NOTE: reconstructed by the bpfd helper after it overwrote this file by accident (from the test
// names and assertion texts left in a build's object file). If the original is still around,
// prefer it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cstring>
#include <string>
#include <vector>

#include "malformed_frames.h"
#include "nfb/offload/protocol.h"

namespace nfb::offload::testing {
namespace {

using ::testing::HasSubstr;
constexpr auto kOne = TwoDomains::kOne;
constexpr auto kTwo = TwoDomains::kTwo;

// The value of a successful MAP_LOOKUP reply (empty for anything else).
std::vector<uint8_t> Value(const Decoded& r) {
  const auto* v = std::get_if<proto::MapLookupResult>(&r.reply.result);
  if (r.reply.status != 0 || v == nullptr) return {};
  return {v->value.begin(), v->value.end()};
}

std::vector<uint8_t> Le32(uint32_t v) {
  std::vector<uint8_t> b(4);
  std::memcpy(b.data(), &v, 4);
  return b;
}

TEST(IsolationTest, SameNumbersInBothDomains) {
  TwoDomains f;
  // Map 1 of each domain is that domain's own map.
  EXPECT_EQ(Value(f.Send(kOne, proto::MapLookupRequest{1, TwoDomains::Key7()})),
            TwoDomains::ValueOf(kOne));
  EXPECT_EQ(Value(f.Send(kTwo, proto::MapLookupRequest{1, TwoDomains::Key7()})),
            TwoDomains::ValueOf(kTwo));
  EXPECT_NE(TwoDomains::ValueOf(kOne), TwoDomains::ValueOf(kTwo));

  // A write through domu1's map 1 is invisible in domu2's map 1.
  const std::vector<uint8_t> key = Le32(9);
  const std::vector<uint8_t> value(8, 0x5a);
  EXPECT_EQ(f.Send(kOne, proto::MapUpdateRequest{1, key, value, BPF_ANY}).reply.status, 0);
  EXPECT_EQ(Value(f.Send(kOne, proto::MapLookupRequest{1, key})), value);
  EXPECT_EQ(f.Send(kTwo, proto::MapLookupRequest{1, key}).reply.status, -ENOENT);

  // A delete in domu2 leaves domu1's entry alone.
  EXPECT_EQ(f.Send(kTwo, proto::MapDeleteRequest{1, TwoDomains::Key7()}).reply.status, 0);
  EXPECT_EQ(Value(f.Send(kOne, proto::MapLookupRequest{1, TwoDomains::Key7()})),
            TwoDomains::ValueOf(kOne));
}

TEST(IsolationTest, OthersIdsLookExactlyLikeIdsNeverIssued) {
  TwoDomains f;
  // domu1 loads a second program: program 2, maps 3 and 4, in domu1 only.
  const Decoded r = f.Send(kOne, proto::LoadElfRequest{std::vector<uint8_t>{1}, ""});
  ASSERT_EQ(r.reply.status, 0) << r.reply.message;
  EXPECT_EQ(std::get<proto::LoadElfResult>(r.reply.result).program_id, 2u);
  EXPECT_EQ(f.service.Report(kTwo).programs, 1u);
  EXPECT_EQ(f.service.Report(kOne).attached_program, 2u);
  EXPECT_EQ(f.Send(kOne, proto::MapInfoRequest{3}).reply.status, 0);

  // To domu2, domu1's map 3 and program 2 are exactly what a number never issued is.
  for (const uint32_t map : {3u, 4u}) {
    const Decoded theirs = f.Send(kTwo, proto::MapInfoRequest{map});
    const Decoded never = f.Send(kTwo, proto::MapInfoRequest{map + 100});
    EXPECT_EQ(theirs.reply.status, -ENOENT);
    EXPECT_EQ(theirs.reply.status, never.reply.status);
    EXPECT_EQ(std::string(theirs.reply.message), "no map with id " + std::to_string(map));
    EXPECT_EQ(std::string(never.reply.message), "no map with id " + std::to_string(map + 100));
  }
  EXPECT_EQ(f.Send(kTwo, proto::UnloadRequest{2}).reply.status, -ENOENT);
  EXPECT_EQ(f.service.Report(kOne).programs, 2u);

  // When domu2 loads, it gets the very same numbers for its own objects.
  EXPECT_EQ(f.Send(kTwo, proto::LoadElfRequest{std::vector<uint8_t>{1}, ""}).reply.status, 0);
  for (const uint32_t map : {3u, 4u}) {
    EXPECT_EQ(f.Send(kTwo, proto::MapInfoRequest{map}).reply.status, 0);
  }
  const std::vector<uint8_t> key = Le32(7);
  EXPECT_EQ(Value(f.Send(kTwo, proto::MapLookupRequest{1, key})), TwoDomains::ValueOf(kTwo));
}

TEST(IsolationTest, UnloadAndResetStayInTheirDomain) {
  TwoDomains f;
  EXPECT_EQ(f.Send(kOne, proto::UnloadRequest{1}).reply.status, 0);
  EXPECT_EQ(f.backend.AttachedProgram(TwoDomains::kMacOne), "");
  EXPECT_EQ(f.backend.AttachedProgram(TwoDomains::kMacTwo), "fake_tc") << "domu2 still attached";
  EXPECT_EQ(Value(f.Send(kTwo, proto::MapLookupRequest{1, TwoDomains::Key7()})),
            TwoDomains::ValueOf(kTwo));

  // A disconnect of domu1 (ResetDomain) takes nothing of domu2's.
  f.service.ResetDomain(kOne);
  EXPECT_EQ(f.service.Report(kTwo).maps, 2u);
  EXPECT_EQ(f.service.Report(kTwo).programs, 1u);
  EXPECT_EQ(f.backend.AttachedProgram(TwoDomains::kMacTwo), "fake_tc") << "domu2 still attached";
  EXPECT_EQ(f.Healthy().find("domu2"), std::string::npos);
}

TEST(IsolationTest, StatsCountOnlyTheDomainsOwnTraffic) {
  TwoDomains f;
  f.backend.AddTraffic(TwoDomains::kMacOne, 1000, 98000);
  const Decoded one = f.Send(kOne, proto::StatsRequest{});
  const Decoded two = f.Send(kTwo, proto::StatsRequest{});
  ASSERT_EQ(one.reply.status, 0);
  ASSERT_EQ(two.reply.status, 0);
  EXPECT_EQ(std::get<proto::StatsResult>(one.reply.result).packets, 1000u);
  EXPECT_EQ(std::get<proto::StatsResult>(one.reply.result).cpu_ns, 1000u * 20u);
  EXPECT_EQ(std::get<proto::StatsResult>(two.reply.result).packets, 0u);
  EXPECT_EQ(std::get<proto::StatsResult>(two.reply.result).bytes, 0u);
  EXPECT_EQ(std::get<proto::StatsResult>(two.reply.result).cpu_ns, 0u);
}

TEST(IsolationTest, QuotasArePerDomain) {
  bpfd::Quotas quotas;
  quotas.max_programs = 4;
  TwoDomains f(quotas);
  // domu1 fills its quota (it holds program 1 already) ...
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(f.Send(kOne, proto::LoadElfRequest{std::vector<uint8_t>{1}, ""}).reply.status, 0);
  }
  const Decoded r = f.Send(kOne, proto::LoadElfRequest{std::vector<uint8_t>{1}, ""});
  EXPECT_EQ(r.reply.status, -EDQUOT);
  EXPECT_THAT(std::string(r.reply.message), HasSubstr("4 programs loaded"));
  // ... and domu2 still has all of its own.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(f.Send(kTwo, proto::LoadElfRequest{std::vector<uint8_t>{1}, ""}).reply.status, 0);
  }
  EXPECT_EQ(f.Send(kTwo, proto::LoadElfRequest{std::vector<uint8_t>{1}, ""}).reply.status, -EDQUOT);
}

}  // namespace
}  // namespace nfb::offload::testing
