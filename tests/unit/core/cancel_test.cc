#include "nfb/core/cancel.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "nfb/core/error.h"

namespace nfb {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Interruption is process-wide and sticky: every test starts and ends without one.
class CancelTest : public ::testing::Test {
 protected:
  void SetUp() override { ClearInterrupt(); }
  void TearDown() override { ClearInterrupt(); }
};

TEST_F(CancelTest, SleepForSleepsTheFullDurationWhenNotInterrupted) {
  auto start = Clock::now();
  EXPECT_TRUE(SleepFor(milliseconds(50)));
  EXPECT_GE(SecondsSince(start), 0.05);
  EXPECT_FALSE(Interrupted());
  EXPECT_NO_THROW(ThrowIfInterrupted());
}

TEST_F(CancelTest, RequestedInterruptIsStickyUntilCleared) {
  RequestInterrupt();
  EXPECT_TRUE(Interrupted());
  EXPECT_EQ(InterruptSignal(), 0);
  EXPECT_THROW(ThrowIfInterrupted(), InterruptedError);
  auto start = Clock::now();
  EXPECT_FALSE(SleepFor(seconds(10)));
  EXPECT_FALSE(SleepFor(seconds(10)));  // still interrupted: the fd stays readable
  EXPECT_LT(SecondsSince(start), 1.0);
  ClearInterrupt();
  EXPECT_FALSE(Interrupted());
  EXPECT_TRUE(SleepFor(milliseconds(1)));
}

TEST_F(CancelTest, InterruptFromAnotherThreadWakesASleeper) {
  std::thread other([] {
    std::this_thread::sleep_for(milliseconds(50));
    RequestInterrupt();
  });
  auto start = Clock::now();
  EXPECT_FALSE(SleepFor(seconds(20)));
  other.join();
  EXPECT_LT(SecondsSince(start), 2.0);
}

TEST_F(CancelTest, SigintAndSigtermSetTheFlagInsteadOfKilling) {
  InterruptScope scope;
  ::testing::internal::CaptureStderr();
  ASSERT_EQ(::raise(SIGINT), 0);
  std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(Interrupted());
  EXPECT_EQ(InterruptSignal(), SIGINT);
  EXPECT_THAT(said, HasSubstr("interrupted"));
  EXPECT_FALSE(SleepFor(seconds(10)));

  ClearInterrupt();
  ASSERT_EQ(::raise(SIGTERM), 0);
  EXPECT_EQ(InterruptSignal(), SIGTERM);
}

TEST_F(CancelTest, SecondSignalDuringTeardownIsOnlyAcknowledged) {
  InterruptScope scope;
  ::raise(SIGINT);
  TeardownScope teardown;
  ::testing::internal::CaptureStderr();
  ::raise(SIGINT);
  ::raise(SIGTERM);
  std::string said = ::testing::internal::GetCapturedStderr();
  // Still here, and the user was told why.
  EXPECT_THAT(said, HasSubstr("teardown in progress"));
  EXPECT_TRUE(Interrupted());
  EXPECT_EQ(InterruptSignal(), SIGINT);  // the first one counts
}

TEST_F(CancelTest, ScopesNestAndRestoreThePreviousDisposition) {
  struct sigaction before {
  }, before_term{};
  ::sigaction(SIGINT, nullptr, &before);
  ::sigaction(SIGTERM, nullptr, &before_term);
  {
    InterruptScope outer;
    { InterruptScope inner; }
    // The inner scope ending must not uninstall the outer one's handler.
    struct sigaction now {};
    ::sigaction(SIGINT, nullptr, &now);
    EXPECT_NE(now.sa_handler, before.sa_handler);
    ::raise(SIGINT);
    EXPECT_TRUE(Interrupted());
  }
  struct sigaction after {};
  ::sigaction(SIGINT, nullptr, &after);
  EXPECT_EQ(after.sa_handler, before.sa_handler);
  struct sigaction term {};
  ::sigaction(SIGTERM, nullptr, &term);
  EXPECT_EQ(term.sa_handler, before_term.sa_handler);
}

}  // namespace
}  // namespace nfb
