// udp_drop.bpf.c through BPF_PROG_TEST_RUN: a table of frames and the verdict each gets from the
// tc and the XDP program, with the counters checked after every row. BPF_PROG_TEST_RUN builds
// linear skbs only; non-linear ones (trafgen's TX ring) are in udp_drop_traffic_test.cc.
#include "nfb/bpf/udp_drop.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <optional>
#include <string>
#include <vector>

#include "bpf_test_util.h"
#include "nfb/bpf/test_run.h"
#include "nfb/core/error.h"
#include "packet_builder.h"

namespace nfb::bpf::testing {
namespace {

constexpr uint16_t kPort = 9999;
const MacAddress kServerMac{0x02, 0x00, 0x00, 0x00, 0xbf, 0x01};
const MacAddress kClientMac{0x02, 0x00, 0x00, 0x00, 0xbf, 0x02};
const MacAddress kBroadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
const uint32_t kServerIp = Ip("198.18.77.1");
const uint32_t kClientIp = Ip("198.18.77.2");

enum class Verdict { kDrop, kPass };

struct Row {
  std::string name;
  Bytes frame;
  Verdict verdict;
  // BPF_PROG_TEST_RUN refuses to build an skb for an IPv4 frame whose IP header is incomplete
  // (EINVAL), so those rows only run through the XDP program.
  bool tc = true;
};

struct UdpSpec {
  MacAddress dst_mac = kServerMac;
  uint32_t dst_ip = kServerIp;
  uint16_t src_port = 40000;
  uint16_t dst_port = kPort;
  Ipv4Fields ip;
  size_t payload = 30;  // a 72-byte frame, as the flood sends
};

Bytes Udp(const UdpSpec& spec) {
  PacketBuilder builder;
  builder.Ethernet(spec.dst_mac, kClientMac)
      .Ipv4(kClientIp, spec.dst_ip, spec.ip)
      .Udp(spec.src_port, spec.dst_port)
      .Payload(PingPayload(spec.payload));
  return builder.Build();
}

Bytes Cut(Bytes frame, size_t length) {
  frame.resize(length);
  return frame;
}

// An IPv4 header (protocol given) followed by raw bytes, e.g. a TCP header.
Bytes Ipv4Carrying(uint8_t protocol, Bytes l4) {
  Ipv4Fields fields;
  fields.protocol = protocol;
  PacketBuilder builder;
  builder.Ethernet(kServerMac, kClientMac)
      .Ipv4(kClientIp, kServerIp, fields)
      .Payload(std::move(l4));
  return builder.Build();
}

// A UDP header to `port` and 8 payload bytes, as raw bytes (length 16, checksum 0).
Bytes RawUdpHeader(uint16_t port) {
  return {0x9c,
          0x40,
          static_cast<uint8_t>(port >> 8),
          static_cast<uint8_t>(port & 0xff),
          0x00,
          0x10,
          0x00,
          0x00,
          1,
          2,
          3,
          4,
          5,
          6,
          7,
          8};
}

Bytes Ipv6Udp(uint16_t port) {
  const Bytes udp = RawUdpHeader(port);
  Bytes ipv6 = {0x60, 0, 0, 0, 0x00, static_cast<uint8_t>(udp.size()), 17, 64};
  for (int i = 0; i < 2; ++i) {  // fd00::2 -> fd00::1
    ipv6.insert(ipv6.end(), {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    ipv6.push_back(static_cast<uint8_t>(2 - i));
  }
  ipv6.insert(ipv6.end(), udp.begin(), udp.end());
  PacketBuilder builder;
  builder.Ethernet(kServerMac, kClientMac).EtherType(kEthPIpv6).Payload(ipv6);
  return builder.Build();
}

Bytes Arp() {
  Bytes arp = {0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01};
  arp.insert(arp.end(), kClientMac.begin(), kClientMac.end());
  arp.insert(arp.end(), {198, 18, 77, 2, 0, 0, 0, 0, 0, 0, 198, 18, 77, 1});
  PacketBuilder builder;
  builder.Ethernet(kBroadcast, kClientMac).EtherType(kEthPArp).Payload(arp);
  return builder.Build();
}

// Frames dropped with the filter set to port 9999 (any address).
std::vector<Row> DropRows() {
  std::vector<Row> rows;
  rows.push_back({"udp_72_byte_frame", Udp({}), Verdict::kDrop});
  {
    UdpSpec spec;
    spec.payload = 0;
    rows.push_back({"udp_header_only_42_bytes", Udp(spec), Verdict::kDrop});
    Bytes padded = Udp(spec);
    padded.resize(60, 0);  // Ethernet padding after the datagram
    rows.push_back({"udp_header_only_padded_to_60_bytes", padded, Verdict::kDrop});
    spec.payload = 1472;
    rows.push_back({"udp_1514_byte_frame", Udp(spec), Verdict::kDrop});
  }
  {
    UdpSpec spec;
    spec.ip.options = {0x01, 0x01, 0x01, 0x00};  // NOP NOP NOP EOL: IHL 6
    rows.push_back({"ip_options_ihl_6", Udp(spec), Verdict::kDrop});
    spec.ip.options = Bytes(40, 0x01);  // IHL 15, the most there is
    rows.push_back({"ip_options_ihl_15", Udp(spec), Verdict::kDrop});
  }
  {
    UdpSpec spec;
    spec.ip.frag = 0x4000;  // DF: not a fragment
    rows.push_back({"dont_fragment", Udp(spec), Verdict::kDrop});
    spec.ip.frag = 0x2000;  // MF, offset 0: the first fragment, which has the UDP header
    rows.push_back({"first_fragment", Udp(spec), Verdict::kDrop});
  }
  {
    UdpSpec spec;
    spec.dst_mac = kBroadcast;
    spec.dst_ip = Ip("198.18.77.255");
    rows.push_back({"broadcast", Udp(spec), Verdict::kDrop});
    spec.src_port = kPort;
    spec.dst_mac = kServerMac;
    spec.dst_ip = kServerIp;
    rows.push_back({"source_port_also_9999", Udp(spec), Verdict::kDrop});
  }
  return rows;
}

std::vector<Row> PassRows() {
  std::vector<Row> rows;
  for (const uint16_t port : {uint16_t{5201}, uint16_t{9998}, uint16_t{10000}, uint16_t{0},
                              uint16_t{0x0f27} /* 9999 byte-swapped */}) {
    UdpSpec spec;
    spec.dst_port = port;
    rows.push_back({"udp_to_port_" + std::to_string(port), Udp(spec), Verdict::kPass});
  }
  {
    UdpSpec spec;
    spec.src_port = kPort;
    spec.dst_port = 5201;
    rows.push_back({"udp_from_port_9999", Udp(spec), Verdict::kPass});
  }
  // The port sits where UDP's would be, but the protocol is not UDP.
  Bytes tcp = RawUdpHeader(kPort);
  tcp.resize(20, 0);
  tcp[12] = 0x50;  // data offset 5
  rows.push_back({"tcp_to_port_9999", Ipv4Carrying(6, tcp), Verdict::kPass});
  rows.push_back({"icmp_echo", EchoRequest(EchoSpec{}).Build(), Verdict::kPass});
  rows.push_back({"arp", Arp(), Verdict::kPass});
  rows.push_back({"ipv6_udp_to_port_9999", Ipv6Udp(kPort), Verdict::kPass});
  {
    PacketBuilder tagged;
    tagged.Ethernet(kServerMac, kClientMac)
        .VlanTag(7)
        .Ipv4(kClientIp, kServerIp)
        .Udp(40000, kPort)
        .Payload(PingPayload(30));
    rows.push_back({"vlan_tagged_udp_to_port_9999", tagged.Build(), Verdict::kPass});
  }
  {
    // Later fragments have no UDP header; their first bytes may look like one.
    Ipv4Fields fields;
    fields.protocol = 17;
    fields.frag = 0x2000 | 185;  // MF, offset 1480
    PacketBuilder middle;
    middle.Ethernet(kServerMac, kClientMac)
        .Ipv4(kClientIp, kServerIp, fields)
        .Payload(RawUdpHeader(kPort));
    rows.push_back({"middle_fragment", middle.Build(), Verdict::kPass});
    fields.frag = 1;  // last fragment, offset 8
    PacketBuilder last;
    last.Ethernet(kServerMac, kClientMac)
        .Ipv4(kClientIp, kServerIp, fields)
        .Payload(RawUdpHeader(kPort));
    rows.push_back({"last_fragment", last.Build(), Verdict::kPass});
  }
  {
    UdpSpec spec;
    spec.ip.version = 6;
    rows.push_back({"ipv4_ethertype_version_6", Udp(spec), Verdict::kPass});
    spec = UdpSpec{};
    spec.ip.total_length = 20 + 8 - 1;  // the datagram ends inside the UDP header
    rows.push_back({"total_length_below_udp_header", Udp(spec), Verdict::kPass});
    // IHL 4 (below the minimum): written over a valid header.
    Bytes ihl4 = Udp({});
    ihl4[14] = 0x44;
    rows.push_back({"ihl_4", ihl4, Verdict::kPass});
  }
  // Cut at and inside every header. Frames shorter than an Ethernet header cannot be run at all.
  const Bytes full = Udp({});
  for (const size_t length : {size_t{14}, size_t{14 + 10}, size_t{14 + 19}, size_t{14 + 20},
                              size_t{14 + 20 + 3}, size_t{14 + 20 + 7}}) {
    rows.push_back({"truncated_to_" + std::to_string(length) + "_bytes", Cut(full, length),
                    Verdict::kPass, /*tc=*/length >= 14 + 20});
  }
  {
    UdpSpec spec;
    spec.ip.options = Bytes(8, 0x01);  // IHL 7: the UDP header starts at byte 42
    rows.push_back(
        {"ip_options_truncated_inside_udp_header", Cut(Udp(spec), 14 + 28 + 7), Verdict::kPass});
  }
  return rows;
}

class UdpDropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NFB_SKIP_UNLESS_ROOT();
    program_.emplace(UdpDropConfig{.port = kPort});
  }

  // Runs `row` through both programs, checks verdict, bytes and counters.
  void Expect(const Row& row) {
    SCOPED_TRACE(row.name);
    const bool drop = row.verdict == Verdict::kDrop;
    if (row.tc) {
      const UdpDropCounters before = program_->Counters();
      const TestRunResult tc = TestRun(program_->tc_fd(), row.frame);
      EXPECT_EQ(tc.retval, static_cast<uint32_t>(drop ? TC_ACT_SHOT : TC_ACT_OK)) << "tc";
      EXPECT_EQ(tc.packet, row.frame) << "tc changed the frame:\n" << HexDump(tc.packet);
      ExpectCounted(before, drop);
    }
    const UdpDropCounters before = program_->Counters();
    const TestRunResult xdp = TestRun(program_->xdp_fd(), row.frame);
    EXPECT_EQ(xdp.retval, static_cast<uint32_t>(drop ? XDP_DROP : XDP_PASS)) << "xdp";
    EXPECT_EQ(xdp.packet, row.frame) << "xdp changed the frame:\n" << HexDump(xdp.packet);
    ExpectCounted(before, drop);
  }

  void ExpectCounted(const UdpDropCounters& before, bool dropped) {
    const UdpDropCounters after = program_->Counters();
    EXPECT_EQ(after.dropped - before.dropped, dropped ? 1u : 0u);
    EXPECT_EQ(after.passed - before.passed, dropped ? 0u : 1u);
  }

  std::optional<UdpDropProgram> program_;
};

TEST_F(UdpDropTest, DropsUdpToThePort) {
  for (const Row& row : DropRows()) Expect(row);
}

TEST_F(UdpDropTest, PassesEverythingElseUntouched) {
  for (const Row& row : PassRows()) Expect(row);
}

TEST_F(UdpDropTest, PortZeroDropsNothing) {
  program_->Configure(UdpDropConfig{.port = 0});
  for (Row row : DropRows()) {
    row.verdict = Verdict::kPass;
    Expect(row);
  }
  UdpSpec to_zero;
  to_zero.dst_port = 0;
  Expect({"udp_to_port_0", Udp(to_zero), Verdict::kPass});
}

TEST_F(UdpDropTest, UnconfiguredProgramDropsNothing) {
  program_.emplace();  // the map as the object creates it: all zero
  Expect({"udp_72_byte_frame", Udp({}), Verdict::kPass});
}

TEST_F(UdpDropTest, ConfigurationChangesApplyToTheNextPacket) {
  UdpSpec to_5201;
  to_5201.dst_port = 5201;
  Expect({"before", Udp(to_5201), Verdict::kPass});
  program_->Configure(UdpDropConfig{.port = 5201});
  Expect({"after", Udp(to_5201), Verdict::kDrop});
  Expect({"old_port", Udp({}), Verdict::kPass});
}

TEST_F(UdpDropTest, DestinationAddressRestrictsTheDrop) {
  program_->Configure(UdpDropConfig{.port = kPort, .only_daddr_be = htonl(kServerIp)});
  Expect({"to_the_address", Udp({}), Verdict::kDrop});
  UdpSpec other;
  other.dst_ip = Ip("198.18.77.3");
  Expect({"to_another_address", Udp(other), Verdict::kPass});
}

// No root needed: the byte encoding shared with guests that configure the program through bpfd.
TEST(UdpDropAbiTest, ConfigBytesAreInNetworkOrder) {
  EXPECT_EQ(EncodeUdpDropConfig({.port = 9999}), (Bytes{0, 0, 0, 0, 0x27, 0x0f, 0, 0}));
  EXPECT_EQ(EncodeUdpDropConfig({.port = 1, .only_daddr_be = htonl(0xc6120001)}),
            (Bytes{198, 18, 0, 1, 0, 1, 0, 0}));
}

TEST(UdpDropAbiTest, SumsPerCpuCounters) {
  Bytes value(32, 0);
  value[0] = 3;   // CPU 0 dropped
  value[8] = 1;   // CPU 0 passed
  value[16] = 4;  // CPU 1 dropped
  value[25] = 1;  // CPU 1 passed: 256
  const UdpDropCounters sum = SumUdpDropCounters(value);
  EXPECT_EQ(sum.dropped, 7u);
  EXPECT_EQ(sum.passed, 257u);
  EXPECT_THROW(SumUdpDropCounters(Bytes(24, 0)), RunError);
  EXPECT_THROW(SumUdpDropCounters(Bytes{}), RunError);
}

}  // namespace
}  // namespace nfb::bpf::testing
