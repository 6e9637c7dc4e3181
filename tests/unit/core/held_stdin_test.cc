// The shell that stops a remote long-running command when its stdin ends (held_stdin.h), run
// here with the local sh: the command's own exit status and output come back when it ends by
// itself while stdin is still held, the end of stdin sends it SIGTERM, and the command does not
// read the held stdin.
#include "nfb/core/held_stdin.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace nfb {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class HeldRemoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nfb-held-remote-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Process Start(const std::vector<std::string>& argv, const HeldStdin& in) {
    ProcessSpec spec = WithStdinFrom(ProcessSpec(StopOnStdinEof(argv)), in.path());
    spec.stdout_path = dir_ / "out";
    spec.stderr_path = dir_ / "err";
    return Process::Start(spec);
  }
  std::string Out() const {
    std::ifstream in(dir_ / "out");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  fs::path dir_;
};

TEST_F(HeldRemoteTest, ArgvIsTheScriptThenTheCommandWordForWord) {
  std::vector<std::string> argv = StopOnStdinEof({"iperf3", "-s", "a b", "$x"});
  ASSERT_EQ(argv.size(), 8u);
  EXPECT_EQ(argv[0], "sh");
  EXPECT_EQ(argv[1], "-c");
  EXPECT_EQ(argv[2], kStopOnStdinEofScript);
  EXPECT_EQ(argv[3], "sh");  // $0
  EXPECT_EQ(argv[4], "iperf3");
  EXPECT_EQ(argv[6], "a b");
  EXPECT_EQ(argv[7], "$x");
  EXPECT_THROW(StopOnStdinEof({}), std::logic_error);
}

TEST_F(HeldRemoteTest, ACommandThatEndsByItselfEndsTheSessionWithItsStatus) {
  HeldStdin in(dir_ / "stdin");
  Process p = Start({"sh", "-c", "echo \"$1\"; exit 3", "sh", "it's \"quoted\""}, in);
  std::optional<ProcessResult> r = p.Wait(10s);  // stdin still held open
  ASSERT_TRUE(r.has_value()) << "the session waited for its stdin to end";
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(Out(), "it's \"quoted\"\n");
}

TEST_F(HeldRemoteTest, TheEndOfStdinSendsTheCommandSigterm) {
  HeldStdin in(dir_ / "stdin");
  // The command reports SIGTERM on stdout and exits 7 on it.
  Process p = Start({"sh", "-c", "trap 'echo TERM; exit 7' TERM; echo up; while :; do sleep 0.05; done"}, in);
  for (int i = 0; i < 200 && Out().empty(); ++i) ::usleep(10000);
  EXPECT_FALSE(p.Wait(300ms).has_value()) << "ended while its stdin was held";
  in.Close();
  EXPECT_FALSE(fs::exists(dir_ / "stdin"));
  std::optional<ProcessResult> r = p.Wait(10s);
  ASSERT_TRUE(r.has_value()) << "not stopped when its stdin ended";
  EXPECT_EQ(r->exit_code, 7);
  EXPECT_EQ(Out(), "up\nTERM\n");
}

TEST_F(HeldRemoteTest, TheCommandDoesNotReadTheHeldStdin) {
  HeldStdin in(dir_ / "stdin");
  // cat would block on the held stdin; with /dev/null it ends at once.
  Process p = Start({"sh", "-c", "cat; echo done"}, in);
  std::optional<ProcessResult> r = p.Wait(10s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(Out(), "done\n");
}

TEST_F(HeldRemoteTest, HeldStdinMovesAndClosesOnce) {
  HeldStdin a(dir_ / "fifo");
  EXPECT_TRUE(a.open());
  EXPECT_TRUE(fs::is_fifo(dir_ / "fifo"));
  HeldStdin b(std::move(a));
  EXPECT_FALSE(a.open());
  EXPECT_TRUE(b.open());
  a.Close();  // the moved-from handle removes nothing
  EXPECT_TRUE(fs::exists(dir_ / "fifo"));
  b.Close();
  b.Close();
  EXPECT_FALSE(fs::exists(dir_ / "fifo"));
}

}  // namespace
}  // namespace nfb
