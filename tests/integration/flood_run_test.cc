// End to end: the flood and co-tenant scenarios' quick profiles on the netns platform. The result
// files must hold complete series for every configuration, account for the attack's packets
// along the path, show each filter dropping where it should, carry per-domain CPU series and
// figures, and leave nothing on the host.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "nfb/core/subprocess.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Row = std::map<std::string, std::string>;

const std::string kNfbench = std::string(NFB_BINARY_DIR) + "/harness/cli/nfbench";

// RFC 4180 fields: configuration names such as "Unfiltered, no receiver" are quoted.
std::vector<std::string> SplitCsvLine(const std::string& line) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cells.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cells.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.emplace_back();
    } else {
      cells.back() += c;
    }
  }
  return cells;
}

std::vector<Row> ReadCsv(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  std::vector<Row> rows;
  if (!std::getline(in, line)) return rows;
  const std::vector<std::string> header = SplitCsvLine(line);
  while (std::getline(in, line)) {
    const std::vector<std::string> cells = SplitCsvLine(line);
    Row row;
    for (size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
    rows.push_back(row);
  }
  return rows;
}

json ReadJson(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

int64_t Field(const Row& row, const std::string& key) { return std::stoll(row.at(key)); }

bool HostIsClean(std::string* report) {
  nfb::ProcessSpec spec;
  spec.argv = {std::string(NFB_SOURCE_DIR) + "/scripts/check-clean-host.sh"};
  nfb::ProcessResult r = nfb::RunProcess(spec, std::chrono::seconds(30));
  *report = r.err;
  return r.exit_code == 0;
}

class FloodRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, BPF)";
    out_ = fs::temp_directory_path() /
           ("nfbtest-flood-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(out_);
    std::string report;
    ASSERT_TRUE(HostIsClean(&report)) << "host not clean before the test:\n" << report;
  }
  void TearDown() override {
    if (out_.empty()) return;
    std::string report;
    EXPECT_TRUE(HostIsClean(&report)) << "the run left something behind:\n" << report;
    fs::remove_all(out_);
  }

  // Runs a scenario's quick profile and returns its run directory.
  fs::path RunQuick(const std::string& scenario_file, const std::string& scenario_name) {
    nfb::ProcessSpec spec;
    spec.argv = {kNfbench, "run", std::string(NFB_SOURCE_DIR) + "/scenarios/" + scenario_file,
                 "--profile", "quick", "--out", out_.string()};
    nfb::ProcessResult r = nfb::RunProcess(spec, std::chrono::minutes(10));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<fs::path> runs;
    if (fs::is_directory(out_ / scenario_name)) {
      for (const auto& e : fs::directory_iterator(out_ / scenario_name)) runs.push_back(e.path());
    }
    EXPECT_EQ(runs.size(), 1u);
    return runs.empty() ? fs::path() : runs.front();
  }

  fs::path out_;
};

TEST_F(FloodRunTest, QuickFloodHasCompleteSeriesAndAccountsForTheAttack) {
  const fs::path run = RunQuick("flood.yaml", "udp-flood");
  ASSERT_FALSE(run.empty());
  const std::vector<std::string> configs = {"Unfiltered, no receiver", "Unfiltered", "iptables",
                                            "BPF in guest", "XenBPF"};

  // series.csv: a point per second of the 16 s flow for throughput and loss, and the NIC rate.
  std::map<std::string, std::map<std::string, int>> points;
  for (const Row& row : ReadCsv(run / "series.csv")) ++points[row.at("configuration")][row.at("series")];
  for (const std::string& c : configs) {
    EXPECT_GE(points[c]["throughput"], 15) << c;
    EXPECT_LE(points[c]["throughput"], 17) << c;
    EXPECT_EQ(points[c]["loss"], points[c]["throughput"]) << c;
    EXPECT_GE(points[c]["sent_throughput"], 15) << c;
    EXPECT_GE(points[c]["dom0_nic_rx"], 14) << c;
  }

  // samples.csv: the headline metric exists for every configuration (the attack overlaps the
  // flow for about 11 s).
  std::map<std::string, int> under_attack;
  for (const Row& row : ReadCsv(run / "samples.csv")) {
    if (row.at("metric") == "throughput_attack") ++under_attack[row.at("configuration")];
  }
  for (const std::string& c : configs) EXPECT_GE(under_attack[c], 8) << c;

  // accounting.csv and context.json: the attack went out and is found where each configuration
  // handles it.
  const json context = ReadJson(run / "context.json");
  EXPECT_EQ(context["status"], "completed");
  std::map<std::string, json> counters;
  for (const json& step : context["steps"]) {
    counters[step["configuration"]] = step["program_counters"];
    EXPECT_TRUE(step["attack"]["observed"]["seen"].get<bool>()) << step["configuration"];
    EXPECT_GT(step["attack"]["generator"]["sent_packets"].get<int64_t>(), 0);
    EXPECT_FALSE(step["flow"]["report"].is_null());
  }
  const std::vector<Row> accounting = ReadCsv(run / "accounting.csv");
  ASSERT_EQ(accounting.size(), configs.size());
  for (const Row& row : accounting) {
    const std::string& c = row.at("configuration");
    const int64_t sent = Field(row, "attack_sent");
    EXPECT_GT(sent, 10000) << c;
    // Everything the generator counted left the attacker's interface (or was dropped there).
    EXPECT_GE(Field(row, "attacker_nic_tx") + Field(row, "attacker_nic_tx_dropped"), sent) << c;
    // Nothing filters between the attacker and dom0's NIC.
    EXPECT_GE(Field(row, "dom0_nic_rx") + Field(row, "dom0_nic_rx_dropped"), sent) << c;
    if (c == "Unfiltered, no receiver") {
      EXPECT_GT(Field(row, "guest_udp_no_port"), sent / 2) << "the guest's kernel saw the attack";
    } else if (c == "Unfiltered") {
      EXPECT_GT(Field(row, "receiver_received"), 0) << "the receiving application got packets";
      EXPECT_EQ(Field(row, "guest_udp_no_port"), 0);
    } else if (c == "iptables" || c == "BPF in guest") {
      // The filter drops only attack packets; an attack packet that did not reach it was dropped
      // on the way into the guest (a full backlog: the veth counts it as the vif's tx drop and
      // again as eth0's rx drop), where the valid flow's packets are dropped too (so >=).
      const int64_t dropped = counters[c]["dropped"].get<int64_t>();
      EXPECT_LE(dropped, sent) << c;
      EXPECT_GT(dropped, sent / 2) << c;
      EXPECT_GE(dropped + Field(row, "dom0_vif_tx_dropped"), sent)
          << c << ": every attack packet reached the filter or was dropped on the way";
    } else if (c == "XenBPF") {
      // Dropped in dom0 before the bridge: the guest's interface only saw the valid flow.
      EXPECT_EQ(counters[c]["dropped"].get<int64_t>(), sent);
      // Everything else the NIC received went on to the guest's vif (the flow, some of it
      // dropped there when the guest's CPU fell behind).
      EXPECT_EQ(Field(row, "dom0_nic_rx") -
                    (Field(row, "dom0_vif_tx") + Field(row, "dom0_vif_tx_dropped")),
                sent);
    }
  }

  // cpu.csv: every domain and external host per second of every configuration.
  std::map<std::string, std::set<std::string>> domains;
  std::map<std::string, int> rows_per_config;
  for (const Row& row : ReadCsv(run / "cpu.csv")) {
    domains[row.at("configuration")].insert(row.at("domain"));
    if (row.at("domain") == "domu1") ++rows_per_config[row.at("configuration")];
  }
  for (const std::string& c : configs) {
    for (const char* d : {"dom0", "domu1", "loadgen", "attacker", "total"}) {
      EXPECT_TRUE(domains[c].count(d)) << c << " has no CPU rows for " << d;
    }
    EXPECT_GE(rows_per_config[c], 15) << c;
  }
  for (const char* figure : {"timeseries.png", "cpu_series.png", "throughput_attack_boxplot.png"}) {
    EXPECT_TRUE(fs::exists(run / "figures" / figure)) << figure;
  }
}

TEST_F(FloodRunTest, QuickCotenantScoresEveryConfigurationWithCpuSeries) {
  const fs::path run = RunQuick("cotenant.yaml", "cotenant");
  ASSERT_FALSE(run.empty());
  const std::vector<std::string> configs = {"No Traffic", "Traffic",   "Traffic recv",
                                            "iptables",   "Guest BPF", "XenBPF"};
  std::map<std::string, int> scores;
  for (const Row& row : ReadCsv(run / "samples.csv")) {
    ASSERT_EQ(row.at("metric"), "score");
    EXPECT_GT(std::stod(row.at("value")), 0);
    ++scores[row.at("configuration")];
  }
  for (const std::string& c : configs) EXPECT_EQ(scores[c], 2) << c;  // quick: 2 repetitions

  for (const Row& row : ReadCsv(run / "accounting.csv")) {
    if (row.at("configuration") == "No Traffic") {
      EXPECT_EQ(Field(row, "attack_sent"), 0);
    } else {
      EXPECT_GT(Field(row, "attack_sent"), 1000) << row.at("configuration");
    }
  }
  std::map<std::string, std::set<std::string>> domains;
  for (const Row& row : ReadCsv(run / "cpu.csv")) {
    domains[row.at("configuration")].insert(row.at("domain"));
  }
  for (const std::string& c : configs) {
    for (const char* d : {"dom0", "domu1", "domu2", "attacker"}) {
      EXPECT_TRUE(domains[c].count(d)) << c << " has no CPU rows for " << d;
    }
  }
  const json context = ReadJson(run / "context.json");
  EXPECT_EQ(context["status"], "completed");
  for (const json& step : context["steps"]) {
    EXPECT_EQ(step["cotenant"]["guest"], "domu2");
    EXPECT_GT(step["cotenant"]["score"].get<double>(), 0);
  }
  EXPECT_TRUE(fs::exists(run / "figures" / "score_bars.png"));
  EXPECT_TRUE(fs::exists(run / "figures" / "cpu_series.png"));
}

}  // namespace
