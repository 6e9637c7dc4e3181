// xentop batch output into per-domain CPU rows, against the hand-written sample in
// tests/data/xentop (see its README) and small variants of the format.
#include "nfb/collectors/xentop.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "nfb/core/error.h"

namespace nfb::collectors {
namespace {

using ::testing::HasSubstr;

constexpr const char* kHeader =
    "      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS "
    "NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID";
constexpr const char* kDom0 =
    "  Domain-0 -----r       1520   84.7    4194304   25.2   no limit       n/a     4    0 "
    "       0        0    0        0        0        0          0          0    0";
constexpr const char* kDomu1 =
    "     domu1 --b---        211   31.2    1048576    6.3    1049600       6.3     1    1 "
    "   44608   949556    1        0    10321     5532     612374     401232    0";

std::string Sample() {
  std::ifstream in(std::string(NFB_SOURCE_DIR) + "/tests/data/xentop/xentop_4.17_batch.txt");
  EXPECT_TRUE(in) << "missing fixture";
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(XentopParseTest, SavedBatchOutput) {
  XentopParseResult r = ParseXentopBatch(Sample());
  EXPECT_EQ(r.malformed_lines, 0);
  EXPECT_EQ(r.skipped_lines, 0);
  ASSERT_EQ(r.frames.size(), 6u);
  for (size_t i = 0; i < r.frames.size(); ++i) {
    EXPECT_EQ(r.frames[i].index, int(i));
    ASSERT_EQ(r.frames[i].domains.size(), 3u);
    EXPECT_TRUE(std::isnan(r.frames[i].t_s));
  }
  const XentopDomain& d0 = r.frames[1].domains[0];
  EXPECT_EQ(d0.name, "Domain-0");
  EXPECT_EQ(d0.state, "-----r");
  EXPECT_EQ(d0.cpu_s, 1520u);
  EXPECT_DOUBLE_EQ(d0.cpu_percent, 84.7);
  EXPECT_EQ(d0.mem_k, 4194304u);
  EXPECT_EQ(d0.vcpus, 4);
  EXPECT_EQ(d0.nettx_k, 0u);
  const XentopDomain& ub = r.frames[5].domains[2];
  EXPECT_EQ(ub.name, "unixbench-");  // xentop cuts names to 10 characters
  EXPECT_DOUBLE_EQ(ub.cpu_percent, 99.8);
  EXPECT_EQ(ub.vcpus, 1);
  EXPECT_DOUBLE_EQ(r.frames[0].domains[1].cpu_percent, 0.0);  // no previous frame yet
  EXPECT_EQ(r.frames[3].domains[1].name, "domu1");
  EXPECT_DOUBLE_EQ(r.frames[3].domains[1].cpu_percent, 33.0);
  // CPU(sec) only grows.
  for (size_t i = 1; i < r.frames.size(); ++i) {
    for (size_t k = 0; k < 3; ++k) {
      EXPECT_GE(r.frames[i].domains[k].cpu_s, r.frames[i - 1].domains[k].cpu_s);
    }
  }
}

TEST(XentopParseTest, RowsFromSavedOutput) {
  XentopParseResult r = ParseXentopBatch(Sample());
  XentopRowOptions o;
  o.delay_s = 1;
  o.domains = {"dom0", "domu1", "unixbench-domu2"};
  std::vector<CpuSeriesRow> rows = XentopRows(r.frames, o);
  ASSERT_EQ(rows.size(), 15u);  // frames 1-5, three domains each
  EXPECT_EQ(rows[0].domain, "dom0");
  EXPECT_EQ(rows[1].domain, "domu1");
  EXPECT_EQ(rows[2].domain, "unixbench-domu2");
  EXPECT_DOUBLE_EQ(rows[0].t_s, 1.0);
  EXPECT_DOUBLE_EQ(rows[14].t_s, 5.0);
  EXPECT_DOUBLE_EQ(rows[0].interval_s, 1.0);
  EXPECT_DOUBLE_EQ(rows[0].cpu_percent, 84.7);
  EXPECT_DOUBLE_EQ(rows[0].capacity_percent, 400.0);
  EXPECT_DOUBLE_EQ(rows[2].capacity_percent, 100.0);
  EXPECT_DOUBLE_EQ(rows[0].cpu_total_s, 1520.0);
  EXPECT_EQ(rows[0].kind, CpuRowKind::kDomain);
  EXPECT_TRUE(std::isnan(rows[0].process_percent));  // Xen gives no split
  EXPECT_TRUE(std::isnan(rows[0].kernel_percent));
  EXPECT_FALSE(rows[0].rx_packets.has_value());
  EXPECT_EQ(rows[0].flags, "");

  o.include_first_frame = true;
  rows = XentopRows(r.frames, o);
  ASSERT_EQ(rows.size(), 18u);
  EXPECT_DOUBLE_EQ(rows[0].t_s, 0.0);
  EXPECT_EQ(rows[0].flags, "first_frame");

  // Frames stamped by a live reader keep their own times.
  std::vector<XentopFrame> frames = r.frames;
  frames[1].t_s = 1.25;
  o.include_first_frame = false;
  EXPECT_DOUBLE_EQ(XentopRows(frames, o)[0].t_s, 1.25);
}

// -r repeats the header before every domain: frames still split where a name comes again.
TEST(XentopParseTest, RepeatedHeaders) {
  std::string text;
  for (int frame = 0; frame < 3; ++frame) {
    for (const char* line : {kDom0, kDomu1}) {
      text += std::string(kHeader) + "\n" + line + "\n";
    }
  }
  XentopParseResult r = ParseXentopBatch(text);
  ASSERT_EQ(r.frames.size(), 3u);
  EXPECT_EQ(r.frames[2].domains.size(), 2u);
  EXPECT_EQ(r.malformed_lines, 0);
}

// -v, -n and -x add lines after each domain; interactive output adds summary lines.
TEST(XentopParseTest, ExtraLinesAreSkipped) {
  std::string text =
      std::string("xentop - 10:11:12   Xen 4.17.3\n") +
      "3 domains: 1 running, 2 blocked, 0 paused, 0 crashed, 0 dying, 0 shutdown \n" +
      "Mem: 16661632k total, 6300000k used, 10361632k free    CPUs: 4 @ 2394MHz\n" + kHeader +
      "\n" + kDom0 + "\n" +
      "VCPUs(sec):   0:        400s  1:        380s  2:        370s  3:        370s\n" + kDomu1 +
      "\n" + "VCPUs(sec):   0:        211s\n" +
      "Net0 RX: 972345678bytes  1234567pkts        0err      120drop  TX: 45678901bytes"
      "    61234pkts        0err        0drop\n" +
      "VBD BlkBack 51712 [ca: 0] OO:        0   RD:    10321   WR:     5532   RSECT:"
      "     612374   WSECT:     401232\n" +
      "\n";
  XentopParseResult r = ParseXentopBatch(text);
  ASSERT_EQ(r.frames.size(), 1u);
  EXPECT_EQ(r.frames[0].domains.size(), 2u);
  EXPECT_EQ(r.malformed_lines, 0);
  EXPECT_EQ(r.skipped_lines, 8);  // 3 before the header, 2 VCPUs, Net, VBD, blank
}

// -f widens NAME to the longest name; a name may hold a space.
TEST(XentopParseTest, FullNamesWithSpaces) {
  std::string header =
      "               NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS "
      "NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID";
  std::string line =
      "my unixbench guest -----r       3651   99.6    1048576    6.3    1049600       6.3     1 "
      "   1     2291     1206    1        0    10321     5532     612374     401232    0";
  XentopParseResult r = ParseXentopBatch(header + "\n" + line + "\n");
  ASSERT_EQ(r.frames.size(), 1u);
  ASSERT_EQ(r.frames[0].domains.size(), 1u);
  EXPECT_EQ(r.frames[0].domains[0].name, "my unixbench guest");
  EXPECT_DOUBLE_EQ(r.frames[0].domains[0].cpu_percent, 99.6);
}

TEST(XentopParseTest, MalformedLinesAreCounted) {
  std::string text = std::string(kHeader) + "\n" + kDom0 + "\n" +
                     "     domu1 --b---        2x1   31.2    1048576    6.3    1049600       6.3"
                     "     1    1    44608   949556    1        0    10321     5532     612374"
                     "     401232    0\n" +
                     "     domu2 --b---        211\n" + "garbage before nothing\n";
  XentopParseResult r = ParseXentopBatch(text);
  ASSERT_EQ(r.frames.size(), 1u);
  EXPECT_EQ(r.frames[0].domains.size(), 1u);
  EXPECT_EQ(r.malformed_lines, 3);
  // Lines before any header are not domain lines.
  r = ParseXentopBatch(std::string(kDom0) + "\n");
  EXPECT_TRUE(r.frames.empty());
  EXPECT_EQ(r.skipped_lines, 1);
}

// A live reader feeds lines as they come and closes a frame when output pauses.
TEST(XentopParseTest, Incremental) {
  XentopParser p;
  p.AddLine(std::string(kHeader) + "\n");
  p.AddLine(kDom0);
  p.AddLine(std::string(kDomu1) + "\r\n");
  EXPECT_TRUE(p.TakeFrames().empty());  // the frame may still grow
  p.CloseFrame();
  std::vector<XentopFrame> frames = p.TakeFrames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].domains.size(), 2u);
  p.CloseFrame();  // nothing pending: no empty frame
  p.AddLine(kHeader);
  p.AddLine(kDom0);
  p.AddLine(kHeader);
  p.AddLine(kDom0);  // a repeated name closes the previous frame by itself
  frames = p.TakeFrames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].index, 1);
}

// The live reader's mode: a header ends the frame before it, and a frame takes its header's time.
TEST(XentopParseTest, HeaderStartsFrameWithItsTime) {
  XentopParser p(XentopParserOptions{true});
  EXPECT_FALSE(p.seen_header());
  p.AddLine(kHeader, 10.0);
  EXPECT_TRUE(p.seen_header());
  p.AddLine(kDom0, 10.1);
  p.AddLine(kDomu1, 10.2);
  EXPECT_EQ(p.pending_domains(), 2u);
  p.AddLine(kHeader, 11.0);  // closes frame 0 although no name came again
  p.AddLine(kDom0, 11.3);
  std::vector<XentopFrame> frames = p.TakeFrames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_DOUBLE_EQ(frames[0].t_s, 10.0);
  p.AddLine(kHeader, 12.0);  // domu1 gone: frame 1 holds dom0 only
  p.CloseFrame();            // a header alone makes no frame
  frames = p.TakeFrames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_DOUBLE_EQ(frames[0].t_s, 11.0);
  EXPECT_EQ(frames[0].domains.size(), 1u);
  EXPECT_EQ(frames[0].index, 1);
}

// Output captured in the Xen lab (xen_setup/lab/selftest): xentop 4.17 under QEMU/TCG.
TEST(XentopParseTest, RealCaptureFromTheLab) {
  std::ifstream in(std::string(NFB_SOURCE_DIR) + "/tests/data/xentop/xentop_4.17_lab.txt");
  ASSERT_TRUE(in);
  std::stringstream text;
  text << in.rdbuf();
  XentopParseResult r = ParseXentopBatch(text.str());
  EXPECT_EQ(r.malformed_lines, 0);
  ASSERT_EQ(r.frames.size(), 3u);
  XentopRowOptions o;
  o.domains = {"selftest1"};
  std::vector<CpuSeriesRow> rows = XentopRows(r.frames, o);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].domain, "dom0");
  EXPECT_DOUBLE_EQ(rows[0].cpu_percent, 11.0);
  EXPECT_DOUBLE_EQ(rows[0].capacity_percent, 200.0);  // dom0_max_vcpus=2
  EXPECT_EQ(rows[1].domain, "selftest1");
  EXPECT_DOUBLE_EQ(rows[3].cpu_percent, 2.4);
  EXPECT_DOUBLE_EQ(rows[3].cpu_total_s, 16.0);
}

// The sampler's own invocation (-f) in the lab, a guest running a busy loop.
TEST(XentopParseTest, RealCaptureOfABusyGuest) {
  std::ifstream in(std::string(NFB_SOURCE_DIR) +
                   "/tests/data/xentop/xentop_4.17_lab_busy_guest.txt");
  ASSERT_TRUE(in);
  std::stringstream text;
  text << in.rdbuf();
  XentopParseResult r = ParseXentopBatch(text.str());
  EXPECT_EQ(r.malformed_lines, 0);
  EXPECT_EQ(r.skipped_lines, 0);
  ASSERT_EQ(r.frames.size(), 10u);
  XentopRowOptions o;
  o.domains = {"xtsample1"};
  std::vector<CpuSeriesRow> rows = XentopRows(r.frames, o);
  ASSERT_EQ(rows.size(), 18u);
  for (const CpuSeriesRow& row : rows) {
    if (row.domain != "xtsample1") continue;
    EXPECT_GE(row.cpu_percent, 94.0);
    EXPECT_LE(row.cpu_percent, 100.0);
  }
}

XentopFrame Frame(int index, std::vector<std::pair<std::string, uint64_t>> domains,
                  double t_s = kNotMeasured) {
  XentopFrame f;
  f.index = index;
  f.t_s = t_s;
  for (auto& [name, cpu_s] : domains) {
    XentopDomain d;
    d.name = name;
    d.cpu_s = cpu_s;
    d.cpu_percent = 50;
    d.vcpus = 1;
    f.domains.push_back(d);
  }
  return f;
}

// A domain without a sample in the previous frame has xentop's 0.0, not a CPU(%).
TEST(XentopRowsTest, DomainsAppearingAndDisappearing) {
  std::vector<XentopFrame> frames = {
      Frame(0, {{"Domain-0", 10}}), Frame(1, {{"Domain-0", 11}, {"domu1", 5}}),
      Frame(2, {{"Domain-0", 12}, {"domu1", 6}}), Frame(3, {{"Domain-0", 13}}),
      Frame(4, {{"Domain-0", 14}, {"domu1", 1}})};
  XentopRowOptions o;
  o.domains = {"domu1"};
  std::vector<CpuSeriesRow> rows = XentopRows(frames, o);
  std::vector<std::string> got;
  for (const CpuSeriesRow& r : rows) got.push_back(r.domain + "@" + std::to_string(int(r.t_s)));
  EXPECT_THAT(got, ::testing::ElementsAre("dom0@1", "dom0@2", "domu1@2", "dom0@3", "dom0@4"));
  XentopRowBuilder builder(o);
  for (const XentopFrame& f : frames) builder.Add(f);
  EXPECT_EQ(builder.left_out(), 3);  // frame 0, domu1 in frames 1 and 4

  o.include_first_frame = true;
  rows = XentopRows(frames, o);
  ASSERT_EQ(rows.size(), 8u);
  EXPECT_EQ(rows[0].flags, "first_frame");
  EXPECT_EQ(rows[2].flags, "domain_appeared");
  EXPECT_EQ(rows[7].flags, "domain_appeared");  // back after a gap: a new domain id for xentop
}

TEST(XentopRowsTest, CpuSecondsGoingDownIsACounterReset) {
  std::vector<XentopFrame> frames = {Frame(0, {{"domu1", 100}}), Frame(1, {{"domu1", 3}})};
  std::vector<CpuSeriesRow> rows = XentopRows(frames, {});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].flags, "counter_reset");
}

TEST(XentopRowsTest, IntervalFromFrameTimes) {
  std::vector<XentopFrame> frames = {Frame(0, {{"Domain-0", 1}}, 0.0),
                                     Frame(1, {{"Domain-0", 2}}, 1.25),
                                     Frame(2, {{"Domain-0", 3}}, 2.0)};
  std::vector<CpuSeriesRow> rows = XentopRows(frames, {});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_DOUBLE_EQ(rows[0].interval_s, 1.25);
  EXPECT_DOUBLE_EQ(rows[1].interval_s, 0.75);
}

TEST(XentopRowsTest, FlagsForOtherDomainsAndExternalHostsInDom0) {
  std::vector<XentopFrame> frames = {Frame(0, {{"Domain-0", 1}, {"domu1", 1}, {"other vm", 1}}),
                                     Frame(1, {{"Domain-0", 2}, {"domu1", 2}, {"other vm", 2}})};
  XentopRowOptions o;
  o.domains = {"domu1"};
  o.flag_unknown_domains = true;
  o.dom0_includes_external_hosts = true;
  std::vector<CpuSeriesRow> rows = XentopRows(frames, o);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].flags, "includes_external_hosts");
  EXPECT_EQ(rows[1].flags, "");
  EXPECT_EQ(rows[2].domain, "other vm");
  EXPECT_EQ(rows[2].flags, "not_in_scenario");
}

TEST(XentopNameTest, MapsDom0AndCutNames) {
  std::vector<std::string> domains = {"domu1", "unixbench-domu2", "attacker-guest"};
  EXPECT_EQ(MapXentopName("Domain-0", domains), "dom0");
  EXPECT_EQ(MapXentopName("domu1", domains), "domu1");
  EXPECT_EQ(MapXentopName("unixbench-", domains), "unixbench-domu2");
  EXPECT_EQ(MapXentopName("attacker-g", domains), "attacker-guest");
  EXPECT_EQ(MapXentopName("other", domains), "other");
  EXPECT_EQ(MapXentopName("0123456789", domains), "0123456789");
  try {
    MapXentopName("unixbench-", {"unixbench-domu2", "unixbench-domu3"});
    FAIL() << "ambiguous name accepted";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("unixbench-domu2, unixbench-domu3"));
  }
}

}  // namespace
}  // namespace nfb::collectors
