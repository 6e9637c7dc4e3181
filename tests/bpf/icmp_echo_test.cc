// icmp_echo.bpf.c through BPF_PROG_TEST_RUN: tables of input frame, expected verdict and expected
// output frame. Expected replies are built from scratch (checksums fully recomputed), never
// derived from the program's incremental update.
#include "nfb/bpf/icmp_echo.h"

#include <arpa/inet.h>
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bitset>
#include <optional>
#include <string>
#include <vector>

#include "bpf_test_util.h"
#include "nfb/bpf/test_run.h"
#include "packet_builder.h"

namespace nfb::bpf::testing {
namespace {

constexpr size_t kIcmpChecksumOffset = 14 + 20 + 2;

uint16_t IcmpChecksumField(const Bytes& frame) {
  return static_cast<uint16_t>((frame[kIcmpChecksumOffset] << 8) | frame[kIcmpChecksumOffset + 1]);
}

struct AnswerCase {
  std::string name;
  Bytes request;
  Bytes reply;
};

struct PassCase {
  std::string name;
  Bytes frame;
  // BPF_PROG_TEST_RUN refuses to build an skb for an IPv4 frame whose IP header is incomplete
  // (EINVAL), so those rows only run through the XDP program; the tc path still sees frames cut
  // inside the ICMP header, which makes bpf_skb_pull_data() fail.
  bool tc = true;
};

AnswerCase Answer(std::string name, const EchoSpec& spec, size_t padding = 0) {
  Bytes request = EchoRequest(spec).Build();
  Bytes reply = EchoReply(spec).Build();
  // Ethernet padding after the datagram (short frames on the wire) is carried along untouched.
  request.resize(request.size() + padding, 0);
  reply.resize(reply.size() + padding, 0);
  return {std::move(name), std::move(request), std::move(reply)};
}

std::vector<AnswerCase> AnswerCases() {
  std::vector<AnswerCase> cases;
  EchoSpec spec;
  cases.push_back(Answer("ping_56_bytes", spec));
  spec.payload = PingPayload(57);
  cases.push_back(Answer("odd_payload_57_bytes", spec));
  spec.payload = PingPayload(1);
  cases.push_back(Answer("odd_payload_1_byte", spec));
  spec.payload = {};
  cases.push_back(Answer("empty_payload", spec));
  cases.push_back(Answer("empty_payload_padded_to_60_bytes", spec, 18));
  spec = EchoSpec{};
  spec.payload = PingPayload(1472);
  cases.push_back(Answer("payload_1472_bytes", spec));
  spec = EchoSpec{};
  spec.ip.frag = 0x4000;  // DF, as Linux ping sends: not a fragment
  cases.push_back(Answer("dont_fragment_set", spec));
  spec = EchoSpec{};
  spec.ip.ttl = 1;  // kept as received
  spec.ip.tos = 0xb8;
  spec.seq = 0xffff;
  cases.push_back(Answer("ttl_1_tos_set", spec));
  return cases;
}

Bytes Arp(const MacAddress& dst, const MacAddress& src) {
  Bytes arp = {0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01};
  arp.insert(arp.end(), src.begin(), src.end());
  arp.insert(arp.end(), {198, 18, 77, 2, 0, 0, 0, 0, 0, 0, 198, 18, 77, 1});
  PacketBuilder builder;
  builder.Ethernet(dst, src).EtherType(kEthPArp).Payload(arp);
  return builder.Build();
}

std::vector<PassCase> PassCases() {
  std::vector<PassCase> cases;
  const EchoSpec base;
  const MacAddress broadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

  cases.push_back({"arp_request", Arp(broadcast, base.client_mac)});
  cases.push_back({"arp_unicast", Arp(base.server_mac, base.client_mac)});
  {
    PacketBuilder udp;
    udp.Ethernet(base.server_mac, base.client_mac)
        .Ipv4(base.client_ip, base.server_ip)
        .Udp(40000, 9999)
        .Payload(PingPayload(30));
    cases.push_back({"udp", udp.Build()});
  }
  {
    PacketBuilder reply = EchoRequest(base);
    reply.Icmp(kIcmpEchoReply, 0, base.id, base.seq);
    cases.push_back({"echo_reply", reply.Build()});
    PacketBuilder unreachable = EchoRequest(base);
    unreachable.Icmp(3, 3, 0, 0);
    cases.push_back({"destination_unreachable", unreachable.Build()});
    PacketBuilder code1 = EchoRequest(base);
    code1.Icmp(kIcmpEchoRequest, 1, base.id, base.seq);
    cases.push_back({"echo_request_code_1", code1.Build()});
  }
  {
    EchoSpec spec;
    spec.ip.options = {0x01, 0x01, 0x01, 0x00};  // NOP NOP NOP EOL: IHL 6
    cases.push_back({"ip_options_ihl_6", EchoRequest(spec).Build()});
    spec = EchoSpec{};
    spec.ip.frag = 0x2000;  // MF: first fragment
    cases.push_back({"fragment_more_fragments", EchoRequest(spec).Build()});
    spec.ip.frag = 0x0001;  // last fragment, offset 8 bytes
    cases.push_back({"fragment_offset", EchoRequest(spec).Build()});
    spec.ip.frag = 0x6000;  // DF and MF together
    cases.push_back({"fragment_df_and_mf", EchoRequest(spec).Build()});
  }
  {
    PacketBuilder ipv6;
    ipv6.Ethernet(base.server_mac, base.client_mac).EtherType(kEthPIpv6).Payload(PingPayload(48));
    cases.push_back({"ipv6", ipv6.Build()});
    EchoSpec spec;
    spec.ip.version = 6;
    cases.push_back({"ipv4_ethertype_version_6", EchoRequest(spec).Build()});
    PacketBuilder tagged = EchoRequest(base);
    tagged.VlanTag(7);
    cases.push_back({"vlan_tagged_echo_request", tagged.Build()});
  }
  {
    Bytes corrupted = EchoRequest(base).Build();
    corrupted[14 + 10] ^= 0x01;
    cases.push_back({"bad_ip_header_checksum", corrupted});
  }
  {
    EchoSpec spec;
    spec.server_mac = broadcast;
    cases.push_back({"broadcast_destination_mac", EchoRequest(spec).Build()});
    spec = EchoSpec{};
    spec.server_mac = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
    cases.push_back({"multicast_destination_mac", EchoRequest(spec).Build()});
    spec = EchoSpec{};
    spec.client_mac = {0x03, 0x00, 0x00, 0x00, 0xbf, 0x02};
    cases.push_back({"group_source_mac", EchoRequest(spec).Build()});
    spec = EchoSpec{};
    spec.server_ip = Ip("224.0.0.1");
    cases.push_back({"multicast_destination_ip", EchoRequest(spec).Build()});
    spec.server_ip = Ip("255.255.255.255");
    cases.push_back({"limited_broadcast_destination_ip", EchoRequest(spec).Build()});
  }
  {
    EchoSpec spec;
    spec.ip.total_length = 20 + 8 - 1;  // claims less than an ICMP header
    cases.push_back({"total_length_below_icmp_header", EchoRequest(spec).Build()});
    spec.ip.total_length = 20 + 8 + 56 + 1;  // claims one byte more than the frame holds
    cases.push_back({"total_length_beyond_frame", EchoRequest(spec).Build()});
  }
  // Cut at and between every header boundary. Frames shorter than an Ethernet header cannot be
  // run at all (BPF_PROG_TEST_RUN refuses them).
  const Bytes full = EchoRequest(base).Build();
  for (const size_t length :
       {size_t{14}, size_t{14 + 10}, size_t{14 + 19}, size_t{14 + 20}, size_t{14 + 20 + 4},
        size_t{14 + 20 + 7}, size_t{14 + 20 + 8}, full.size() - 1}) {
    cases.push_back({"truncated_to_" + std::to_string(length) + "_bytes",
                     Bytes(full.begin(), full.begin() + static_cast<long>(length)),
                     /*tc=*/length >= 14 + 20});
  }
  return cases;
}

class IcmpEchoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NFB_SKIP_UNLESS_ROOT();
    echo_.emplace();
  }

  std::optional<IcmpEchoProgram> echo_;
};

TEST_F(IcmpEchoTest, AnswersEchoRequestsWithExactReplies) {
  const std::vector<AnswerCase> cases = AnswerCases();
  for (const AnswerCase& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_TRUE(HasValidIcmpChecksums(c.reply)) << "the expected reply itself is wrong";

    const TestRunResult tc = TestRun(echo_->tc_fd(), c.request);
    EXPECT_EQ(tc.retval, static_cast<uint32_t>(TC_ACT_REDIRECT));
    EXPECT_EQ(tc.packet, c.reply) << "got:\n"
                                  << HexDump(tc.packet) << "\nwant:\n"
                                  << HexDump(c.reply);
    EXPECT_TRUE(HasValidIcmpChecksums(tc.packet));

    const TestRunResult xdp = TestRun(echo_->xdp_fd(), c.request);
    EXPECT_EQ(xdp.retval, static_cast<uint32_t>(XDP_TX));
    EXPECT_EQ(xdp.packet, c.reply) << "got:\n" << HexDump(xdp.packet);
  }
  const IcmpEchoCounters counters = echo_->Counters();
  EXPECT_EQ(counters.answered, 2 * cases.size());
  EXPECT_EQ(counters.passed, 0u);
}

TEST_F(IcmpEchoTest, PassesEverythingElseUntouched) {
  const std::vector<PassCase> cases = PassCases();
  uint64_t runs = 0;
  for (const PassCase& c : cases) {
    SCOPED_TRACE(c.name);
    if (c.tc) {
      const TestRunResult tc = TestRun(echo_->tc_fd(), c.frame);
      EXPECT_EQ(tc.retval, static_cast<uint32_t>(TC_ACT_OK));
      EXPECT_EQ(tc.packet, c.frame) << "got:\n" << HexDump(tc.packet);
      ++runs;
    }

    const TestRunResult xdp = TestRun(echo_->xdp_fd(), c.frame);
    EXPECT_EQ(xdp.retval, static_cast<uint32_t>(XDP_PASS));
    EXPECT_EQ(xdp.packet, c.frame) << "got:\n" << HexDump(xdp.packet);
    ++runs;
  }
  const IcmpEchoCounters counters = echo_->Counters();
  EXPECT_EQ(counters.answered, 0u);
  EXPECT_EQ(counters.passed, runs);
}

// Two payload bytes sweep all 65536 values, so the request's checksum takes every value a sender
// computes (all but 0xffff, which RFC 1071 arithmetic never yields for nonzero data) and the
// incremental update is checked against a full recomputation for each.
TEST_F(IcmpEchoTest, IncrementalChecksumMatchesFullRecomputationForEveryValue) {
  EchoSpec spec;
  spec.payload = PingPayload(57);  // odd length: the last byte is summed with a zero pad
  std::bitset<65536> seen;
  int mismatches = 0;
  for (uint32_t word = 0; word <= 0xffff; ++word) {
    spec.payload[0] = static_cast<uint8_t>(word >> 8);
    spec.payload[1] = static_cast<uint8_t>(word & 0xff);
    const Bytes request = EchoRequest(spec).Build();
    seen.set(IcmpChecksumField(request));
    const TestRunResult tc = TestRun(echo_->tc_fd(), request);
    const Bytes reply = EchoReply(spec).Build();
    if (tc.retval != TC_ACT_REDIRECT || tc.packet != reply) {
      if (++mismatches <= 5) {
        ADD_FAILURE() << fmt::format(
            "request checksum {:#06x}: reply checksum {:#06x}, want {:#06x}",
            IcmpChecksumField(request), IcmpChecksumField(tc.packet), IcmpChecksumField(reply));
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(seen.count(), 65535u);
  EXPECT_FALSE(seen.test(0xffff));
}

// Finds the first two payload bytes that give the request this computed ICMP checksum.
EchoSpec SpecWithRequestChecksum(uint16_t wanted) {
  EchoSpec spec;
  spec.payload = PingPayload(57);
  for (uint32_t word = 0; word <= 0xffff; ++word) {
    spec.payload[0] = static_cast<uint8_t>(word >> 8);
    spec.payload[1] = static_cast<uint8_t>(word & 0xff);
    if (IcmpChecksumField(EchoRequest(spec).Build()) == wanted) return spec;
  }
  ADD_FAILURE() << "no payload gives checksum " << wanted;
  return spec;
}

// RFC 1624 section 3: the case where eqn. 2 goes wrong. The reply's data sums to 0xffff, so its
// checksum must be 0x0000 (a full recomputation never gives 0xffff).
TEST_F(IcmpEchoTest, ReplyChecksumZeroIsNotWrittenAsFfff) {
  const EchoSpec spec = SpecWithRequestChecksum(0xf7ff);
  const Bytes reply = EchoReply(spec).Build();
  ASSERT_EQ(IcmpChecksumField(reply), 0x0000);
  const TestRunResult tc = TestRun(echo_->tc_fd(), EchoRequest(spec).Build());
  EXPECT_EQ(tc.retval, static_cast<uint32_t>(TC_ACT_REDIRECT));
  EXPECT_EQ(IcmpChecksumField(tc.packet), 0x0000);
  EXPECT_EQ(tc.packet, reply);
}

// A sender may write a zero checksum as 0xffff (the other one's-complement zero). Both forms must
// give the same, canonical reply checksum.
TEST_F(IcmpEchoTest, RequestChecksumFfffAndZeroGiveTheSameReply) {
  const EchoSpec spec = SpecWithRequestChecksum(0x0000);
  const Bytes reply = EchoReply(spec).Build();
  Bytes request = EchoRequest(spec).Build();
  ASSERT_EQ(IcmpChecksumField(request), 0x0000);

  const TestRunResult zero = TestRun(echo_->tc_fd(), request);
  EXPECT_EQ(zero.packet, reply);

  request[kIcmpChecksumOffset] = 0xff;
  request[kIcmpChecksumOffset + 1] = 0xff;
  ASSERT_TRUE(HasValidIcmpChecksums(request)) << "0xffff is a valid form of zero";
  const TestRunResult ffff = TestRun(echo_->tc_fd(), request);
  EXPECT_EQ(ffff.retval, static_cast<uint32_t>(TC_ACT_REDIRECT));
  EXPECT_EQ(ffff.packet, reply) << fmt::format("reply checksum {:#06x}",
                                               IcmpChecksumField(ffff.packet));
}

TEST(IcmpEchoOnlyDaddrTest, AnswersOnlyTheConfiguredAddress) {
  NFB_SKIP_UNLESS_ROOT();
  EchoSpec mine;
  mine.server_ip = Ip("198.18.77.1");
  EchoSpec other = mine;
  other.server_ip = Ip("198.18.77.9");
  IcmpEchoProgram echo(IcmpEchoProgram::Options{.only_daddr_be = htonl(mine.server_ip)});

  const Bytes to_other = EchoRequest(other).Build();
  for (const int fd : {echo.tc_fd(), echo.xdp_fd()}) {
    const TestRunResult passed = TestRun(fd, to_other);
    EXPECT_EQ(passed.retval, fd == echo.tc_fd() ? static_cast<uint32_t>(TC_ACT_OK)
                                                : static_cast<uint32_t>(XDP_PASS));
    EXPECT_EQ(passed.packet, to_other);
  }

  const TestRunResult answered = TestRun(echo.tc_fd(), EchoRequest(mine).Build());
  EXPECT_EQ(answered.retval, static_cast<uint32_t>(TC_ACT_REDIRECT));
  EXPECT_EQ(answered.packet, EchoReply(mine).Build());

  const IcmpEchoCounters counters = echo.Counters();
  EXPECT_EQ(counters.answered, 1u);
  EXPECT_EQ(counters.passed, 2u);
}

TEST(IcmpEchoOnlyDaddrTest, ZeroAnswersAnyDestination) {
  NFB_SKIP_UNLESS_ROOT();
  IcmpEchoProgram echo(IcmpEchoProgram::Options{.only_daddr_be = 0});
  for (const char* address : {"198.18.77.1", "198.18.77.9", "10.1.2.3"}) {
    EchoSpec spec;
    spec.server_ip = Ip(address);
    const TestRunResult result = TestRun(echo.tc_fd(), EchoRequest(spec).Build());
    EXPECT_EQ(result.retval, static_cast<uint32_t>(TC_ACT_REDIRECT)) << address;
    EXPECT_EQ(result.packet, EchoReply(spec).Build()) << address;
  }
}

TEST(IcmpEchoCountersTest, AreSummedAcrossRepeatedRuns) {
  NFB_SKIP_UNLESS_ROOT();
  IcmpEchoProgram echo;
  const EchoSpec spec;
  // The kernel reruns the program on the same buffer: the first run turns the request into a
  // reply, the other 9 see that reply and pass it.
  const TestRunResult result = TestRun(echo.tc_fd(), EchoRequest(spec).Build(), 10);
  EXPECT_EQ(result.packet, EchoReply(spec).Build());
  const IcmpEchoCounters counters = echo.Counters();
  EXPECT_EQ(counters.answered, 1u);
  EXPECT_EQ(counters.passed, 9u);
}

}  // namespace
}  // namespace nfb::bpf::testing
