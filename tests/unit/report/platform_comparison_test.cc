// `nfbench compare` on small run directories written here: ratios and orderings from known
// numbers, the thesis column, emulated runs, missing configurations, and bad input.
#include "nfb/report/platform_comparison.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "nfb/core/error.h"
#include "nfb/report/csv_reader.h"
#include "nfb/report/emulation.h"

namespace nfb::report {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* kHeader =
    "configuration,n,unit,median,median_ci_low,median_ci_high,p25,p75,ratio_to_baseline,"
    "thesis_value,thesis_ratio_to_baseline,statistic,mean,mean_ci_low,mean_ci_high\n";

// A comparison.csv row with the columns that matter here; the rest are filler.
std::string Row(const std::string& configuration, const std::string& unit, double median,
                const std::string& ratio, const std::string& thesis,
                const std::string& thesis_ratio, const std::string& statistic = "median",
                double mean = 0) {
  return fmt::format("{},100,{},{},0,0,0,0,{},{},{},{},{},0,0\n", configuration, unit, median,
                     ratio, thesis, thesis_ratio, statistic, mean);
}

json Context(const std::string& platform, const std::string& run_id,
             const std::string& scenario = "ping-latency", const std::string& baseline = "a") {
  return {{"run_id", run_id},
          {"platform", {{"name", platform}}},
          {"scenario",
           {{"name", scenario},
            {"report", {{"baseline", baseline}, {"metric", "rtt"}, {"unit", "ms"}}}}}};
}

json EmulatedXenContext(const std::string& run_id) {
  json c = Context("xen", run_id);
  c["xen"] = {{"emulation",
               {{"summary", "xen under QEMU/TCG"}, {"machine", "qemu"}, {"accelerator", "tcg"}}},
              {"xen", {{"version", "4.17.5"}}}};
  return c;
}

class PlatformComparisonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            fmt::format("nfb-compare-{}-{}", ::getpid(),
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    fs::create_directories(base_);
  }
  void TearDown() override { fs::remove_all(base_); }

  // A run directory named like the runner's, with comparison.csv and (unless null) context.json.
  fs::path WriteRun(const std::string& name, const std::string& csv, const json& context) {
    fs::path dir = base_ / name;
    fs::create_directories(dir);
    std::ofstream(dir / "comparison.csv") << csv;
    if (!context.is_null()) std::ofstream(dir / "context.json") << context.dump(2);
    return dir;
  }

  // The netns run: a (baseline) 0.050 ms, b 0.010, c 0.005. The file's ratios are deliberately
  // wrong (9): the comparison must compute its own from the values.
  fs::path NetnsRun() {
    return WriteRun("20260101T000000Z-1111111111111111",
                    std::string(kHeader) + Row("a", "ms", 0.05, "9", "0.18", "1") +
                        Row("b", "ms", 0.01, "9", "0.145", "0.805556") +
                        Row("c", "ms", 0.005, "9", "0.14", "0.777778"),
                    Context("netns", "1111111111111111"));
  }

  // The emulated Xen run, in microseconds: a 1500 us, b 100, c 30; no thesis values.
  fs::path XenRun() {
    return WriteRun("20260102T000000Z-2222222222222222",
                    std::string(kHeader) + Row("a", "us", 1500, "", "", "") +
                        Row("b", "us", 100, "", "", "") + Row("c", "us", 30, "", "", ""),
                    EmulatedXenContext("2222222222222222"));
  }

  template <typename F>
  std::string InputErrorOf(F&& f) {
    try {
      f();
    } catch (const InputError& e) {
      return e.what();
    }
    ADD_FAILURE() << "no InputError";
    return {};
  }

  fs::path base_;
};

TEST_F(PlatformComparisonTest, RatiosAndOrderingsFromKnownNumbers) {
  PlatformComparison c =
      ComparePlatforms({LoadRunComparison(NetnsRun()), LoadRunComparison(XenRun())});
  EXPECT_EQ(c.scenario, "ping-latency");
  EXPECT_EQ(c.metric, "rtt");
  EXPECT_EQ(c.baseline, "a");
  EXPECT_EQ(c.unit, "ms");
  ASSERT_EQ(c.rows.size(), 3u);
  ASSERT_EQ(c.runs.size(), 2u);
  EXPECT_EQ(c.runs[0].label, "netns 11111111");
  EXPECT_EQ(c.runs[1].label, "xen (emulated) 22222222");
  EXPECT_EQ(c.runs[1].unit, "us");

  const PlatformComparisonRow& b = c.rows[1];
  EXPECT_EQ(b.configuration, "b");
  EXPECT_DOUBLE_EQ(*b.thesis_value, 0.145);
  EXPECT_DOUBLE_EQ(*b.thesis_ratio, 0.145 / 0.18);
  EXPECT_DOUBLE_EQ(*b.runs[0].value, 0.01);
  EXPECT_DOUBLE_EQ(*b.runs[0].ratio, 0.01 / 0.05);  // not the file's 9
  EXPECT_DOUBLE_EQ(*b.runs[1].value, 100);
  EXPECT_DOUBLE_EQ(*b.runs[1].ratio, 100.0 / 1500);
  EXPECT_DOUBLE_EQ(*c.rows[0].runs[1].ratio, 1);
  EXPECT_DOUBLE_EQ(*c.rows[2].runs[1].ratio, 30.0 / 1500);

  EXPECT_EQ(c.thesis_ordering, "c < b < a");
  EXPECT_EQ(c.runs[0].ordering, "c < b < a");
  EXPECT_EQ(c.runs[1].ordering, "c < b < a");
}

TEST_F(PlatformComparisonTest, TextTableLinesUpRunsWithTheThesis) {
  std::string text = FormatPlatformComparison(
      ComparePlatforms({LoadRunComparison(NetnsRun()), LoadRunComparison(XenRun())}));
  EXPECT_EQ(text,
            "ping-latency, rtt: ratio = value / value of a\n"
            "                          thesis       netns 11111111   xen (emulated) 22222222\n"
            "configuration         ms   ratio    median ms   ratio         median us   ratio\n"
            "a                  0.180    1.00       0.0500    1.00         1500.0000    1.00\n"
            "b                  0.145    0.81       0.0100    0.20          100.0000   0.067\n"
            "c                  0.140    0.78       0.0050    0.10           30.0000    0.02\n"
            "\n"
            "ordering, smallest first:\n"
            "  thesis                   c < b < a\n"
            "  netns 11111111           c < b < a\n"
            "  xen (emulated) 22222222  c < b < a\n"
            "note: xen (emulated) 22222222: Xen ran under QEMU/TCG; absolute times are not "
            "comparable with hardware, compare the ratios\n");
}

TEST_F(PlatformComparisonTest, OrderingMarksTiesAndSkipsMissingValues) {
  EXPECT_EQ(FormatOrdering({{"domU plain", 0.18},
                            {"domU BPF", 0.18},
                            {"XenBPF", 0.14},
                            {"dom0 plain", 0.145},
                            {"dom0 BPF", 0.14},
                            {"absent", std::nullopt}}),
            "XenBPF = dom0 BPF < dom0 plain < domU plain = domU BPF");
  EXPECT_EQ(FormatOrdering({}), "");
}

TEST_F(PlatformComparisonTest, UsesTheStatisticTheRunNames) {
  fs::path dir = WriteRun("20260103T000000Z-3333333333333333",
                          std::string(kHeader) + Row("a", "score", 10, "", "", "", "mean", 200) +
                              Row("b", "score", 20, "", "", "", "mean", 50),
                          Context("netns", "3333333333333333"));
  PlatformComparison c = ComparePlatforms({LoadRunComparison(dir)});
  EXPECT_EQ(c.runs[0].statistic, "mean");
  EXPECT_DOUBLE_EQ(*c.rows[1].runs[0].value, 50);
  EXPECT_DOUBLE_EQ(*c.rows[1].runs[0].ratio, 0.25);
  EXPECT_EQ(c.runs[0].ordering, "b < a");  // by mean; by median it would be a < b
}

TEST_F(PlatformComparisonTest, MissingConfigurationShowsDash) {
  fs::path partial = WriteRun("20260104T000000Z-4444444444444444",
                              std::string(kHeader) + Row("a", "ms", 2, "", "", "") +
                                  Row("c", "ms", 1, "", "", "") + Row("d", "ms", 3, "", "", ""),
                              Context("netns", "4444444444444444"));
  PlatformComparison c =
      ComparePlatforms({LoadRunComparison(NetnsRun()), LoadRunComparison(partial)});
  ASSERT_EQ(c.rows.size(), 4u);  // a b c from the first run, then d
  EXPECT_EQ(c.rows[1].configuration, "b");
  EXPECT_FALSE(c.rows[1].runs[1].value);
  EXPECT_FALSE(c.rows[1].runs[1].ratio);
  EXPECT_EQ(c.rows[3].configuration, "d");
  EXPECT_FALSE(c.rows[3].runs[0].value);
  EXPECT_DOUBLE_EQ(*c.rows[3].runs[1].ratio, 1.5);
  EXPECT_EQ(c.runs[1].ordering, "c < a < d");

  std::string text = FormatPlatformComparison(c);
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line) && line.rfind("b ", 0) != 0) {
  }
  // b's cells in the second run: value and ratio both "-".
  EXPECT_TRUE(line.ends_with("-       -")) << line;
  EXPECT_TRUE(PlatformComparisonJson(c)["configurations"][1]["runs"][1]["value"].is_null());
}

// A run that failed before its first configuration wrote only the header.
TEST_F(PlatformComparisonTest, RunWithoutRowsIsShownAsSuch) {
  fs::path empty =
      WriteRun("20260109T000000Z-9999999999999999", kHeader, Context("netns", "9999999999999999"));
  EXPECT_EQ(FormatPlatformComparison(ComparePlatforms({LoadRunComparison(empty)})),
            "ping-latency, rtt: ratio = value / value of a\n(no configurations in any run)\n");
  std::string text = FormatPlatformComparison(
      ComparePlatforms({LoadRunComparison(NetnsRun()), LoadRunComparison(empty)}));
  EXPECT_NE(text.find("  netns 99999999  (no values)\n"), std::string::npos) << text;
}

TEST_F(PlatformComparisonTest, DifferentScenariosOrBaselinesAreInputErrors) {
  fs::path other = WriteRun("20260105T000000Z-5555555555555555",
                            std::string(kHeader) + Row("a", "ms", 1, "", "", ""),
                            Context("xen", "5555555555555555", "udp-flood"));
  std::string what = InputErrorOf([&] {
    ComparePlatforms({LoadRunComparison(NetnsRun()), LoadRunComparison(other)});
  });
  EXPECT_NE(what.find("different scenarios: 'ping-latency' and 'udp-flood'"), std::string::npos)
      << what;

  fs::path rebased = WriteRun("20260106T000000Z-6666666666666666",
                              std::string(kHeader) + Row("a", "ms", 1, "", "", ""),
                              Context("xen", "6666666666666666", "ping-latency", "b"));
  what = InputErrorOf([&] {
    ComparePlatforms({LoadRunComparison(NetnsRun()), LoadRunComparison(rebased)});
  });
  EXPECT_NE(what.find("different baselines"), std::string::npos) << what;
  EXPECT_THROW(ComparePlatforms({}), InputError);
}

TEST_F(PlatformComparisonTest, MalformedCsvNamesFileAndLine) {
  fs::path short_row = WriteRun(
      "short", std::string(kHeader) + Row("a", "ms", 1, "", "", "") + "b,100,ms,2\n", json());
  std::string what = InputErrorOf([&] { LoadRunComparison(short_row); });
  EXPECT_NE(what.find((short_row / "comparison.csv").string() + ":3: 4 fields, the header has 15"),
            std::string::npos)
      << what;

  fs::path not_a_number = WriteRun("nan",
                                   std::string(kHeader) + Row("a", "ms", 1, "", "", "") +
                                       "b,100,ms,fast,0,0,0,0,,,,median,0,0,0\n",
                                   json());
  what = InputErrorOf([&] { LoadRunComparison(not_a_number); });
  EXPECT_NE(what.find("comparison.csv:3: median 'fast' is not a number"), std::string::npos)
      << what;

  fs::path bad_ratio =
      WriteRun("ratio", std::string(kHeader) + "a,100,ms,1,0,0,0,0,1x,,,median,0,0,0\n", json());
  what = InputErrorOf([&] { LoadRunComparison(bad_ratio); });
  EXPECT_NE(what.find("comparison.csv:2: ratio_to_baseline '1x'"), std::string::npos) << what;

  fs::path no_median = WriteRun("no-median", "configuration,unit\na,ms\n", json());
  what = InputErrorOf([&] { LoadRunComparison(no_median); });
  EXPECT_NE(what.find("comparison.csv:1: no column 'median'"), std::string::npos) << what;

  fs::path twice = WriteRun(
      "twice", std::string(kHeader) + Row("a", "ms", 1, "", "", "") + Row("a", "ms", 2, "", "", ""),
      json());
  what = InputErrorOf([&] { LoadRunComparison(twice); });
  EXPECT_NE(what.find("comparison.csv:3: configuration 'a' appears twice"), std::string::npos)
      << what;

  EXPECT_THROW(LoadRunComparison(WriteRun("empty", "", json())), InputError);
  EXPECT_THROW(LoadRunComparison(base_), InputError);  // no comparison.csv at all
}

TEST_F(PlatformComparisonTest, MalformedContextIsAnInputErrorNamingIt) {
  fs::path dir = WriteRun("broken", std::string(kHeader) + Row("a", "ms", 1, "", "", ""), json());
  std::ofstream(dir / "context.json") << "{\"platform\": {\"name\": \"xen\",\n";
  std::string what = InputErrorOf([&] { LoadRunComparison(dir); });
  EXPECT_NE(what.find((dir / "context.json").string() + ": not valid JSON"), std::string::npos)
      << what;
  EXPECT_NE(what.find("line 2"), std::string::npos) << what;
}

TEST_F(PlatformComparisonTest, ContextOfUnexpectedShapeIsIgnored) {
  fs::path dir = WriteRun("20260107T000000Z-7777777777777777",
                          std::string(kHeader) + Row("a", "ms", 1, "", "", ""),
                          json{{"platform", 5}, {"scenario", "x"}, {"xen", {{"emulation", 1}}}});
  RunComparison run = LoadRunComparison(dir);
  EXPECT_EQ(run.platform, "unknown");
  EXPECT_FALSE(run.scenario);
  EXPECT_FALSE(run.emulated_under);
  EXPECT_EQ(run.run_id, "77777777");
}

TEST_F(PlatformComparisonTest, WithoutContextThePlatformIsUnknownAndTheFileRatiosStay) {
  // An older comparison.csv (no statistic or mean columns) and no context.json.
  fs::path dir = WriteRun("20260108T000000Z-8888888888888888",
                          "configuration,n,unit,median,median_ci_low,median_ci_high,p25,p75,"
                          "ratio_to_baseline,thesis_value,thesis_ratio_to_baseline\n"
                          "a,10,ms,0.04,0,0,0,0,1,0.18,1\n"
                          "b,10,ms,0.01,0,0,0,0,0.25,0.14,0.777778\n",
                          json());
  PlatformComparison alone = ComparePlatforms({LoadRunComparison(dir)});
  EXPECT_EQ(alone.runs[0].label, "unknown 88888888");
  EXPECT_EQ(alone.baseline, "");
  EXPECT_DOUBLE_EQ(*alone.rows[1].runs[0].ratio, 0.25);
  EXPECT_DOUBLE_EQ(*alone.rows[1].thesis_ratio, 0.777778);

  // Next to a run with a context, its ratios use that run's baseline.
  PlatformComparison both = ComparePlatforms({LoadRunComparison(XenRun()), LoadRunComparison(dir)});
  EXPECT_EQ(both.baseline, "a");
  EXPECT_DOUBLE_EQ(*both.rows[1].runs[1].ratio, 0.01 / 0.04);
  // From the second run (the first has none), in the first run's unit.
  EXPECT_EQ(both.unit, "us");
  EXPECT_DOUBLE_EQ(*both.rows[1].thesis_value, 140);
  EXPECT_DOUBLE_EQ(*both.rows[1].thesis_ratio, 0.14 / 0.18);
}

TEST_F(PlatformComparisonTest, CsvAndJsonCarryTheSameNumbers) {
  PlatformComparison c =
      ComparePlatforms({LoadRunComparison(NetnsRun()), LoadRunComparison(XenRun())});
  std::ostringstream csv;
  WritePlatformComparisonCsv(csv, c);
  CsvTable table = ParseCsv(csv.str(), "out.csv");
  ASSERT_EQ(table.records.size(), 9u);  // 3 configurations x (thesis + 2 runs)
  EXPECT_EQ(table.records[4].fields,
            (std::vector<std::string>{"b", "netns 11111111", "netns", "", "11111111", "median",
                                      "ms", "0.01", "0.2"}));
  EXPECT_EQ(table.records[3].fields[1], "thesis");
  EXPECT_EQ(table.records[5].fields[3], "QEMU/TCG");

  json j = PlatformComparisonJson(c);
  EXPECT_EQ(j["baseline"], "a");
  EXPECT_EQ(j["runs"][1]["label"], "xen (emulated) 22222222");
  EXPECT_EQ(j["runs"][0]["note"], nullptr);
  EXPECT_DOUBLE_EQ(j["configurations"][2]["runs"][1]["ratio"].get<double>(), 30.0 / 1500);
}

TEST(Emulation, NoteOnlyForTcg) {
  EXPECT_EQ(EmulationNote(EmulatedXenContext("x")),
            "note: Xen ran under QEMU/TCG; absolute times are not comparable with hardware, "
            "compare the ratios\n");
  json hardware = Context("xen", "x");
  hardware["xen"] = {{"emulation", {{"summary", "xen on hardware"}, {"machine", "hardware"}}}};
  EXPECT_EQ(EmulationNote(hardware), "");
  EXPECT_EQ(EmulationNote(Context("netns", "x")), "");
  EXPECT_EQ(EmulationNote(json()), "");
  EXPECT_EQ(EmulationNote(json::array()), "");
  // Runs recorded before the Xen context existed: QEMU's TCG CPU model says it.
  json old = Context("xen", "x");
  old["host"] = {{"cpu_model", "QEMU TCG CPU version 2.5+"}};
  EXPECT_EQ(EmulatedUnder(old), "QEMU/TCG");
  EXPECT_NE(EmulationNote(old).find("Xen ran under QEMU/TCG"), std::string::npos);
}

TEST(CsvReader, QuotesCommasLineBreaksAndCrlf) {
  CsvTable t = ParseCsv("a,b\r\n\"x, \"\"y\"\"\",\"two\nlines\"\r\n\nz,\n", "t.csv");
  ASSERT_EQ(t.records.size(), 2u);
  EXPECT_EQ(t.records[0].fields, (std::vector<std::string>{"x, \"y\"", "two\nlines"}));
  EXPECT_EQ(t.records[1].line, 5u);  // the quoted line break counts, the blank line is skipped
  EXPECT_EQ(t.records[1].fields, (std::vector<std::string>{"z", ""}));
  EXPECT_THROW(ParseCsv("a\n\"open\n", "t.csv"), InputError);
  EXPECT_THROW(ParseCsv("a\n\"x\"y\n", "t.csv"), InputError);
  EXPECT_EQ(ParseCsvNumber("1.5e-3"), 1.5e-3);
  EXPECT_FALSE(ParseCsvNumber("nan"));
  EXPECT_FALSE(ParseCsvNumber(" 1"));
  EXPECT_FALSE(ParseCsvNumber(""));
}

}  // namespace
}  // namespace nfb::report
