// The xentop sampler against a fake xentop (tests/data/xentop/fake-xentop) that replays batch
// output captured in the Xen lab (xentop_4.17_lab.txt) frame by frame, faster than xentop would:
// rows per domain per frame, the first frame, domains appearing and disappearing, xentop dying,
// untrusted output, and that the process is always gone after Stop() or the destructor.
#include "nfb/collectors/xentop_sampler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "nfb/core/cancel.h"
#include "nfb/core/error.h"

namespace nfb::collectors {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;

const fs::path kData = fs::path(NFB_SOURCE_DIR) / "tests/data/xentop";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Lines of the real capture: a header, Domain-0 and the guest selftest1 (frame 1: 11.0% and 0.8%).
struct LabLines {
  std::string header, dom0, guest;
};
LabLines Lab() {
  std::vector<std::string> lines = Lines(ReadFile(kData / "xentop_4.17_lab.txt"));
  EXPECT_GE(lines.size(), 6u);
  return {lines.at(0), lines.at(4), lines.at(5)};
}

// The fake's settings live in the environment it inherits; each test sets them afresh.
class XentopSamplerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("nfb-xentop-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ::setenv("FAKE_XENTOP_ARGS", (dir_ / "args").c_str(), 1);
    ::setenv("FAKE_XENTOP_PID", (dir_ / "pid").c_str(), 1);
    ::setenv("FAKE_XENTOP_DELAY", "0.2", 1);
    ::unsetenv("FAKE_XENTOP_THEN");
    ::unsetenv("FAKE_XENTOP_STDERR");
  }
  void TearDown() override {
    for (const char* v : {"FAKE_XENTOP_ARGS", "FAKE_XENTOP_PID", "FAKE_XENTOP_DELAY",
                          "FAKE_XENTOP_THEN", "FAKE_XENTOP_STDERR", "FAKE_XENTOP_OUTPUT"}) {
      ::unsetenv(v);
    }
    fs::remove_all(dir_);
  }

  // Replays `text`.
  void Output(const std::string& text) {
    std::ofstream(dir_ / "output", std::ios::binary) << text;
    ::setenv("FAKE_XENTOP_OUTPUT", (dir_ / "output").c_str(), 1);
  }
  void Output(const fs::path& file) { ::setenv("FAKE_XENTOP_OUTPUT", file.c_str(), 1); }

  XentopSamplerOptions Options() const {
    XentopSamplerOptions o;
    o.xentop = kData / "fake-xentop";
    o.guests = {"selftest1"};
    o.work_dir = dir_;
    o.first_frame_timeout = std::chrono::seconds(10);
    return o;
  }

  // Waits (without a fixed sleep: the machine may be loaded) until `n` rows arrived.
  static void WaitForRows(const DomainCpuSampler& s, size_t n,
                          milliseconds limit = milliseconds(15000)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (s.Rows().size() < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(10));
    }
  }

  pid_t FakePid() const {
    std::ifstream in(dir_ / "pid");
    pid_t pid = -1;
    in >> pid;
    return pid;
  }
  bool Alive(pid_t pid) const { return pid > 0 && ::kill(pid, 0) == 0; }

  // Only the sampler's own files may be left behind in the work directory: none.
  bool WorkDirClean() const {
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().filename().string().rfind("nfb-xentop-", 0) == 0) return false;
    }
    return true;
  }

  fs::path dir_;
};

// `frames` of the lab's lines: each a list of domain lines after a header.
std::string Frames(const std::vector<std::vector<std::string>>& frames) {
  std::string text;
  for (const auto& f : frames) {
    text += Lab().header + "\n";
    for (const std::string& line : f) text += line + "\n";
  }
  return text;
}

// The lab's guest line with another CPU(%) (columns kept at their widths).
std::string WithPercent(std::string line, const std::string& percent6) {
  // "%10.10s %6s %10llu %6.1f": CPU(%) is characters 29-34.
  line.replace(29, 6, percent6);
  return line;
}

TEST_F(XentopSamplerTest, RowsPerDomainPerFrameFromARealCapture) {
  LabLines lab = Lab();
  std::vector<std::vector<std::string>> frames;
  for (int i = 0; i < 5; ++i) frames.push_back({lab.dom0, lab.guest});
  frames[3][1] = WithPercent(lab.guest, "  99.7");
  Output(Frames(frames));
  XentopSamplerOptions o = Options();
  o.raw_output = dir_ / "xentop.txt";
  std::atomic<int> callbacks{0};
  o.on_interval = [&](const std::vector<CpuSeriesRow>& rows) {
    EXPECT_EQ(rows.size(), 2u);
    ++callbacks;
  };
  std::unique_ptr<DomainCpuSampler> sampler = XentopSampler::Start(o);
  EXPECT_EQ(sampler->Method(), "xentop");
  WaitForRows(*sampler, 6);  // frames 1-3 are complete once frame 4's header came
  std::this_thread::sleep_for(milliseconds(500));  // frame 4 arrives and goes quiet
  CpuSamplerReport report = sampler->Stop();

  // Frame 0 has no CPU(%); frames 1-4 give one row per domain each.
  ASSERT_EQ(report.rows.size(), 8u);
  EXPECT_EQ(report.intervals, 4);
  EXPECT_EQ(callbacks.load(), 4);
  EXPECT_EQ(report.method, "xentop");
  EXPECT_EQ(report.details["frames"], 5);
  EXPECT_EQ(report.details["rows_left_out"], 2);
  EXPECT_EQ(report.details["malformed_lines"], 0);
  EXPECT_EQ(report.details["exit"].get<std::string>().rfind("terminated by the sampler", 0), 0u);
  double last_t = 0;
  for (size_t i = 0; i < report.rows.size(); ++i) {
    const CpuSeriesRow& r = report.rows[i];
    EXPECT_EQ(r.domain, i % 2 == 0 ? "dom0" : "selftest1");
    EXPECT_EQ(r.kind, CpuRowKind::kDomain);
    EXPECT_EQ(r.flags, "");
    EXPECT_TRUE(std::isnan(r.process_percent));
    EXPECT_TRUE(r.cpus.empty());
    if (i % 2 == 0) {
      EXPECT_GT(r.t_s, last_t);  // arrival times, increasing
      last_t = r.t_s;
      EXPECT_DOUBLE_EQ(r.cpu_percent, 11.0);
      EXPECT_DOUBLE_EQ(r.capacity_percent, 200.0);
      EXPECT_DOUBLE_EQ(r.cpu_total_s, 113.0);
    } else {
      EXPECT_DOUBLE_EQ(r.t_s, report.rows[i - 1].t_s);
      EXPECT_DOUBLE_EQ(r.cpu_percent, i == 5 ? 99.7 : 0.8);
      EXPECT_DOUBLE_EQ(r.capacity_percent, 100.0);
    }
    // The fake prints every 0.2 s; interval_s is the time between frames as they arrived.
    EXPECT_GT(r.interval_s, 0.1);
    EXPECT_LT(r.interval_s, 3.0);
  }
  EXPECT_GT(report.rows[0].t_s, 0.1);  // t = 0 is frame 0's arrival
  EXPECT_EQ(report.late_readings, 0);  // against the nominal 1 s
  // xentop's arguments, and its output kept verbatim.
  EXPECT_THAT(Lines(ReadFile(dir_ / "args")), ::testing::ElementsAre("-b", "-d", "1", "-f"));
  EXPECT_EQ(ReadFile(dir_ / "xentop.txt"), Frames(frames));
  EXPECT_FALSE(Alive(FakePid()));
  EXPECT_TRUE(WorkDirClean());
  EXPECT_THROW(sampler->Stop(), RunError);
}

TEST_F(XentopSamplerTest, FirstFrameIsFlaggedWhenKept) {
  LabLines lab = Lab();
  Output(Frames({{lab.dom0, lab.guest}, {lab.dom0, lab.guest}, {lab.dom0, lab.guest}}));
  XentopSamplerOptions o = Options();
  o.include_first_frame = true;
  auto sampler = XentopSampler::Start(o);
  WaitForRows(*sampler, 4);
  CpuSamplerReport report = sampler->Stop();
  ASSERT_GE(report.rows.size(), 4u);
  EXPECT_DOUBLE_EQ(report.rows[0].t_s, 0.0);
  EXPECT_EQ(report.rows[0].flags, "first_frame");
  EXPECT_EQ(report.rows[1].flags, "first_frame");
  EXPECT_EQ(report.rows[2].flags, "");
  EXPECT_EQ(report.details["rows_left_out"], 0);
}

TEST_F(XentopSamplerTest, DomainAppearingAndDisappearingMidRun) {
  LabLines lab = Lab();
  // The guest is created after frame 1 and destroyed after frame 3.
  Output(Frames({{lab.dom0},
                 {lab.dom0},
                 {lab.dom0, lab.guest},
                 {lab.dom0, lab.guest},
                 {lab.dom0},
                 {lab.dom0}}));
  XentopSamplerOptions o = Options();
  auto sampler = XentopSampler::Start(o);
  WaitForRows(*sampler, 5);
  std::this_thread::sleep_for(milliseconds(500));
  CpuSamplerReport report = sampler->Stop();
  std::vector<std::string> names;
  for (const CpuSeriesRow& r : report.rows) names.push_back(r.domain);
  // dom0 in frames 1-5; the guest only in frame 3: frame 2 was its first sample (xentop's 0.0).
  EXPECT_THAT(names, ::testing::ElementsAre("dom0", "dom0", "dom0", "selftest1", "dom0", "dom0"));
  EXPECT_EQ(report.details["rows_left_out"], 2);  // frame 0's dom0, frame 2's guest
  const auto& guest = report.details["domains"]["selftest1"];
  EXPECT_EQ(guest["frames"], 2);
  EXPECT_EQ(guest["shown_as"], "selftest1");
  EXPECT_LT(guest["first_t_s"].get<double>(), guest["last_t_s"].get<double>());
  EXPECT_EQ(report.details["domains"]["dom0"]["shown_as"], "Domain-0");
}

TEST_F(XentopSamplerTest, AppearingDomainIsFlaggedWhenKept) {
  LabLines lab = Lab();
  Output(Frames({{lab.dom0}, {lab.dom0, lab.guest}, {lab.dom0, lab.guest}}));
  XentopSamplerOptions o = Options();
  o.include_first_frame = true;
  auto sampler = XentopSampler::Start(o);
  WaitForRows(*sampler, 3);
  std::this_thread::sleep_for(milliseconds(500));
  CpuSamplerReport report = sampler->Stop();
  ASSERT_EQ(report.rows.size(), 5u);
  EXPECT_EQ(report.rows[2].domain, "selftest1");
  EXPECT_EQ(report.rows[2].flags, "domain_appeared");
  EXPECT_EQ(report.rows[4].flags, "");
}

TEST_F(XentopSamplerTest, XentopDyingIsAClearErrorAtStop) {
  LabLines lab = Lab();
  Output(Frames({{lab.dom0, lab.guest}, {lab.dom0, lab.guest}, {lab.dom0, lab.guest}}));
  ::setenv("FAKE_XENTOP_THEN", "exit 1", 1);
  ::setenv("FAKE_XENTOP_STDERR", "Failed to retrieve statistics from libxenstat", 1);
  auto sampler = XentopSampler::Start(Options());
  WaitForRows(*sampler, 4);
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(sampler->Rows().size(), 4u);  // frames 1 and 2: the last frame closes at EOF
  try {
    sampler->Stop();
    FAIL() << "xentop's death must be reported";
  } catch (const RunError& e) {
    EXPECT_THAT(e.what(), HasSubstr("stopped before the sampler did"));
    EXPECT_THAT(e.what(), HasSubstr("exit status 1"));
    EXPECT_THAT(e.what(), HasSubstr("Failed to retrieve statistics from libxenstat"));
  }
  EXPECT_EQ(sampler->Rows().size(), 4u);
  EXPECT_TRUE(WorkDirClean());
}

TEST_F(XentopSamplerTest, XentopKilledIsAClearErrorAtStop) {
  LabLines lab = Lab();
  Output(Frames({{lab.dom0}, {lab.dom0}}));
  ::setenv("FAKE_XENTOP_THEN", "kill", 1);
  auto sampler = XentopSampler::Start(Options());
  WaitForRows(*sampler, 1);
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_THROW(
      {
        try {
          sampler->Stop();
        } catch (const RunError& e) {
          EXPECT_THAT(e.what(), HasSubstr("killed by signal 9"));
          throw;
        }
      },
      RunError);
}

TEST_F(XentopSamplerTest, StopBeforeAnySample) {
  LabLines lab = Lab();
  ::setenv("FAKE_XENTOP_DELAY", "30", 1);
  Output(Frames({{lab.dom0, lab.guest}, {lab.dom0, lab.guest}}));
  auto sampler = XentopSampler::Start(Options());
  pid_t pid = FakePid();
  EXPECT_TRUE(Alive(pid));
  auto t0 = std::chrono::steady_clock::now();
  CpuSamplerReport report = sampler->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(2500));
  EXPECT_TRUE(report.rows.empty());
  EXPECT_EQ(report.intervals, 0);
  EXPECT_FALSE(Alive(pid));
  EXPECT_TRUE(WorkDirClean());
}

TEST_F(XentopSamplerTest, DestructorEndsXentop) {
  LabLines lab = Lab();
  Output(Frames({{lab.dom0}, {lab.dom0}}));
  pid_t pid = -1;
  {
    auto sampler = XentopSampler::Start(Options());
    pid = FakePid();
    EXPECT_TRUE(Alive(pid));
  }
  EXPECT_FALSE(Alive(pid));
  EXPECT_TRUE(WorkDirClean());
}

// If the harness is killed outright (no destructor runs), xentop loses the FIFO's only reader
// and dies at its next write: it never outlives the run by more than an interval.
TEST_F(XentopSamplerTest, XentopDiesWhenTheHarnessIsKilled) {
  LabLines lab = Lab();
  std::vector<std::vector<std::string>> frames(100, {lab.dom0, lab.guest});
  Output(Frames(frames));
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      auto sampler = XentopSampler::Start(Options());
      ::pause();
    } catch (...) {
    }
    ::_exit(1);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (FakePid() <= 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  pid_t fake = FakePid();
  ASSERT_GT(fake, 0);
  std::this_thread::sleep_for(milliseconds(300));  // sampling
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  // A zombie waiting for its new parent to reap it counts as gone.
  auto running = [&] {
    std::ifstream stat("/proc/" + std::to_string(fake) + "/stat");
    std::string pid, comm, state;
    return stat >> pid >> comm >> state && state != "Z";
  };
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_FALSE(running()) << "the fake xentop (pid " << fake << ") outlived its reader";
  if (running()) ::kill(fake, SIGKILL);
}

TEST_F(XentopSamplerTest, InterruptEndsSampling) {
  LabLines lab = Lab();
  ::setenv("FAKE_XENTOP_DELAY", "30", 1);
  Output(Frames({{lab.dom0}, {lab.dom0}}));
  auto sampler = XentopSampler::Start(Options());
  RequestInterrupt();
  std::this_thread::sleep_for(milliseconds(100));
  CpuSamplerReport report = sampler->Stop();
  ClearInterrupt();
  EXPECT_TRUE(report.stopped_by_interrupt);
  EXPECT_TRUE(report.rows.empty());
}

TEST_F(XentopSamplerTest, ExitBeforeTheFirstFrameFailsStart) {
  Output(std::string());
  ::setenv("FAKE_XENTOP_THEN", "exit 1", 1);
  ::setenv("FAKE_XENTOP_STDERR", "Failed to initialize xenstat library", 1);
  try {
    XentopSampler::Start(Options());
    FAIL() << "Start must fail";
  } catch (const RunError& e) {
    EXPECT_THAT(e.what(), HasSubstr("exited before its first frame (exit status 1)"));
    EXPECT_THAT(e.what(), HasSubstr("Failed to initialize xenstat library"));
    EXPECT_THAT(e.what(), HasSubstr("printed nothing on stdout"));
  }
  EXPECT_TRUE(WorkDirClean());
}

TEST_F(XentopSamplerTest, OutputWithoutAHeaderTimesOut) {
  Output(std::string("Usage: xentop [OPTION]\n\x01\x02 binary\n"));
  XentopSamplerOptions o = Options();
  o.first_frame_timeout = milliseconds(400);
  try {
    XentopSampler::Start(o);
    FAIL() << "Start must fail";
  } catch (const RunError& e) {
    EXPECT_THAT(e.what(), HasSubstr("printed no batch header within 0.4 s"));
    EXPECT_THAT(e.what(), HasSubstr("its output began: Usage: xentop [OPTION] | ?? binary"));
  }
  EXPECT_TRUE(WorkDirClean());
}

// Garbage between frames, an over-long line and binary bytes are counted, never fatal.
TEST_F(XentopSamplerTest, UntrustedOutputIsCountedNotFatal) {
  LabLines lab = Lab();
  std::string text = Frames({{lab.dom0, lab.guest}});
  text += lab.header + "\n" + lab.dom0 + "\n" + std::string(100 * 1024, 'x') + "\n" +
          "  selftest1 --b--- garbage\n" + std::string("\xff\xfe\x00 zz\n", 7) + lab.guest + "\n";
  text += Frames({{lab.dom0, lab.guest}});
  Output(text);
  auto sampler = XentopSampler::Start(Options());
  WaitForRows(*sampler, 2);
  std::this_thread::sleep_for(milliseconds(500));
  CpuSamplerReport report = sampler->Stop();
  ASSERT_EQ(report.rows.size(), 4u);
  EXPECT_EQ(report.details["cut_lines"], 1);
  EXPECT_EQ(report.details["malformed_lines"], 2);
  EXPECT_NO_THROW(report.details.dump());  // valid UTF-8 whatever xentop printed
}

TEST_F(XentopSamplerTest, CutNamesAreRestoredWithoutFullNames) {
  Output(kData / "xentop_4.17_batch.txt");  // hand-written: "unixbench-" for unixbench-domu2
  ::setenv("FAKE_XENTOP_DELAY", "0.05", 1);
  XentopSamplerOptions o = Options();
  o.full_names = false;
  o.guests = {"domu1", "unixbench-domu2"};
  auto sampler = XentopSampler::Start(o);
  WaitForRows(*sampler, 12);  // the last frame is complete once quiet, at Stop()
  std::this_thread::sleep_for(milliseconds(400));
  CpuSamplerReport report = sampler->Stop();
  ASSERT_EQ(report.rows.size(), 15u);
  EXPECT_EQ(report.rows[2].domain, "unixbench-domu2");
  EXPECT_EQ(report.details["domains"]["unixbench-domu2"]["shown_as"], "unixbench-");
  EXPECT_THAT(Lines(ReadFile(dir_ / "args")), Not(::testing::Contains("-f")));
}

TEST_F(XentopSamplerTest, Dom0RowsSayWhenTheyHoldExternalHosts) {
  LabLines lab = Lab();
  Output(Frames({{lab.dom0, lab.guest}, {lab.dom0, lab.guest}, {lab.dom0, lab.guest}}));
  XentopSamplerOptions o = Options();
  o.guests = {};  // selftest1 is then not the scenario's
  o.external_hosts_in_dom0 = {"loadgen", "attacker"};
  auto sampler = XentopSampler::Start(o);
  WaitForRows(*sampler, 2);
  CpuSamplerReport report = sampler->Stop();
  ASSERT_GE(report.rows.size(), 2u);
  EXPECT_EQ(report.rows[0].flags, "includes_external_hosts");
  EXPECT_EQ(report.rows[1].flags, "not_in_scenario");
  EXPECT_EQ(report.details["external_hosts_in_dom0"], nlohmann::json({"loadgen", "attacker"}));
}

// A lab line with the NAME column widened to `width` (xentop -f) and `name` in it.
std::string Widened(const std::string& line, const std::string& name, size_t width) {
  return std::string(width - name.size(), ' ') + name + line.substr(10);
}

// The xen platform names a guest's domain "<run prefix>-<guest>"; rows carry the guest's name.
TEST_F(XentopSamplerTest, XlNamesBecomeTheGuestsNames) {
  LabLines lab = Lab();
  const std::string xl = "nfb1a2b3c-selftest1";
  std::string frame = Widened(lab.header, "NAME", xl.size()) + "\n" +
                      Widened(lab.dom0, "Domain-0", xl.size()) + "\n" +
                      Widened(lab.guest, xl, xl.size()) + "\n";
  Output(frame + frame + frame);
  XentopSamplerOptions o = Options();
  o.xl_names = {{"selftest1", xl}};
  auto sampler = XentopSampler::Start(o);
  WaitForRows(*sampler, 2);
  CpuSamplerReport report = sampler->Stop();
  ASSERT_GE(report.rows.size(), 2u);
  EXPECT_EQ(report.rows[0].domain, "dom0");
  EXPECT_EQ(report.rows[1].domain, "selftest1");
  EXPECT_EQ(report.rows[1].flags, "");
  EXPECT_DOUBLE_EQ(report.rows[1].cpu_percent, 0.8);
  EXPECT_EQ(report.details["domains"]["selftest1"]["shown_as"], xl);
}

TEST_F(XentopSamplerTest, RejectsBadOptions) {
  XentopSamplerOptions o = Options();
  o.interval = milliseconds(500);  // xentop -d is whole seconds
  EXPECT_THROW(XentopSampler::Start(o), InputError);
  o.interval = milliseconds(1500);
  EXPECT_THROW(XentopSampler::Start(o), InputError);
  o = Options();
  o.guests = {"domu1", "domu1"};
  EXPECT_THROW(XentopSampler::Start(o), InputError);
  o.guests = {"dom0"};
  EXPECT_THROW(XentopSampler::Start(o), InputError);
  o.guests = {"total"};
  EXPECT_THROW(XentopSampler::Start(o), InputError);
  o.guests = {"unixbench-domu2", "unixbench-domu3"};
  o.full_names = false;  // both would show as "unixbench-"
  EXPECT_THROW(XentopSampler::Start(o), InputError);
  o = Options();
  o.xl_names = {{"domu9", "nfb1a2b3c-domu9"}};  // not a guest
  EXPECT_THROW(XentopSampler::Start(o), InputError);
  o.guests = {"a", "b"};
  o.xl_names = {{"a", "same"}, {"b", "same"}};
  EXPECT_THROW(XentopSampler::Start(o), InputError);
  o.xl_names = {{"a", "nfb1a2b3c-a"}, {"b", "nfb1a2b3c-b"}};
  o.full_names = false;  // both would show as "nfb1a2b3c-"
  EXPECT_THROW(XentopSampler::Start(o), InputError);
  o = Options();
  o.xentop = dir_ / "no-such-xentop";
  EXPECT_THROW(XentopSampler::Start(o), PrerequisiteError);
  o.xentop = "nfb-no-such-xentop-in-path";
  EXPECT_THROW(XentopSampler::Start(o), PrerequisiteError);
  EXPECT_FALSE(fs::exists(dir_ / "pid"));  // nothing was started
}

}  // namespace
}  // namespace nfb::collectors
