// End to end: `nfbench run scenarios/ping_latency.yaml --profile quick` on the netns platform,
// then the result files are checked for what a user relies on: five configurations with
// samples, every probe accounted for, figures written, and nothing left on the host. Also: a run
// interrupted with SIGINT tears down and says so, and the state of a run killed with SIGKILL is
// removed by `nfbench cleanup`.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "nfb/core/subprocess.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::string kNfbench = std::string(NFB_BINARY_DIR) + "/harness/cli/nfbench";
const std::string kScenario = std::string(NFB_SOURCE_DIR) + "/scenarios/ping_latency.yaml";
const std::vector<std::string> kConfigurations = {"domU plain", "domU BPF", "XenBPF",
                                                  "dom0 plain", "dom0 BPF"};

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Rows of a CSV without quoted commas (our configuration names have none) as maps.
std::vector<std::map<std::string, std::string>> ReadCsv(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  std::vector<std::string> header;
  std::vector<std::map<std::string, std::string>> rows;
  auto split = [](const std::string& l) {
    std::vector<std::string> cells;
    std::stringstream ss(l);
    std::string c;
    while (std::getline(ss, c, ',')) cells.push_back(c);
    if (!l.empty() && l.back() == ',') cells.push_back("");
    return cells;
  };
  if (!std::getline(in, line)) return rows;
  header = split(line);
  while (std::getline(in, line)) {
    auto cells = split(line);
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
    rows.push_back(row);
  }
  return rows;
}

// Objects an nfbench run could leave behind (namespaces, cgroups, run state, BPF programs), as
// listed by the same check the test command runs after the suite.
std::vector<std::string> Leftovers() {
  nfb::ProcessSpec spec;
  spec.argv = {std::string(NFB_SOURCE_DIR) + "/scripts/check-clean-host.sh"};
  nfb::ProcessResult r = nfb::RunProcess(spec, std::chrono::seconds(30));
  std::vector<std::string> left;
  std::stringstream lines(r.err);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("left behind: ", 0) == 0) left.push_back(line.substr(13));
  }
  EXPECT_EQ(r.exit_code == 0, left.empty()) << r.err;
  return left;
}

fs::path OnlyRunDir(const fs::path& out) {
  fs::path scenario_dir = out / "ping-latency";
  std::vector<fs::path> runs;
  if (fs::is_directory(scenario_dir)) {
    for (const auto& e : fs::directory_iterator(scenario_dir)) runs.push_back(e.path());
  }
  EXPECT_EQ(runs.size(), 1u);
  return runs.empty() ? fs::path() : runs.front();
}

class PingRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, BPF)";
    out_ = fs::temp_directory_path() / ("nfbtest-run-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(out_);
    ASSERT_TRUE(Leftovers().empty()) << "host not clean before the test";
  }
  void TearDown() override {
    if (!out_.empty()) fs::remove_all(out_);
  }
  fs::path out_;
};

TEST_F(PingRunTest, QuickProfileMeasuresFiveConfigurationsAndLeavesNothing) {
  nfb::ProcessSpec spec;
  spec.argv = {kNfbench, "run", kScenario, "--profile", "quick", "--out", out_.string()};
  nfb::ProcessResult r = nfb::RunProcess(spec, std::chrono::minutes(5));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  fs::path run = OnlyRunDir(out_);

  // samples.csv: every configuration has RTT samples, in microseconds, positive and plausible.
  std::map<std::string, int> samples_per_config;
  for (const auto& row : ReadCsv(run / "samples.csv")) {
    EXPECT_EQ(row.at("metric"), "rtt");
    EXPECT_EQ(row.at("unit"), "us");
    double v = std::stod(row.at("value"));
    EXPECT_GT(v, 0.0);
    EXPECT_LT(v, 2e6);  // the scenario's 2 s timeout
    ++samples_per_config[row.at("configuration")];
  }
  for (const auto& c : kConfigurations) {
    EXPECT_GE(samples_per_config[c], 290) << c;  // quick profile: 300 probes
    EXPECT_LE(samples_per_config[c], 300) << c;
  }

  // accounting.csv: every measured probe is paired, lost or missing from the capture.
  auto accounting = ReadCsv(run / "accounting.csv");
  ASSERT_EQ(accounting.size(), kConfigurations.size());
  for (const auto& row : accounting) {
    long sent = std::stol(row.at("sent"));
    EXPECT_EQ(sent, 300) << row.at("configuration");
    EXPECT_EQ(std::stol(row.at("paired")) + std::stol(row.at("lost")) +
                  std::stol(row.at("missing_from_capture")),
              sent)
        << row.at("configuration");
    EXPECT_EQ(std::stol(row.at("pinger_transmitted")), 320);  // 300 + 20 warm-up
    EXPECT_EQ(std::stol(row.at("paired")), samples_per_config[row.at("configuration")]);
  }

  // summary.csv agrees with samples.csv on n.
  for (const auto& row : ReadCsv(run / "summary.csv")) {
    EXPECT_EQ(std::stoi(row.at("n")), samples_per_config[row.at("configuration")]);
  }

  // context.json: completed, timestamp source and resolution recorded, install paths recorded,
  // and each program really answered (its own counters, or bpfd's for the offloaded one).
  json context = json::parse(Slurp(run / "context.json"));
  EXPECT_EQ(context["status"], "completed");
  EXPECT_EQ(context["schema_version"], 1);
  EXPECT_FALSE(context["timestamps"]["types_used"].empty());
  EXPECT_GT(context["timestamps"]["resolution_ns"].get<double>(), 0.0);
  EXPECT_EQ(context["scenario"]["profile"], "quick");
  EXPECT_EQ(context["scenario"]["sha256"].get<std::string>().size(), 64u);
  ASSERT_EQ(context["steps"].size(), kConfigurations.size());
  for (const auto& step : context["steps"]) {
    const std::string name = step["configuration"];
    const json& install = step["install"];
    const json& counters = step["program_counters"];
    if (name == "domU plain" || name == "dom0 plain") {
      EXPECT_EQ(install["path"], "none") << name;
    } else if (name == "XenBPF") {
      // Offloaded through the real mechanism: the guest's loader asked bpfd over its channel.
      EXPECT_EQ(install["path"], "bpfd");
      EXPECT_EQ(install["at"], "offload");
      EXPECT_EQ(install["loaded"]["program_id"], 1);  // guest-visible ID, not a kernel ID
      // Every probe (warm-up included) was handled at dom0's NIC behind the dispatcher, and
      // none of them reached the guest's interface (links are otherwise silent: static ARP).
      EXPECT_GE(counters["dispatcher_slot_packets"].get<long>(), 320);
      EXPECT_EQ(counters["guest_rx_packets_during_install"].get<long>(), 0);
      EXPECT_GT(counters["cpu_ns"].get<long>(), 0);
    } else {
      EXPECT_EQ(install["path"], "harness-direct") << name;
      // Every probe (warm-up included) was answered by the program, not by a kernel.
      EXPECT_GE(counters["answered"].get<long>(), 320) << name;
    }
    EXPECT_TRUE(step["capture"].contains("timestamp_type")) << name;
  }

  // cpu.csv: one sampler for the whole run (steps are shorter than a few intervals), dom0 and the
  // guest in every interval, each row labelled with a configuration whose step window it overlaps,
  // or "(between steps)".
  const json& sampling = context["cpu_sampling"];
  EXPECT_EQ(sampling["method"], "netns");
  EXPECT_EQ(sampling["scope"], "run");
  EXPECT_FALSE(sampling.contains("error")) << sampling.dump();
  ASSERT_EQ(sampling["step_windows"].size(), kConfigurations.size());
  std::map<std::string, std::pair<double, double>> window_of;
  for (const json& w : sampling["step_windows"]) {
    window_of[w["configuration"]] = {w["begin_s"].get<double>(), w["end_s"].get<double>()};
  }
  std::map<std::string, std::set<double>> times_of_domain;
  std::set<std::string> labelled;
  for (const auto& row : ReadCsv(run / "cpu.csv")) {
    const std::string config = row.at("configuration");
    double t = std::stod(row.at("t_s")), interval = std::stod(row.at("interval_s"));
    if (config != "(between steps)") {
      ASSERT_TRUE(window_of.count(config)) << config;
      auto [begin, end] = window_of[config];
      EXPECT_LT(t - interval, end) << config;  // the row's interval overlaps the step's window
      EXPECT_GT(t, begin) << config;
      labelled.insert(config);
    }
    if (row.at("kind") == "domain") times_of_domain[row.at("domain")].insert(t);
  }
  // A 0.35 s step that shares an interval with a longer one loses it to that step, so not
  // every configuration need have a row here; most do.
  EXPECT_GE(labelled.size(), 3u);
  ASSERT_TRUE(times_of_domain.count("dom0"));
  EXPECT_EQ(times_of_domain["dom0"], times_of_domain["domu1"]);  // every interval, both domains
  EXPECT_GE(times_of_domain["dom0"].size(), 3u);

  // Figures exist and are not empty.
  for (const char* f : {"figures/rtt_boxplot.png", "figures/rtt_boxplot.svg",
                        "figures/cpu_series.png"}) {
    ASSERT_TRUE(fs::exists(run / f)) << f;
    EXPECT_GT(fs::file_size(run / f), 1000u) << f;
  }
  EXPECT_TRUE(fs::exists(run / "scenario.resolved.yaml"));
  for (const auto& c : kConfigurations) {
    std::string slug = c;
    for (char& ch : slug) ch = ch == ' ' ? '-' : ch;
    EXPECT_GT(fs::file_size(run / "raw" / slug / "1" / "capture.pcap"), 24u) << c;
  }

  EXPECT_TRUE(Leftovers().empty()) << ::testing::PrintToString(Leftovers());
}

TEST_F(PingRunTest, InterruptedRunTearsDownAndKeepsPartialResults) {
  nfb::ProcessSpec spec;
  // Long enough to be interrupted in the middle of the first configuration's pings.
  spec.argv = {kNfbench, "run", kScenario, "--out", out_.string(), "-o", "workload.count=30000",
               "-o", "workload.warmup=0"};
  nfb::Process p = nfb::Process::Start(spec);
  // Wait until the first configuration measures (its raw folder appears), then Ctrl-C.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool measuring = false;
  while (!measuring && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    fs::path d = out_ / "ping-latency";
    if (!fs::is_directory(d)) continue;
    for (const auto& run : fs::directory_iterator(d)) {
      measuring |= fs::exists(run.path() / "raw" / "domU-plain" / "1" / "capture.pcap");
    }
  }
  ASSERT_TRUE(measuring) << "the run never started measuring";
  std::this_thread::sleep_for(std::chrono::seconds(1));
  p.Signal(SIGINT);
  auto result = p.Wait(std::chrono::seconds(60));
  ASSERT_TRUE(result.has_value()) << "nfbench did not stop after SIGINT";
  EXPECT_EQ(result->exit_code, 130) << result->err;

  fs::path run = OnlyRunDir(out_);
  json context = json::parse(Slurp(run / "context.json"));
  EXPECT_EQ(context["status"], "interrupted");
  EXPECT_TRUE(fs::exists(run / "samples.csv"));
  EXPECT_TRUE(Leftovers().empty()) << ::testing::PrintToString(Leftovers());
}

TEST_F(PingRunTest, CleanupRemovesStateOfAKilledRun) {
  nfb::ProcessSpec spec;
  spec.argv = {kNfbench, "run", kScenario, "--out", out_.string(), "-o", "workload.count=30000",
               "--no-plot"};
  nfb::Process p = nfb::Process::Start(spec);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (Leftovers().size() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  p.Signal(SIGKILL);
  p.Wait(std::chrono::seconds(10));
  ASSERT_FALSE(Leftovers().empty()) << "SIGKILL should leave the run's objects behind";

  nfb::ProcessSpec cleanup;
  cleanup.argv = {kNfbench, "cleanup"};
  nfb::ProcessResult r = nfb::RunProcess(cleanup, std::chrono::minutes(1));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("removed"), std::string::npos) << r.out;
  EXPECT_TRUE(Leftovers().empty()) << ::testing::PrintToString(Leftovers());
}

}  // namespace
