// The flood driver's packet accounting from known counters: differences, the accounting row
// and the observed attack window (the parsers are tested in tests/unit/collectors).
#include "packet_counters.h"

#include <gtest/gtest.h>

#include "nfb/core/error.h"

namespace nfb::runner {
namespace {

// `cat /proc/net/dev /proc/net/snmp` in a guest (abridged from a lab guest).
const char kDevAndSnmp[] =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
    "    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0\n"
    "  eth0:  123456    1500    0    2    0     0          0         0    65432     700    0    0    0     0       0          0\n"
    "Ip: Forwarding DefaultTTL InReceives\n"
    "Ip: 2 64 1500\n"
    "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\n"
    "Udp: 40 900 0 12 5 0 0 0 0\n";

TEST(PacketCountersTest, SplitsCatOfDevAndSnmp) {
  ProcNetDevSnmp files = SplitProcNetDevSnmp(kDevAndSnmp);
  EXPECT_EQ(files.dev.rfind("Inter-|", 0), 0u);
  EXPECT_EQ(files.dev.back(), '\n');
  EXPECT_EQ(files.dev.find("Ip:"), std::string::npos);
  EXPECT_EQ(files.snmp.rfind("Ip: Forwarding", 0), 0u);
  const auto dev = collectors::ParseNetDev(files.dev);
  ASSERT_EQ(dev.count("eth0"), 1u);
  EXPECT_EQ(dev.at("eth0").rx_packets, 1500u);
  EXPECT_EQ(dev.at("eth0").rx_dropped, 2u);
  const UdpCounters udp = collectors::ParseSnmpUdp(files.snmp);
  EXPECT_EQ(udp.in_datagrams, 40u);
  EXPECT_EQ(udp.no_ports, 900u);
  EXPECT_EQ(udp.rcvbuf_errors, 5u);
}

TEST(PacketCountersTest, SplitRefusesOutputMissingAFile) {
  const std::string text = kDevAndSnmp;
  EXPECT_THROW(SplitProcNetDevSnmp(text.substr(0, text.find("Ip: "))), RunError);  // no snmp
  EXPECT_THROW(SplitProcNetDevSnmp(text.substr(text.find("Ip: "))), RunError);     // no dev
  EXPECT_THROW(SplitProcNetDevSnmp(""), RunError);
}

TEST(PacketCountersTest, DifferenceNeverGoesNegative) {
  PacketCounterSnapshot before, after;
  before.guest_eth0 = {100, 1, 10, 0, true};
  after.guest_eth0 = {250, 1, 5, 0, true};  // tx went down: a reset, counted as 0
  before.guest_udp = {5, 6, 7, 8};
  after.guest_udp = {15, 6, 17, 9};
  PacketCounterDelta d = Difference(before, after);
  EXPECT_EQ(d.guest_eth0.rx_packets, 150u);
  EXPECT_EQ(d.guest_eth0.tx_packets, 0u);
  EXPECT_TRUE(d.guest_eth0.present);
  EXPECT_FALSE(d.dom0_vif.present);  // absent in both snapshots
  EXPECT_EQ(d.guest_udp.in_datagrams, 10u);
  EXPECT_EQ(d.guest_udp.no_ports, 0u);
  EXPECT_EQ(d.guest_udp.rcvbuf_errors, 1u);
  nlohmann::json j = ToJson(d);
  EXPECT_TRUE(j["dom0_vif"].is_null());
  EXPECT_EQ(j["guest_eth0"]["rx_packets"], 150);
}

TEST(PacketCountersTest, AccountingRowHasFixedFieldsWithAndWithoutReceiver) {
  PacketCounterDelta d;
  d.dom0_nic.rx_packets = 1000;
  d.guest_udp.no_ports = 700;
  auto without = AttackAccounting(900, d, nullptr);
  auto with = AttackAccounting(900, d, {{"received_packets", 650}, {"socket_drops", 40}});
  ASSERT_EQ(without.size(), with.size());
  for (size_t i = 0; i < with.size(); ++i) EXPECT_EQ(without[i].first, with[i].first);
  EXPECT_EQ(with.front().first, "attack_sent");
  EXPECT_EQ(with.front().second, 900);
  auto value = [](const auto& row, const std::string& key) {
    for (const auto& [k, v] : row) {
      if (k == key) return v;
    }
    return int64_t{-1};
  };
  EXPECT_EQ(value(with, "receiver_received"), 650);
  EXPECT_EQ(value(with, "receiver_socket_drops"), 40);
  EXPECT_EQ(value(without, "receiver_received"), 0);
  EXPECT_EQ(value(with, "dom0_nic_rx"), 1000);
  EXPECT_EQ(value(with, "guest_udp_no_port"), 700);
}

TEST(PacketCountersTest, ObservedWindowFromNicRate) {
  // 10 kpps of valid traffic; the attack adds 100 kpps during seconds 5..8 (points end at t).
  std::vector<NicRatePoint> points;
  for (int t = 1; t <= 12; ++t) {
    points.push_back({static_cast<double>(t), t >= 6 && t <= 8 ? 110'000.0 : 10'000.0});
  }
  // The generator sent 300k packets in 3 s: mean 100 kpps, threshold 10k + 10k.
  nlohmann::json w = ObservedAttackWindow(points, 3.0, 300'000, 5.0);
  ASSERT_TRUE(w["seen"].get<bool>());
  EXPECT_DOUBLE_EQ(w["started_s"].get<double>(), 5.0);
  EXPECT_DOUBLE_EQ(w["ended_s"].get<double>(), 8.0);
  EXPECT_DOUBLE_EQ(w["background_pps"].get<double>(), 10'000.0);
  EXPECT_DOUBLE_EQ(w["threshold_pps"].get<double>(), 20'000.0);
  // An attack that never reached dom0 (dropped before it) is reported as not seen.
  std::vector<NicRatePoint> quiet(12, {1.0, 10'000.0});
  EXPECT_FALSE(ObservedAttackWindow(quiet, 3.0, 300'000, 5.0)["seen"].get<bool>());
  EXPECT_TRUE(ObservedAttackWindow(points, 3.0, 0, 5.0).is_null());
  EXPECT_TRUE(ObservedAttackWindow({}, 3.0, 10, 5.0).is_null());
}

}  // namespace
}  // namespace nfb::runner
