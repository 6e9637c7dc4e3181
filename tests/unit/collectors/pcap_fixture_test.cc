// The analyses on real captures checked into tests/fixtures/collectors (see the README there).
#include <gtest/gtest.h>

#include <filesystem>

#include "nfb/collectors/icmp_rtt.h"
#include "nfb/collectors/json.h"
#include "nfb/collectors/pcap_file.h"
#include "nfb/collectors/timestamp_resolution.h"

namespace nfb::collectors {
namespace {

const std::filesystem::path kFixtures =
    std::filesystem::path(NFB_SOURCE_DIR) / "tests" / "fixtures" / "collectors";

EchoRttOptions PingOptions() {
  EchoRttOptions o;
  o.requester = "198.18.200.1";
  o.target = "198.18.200.2";
  o.sent = 4;
  return o;
}

TEST(PcapFixtureTest, EthernetNanosecondCapture) {
  EchoRttResult r = AnalyzeEchoRtt(kFixtures / "ping_en10mb_nano.pcap", PingOptions());
  ASSERT_TRUE(r.identifier.has_value());
  EXPECT_EQ(*r.identifier, 15755);
  EXPECT_EQ(r.accounting.packets_total, 10u);
  EXPECT_EQ(r.accounting.packets_ignored, 2u);  // ARP request and reply
  EXPECT_EQ(r.accounting.paired, 4u);
  ASSERT_EQ(r.samples.size(), 4u);
  // 1795294231.387342262 - 1795294231.387256034, and so on.
  EXPECT_EQ(r.samples[0].rtt_ns, 86228);
  EXPECT_EQ(r.samples[1].rtt_ns, 32799);
  EXPECT_EQ(r.samples[2].rtt_ns, 27782);
  EXPECT_EQ(r.samples[3].rtt_ns, 32368);
  EXPECT_DOUBLE_EQ(r.samples[1].t_s, 0.200988111);
  EXPECT_DOUBLE_EQ(r.samples[3].t_s, 0.608987843);
}

TEST(PcapFixtureTest, LinuxCookedMicrosecondCapture) {
  EchoRttOptions o = PingOptions();
  o.warmup = 1;
  EchoRttResult r = AnalyzeEchoRtt(kFixtures / "ping_linux_sll_micro.pcap", o);
  EXPECT_EQ(r.accounting.sent, 3u);
  EXPECT_EQ(r.accounting.paired, 3u);
  ASSERT_EQ(r.samples.size(), 3u);
  EXPECT_EQ(r.samples[0].probe, 1u);
  EXPECT_EQ(r.samples[0].rtt_ns, 32000);
  EXPECT_EQ(r.samples[1].rtt_ns, 27000);
  EXPECT_EQ(r.samples[2].rtt_ns, 33000);
}

TEST(PcapFixtureTest, ReaderReportsLinkTypeAndPrecision) {
  PcapReader en(kFixtures / "ping_en10mb_nano.pcap");
  EXPECT_EQ(en.link_type(), LinkType::kEthernet);
  EXPECT_TRUE(en.file_has_nanoseconds());
  PacketView p;
  ASSERT_TRUE(en.Next(p));
  EXPECT_EQ(p.ts_ns, 1795294231387212589);
  EXPECT_EQ(p.caplen, 42u);  // ARP request

  PcapReader sll(kFixtures / "ping_linux_sll_micro.pcap");
  EXPECT_EQ(sll.link_type(), LinkType::kLinuxSll);
  EXPECT_FALSE(sll.file_has_nanoseconds());
  ASSERT_TRUE(sll.Next(p));
  EXPECT_EQ(p.ts_ns, 1795294231387256000);  // microseconds scaled to ns
  int n = 1;
  while (sll.Next(p)) ++n;
  EXPECT_EQ(n, 8);
}

TEST(PcapFixtureTest, TooFewPacketsForAResolutionEstimate) {
  TimestampResolution r = EstimateResolution(kFixtures / "ping_en10mb_nano.pcap");
  EXPECT_EQ(r.packets, 10u);
  EXPECT_EQ(r.resolution_ns, 0.0);
  EXPECT_TRUE(r.file_nanosecond);
}

TEST(PcapFixtureTest, AccountingAsJson) {
  EchoRttOptions o;
  o.requester = "198.18.200.1";
  o.target = "198.18.200.2";
  o.sent = 5;  // one more than the capture holds
  EchoRttResult r = AnalyzeEchoRtt(kFixtures / "ping_en10mb_nano.pcap", o);
  nlohmann::json j = ToJson(r.accounting);
  EXPECT_EQ(j["sent"], 5);
  EXPECT_EQ(j["paired"], 4);
  EXPECT_EQ(j["missing_from_capture"], 1);
  EXPECT_EQ(j["packets_ignored"], 2);
  EXPECT_EQ(j.size(), 13u);
  nlohmann::json res = ToJson(EstimateResolution(kFixtures / "ping_en10mb_nano.pcap"));
  EXPECT_EQ(res["packets"], 10);
  EXPECT_EQ(res["file_nanosecond"], true);
}

}  // namespace
}  // namespace nfb::collectors
