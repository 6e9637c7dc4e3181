// Clock-step estimation against captures whose timestamps come from a known synthetic clock.
#include "nfb/collectors/timestamp_resolution.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <vector>

#include "nfb/core/error.h"
#include "pcap_builder.h"

namespace nfb::collectors {
namespace {

namespace fs = std::filesystem;
using nfb::testing::PcapBuilder;

class ResolutionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("nfbtest-collectors-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // n packets whose true times are `spacing` apart on average (uniform jitter of +-50%), stamped
  // by a clock that advances in steps of `step_ns` (possibly fractional) and reports the start
  // of the step, truncated to whole ns, plus an arbitrary epoch offset.
  fs::path Capture(double step_ns, int n, double spacing_ns, bool nanosecond = true,
                   double outlier_share = 0, uint32_t seed = 1) {
    fs::path path = dir_ / "ts.pcap";
    PcapBuilder b(path, DLT_EN10MB, nanosecond);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> jitter(0.5, 1.5);
    std::uniform_real_distribution<double> unit(0, 1);
    std::vector<uint8_t> frame(60, 0);
    const int64_t epoch = 1'700'000'000'000'000'000 + 123'457;
    double t = 0;
    for (int i = 0; i < n; ++i) {
      t += spacing_ns * jitter(rng);
      double ticks = std::floor(t / step_ns);
      auto stamped = static_cast<int64_t>(ticks * step_ns);
      if (unit(rng) < outlier_share) stamped += 1 + static_cast<int64_t>(unit(rng) * 97);
      b.Write(epoch + stamped, frame);
    }
    return path;
  }

  fs::path dir_;
};

TEST_F(ResolutionTest, FindsA256NsClock) {
  TimestampResolution r = EstimateResolution(Capture(256, 2000, 1500));
  EXPECT_EQ(r.method, "gcd");
  EXPECT_NEAR(r.resolution_ns, 256.0, 0.01);
  EXPECT_GE(r.fit_fraction, 0.999);
  EXPECT_TRUE(r.file_nanosecond);
  EXPECT_EQ(r.packets, 2000u);
  EXPECT_EQ(r.smallest_step_ns % 256, 0);
}

TEST_F(ResolutionTest, DoesNotMistakeTwiceTheStepForTheStep) {
  // Packets ~3 steps apart: half of the differences are odd multiples of 256.
  TimestampResolution r = EstimateResolution(Capture(256, 500, 3 * 256));
  EXPECT_NEAR(r.resolution_ns, 256.0, 0.01);
}

TEST_F(ResolutionTest, FindsAFractionalStep) {
  // A 24 MHz counter: 41.666... ns per tick, truncated to whole ns in the file.
  TimestampResolution r = EstimateResolution(Capture(1000.0 / 24.0, 3000, 400));
  EXPECT_NEAR(r.resolution_ns, 1000.0 / 24.0, 0.05);
  EXPECT_GE(r.fit_fraction, 0.95);
}

TEST_F(ResolutionTest, FindsATenNsStepAtMicrosecondSpacing) {
  // What this VM shows: a ~100 MHz counter behind the kernel clock, packets ~2 us apart, so the
  // differences are ~200 steps of 9.99 ns, +-1 ns.
  TimestampResolution r = EstimateResolution(Capture(9.99, 2000, 2000));
  EXPECT_EQ(r.method, "periodogram");
  EXPECT_NEAR(r.resolution_ns, 9.99, 0.01);
  EXPECT_GE(r.fit_fraction, 0.95);
}

TEST_F(ResolutionTest, PeriodicTrafficIsNotMistakenForAClockStep) {
  // A 1 ns clock and a sender with a 2 us period and little jitter (+-1%): the period and its
  // fractions must not come out as the clock step.
  fs::path path = dir_ / "periodic.pcap";
  {
    PcapBuilder b(path);
    std::mt19937_64 rng(3);
    std::uniform_int_distribution<int64_t> jitter(-20, 20);
    std::vector<uint8_t> frame(60, 0);
    for (int i = 0; i < 2000; ++i) b.Write(1'000'000'000 + i * 2000 + jitter(rng), frame);
  }
  TimestampResolution r = EstimateResolution(path);
  EXPECT_DOUBLE_EQ(r.resolution_ns, 1.0);
}

TEST_F(ResolutionTest, NanosecondClockGivesOneNs) {
  TimestampResolution r = EstimateResolution(Capture(1, 2000, 1300));
  EXPECT_DOUBLE_EQ(r.resolution_ns, 1.0);
  EXPECT_EQ(r.method, "none");
}

TEST_F(ResolutionTest, MicrosecondFileShowsMicroseconds) {
  TimestampResolution r = EstimateResolution(Capture(1, 2000, 3000, /*nanosecond=*/false));
  EXPECT_FALSE(r.file_nanosecond);
  EXPECT_NEAR(r.resolution_ns, 1000.0, 0.01);
}

TEST_F(ResolutionTest, ToleratesAFewOutliers) {
  TimestampResolution r = EstimateResolution(Capture(256, 2000, 1500, true, 0.02));
  EXPECT_NEAR(r.resolution_ns, 256.0, 0.5);
  EXPECT_GE(r.fit_fraction, 0.95);
  EXPECT_LT(r.fit_fraction, 1.0);
}

TEST_F(ResolutionTest, CoarseClockCountsEqualTimestamps) {
  // Packets 100 ns apart on a 1 us clock: most timestamps repeat.
  TimestampResolution r = EstimateResolution(Capture(1000, 5000, 100));
  EXPECT_GT(r.equal_timestamps, 4000u);
  EXPECT_NEAR(r.resolution_ns, 1000.0, 0.01);
}

TEST_F(ResolutionTest, TooFewPacketsGiveZero) {
  TimestampResolution r = EstimateResolution(Capture(256, 10, 1500));
  EXPECT_EQ(r.resolution_ns, 0.0);
  EXPECT_EQ(r.packets, 10u);
  EXPECT_GT(r.smallest_step_ns, 0);
}

TEST_F(ResolutionTest, UnreadableFileIsInputError) {
  EXPECT_THROW(EstimateResolution(dir_ / "missing.pcap"), InputError);
}

TEST_F(ResolutionTest, ProbeRejectsBadOptions) {
  ResolutionProbeOptions o;
  EXPECT_THROW(ProbeTimestampResolution(o), InputError);
  o.interface = "lo";
  o.packets = 3;
  EXPECT_THROW(ProbeTimestampResolution(o), InputError);
}

}  // namespace
}  // namespace nfb::collectors
