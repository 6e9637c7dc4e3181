// LineSession (harness/nf/src/line_session.h): the stdin FIFO and line-by-line JSON answers the
// guest-side helpers (xenbpf-load --hold, nfb-nf-attach) are driven through, with a local shell
// standing in for them. No root needed.
#include "line_session.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "nfb/core/error.h"

namespace nfb::nf {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

class LineSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nfb-line-session-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::unique_ptr<LineSession> Start(const std::string& script) {
    return std::make_unique<LineSession>(ProcessSpec({"sh", "-c", script}), dir_ / "in",
                                         dir_ / "out", dir_ / "err", "the helper");
  }
  fs::path dir_;
};

// Like the helpers: a ready line, one answer per command, a last line and exit 0 at end of input.
constexpr const char* kHelper =
    "echo '{\"ready\":true}'; "
    "while read -r line; do "
    "  if [ \"$line\" = bad ]; then echo '{\"error\":\"no\"}'; "
    "  else echo \"{\\\"got\\\":\\\"$line\\\"}\"; fi; "
    "done; echo '{\"bye\":true}'; echo gone >&2";

TEST_F(LineSessionTest, AnswersEachCommandAndEndsWhenItsInputCloses) {
  auto session = Start(kHelper);
  EXPECT_EQ(session->NextLine(10s), (nlohmann::json{{"ready", true}}));
  EXPECT_EQ(session->Ask("counters", 10s), (nlohmann::json{{"got", "counters"}}));
  EXPECT_EQ(session->Ask("again", 10s), (nlohmann::json{{"got", "again"}}));
  try {
    session->Ask("bad", 10s);
    ADD_FAILURE() << "an error answer did not throw";
  } catch (const RunError& e) {
    EXPECT_THAT(e.what(), HasSubstr("'bad' failed"));
  }
  std::optional<ProcessResult> r = session->Close(10s);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->Succeeded()) << r->Status();  // ended by itself, not terminated
  EXPECT_THAT(session->ErrTail(), HasSubstr("gone"));
  EXPECT_FALSE(fs::exists(dir_ / "in"));
  EXPECT_TRUE(session->Close().has_value());  // idempotent
}

TEST_F(LineSessionTest, SaysWhenTheHelperEndsOrStaysSilent) {
  auto ended = Start("echo oops >&2; exit 3");
  try {
    ended->NextLine(10s);
    ADD_FAILURE() << "no error for a helper that ended";
  } catch (const RunError& e) {
    EXPECT_THAT(e.what(), HasSubstr("the helper ended (exit status 3)"));
    EXPECT_THAT(e.what(), HasSubstr("oops"));
  }
  auto silent = Start("exec sleep 30");
  EXPECT_THROW(silent->NextLine(200ms), RunError);
  // sleep ignores its input closing: Close terminates it after the grace period.
  std::optional<ProcessResult> r = silent->Close(200ms);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->Succeeded());

  auto not_json = Start("echo hello");
  EXPECT_THROW(not_json->NextLine(10s), RunError);
}

TEST(WithStdinFromTest, FeedsTheFileToTheCommandWithoutRequotingIt) {
  const fs::path file = fs::temp_directory_path() / ("nfb-stdin-" + std::to_string(::getpid()));
  { std::ofstream(file) << "payload\n"; }
  ProcessSpec spec = WithStdinFrom(ProcessSpec({"sh", "-c", "cat; echo \"$0 $1\"", "a b", "c'd"}),
                                   file);
  ProcessResult r = RunProcess(spec, std::chrono::seconds(10));
  fs::remove(file);
  ASSERT_TRUE(r.Succeeded()) << r.Status() << " " << r.err;
  EXPECT_EQ(r.out, "payload\na b c'd\n");
}

}  // namespace
}  // namespace nfb::nf
