// The kernel counter parsers shared by the CPU sampler and the flood runner, on real layouts.
#include "nfb/collectors/net_counters.h"

#include <gtest/gtest.h>

#include "nfb/core/error.h"

namespace nfb::collectors {
namespace {

// Real /proc/net/dev layout (Linux 6.x).
constexpr const char* kNetDev =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
    "drop fifo colls carrier compressed\n"
    "    lo:       0       0    0    0    0     0          0         0        0       0    0    "
    "0    0     0       0          0\n"
    "  eth0: 17280000  240000    0   12    0     0          0         0     4200      60    0    "
    "3    0     0       0          0\n"
    "garbage line without numbers\n"
    "vif1.0: 100 2 0 0 0 0 0 0 300 4 0 1 0 0 0 0\n";

constexpr const char* kSnmp =
    "Ip: Forwarding DefaultTTL\n"
    "Ip: 2 64\n"
    "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors "
    "IgnoredMulti MemErrors\n"
    "Udp: 61057 128768 52687 0 52687 0 0 0 0\n"
    "UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors "
    "IgnoredMulti MemErrors\n"
    "UdpLite: 0 0 0 0 0 0 0 0 0\n";

TEST(NetCountersTest, ParsesNetDev) {
  auto devs = ParseNetDev(kNetDev);
  ASSERT_EQ(devs.size(), 3u);
  ASSERT_EQ(devs.count("eth0"), 1u);
  EXPECT_TRUE(devs.at("eth0").present);
  EXPECT_EQ(devs.at("eth0").rx_packets, 240000u);
  EXPECT_EQ(devs.at("eth0").rx_dropped, 12u);
  EXPECT_EQ(devs.at("eth0").tx_packets, 60u);
  EXPECT_EQ(devs.at("eth0").tx_dropped, 3u);
  ASSERT_EQ(devs.count("vif1.0"), 1u);
  EXPECT_EQ(devs.at("vif1.0").tx_packets, 4u);
}

TEST(NetCountersTest, ParsesUdpCountersByName) {
  UdpCounters c = ParseSnmpUdp(kSnmp);
  EXPECT_EQ(c.in_datagrams, 61057u);
  EXPECT_EQ(c.no_ports, 128768u);
  EXPECT_EQ(c.in_errors, 52687u);
  EXPECT_EQ(c.rcvbuf_errors, 52687u);
  EXPECT_THROW(ParseSnmpUdp("Ip: a\nIp: 1\n"), RunError);
}

}  // namespace
}  // namespace nfb::collectors
