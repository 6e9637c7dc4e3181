// Guest ELF objects are parsed in a forked child first (PreflightParse), because libbpf 1.1's
// parser crashes on some malformed objects. No privileges needed: opening an object does not
// touch the kernel.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <thread>

#include "nfb/bpf/objects.h"
#include "nfb/bpfd/backend.h"
#include "nfb/bpfd/libbpf_backend.h"

namespace nfb::bpfd {
namespace {

using namespace std::chrono_literals;

TEST(RunIsolatedTest, ReportsExitCodesCrashesAndHangs) {
  IsolatedResult r = RunIsolated([] { return 3; }, 5s);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.signal, 0);
  EXPECT_FALSE(r.timed_out);

  r = RunIsolated(
      [] {
        std::raise(SIGSEGV);
        return 0;
      },
      5s);
  EXPECT_EQ(r.signal, SIGSEGV);
  EXPECT_EQ(r.exit_code, -1);

  const auto start = std::chrono::steady_clock::now();
  r = RunIsolated(
      [] {
        std::this_thread::sleep_for(30s);
        return 0;
      },
      100ms);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

std::vector<uint8_t> EchoObject() {
  std::ifstream in(bpf::kIcmpEchoObjectPath, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(PreflightParseTest, AcceptsARealObjectAndSurvivesMutations) {
  const std::vector<uint8_t> object = EchoObject();
  ASSERT_GT(object.size(), 1000u);
  EXPECT_NO_THROW(PreflightParse(object));
  const std::vector<uint8_t> garbage(100, 0x42);
  EXPECT_NO_THROW(PreflightParse(garbage)) << "a parse error is for the real open to report";

  // Random byte flips and truncations: whatever libbpf does with them, this process survives and
  // a crash becomes EINVAL.
  std::mt19937 random(42);
  int refused = 0;
  for (int i = 0; i < 400; ++i) {
    std::vector<uint8_t> m = object;
    for (int flips = 1 + static_cast<int>(random() % 8); flips > 0; --flips) {
      m[random() % m.size()] = static_cast<uint8_t>(random());
    }
    if (random() % 4 == 0) m.resize(random() % m.size());
    try {
      PreflightParse(m);
    } catch (const RequestError& e) {
      EXPECT_EQ(e.code(), -EINVAL);
      ++refused;
    }
  }
  std::cout << refused << " of 400 mutated objects crashed libbpf's parser in the child\n";
  RecordProperty("crashing_mutations", refused);
}

}  // namespace
}  // namespace nfb::bpfd
