#include "nfb/core/subprocess.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "nfb/core/cancel.h"
#include "nfb/core/error.h"

namespace nfb {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;

ProcessSpec Sh(const std::string& script) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", script};
  return spec;
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "nfb-subprocess-XXXXXX");
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(SubprocessTest, ReportsExitCodes) {
  ProcessResult ok = RunProcess(Sh("exit 0"), seconds(10));
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_EQ(ok.signal, 0);
  EXPECT_FALSE(ok.timed_out);
  EXPECT_TRUE(ok.Succeeded());

  ProcessResult three = RunProcess(Sh("exit 3"), seconds(10));
  EXPECT_EQ(three.exit_code, 3);
  EXPECT_EQ(three.signal, 0);
  EXPECT_FALSE(three.Succeeded());
  EXPECT_EQ(three.Status(), "exit status 3");
}

TEST(SubprocessTest, ReportsTerminatingSignal) {
  ProcessResult r = RunProcess(Sh("kill -USR1 $$"), seconds(10));
  EXPECT_EQ(r.signal, SIGUSR1);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_FALSE(r.Succeeded());
  EXPECT_THAT(r.Status(), HasSubstr("killed by signal 10"));
}

TEST(SubprocessTest, TimeoutTerminatesTheChild) {
  auto start = Clock::now();
  ProcessResult r = RunProcess(ProcessSpec({"sleep", "30"}), milliseconds(200));
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_FALSE(r.Succeeded());
  EXPECT_THAT(r.Status(), HasSubstr("timed out"));
  EXPECT_LT(SecondsSince(start), 2.0);
}

TEST(SubprocessTest, TimeoutEscalatesToSigkillForTheWholeGroup) {
  // The shell and its sleep both ignore SIGTERM (an ignored disposition survives exec); only
  // SIGKILL to the process group stops both.
  TempDir dir;
  const std::filesystem::path ready = dir.path() / "ready";
  auto start = Clock::now();
  Process p =
      Process::Start(Sh("trap '' TERM; sleep 30 & echo $! > " + ready.string() + ".tmp; mv " +
                        ready.string() + ".tmp " + ready.string() + "; wait; echo survived"));
  while (!std::filesystem::exists(ready) && SecondsSince(start) < 10) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  const std::string sleeper = ReadAll(ready);
  ASSERT_FALSE(sleeper.empty());
  ProcessResult r = p.Terminate(milliseconds(300));
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_EQ(r.out, "");
  EXPECT_LT(SecondsSince(start), 5.0);
  // The grandchild got the SIGKILL too: it is gone or a zombie waiting for its new parent. On a
  // loaded host it may still be runnable for a moment with the signal pending: allow 2 s.
  const std::string stat_path = "/proc/" + std::to_string(std::stoi(sleeper)) + "/stat";
  std::string stat = ReadAll(stat_path);
  const auto killed_at = Clock::now();
  while (!stat.empty() && stat.substr(stat.rfind(')') + 2, 1) != "Z" &&
         SecondsSince(killed_at) < 2.0) {
    std::this_thread::sleep_for(milliseconds(10));
    stat = ReadAll(stat_path);
  }
  if (!stat.empty()) {
    EXPECT_EQ(stat.substr(stat.rfind(')') + 2, 1), "Z") << stat;
  }
}

TEST(SubprocessTest, ExecFailureIsARunErrorNamingTheCommand) {
  try {
    RunProcess(ProcessSpec({"/nonexistent/nfb-tool"}), seconds(10));
    FAIL() << "expected RunError";
  } catch (const RunError& e) {
    EXPECT_STREQ(e.what(), "cannot run '/nonexistent/nfb-tool': No such file or directory");
  }
  try {
    // The lookup uses the child's PATH (an unreadable PATH entry would make it EACCES, as
    // execvp reports it).
    ProcessSpec spec({"nfb-no-such-command-anywhere"});
    spec.env = {{"PATH", "/usr/bin:/bin"}};
    RunProcess(spec, seconds(10));
    FAIL() << "expected RunError";
  } catch (const RunError& e) {
    EXPECT_STREQ(e.what(), "cannot run 'nfb-no-such-command-anywhere': No such file or directory");
  }
}

TEST(SubprocessTest, ExecOfANonExecutableFileIsPermissionDenied) {
  TempDir dir;
  std::filesystem::path file = dir.path() / "not-executable";
  std::ofstream(file) << "#!/bin/sh\n";
  // No x bit at all: execve refuses with EACCES even for root.
  std::filesystem::permissions(file, std::filesystem::perms::owner_read);
  EXPECT_THROW(
      {
        try {
          RunProcess(ProcessSpec({file.string()}), seconds(10));
        } catch (const RunError& e) {
          EXPECT_THAT(e.what(), HasSubstr("Permission denied"));
          throw;
        }
      },
      RunError);
}

TEST(SubprocessTest, MissingNamespaceOrCgroupFailsBeforeFork) {
  ProcessSpec spec({"true"});
  spec.netns = "nfbtest-core-no-such-namespace";
  try {
    RunProcess(spec, seconds(10));
    FAIL() << "expected RunError";
  } catch (const RunError& e) {
    EXPECT_THAT(e.what(), HasSubstr("network namespace 'nfbtest-core-no-such-namespace'"));
    EXPECT_THAT(e.what(), HasSubstr("No such file or directory"));
  }
  ProcessSpec cgroup({"true"});
  cgroup.cgroup_procs = {"/nonexistent/cgroup.procs"};
  EXPECT_THROW(RunProcess(cgroup, seconds(10)), RunError);
}

TEST(SubprocessTest, CapturesStdoutAndStderrSeparately) {
  ProcessResult r = RunProcess(Sh("echo out; echo err >&2; echo more"), seconds(10));
  EXPECT_EQ(r.out, "out\nmore\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_FALSE(r.out_truncated);
}

TEST(SubprocessTest, CapturesMoreThanAPipeBuffer) {
  ProcessResult r = RunProcess(ProcessSpec({"head", "-c", "3000000", "/dev/zero"}), seconds(20));
  EXPECT_TRUE(r.Succeeded());
  EXPECT_EQ(r.out.size(), 3000000u);
}

TEST(SubprocessTest, CaptureIsBoundedAndTheChildNeverBlocks) {
  ProcessSpec spec({"head", "-c", "2000000", "/dev/zero"});
  spec.capture_limit = 1000;
  ProcessResult r = RunProcess(spec, seconds(20));
  EXPECT_TRUE(r.Succeeded());
  EXPECT_EQ(r.out.size(), 1000u);
  EXPECT_TRUE(r.out_truncated);
  EXPECT_FALSE(r.err_truncated);
}

TEST(SubprocessTest, WritesOutputToFiles) {
  TempDir dir;
  ProcessSpec spec = Sh("echo hello; echo oops >&2");
  spec.stdout_path = dir.path() / "out.log";
  spec.stderr_path = dir.path() / "err.log";
  ProcessResult r = RunProcess(spec, seconds(10));
  EXPECT_TRUE(r.Succeeded());
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(ReadAll(spec.stdout_path), "hello\n");
  EXPECT_EQ(ReadAll(spec.stderr_path), "oops\n");

  // One path for both streams interleaves them in one file, truncated first.
  ProcessSpec both = Sh("echo a; echo b >&2; echo c");
  both.stdout_path = both.stderr_path = dir.path() / "out.log";
  RunProcess(both, seconds(10));
  EXPECT_EQ(ReadAll(both.stdout_path), "a\nb\nc\n");
}

TEST(SubprocessTest, UnwritableOutputFileIsARunError) {
  ProcessSpec spec({"true"});
  spec.stdout_path = "/nonexistent/dir/out.log";
  EXPECT_THROW(RunProcess(spec, seconds(10)), RunError);
}

TEST(SubprocessTest, EnvironmentIsInheritedAndOverridden) {
  ::setenv("NFB_TEST_INHERITED", "from parent", 1);
  ::setenv("NFB_TEST_OVERRIDDEN", "old", 1);
  ProcessSpec spec =
      Sh("printf '%s|%s|%s' \"$NFB_TEST_INHERITED\" \"$NFB_TEST_OVERRIDDEN\" "
         "\"$NFB_TEST_NEW\"");
  spec.env = {{"NFB_TEST_OVERRIDDEN", "new"}, {"NFB_TEST_NEW", "a b"}};
  ProcessResult r = RunProcess(spec, seconds(10));
  EXPECT_EQ(r.out, "from parent|new|a b");
  ::unsetenv("NFB_TEST_INHERITED");
  ::unsetenv("NFB_TEST_OVERRIDDEN");
}

TEST(SubprocessTest, OnlyStdioReachesTheChild) {
  // A descriptor opened without O_CLOEXEC, as a careless library might.
  int leaked = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leaked, 3);
  ProcessResult r = RunProcess(Sh("ls /proc/$$/fd"), seconds(10));
  ::close(leaked);
  EXPECT_TRUE(r.Succeeded()) << r.err;
  std::istringstream fds(r.out);
  std::vector<std::string> listed;
  for (std::string fd; fds >> fd;) listed.push_back(fd);
  EXPECT_EQ(listed, (std::vector<std::string>{"0", "1", "2"})) << r.out;
}

TEST(SubprocessTest, ChildLeadsItsOwnProcessGroupWithCleanSignalState) {
  // Ignored and blocked signals of the harness must not leak into tools.
  struct sigaction ignore {
  }, old_usr2{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGUSR2, &ignore, &old_usr2);
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  ::pthread_sigmask(SIG_BLOCK, &block, &old_mask);

  // Programs exec'd directly (a shell would adjust its own mask while it waits for children).
  Process group = Process::Start(ProcessSpec({"cut", "-d", " ", "-f5", "/proc/self/stat"}));
  ProcessResult pgid = group.Wait();
  ProcessResult status =
      RunProcess(ProcessSpec({"grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"}), seconds(10));

  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGUSR2, &old_usr2, nullptr);

  EXPECT_EQ(pgid.out, std::to_string(group.pid()) + "\n");
  EXPECT_EQ(status.out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

TEST(SubprocessTest, WaitWithTimeoutReturnsNothingWhileRunning) {
  Process p = Process::Start(ProcessSpec({"sleep", "30"}));
  EXPECT_TRUE(p.running());
  EXPECT_FALSE(p.Wait(milliseconds(50)).has_value());
  EXPECT_TRUE(p.Signal(SIGKILL));
  std::optional<ProcessResult> r = p.Wait(seconds(5));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->signal, SIGKILL);
  EXPECT_FALSE(p.running());
  EXPECT_FALSE(p.Signal(SIGKILL));      // reaped: nothing to signal
  EXPECT_EQ(p.Wait().signal, SIGKILL);  // the same result again
}

TEST(SubprocessTest, DestructorKillsAndReapsARunningChild) {
  pid_t pid;
  {
    Process p = Process::Start(ProcessSpec({"sleep", "30"}));
    pid = p.pid();
    ASSERT_EQ(::kill(pid, 0), 0);
  }
  // Reaped, not a zombie: the pid no longer exists.
  EXPECT_NE(::kill(pid, 0), 0);
  EXPECT_EQ(errno, ESRCH);
}

TEST(SubprocessTest, MoveAssignmentKillsTheChildItReplaces) {
  Process a = Process::Start(ProcessSpec({"sleep", "30"}));
  pid_t first = a.pid();
  a = Process::Start(ProcessSpec({"true"}));
  EXPECT_NE(::kill(first, 0), 0);
  EXPECT_TRUE(a.Wait().Succeeded());
}

TEST(SubprocessTest, DoesNotWaitForGrandchildrenHoldingThePipes) {
  auto start = Clock::now();
  ProcessResult r = RunProcess(Sh("sleep 5 & echo started $!"), seconds(10));
  EXPECT_LT(SecondsSince(start), 3.0);
  EXPECT_TRUE(r.Succeeded());
  ASSERT_THAT(r.out, HasSubstr("started "));
  pid_t sleeper = std::stoi(r.out.substr(8));
  ::kill(sleeper, SIGKILL);
}

TEST(SubprocessTest, RunCheckedThrowsWithStatusAndStderr) {
  try {
    RunChecked(Sh("echo 'RTNETLINK answers: File exists' >&2; exit 2"), seconds(10));
    FAIL() << "expected RunError";
  } catch (const RunError& e) {
    EXPECT_THAT(e.what(), HasSubstr("failed (exit status 2): RTNETLINK answers: File exists"));
    EXPECT_THAT(e.what(), HasSubstr("'sh -c '"));
  }
  EXPECT_EQ(RunChecked(Sh("echo fine"), seconds(10)).out, "fine\n");
}

TEST(SubprocessTest, InterruptibleWaitStopsTheChildAndThrows) {
  ClearInterrupt();
  ProcessSpec spec({"sleep", "30"});
  spec.interruptible = true;
  std::thread interrupter([] {
    std::this_thread::sleep_for(milliseconds(100));
    RequestInterrupt();
  });
  auto start = Clock::now();
  EXPECT_THROW(RunProcess(spec, seconds(20)), InterruptedError);
  interrupter.join();
  EXPECT_LT(SecondsSince(start), 3.0);
  // Teardown commands are not interruptible: they still run after the interrupt.
  EXPECT_TRUE(RunProcess(Sh("exit 0"), seconds(10)).Succeeded());
  ClearInterrupt();
}

TEST(CommandLineTest, QuotesOnlyWhatTheShellWouldSplit) {
  EXPECT_EQ(CommandLine({"ip", "-n", "nfb1a2b3c-dom0", "link", "set", "vif1.0", "up"}),
            "ip -n nfb1a2b3c-dom0 link set vif1.0 up");
  EXPECT_EQ(CommandLine({"sh", "-c", "echo $x > y", "it's", ""}),
            "sh -c 'echo $x > y' 'it'\\''s' ''");
  EXPECT_EQ(CommandLine({}), "");
}

}  // namespace
}  // namespace nfb
