// The co-tenant CPU benchmark: argv builders, parsers against saved outputs of sysbench 1.0.20
// and stress-ng 0.15.06 (and a hand-made UnixBench report, see tests/data/cpu_benchmark/README.md),
// and the runner against a platform whose commands replay those outputs.
#include "nfb/workloads/cpu_benchmark.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>

#include "nfb/core/error.h"

namespace nfb::workloads {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::filesystem::path kData =
    std::filesystem::path(NFB_SOURCE_DIR) / "tests/data/cpu_benchmark";

std::string Fixture(const std::string& name) {
  std::ifstream in(kData / name, std::ios::binary);
  EXPECT_TRUE(in) << "missing fixture " << name;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string MessageOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

// ---- kinds and argv ------------------------------------------------------------------------

// The names the runner logs and scenario files use are the tools' own.
TEST(CpuBenchmarkKind, NamesAreTheTools) {
  EXPECT_STREQ(scenario::ToString(CpuBenchmarkKind::kAuto), "auto");
  EXPECT_STREQ(scenario::ToString(CpuBenchmarkKind::kUnixBench), "unixbench");
  EXPECT_STREQ(scenario::ToString(CpuBenchmarkKind::kSysbench), "sysbench");
  EXPECT_STREQ(scenario::ToString(CpuBenchmarkKind::kStressNg), "stress-ng");
}

TEST(CpuBenchmarkKind, AutoIsUnixBenchOnlyWithADirectory) {
  CpuBenchmarkOptions o;
  EXPECT_EQ(ResolveCpuBenchmarkKind(o), kDefaultCpuBenchmark);
  EXPECT_EQ(kDefaultCpuBenchmark, CpuBenchmarkKind::kSysbench);
  o.unixbench_dir = "/opt/byte-unixbench/UnixBench";
  EXPECT_EQ(ResolveCpuBenchmarkKind(o), CpuBenchmarkKind::kUnixBench);
  o.kind = CpuBenchmarkKind::kStressNg;  // an explicit kind wins
  EXPECT_EQ(ResolveCpuBenchmarkKind(o), CpuBenchmarkKind::kStressNg);
  o.kind = CpuBenchmarkKind::kUnixBench;
  o.unixbench_dir.clear();
  EXPECT_THAT(MessageOf([&] { ResolveCpuBenchmarkKind(o); }), HasSubstr("directory of UnixBench"));
}

TEST(CpuBenchmarkCommand, Sysbench) {
  CpuBenchmarkOptions o;
  o.duration_s = 10;
  EXPECT_THAT(CpuBenchmarkCommand(o), ElementsAre("sysbench", "cpu", "--threads=1", "--time=10",
                                                  "--events=0", "--cpu-max-prime=10000", "run"));
  o.threads = 2;
  o.cpus = {1, 3};
  o.sysbench_max_prime = 20000;
  EXPECT_THAT(CpuBenchmarkCommand(o),
              ElementsAre("taskset", "-c", "1,3", "sysbench", "cpu", "--threads=2", "--time=10",
                          "--events=0", "--cpu-max-prime=20000", "run"));
}

TEST(CpuBenchmarkCommand, StressNg) {
  CpuBenchmarkOptions o;
  o.kind = CpuBenchmarkKind::kStressNg;
  o.duration_s = 12;
  o.threads = 2;
  o.cpus = {1};
  EXPECT_THAT(CpuBenchmarkCommand(o),
              ElementsAre("taskset", "-c", "1", "stress-ng", "--cpu", "2", "--cpu-method", "prime",
                          "--metrics-brief", "--timeout", "12s", "--temp-path", "/tmp"));
}

TEST(CpuBenchmarkCommand, UnixBenchRunsOnlyTheCpuTestsInItsDirectory) {
  CpuBenchmarkOptions o;
  o.unixbench_dir = "/opt/ub";
  EXPECT_THAT(CpuBenchmarkCommand(o),
              ElementsAre("env", "-C", "/opt/ub", "./Run", "-c", "1", "-i", "3", "dhry2reg",
                          "whetstone-double", "execl", "pipe", "context1", "spawn", "syscall",
                          "shell1", "shell8"));
  // None of the file-system or graphics tests.
  for (const auto& t : kUnixBenchCpuTests) {
    EXPECT_EQ(t.find("fs"), std::string::npos) << t;
    EXPECT_EQ(t.find("2d"), std::string::npos) << t;
  }
}

TEST(CpuBenchmarkCommand, RejectsBadOptions) {
  CpuBenchmarkOptions o;
  o.threads = 0;
  EXPECT_THAT(MessageOf([&] { CpuBenchmarkCommand(o); }), HasSubstr("threads must be >= 1"));
  o = {};
  o.duration_s = 0;
  EXPECT_THAT(MessageOf([&] { CpuBenchmarkCommand(o); }), HasSubstr("duration_s must be >= 1"));
  o = {};
  o.cpus = {-1};
  EXPECT_THAT(MessageOf([&] { CpuBenchmarkCommand(o); }), HasSubstr("CPU -1 is negative"));
  o = {};
  o.kind = CpuBenchmarkKind::kStressNg;
  o.stress_ng_method = "--all";  // would be read as an option
  EXPECT_THAT(MessageOf([&] { CpuBenchmarkCommand(o); }), HasSubstr("not a stress-ng cpu method"));
  o = {};
  o.unixbench_dir = "/opt/ub";
  o.unixbench_tests = {"dhry2reg", "-q"};
  EXPECT_THAT(MessageOf([&] { CpuBenchmarkCommand(o); }), HasSubstr("not a UnixBench test name"));
  o.unixbench_tests.clear();
  EXPECT_THAT(MessageOf([&] { CpuBenchmarkCommand(o); }), HasSubstr("no UnixBench tests"));
  o.unixbench_tests = kUnixBenchCpuTests;
  o.unixbench_iterations = 0;
  EXPECT_THAT(MessageOf([&] { CpuBenchmarkCommand(o); }), HasSubstr("unixbench_iterations"));
}

TEST(CpuBenchmarkCommand, ExpectedSeconds) {
  CpuBenchmarkOptions o;
  o.duration_s = 25;
  EXPECT_DOUBLE_EQ(ExpectedCpuBenchmarkSeconds(o), 25);
  o.unixbench_dir = "/opt/ub";
  // -i 3: five 10 s tests x 3 passes + execl 30 + spawn 30 + shell1 60 + shell8 60, one pass each
  EXPECT_DOUBLE_EQ(ExpectedCpuBenchmarkSeconds(o), 150 + 180);
  o.unixbench_iterations = 10;  // UnixBench's own default: short tests 3 passes
  EXPECT_DOUBLE_EQ(ExpectedCpuBenchmarkSeconds(o), 500 + 540);
}

// ---- sysbench ------------------------------------------------------------------------------

TEST(ParseSysbench, OneThread) {
  CpuBenchmarkResult r = ParseSysbenchOutput(Fixture("sysbench_1.0.20_cpu_1thread.txt"));
  EXPECT_EQ(r.tool, "sysbench");
  EXPECT_EQ(r.version, "1.0.20");
  EXPECT_DOUBLE_EQ(r.score, 1750.23);
  EXPECT_EQ(r.score_unit, "events/s");
  EXPECT_EQ(r.Field("threads"), 1);
  EXPECT_EQ(r.Field("prime_limit"), 10000);
  EXPECT_EQ(r.Field("total_time"), 3.0020);
  EXPECT_EQ(r.Field("total_events"), 5256);
  EXPECT_EQ(r.Field("latency_min"), 0.21);
  EXPECT_EQ(r.Field("latency_avg"), 0.57);
  EXPECT_EQ(r.Field("latency_max"), 20.28);
  EXPECT_EQ(r.Field("latency_p95"), 3.07);
  EXPECT_EQ(r.Field("latency_sum"), 2996.58);
  EXPECT_EQ(r.Field("no such field"), std::nullopt);
  // Threads fairness has "events (avg/stddev)": not a latency field, not parsed.
  EXPECT_EQ(r.fields.size(), 9u);
}

TEST(ParseSysbench, TwoThreads) {
  CpuBenchmarkResult r = ParseSysbenchOutput(Fixture("sysbench_1.0.20_cpu_2threads.txt"));
  EXPECT_DOUBLE_EQ(r.score, 613.94);
  EXPECT_EQ(r.Field("threads"), 2);
  EXPECT_EQ(r.Field("prime_limit"), 20000);
  EXPECT_EQ(r.Field("total_events"), 1231);
  EXPECT_EQ(r.Field("latency_p95"), 18.61);
}

TEST(ParseSysbench, Errors) {
  EXPECT_THAT(MessageOf([] { ParseSysbenchOutput(Fixture("sysbench_1.0.20_bad_option.txt")); }),
              HasSubstr("sysbench failed: 'FATAL: Invalid value of cpu-max-prime: -5.'"));
  EXPECT_THAT(MessageOf([] { ParseSysbenchOutput(""); }), HasSubstr("no 'events per second'"));
  EXPECT_THAT(MessageOf([] { ParseSysbenchOutput("CPU speed:\n    events per second:  12x4\n"); }),
              HasSubstr("not a number"));
  // A run cut short (killed) before its report.
  std::string text = Fixture("sysbench_1.0.20_cpu_1thread.txt");
  EXPECT_THAT(MessageOf([&] { ParseSysbenchOutput(text.substr(0, text.find("CPU speed"))); }),
              HasSubstr("no 'events per second'"));
}

// ---- stress-ng -----------------------------------------------------------------------------

TEST(ParseStressNg, OneWorker) {
  CpuBenchmarkResult r = ParseStressNgOutput(Fixture("stress-ng_0.15.06_int64_1worker.txt"));
  EXPECT_EQ(r.tool, "stress-ng");
  EXPECT_EQ(r.version, "");  // not printed in a run
  EXPECT_DOUBLE_EQ(r.score, 1094.05);
  EXPECT_EQ(r.score_unit, "bogo ops/s");
  EXPECT_EQ(r.Field("bogo_ops"), 3284);
  EXPECT_EQ(r.Field("real_time"), 3.00);
  EXPECT_EQ(r.Field("usr_time"), 1.03);
  EXPECT_EQ(r.Field("sys_time"), 0.00);
  EXPECT_EQ(r.Field("bogo_ops_per_s_usr_sys"), 3196.97);
  EXPECT_EQ(r.Field("instances"), 1);
  EXPECT_EQ(r.Field("cpu_used_per_instance"), std::nullopt);  // 0.15 has no such column
}

TEST(ParseStressNg, TwoWorkers) {
  CpuBenchmarkResult r = ParseStressNgOutput(Fixture("stress-ng_0.15.06_matrixprod_2workers.txt"));
  EXPECT_DOUBLE_EQ(r.score, 403.02);
  EXPECT_EQ(r.Field("bogo_ops"), 815);
  EXPECT_EQ(r.Field("instances"), 2);
}

// Hand-made from the layout of stress-ng >= 0.16 (two more columns, a miscellaneous section
// whose lines also start with the stressor's name).
TEST(ParseStressNg, NewerLayoutWithCpuUsedColumn) {
  const std::string text =
      "stress-ng: info:  [17] setting to a 10 secs run per stressor\n"
      "stress-ng: info:  [17] dispatching hogs: 1 cpu\n"
      "stress-ng: metrc: [17] stressor       bogo ops real time  usr time  sys time   bogo ops/s"
      "     bogo ops/s CPU used per       RSS Max\n"
      "stress-ng: metrc: [17]                           (secs)    (secs)    (secs)   (real time)"
      " (usr+sys time) instance (%)          (KB)\n"
      "stress-ng: metrc: [17] cpu               12345     10.00      9.98      0.01      1234.50"
      "        1235.74        99.90          2048\n"
      "stress-ng: metrc: [17] miscellaneous metrics:\n"
      "stress-ng: metrc: [17] cpu                 12.34 int64 ops per sec (harmonic mean)\n"
      "stress-ng: info:  [17] successful run completed in 10.01 secs\n";
  CpuBenchmarkResult r = ParseStressNgOutput(text);
  EXPECT_DOUBLE_EQ(r.score, 1234.50);
  EXPECT_EQ(r.Field("cpu_used_per_instance"), 99.90);
  EXPECT_EQ(r.Field("bogo_ops"), 12345);
}

TEST(ParseStressNg, Errors) {
  EXPECT_THAT(MessageOf([] { ParseStressNgOutput(Fixture("stress-ng_0.15.06_bad_method.txt")); }),
              HasSubstr("stress-ng printed no report: 'cpu-method must be one of:"));
  EXPECT_THAT(MessageOf([] {
                ParseStressNgOutput(
                    "stress-ng: info:  [5] dispatching hogs: 1 cpu\n"
                    "stress-ng: fail:  [6] cpu: int64 error detected, failed int64 math\n"
                    "stress-ng: info:  [5] unsuccessful run completed in 1.00s\n");
              }),
              HasSubstr("unsuccessful run: 'cpu: int64 error detected"));
  // Without --metrics-brief: the run succeeds but reports no rates.
  EXPECT_THAT(MessageOf([] {
                ParseStressNgOutput(
                    "stress-ng: info:  [5] dispatching hogs: 1 cpu\n"
                    "stress-ng: info:  [5] successful run completed in 1.00s\n");
              }),
              HasSubstr("was --metrics-brief given?"));
  std::string text = Fixture("stress-ng_0.15.06_int64_1worker.txt");
  std::string cut = text.substr(0, text.find("1.03"));
  EXPECT_THAT(MessageOf([&] { ParseStressNgOutput(cut); }),
              HasSubstr("malformed metrics line for the cpu stressor"));
}

TEST(ParseStressNg, Version) {
  EXPECT_EQ(ParseStressNgVersion(Fixture("stress-ng_0.15.06_version.txt")), "0.15.06");
  EXPECT_EQ(ParseStressNgVersion("garbage"), "");
}

// ---- UnixBench -----------------------------------------------------------------------------

TEST(ParseUnixBench, PartialIndexOfTheCpuTests) {
  CpuBenchmarkResult r = ParseUnixBenchOutput(Fixture("unixbench_5.1.3_cpu_tests.HANDMADE.txt"));
  EXPECT_EQ(r.tool, "unixbench");
  EXPECT_EQ(r.version, "5.1.3");
  EXPECT_DOUBLE_EQ(r.score, 816.2);
  EXPECT_EQ(r.score_unit, "index");
  EXPECT_EQ(r.Field("copies"), 1);
  EXPECT_EQ(r.Field("partial"), 1);
  EXPECT_EQ(r.Field("Dhrystone 2 using register variables"), 31516734.1);
  EXPECT_EQ(r.Field("Double-Precision Whetstone"), 4008.1);
  EXPECT_EQ(r.Field("Shell Scripts (8 concurrent)"), 689.3);
  EXPECT_EQ(r.Field("Dhrystone 2 using register variables index"), 2700.7);
  EXPECT_EQ(r.Field("System Call Overhead index"), 608.6);
  // 9 results + 9 indexes + copies + partial
  ASSERT_EQ(r.fields.size(), 20u);
  EXPECT_EQ(r.fields[1].name, "Dhrystone 2 using register variables");
  EXPECT_EQ(r.fields[1].unit, "lps");
  EXPECT_EQ(r.fields[2].unit, "MWIPS");
}

TEST(ParseUnixBench, TakesTheLastRunOfSeveralCopyCounts) {
  std::string one = Fixture("unixbench_5.1.3_cpu_tests.HANDMADE.txt");
  std::string report = one.substr(one.find("------------------------------------------------"));
  std::string two = report;
  two.replace(two.find("running 1 parallel copy"), 23, "running 2 parallel copies");
  two.replace(two.find("816.2"), 5, "1523.9");
  CpuBenchmarkResult r = ParseUnixBenchOutput(one + two);
  EXPECT_DOUBLE_EQ(r.score, 1523.9);
  EXPECT_EQ(r.Field("copies"), 2);
}

TEST(ParseUnixBench, FullIndexIsNotPartial) {
  std::string text = Fixture("unixbench_5.1.3_cpu_tests.HANDMADE.txt");
  text.replace(text.find("Partial Index"), 13, "Index Values");
  text.replace(text.find(" (Partial Only)"), 15, "");
  CpuBenchmarkResult r = ParseUnixBenchOutput(text);
  EXPECT_EQ(r.Field("partial"), 0);
  EXPECT_DOUBLE_EQ(r.score, 816.2);
}

TEST(ParseUnixBench, Errors) {
  EXPECT_THAT(MessageOf([] { ParseUnixBenchOutput("Run: unknown test \"dhry3\"\n"); }),
              HasSubstr("UnixBench failed: 'Run: unknown test \"dhry3\"'"));
  EXPECT_THAT(MessageOf([] { ParseUnixBenchOutput("make: *** No rule to make target\n"); }),
              HasSubstr("no 'Benchmark Run:' line"));
  std::string text = Fixture("unixbench_5.1.3_cpu_tests.HANDMADE.txt");
  EXPECT_THAT(MessageOf([&] {
                ParseUnixBenchOutput(text.substr(0, text.find("System Benchmarks Partial")));
              }),
              HasSubstr("no System Benchmarks Index Score"));
  std::string no_index = text.substr(0, text.find("System Benchmarks Partial")) +
                         "No index results available for System Benchmarks\n";
  EXPECT_THAT(MessageOf([&] { ParseUnixBenchOutput(no_index); }), HasSubstr("computed no index"));
  std::string bad = text;
  bad.replace(bad.find("816.2"), 5, "8x6.2");
  EXPECT_THAT(MessageOf([&] { ParseUnixBenchOutput(bad); }), HasSubstr("malformed index score"));
}

// No input crashes a parser or throws anything but InputError: truncations of every fixture at
// every line and random bytes.
TEST(CpuBenchmarkParsers, NeverCrashOnMalformedOutput) {
  std::vector<std::string> inputs;
  for (const char* name : {"sysbench_1.0.20_cpu_1thread.txt", "stress-ng_0.15.06_int64_1worker.txt",
                           "unixbench_5.1.3_cpu_tests.HANDMADE.txt"}) {
    std::string text = Fixture(name);
    for (size_t i = 0; i < text.size(); i += 7) inputs.push_back(text.substr(0, i));
    for (size_t i = 0; i < text.size(); i += 13) {
      std::string mutated = text;
      mutated[i] = "x9 .:-(\n\0"[i % 9];
      inputs.push_back(mutated);
    }
  }
  std::mt19937 rng(42);
  for (int i = 0; i < 200; ++i) {
    std::string s(rng() % 400, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    inputs.push_back(s);
  }
  inputs.push_back(std::string(1 << 20, ' ') + "events per second: 1");
  inputs.push_back("stress-ng: metrc: [1] stressor\nstress-ng: metrc: [1] cpu 1 2 3 4 1e999 6\n");
  for (const auto& in : inputs) {
    for (auto kind :
         {CpuBenchmarkKind::kSysbench, CpuBenchmarkKind::kStressNg, CpuBenchmarkKind::kUnixBench}) {
      try {
        CpuBenchmarkResult r = ParseCpuBenchmarkOutput(kind, in);
        EXPECT_TRUE(std::isfinite(r.score));
      } catch (const InputError&) {
      }
    }
  }
}

// ---- runner --------------------------------------------------------------------------------

// Replays a fixture instead of running the tool: `Command` records the argv it was asked for and
// returns a shell command that prints the fixture and exits with the given status.
class ReplayPlatform : public platform::Platform {
 public:
  std::string fixture;
  int exit_status = 0;
  std::vector<std::vector<std::string>> commands;
  std::vector<std::string> hosts;

  std::string Name() const override { return "replay"; }
  void Provision() override {}
  void Teardown() noexcept override {}
  const platform::HostInfo& Host(const std::string&) const override { return info_; }
  std::string Dom0Netns() const override { return ""; }
  std::string Dom0NicInterface() const override { return ""; }
  void StopGuests() override {}
  void StartGuests() override {}
  ProcessSpec Command(const std::string& host, std::vector<std::string> argv) const override {
    if (host != "domu2") throw InputError("unknown host '" + host + "'");
    auto* self = const_cast<ReplayPlatform*>(this);
    self->commands.push_back(argv);
    self->hosts.push_back(host);
    std::string file =
        argv.size() == 2 && argv[1] == "--version" ? "stress-ng_0.15.06_version.txt" : fixture;
    return ProcessSpec({"/bin/sh", "-c", "cat \"$0\"; exit " + std::to_string(exit_status),
                        (kData / file).string()});
  }
  nlohmann::json Describe() const override { return {}; }
  std::filesystem::path StateDirectory() const override { return "/tmp"; }

 private:
  platform::HostInfo info_;
};

class CpuBenchmarkRunner : public ::testing::Test {
 protected:
  void SetUp() override {
    raw_ = std::filesystem::temp_directory_path() /
           ("nfb-cpu-benchmark-test-" + std::to_string(getpid()));
    std::filesystem::remove_all(raw_);
  }
  void TearDown() override { std::filesystem::remove_all(raw_); }
  std::filesystem::path raw_;
};

TEST_F(CpuBenchmarkRunner, RunsInTheHostAndParses) {
  ReplayPlatform p;
  p.fixture = "sysbench_1.0.20_cpu_1thread.txt";
  CpuBenchmarkOptions o;
  o.duration_s = 3;
  CpuBenchmarkRun run = RunCpuBenchmark(p, "domu2", o, raw_ / "r1");
  EXPECT_EQ(run.kind, CpuBenchmarkKind::kSysbench);
  EXPECT_EQ(run.argv, CpuBenchmarkCommand(o));
  ASSERT_EQ(p.commands.size(), 1u);
  EXPECT_EQ(p.commands[0], run.argv);
  EXPECT_DOUBLE_EQ(run.result.score, 1750.23);
  EXPECT_EQ(run.log, raw_ / "r1" / "cpu_benchmark.log");
  EXPECT_EQ(std::filesystem::file_size(run.log), std::filesystem::file_size(kData / p.fixture));
  EXPECT_GE(run.duration_s, 0);
}

TEST_F(CpuBenchmarkRunner, AsksStressNgForItsVersionAfterwards) {
  ReplayPlatform p;
  p.fixture = "stress-ng_0.15.06_int64_1worker.txt";
  CpuBenchmarkOptions o;
  o.kind = CpuBenchmarkKind::kStressNg;
  CpuBenchmark b = CpuBenchmark::Start(p, "domu2", o, raw_);
  EXPECT_EQ(b.expected_s(), 30);
  CpuBenchmarkRun run = b.Finish();
  EXPECT_DOUBLE_EQ(run.result.score, 1094.05);
  EXPECT_EQ(run.result.version, "0.15.06");
  ASSERT_EQ(p.commands.size(), 2u);
  EXPECT_THAT(p.commands[1], ElementsAre("stress-ng", "--version"));
}

TEST_F(CpuBenchmarkRunner, FailureNamesTheStatusAndTheLog) {
  ReplayPlatform p;
  p.fixture = "sysbench_1.0.20_bad_option.txt";
  p.exit_status = 1;
  try {
    RunCpuBenchmark(p, "domu2", {}, raw_);
    FAIL() << "no RunError";
  } catch (const RunError& e) {
    EXPECT_THAT(e.what(), HasSubstr("sysbench in domu2 failed (exit status 1)"));
    EXPECT_THAT(e.what(), HasSubstr("cpu_benchmark.log"));
    EXPECT_THAT(e.what(), HasSubstr("FATAL: Invalid value of cpu-max-prime"));
  }
}

TEST_F(CpuBenchmarkRunner, UnparsableOutputIsARunError) {
  ReplayPlatform p;
  p.fixture = "stress-ng_0.15.06_version.txt";  // exits 0 but is no report
  try {
    RunCpuBenchmark(p, "domu2", {}, raw_);
    FAIL() << "no RunError";
  } catch (const RunError& e) {
    EXPECT_THAT(e.what(), HasSubstr("sysbench in domu2: sysbench printed no 'events per second'"));
  }
}

TEST_F(CpuBenchmarkRunner, BadOptionsAndHostsAreInputErrors) {
  ReplayPlatform p;
  p.fixture = "sysbench_1.0.20_cpu_1thread.txt";
  CpuBenchmarkOptions o;
  o.threads = 0;
  EXPECT_THROW(RunCpuBenchmark(p, "domu2", o, raw_), InputError);
  EXPECT_THROW(RunCpuBenchmark(p, "nosuch", {}, raw_), InputError);
  EXPECT_TRUE(p.commands.empty());
}

}  // namespace
}  // namespace nfb::workloads
