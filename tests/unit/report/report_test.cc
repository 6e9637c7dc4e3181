// The report layer computes the right numbers from known input: summary grouping, CSV
// formatting and quoting, comparison ratios and unit conversion; and ping's summary parser.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include <unistd.h>

#include "nfb/core/error.h"
#include "nfb/report/comparison.h"
#include "nfb/report/results_dir.h"
#include "nfb/report/tables.h"
#include "nfb/workloads/ping.h"

namespace nfb::report {
namespace {

std::vector<Sample> KnownSamples() {
  std::vector<Sample> s;
  // Baseline "a": 1..9 us (median 5); "b, quoted": 2, 4, 6 (median 4), over two repetitions.
  for (int i = 1; i <= 9; ++i) s.push_back({"a", 1, "rtt", double(i), "us", i * 0.001});
  s.push_back({"b, quoted", 1, "rtt", 2, "us", 0});
  s.push_back({"b, quoted", 2, "rtt", 6, "us", 0});
  s.push_back({"b, quoted", 2, "rtt", 4, "us", 0});
  return s;
}

TEST(Tables, SummarizeGroupsByConfigurationAndMetricInOrder) {
  std::vector<SummaryRow> rows = Summarize(KnownSamples());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].configuration, "a");
  EXPECT_EQ(rows[0].summary.n, 9u);
  EXPECT_DOUBLE_EQ(rows[0].summary.median, 5);
  EXPECT_DOUBLE_EQ(rows[0].summary.mean, 5);
  EXPECT_DOUBLE_EQ(rows[0].summary.p25, 3);  // type 7: h = 8 * 0.25 = 2 -> x(3)
  EXPECT_EQ(rows[0].repetitions, 1);
  EXPECT_EQ(rows[1].configuration, "b, quoted");
  EXPECT_EQ(rows[1].repetitions, 2);
  EXPECT_DOUBLE_EQ(rows[1].summary.median, 4);
  EXPECT_DOUBLE_EQ(rows[1].summary.sd, 2);
}

TEST(Tables, SamplesCsvQuotesAndKeepsNanosecondResolution) {
  std::ostringstream out;
  WriteSamplesCsv(out, {{"x, \"y\"", 3, "rtt", 1.234567891, "us", 0.5}});
  EXPECT_EQ(out.str(),
            "configuration,repetition,metric,value,unit,t\n"
            "\"x, \"\"y\"\"\",3,rtt,1.23456789,us,0.500000000\n");
}

TEST(Tables, SummaryCsvHasEveryColumn) {
  std::ostringstream out;
  WriteSummaryCsv(out, Summarize(KnownSamples()));
  std::string text = out.str();
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "configuration,metric,unit,repetitions,n,mean,sd,min,p5,p25,median,p75,p95,p99,max,"
            "median_ci_low,median_ci_high,mean_ci_low,mean_ci_high");
  // Row of "a": n=9, median 5; the CI of the median for n=9 is [x(2), x(8)] = [2, 8].
  EXPECT_NE(text.find("\na,rtt,us,1,9,5,"), std::string::npos) << text;
  // ... and the mean's t-interval: 5 -+ 2.3060 * 2.7386 / 3.
  EXPECT_NE(text.find(",2,8,2.89491964,7.10508036\n"), std::string::npos) << text;
}

TEST(Tables, AccountingCsvRejectsRowsWithDifferentFields) {
  std::ostringstream out;
  std::vector<AccountingRow> ok = {{"a", 1, {{"sent", 3}, {"paired", 2}}},
                                   {"b", 1, {{"sent", 4}, {"paired", 4}}}};
  WriteAccountingCsv(out, ok);
  EXPECT_EQ(out.str(), "configuration,repetition,sent,paired\na,1,3,2\nb,1,4,4\n");
  std::vector<AccountingRow> bad = {{"a", 1, {{"sent", 3}}}, {"b", 1, {{"paired", 4}}}};
  std::ostringstream out2;
  EXPECT_THROW(WriteAccountingCsv(out2, bad), RunError);
}

TEST(Comparison, RatiosToBaselineAndThesisInDisplayUnit) {
  scenario::ReportSpec spec;
  spec.metric = "rtt";
  spec.unit = "ms";
  spec.baseline = "a";
  spec.reference = {{"a", 0.18}, {"b, quoted", 0.14}};
  std::vector<ComparisonRow> rows = Compare(Summarize(KnownSamples()), spec);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_DOUBLE_EQ(rows[0].median, 0.005);  // 5 us in ms
  EXPECT_DOUBLE_EQ(*rows[0].ratio, 1.0);
  EXPECT_DOUBLE_EQ(rows[1].median, 0.004);
  EXPECT_DOUBLE_EQ(*rows[1].ratio, 0.8);
  EXPECT_DOUBLE_EQ(*rows[1].reference, 0.14);
  EXPECT_NEAR(*rows[1].reference_ratio, 0.14 / 0.18, 1e-12);
  std::string table = FormatComparison(rows, spec.baseline);
  EXPECT_NE(table.find("0.80"), std::string::npos) << table;
}

TEST(Comparison, NoBaselineMeansNoRatio) {
  scenario::ReportSpec spec;
  spec.unit = "us";
  std::vector<ComparisonRow> rows = Compare(Summarize(KnownSamples()), spec);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_FALSE(rows[0].ratio.has_value());
  EXPECT_FALSE(rows[0].reference.has_value());
}

TEST(Comparison, MeanStatisticForScores) {
  std::vector<Sample> samples;
  for (double v : {780.0, 790.0, 800.0, 810.0, 820.0}) samples.push_back({"No Traffic", 1, "score", v, "events/s", 0});
  for (double v : {390.0, 400.0, 410.0}) samples.push_back({"Traffic recv", 1, "score", v, "events/s", 0});
  scenario::ReportSpec spec;
  spec.metric = "score";
  spec.unit = "events/s";
  spec.statistic = "mean";
  spec.baseline = "No Traffic";
  std::vector<ComparisonRow> rows = Compare(Summarize(samples), spec);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_DOUBLE_EQ(rows[1].mean, 400);
  EXPECT_DOUBLE_EQ(*rows[1].ratio, 0.5);
  EXPECT_NEAR(rows[0].mean_ci_low, 780.368, 1e-3);
  std::string table = FormatComparison(rows, spec.baseline);
  EXPECT_NE(table.find("95% CI of mean"), std::string::npos) << table;
  EXPECT_NE(table.find("[780.3679, 819.6321]"), std::string::npos) << table;
  std::ostringstream csv;
  WriteComparisonCsv(csv, rows);
  EXPECT_NE(csv.str().find(",mean,800,780.36"), std::string::npos) << csv.str();
}

TEST(Comparison, UnitFactors) {
  EXPECT_DOUBLE_EQ(UnitFactor("Mbit/s", "Mbit/s"), 1);
  EXPECT_THROW(UnitFactor("Mbit/s", "ms"), InputError);
  EXPECT_DOUBLE_EQ(UnitFactor("us", "ms"), 1e-3);
  EXPECT_DOUBLE_EQ(UnitFactor("ns", "us"), 1e-3);
  EXPECT_DOUBLE_EQ(UnitFactor("s", "ms"), 1e3);
  EXPECT_THROW(UnitFactor("furlong", "ms"), InputError);
}

TEST(ResultsDir, SlugKeepsNamesReadable) {
  EXPECT_EQ(Slug("domU plain"), "domU-plain");
  EXPECT_EQ(Slug("../etc"), "..-etc");
  EXPECT_EQ(Slug(""), "unnamed");
}

// Tools may run with another working directory (trafgen in its own folder): a relative results
// base still gives absolute paths.
TEST(ResultsDir, RootIsAbsoluteForARelativeBase) {
  const std::filesystem::path base =
      std::filesystem::temp_directory_path() / ("nfb-results-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(base);
  const std::filesystem::path old_cwd = std::filesystem::current_path();
  std::filesystem::current_path(base);
  const ResultsDir dir = ResultsDir::Create("relative", "scenario x", "0123456789abcdef");
  std::filesystem::current_path(old_cwd);
  EXPECT_TRUE(dir.root().is_absolute()) << dir.root();
  EXPECT_EQ(dir.root().parent_path().parent_path(), base / "relative");
  EXPECT_TRUE(std::filesystem::is_directory(dir.root() / "raw"));
  std::filesystem::remove_all(base);
}

TEST(PingSummary, ParsesIputilsOutput) {
  auto s = workloads::ParsePingSummary(
      "PING 198.18.0.11 (198.18.0.11) 56(84) bytes of data.\n\n--- 198.18.0.11 ping statistics "
      "---\n10100 packets transmitted, 10098 received, +3 duplicates, 0.0198% packet loss, time "
      "10110ms\nrtt min/avg/max/mdev = 0.010/0.020/0.300/0.005 ms\n");
  EXPECT_EQ(s.transmitted, 10100u);
  EXPECT_EQ(s.received, 10098u);
  EXPECT_EQ(s.duplicates, 3u);
  auto e = workloads::ParsePingSummary(
      "5 packets transmitted, 0 received, +5 errors, 100% packet loss, time 4004ms\n");
  EXPECT_EQ(e.received, 0u);
  EXPECT_EQ(e.errors, 5u);
  EXPECT_THROW(workloads::ParsePingSummary("ping: connect: Network is unreachable\n"), InputError);
}

TEST(PingSummary, CommandCarriesCountWarmupAndInterval) {
  scenario::PingWorkload w;
  w.count = 300;
  w.warmup = 20;
  w.interval_ms = 1.0;
  w.timeout_s = 2;
  auto argv = workloads::PingCommand(w, "198.18.0.11");
  std::string line;
  for (const auto& a : argv) line += a + " ";
  EXPECT_EQ(line, "ping -n -q -c 320 -i 0.001000 -W 2.000 198.18.0.11 ");
}

}  // namespace
}  // namespace nfb::report
