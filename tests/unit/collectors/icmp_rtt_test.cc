// ICMP echo RTT analysis against crafted captures with known nanosecond timestamps.
#include "nfb/collectors/icmp_rtt.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "nfb/core/error.h"
#include "pcap_builder.h"

namespace nfb::collectors {
namespace {

namespace fs = std::filesystem;
using nfb::testing::Concat;
using nfb::testing::EchoFrame;
using nfb::testing::Icmp;
using nfb::testing::Ip;
using nfb::testing::Ipv4;
using nfb::testing::LinkHeader;
using nfb::testing::PcapBuilder;
using ::testing::HasSubstr;

constexpr const char* kRequester = "198.18.0.1";
constexpr const char* kTarget = "198.18.0.2";
constexpr uint16_t kId = 0x4242;
constexpr int64_t kT0 = 1'700'000'000'123'456'789;  // an arbitrary epoch time in ns
constexpr int64_t kInterval = 1'000'000;            // 1 ms between probes

// Request time of probe i and its RTT in the synthetic runs: every probe has a distinct RTT so
// that a mispairing changes the numbers.
int64_t RequestTime(uint64_t i) { return kT0 + static_cast<int64_t>(i) * kInterval; }
int64_t Rtt(uint64_t i) { return 1000 + static_cast<int64_t>(i % 997) * 3; }

class IcmpRttTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("nfbtest-collectors-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path File(const std::string& name) const { return dir_ / name; }

  static EchoRttOptions Options(uint64_t sent, uint64_t warmup = 0) {
    EchoRttOptions o;
    o.requester = kRequester;
    o.target = kTarget;
    o.sent = sent;
    o.warmup = warmup;
    return o;
  }

  // Probe i as iputils would number it (first sequence 1, wrapping at 16 bits).
  static uint16_t Seq(uint64_t i, uint16_t first = 1) { return static_cast<uint16_t>(first + i); }

  static std::vector<uint8_t> Request(uint64_t i, int dlt = DLT_EN10MB, uint16_t id = kId) {
    return EchoFrame(dlt, Ip(kRequester), Ip(kTarget), 8, id, Seq(i));
  }
  static std::vector<uint8_t> Reply(uint64_t i, int dlt = DLT_EN10MB, uint16_t id = kId) {
    return EchoFrame(dlt, Ip(kTarget), Ip(kRequester), 0, id, Seq(i));
  }

  // Writes probes 0..n-1: request, then reply, unless `skip` says otherwise.
  void WriteRun(const fs::path& path, uint64_t n, int dlt = DLT_EN10MB,
                const std::function<bool(uint64_t, bool reply)>& skip = nullptr) {
    PcapBuilder b(path, dlt);
    for (uint64_t i = 0; i < n; ++i) {
      if (!skip || !skip(i, false)) b.Write(RequestTime(i), Request(i, dlt));
      if (!skip || !skip(i, true)) b.Write(RequestTime(i) + Rtt(i), Reply(i, dlt));
    }
  }

  static void ExpectPartition(const EchoAccounting& a) {
    EXPECT_EQ(a.packets_total,
              a.packets_ignored + a.warmup_packets + a.out_of_range + a.echo_packets);
    EXPECT_EQ(a.paired + a.lost + a.missing_from_capture, a.sent);
  }

  fs::path dir_;
};

TEST_F(IcmpRttTest, CleanRun) {
  WriteRun(File("clean.pcap"), 10);
  EchoRttResult r = AnalyzeEchoRtt(File("clean.pcap"), Options(10));
  ASSERT_TRUE(r.identifier.has_value());
  EXPECT_EQ(*r.identifier, kId);
  ASSERT_EQ(r.samples.size(), 10u);
  for (uint64_t i = 0; i < 10; ++i) {
    EXPECT_EQ(r.samples[i].probe, i);
    EXPECT_EQ(r.samples[i].rtt_ns, Rtt(i));
    EXPECT_DOUBLE_EQ(r.samples[i].t_s, static_cast<double>(i) * 1e-3);
  }
  const EchoAccounting& a = r.accounting;
  EXPECT_TRUE(a.sent_known);
  EXPECT_EQ(a.sent, 10u);
  EXPECT_EQ(a.paired, 10u);
  EXPECT_EQ(a.lost, 0u);
  EXPECT_EQ(a.missing_from_capture, 0u);
  EXPECT_EQ(a.replies_without_request, 0u);
  EXPECT_EQ(a.duplicate_requests, 0u);
  EXPECT_EQ(a.duplicate_replies, 0u);
  EXPECT_EQ(a.packets_total, 20u);
  EXPECT_EQ(a.echo_packets, 20u);
  EXPECT_EQ(a.packets_ignored, 0u);
  ExpectPartition(a);
}

TEST_F(IcmpRttTest, ExactRttValuesByHand) {
  {
    PcapBuilder b(File("hand.pcap"));
    b.Write(1'000'000'000'000'000'000, Request(0));
    b.Write(1'000'000'000'000'001'792, Reply(0));    // 1.792 us
    b.Write(1'000'000'000'001'000'000, Request(1));  // 1 ms later
    b.Write(1'000'000'000'001'002'048, Reply(1));    // 2.048 us
  }
  EchoRttResult r = AnalyzeEchoRtt(File("hand.pcap"), Options(2));
  ASSERT_EQ(r.samples.size(), 2u);
  EXPECT_EQ(r.samples[0].rtt_ns, 1792);
  EXPECT_EQ(r.samples[1].rtt_ns, 2048);
  EXPECT_DOUBLE_EQ(r.samples[0].t_s, 0.0);
  EXPECT_DOUBLE_EQ(r.samples[1].t_s, 0.001);
}

TEST_F(IcmpRttTest, LostReplies) {
  WriteRun(File("loss.pcap"), 10, DLT_EN10MB,
           [](uint64_t i, bool reply) { return reply && (i == 3 || i == 7); });
  EchoRttResult r = AnalyzeEchoRtt(File("loss.pcap"), Options(10));
  const EchoAccounting& a = r.accounting;
  EXPECT_EQ(a.paired, 8u);
  EXPECT_EQ(a.lost, 2u);
  EXPECT_EQ(a.missing_from_capture, 0u);
  ASSERT_EQ(r.samples.size(), 8u);
  std::vector<uint64_t> probes;
  for (const RttSample& s : r.samples) {
    probes.push_back(s.probe);
    EXPECT_EQ(s.rtt_ns, Rtt(s.probe));
  }
  EXPECT_THAT(probes, ::testing::ElementsAre(0, 1, 2, 4, 5, 6, 8, 9));
  ExpectPartition(a);
}

TEST_F(IcmpRttTest, DuplicatesKeepTheFirstPacket) {
  {
    PcapBuilder b(File("dup.pcap"));
    for (uint64_t i = 0; i < 6; ++i) {
      b.Write(RequestTime(i), Request(i));
      if (i == 2) b.Write(RequestTime(i) + 100, Request(i));  // retransmitted request
      b.Write(RequestTime(i) + Rtt(i), Reply(i));
      if (i == 4) {
        b.Write(RequestTime(i) + Rtt(i) + 500, Reply(i));  // duplicate reply (DUP! in ping)
        b.Write(RequestTime(i) + Rtt(i) + 900, Reply(i));
      }
    }
  }
  EchoRttResult r = AnalyzeEchoRtt(File("dup.pcap"), Options(6));
  const EchoAccounting& a = r.accounting;
  EXPECT_EQ(a.paired, 6u);
  EXPECT_EQ(a.duplicate_requests, 1u);
  EXPECT_EQ(a.duplicate_replies, 2u);
  EXPECT_EQ(a.echo_packets, 15u);
  ASSERT_EQ(r.samples.size(), 6u);
  for (const RttSample& s : r.samples) EXPECT_EQ(s.rtt_ns, Rtt(s.probe)) << s.probe;
  ExpectPartition(a);
}

TEST_F(IcmpRttTest, ReorderedPacketsPairCorrectly) {
  {
    // File order differs from time order: replies overtaking each other, a reply written before
    // its request (capture from several CPUs), requests out of order.
    PcapBuilder b(File("reorder.pcap"));
    b.Write(RequestTime(0), Request(0));
    b.Write(RequestTime(1), Request(1));
    b.Write(RequestTime(1) + Rtt(1), Reply(1));
    b.Write(RequestTime(0) + Rtt(0), Reply(0));
    b.Write(RequestTime(2) + Rtt(2), Reply(2));
    b.Write(RequestTime(2), Request(2));
    b.Write(RequestTime(4), Request(4));
    b.Write(RequestTime(3), Request(3));
    b.Write(RequestTime(4) + Rtt(4), Reply(4));
    b.Write(RequestTime(3) + Rtt(3), Reply(3));
  }
  EchoRttResult r = AnalyzeEchoRtt(File("reorder.pcap"), Options(5));
  ASSERT_EQ(r.samples.size(), 5u);
  for (uint64_t i = 0; i < 5; ++i) {
    EXPECT_EQ(r.samples[i].probe, i);
    EXPECT_EQ(r.samples[i].rtt_ns, Rtt(i));
    EXPECT_DOUBLE_EQ(r.samples[i].t_s, static_cast<double>(i) * 1e-3);
  }
  EXPECT_EQ(r.accounting.paired, 5u);
  ExpectPartition(r.accounting);
}

TEST_F(IcmpRttTest, SequenceWrapAroundOverSeventyThousandProbes) {
  constexpr uint64_t kProbes = 70000;
  {
    PcapBuilder b(File("wrap.pcap"));
    for (uint64_t i = 0; i < kProbes; ++i) {
      // Around the wrap (seq 65535 -> 0 is probe 65534 -> 65535), delay replies past the next
      // requests so that unwrapping must cope with packets on both sides of the wrap.
      if (i >= 65530 && i < 65540) {
        b.Write(RequestTime(i), Request(i));
        continue;
      }
      b.Write(RequestTime(i), Request(i));
      b.Write(RequestTime(i) + Rtt(i), Reply(i));
      if (i == 65545) {
        for (uint64_t j = 65539; j >= 65530; --j) b.Write(RequestTime(j) + Rtt(j), Reply(j));
      }
    }
  }
  EchoRttResult r = AnalyzeEchoRtt(File("wrap.pcap"), Options(kProbes));
  EXPECT_EQ(r.accounting.paired, kProbes);
  EXPECT_EQ(r.accounting.out_of_range, 0u);
  ASSERT_EQ(r.samples.size(), kProbes);
  int bad = 0;
  for (uint64_t i = 0; i < kProbes; ++i) {
    if (r.samples[i].probe != i || r.samples[i].rtt_ns != Rtt(i)) ++bad;
  }
  EXPECT_EQ(bad, 0);
  EXPECT_DOUBLE_EQ(r.samples[kProbes - 1].t_s, static_cast<double>(kProbes - 1) * 1e-3);
  ExpectPartition(r.accounting);
}

TEST_F(IcmpRttTest, WrapAroundWithUnknownSentAndNonDefaultFirstSequence) {
  constexpr uint64_t kProbes = 66000;
  {
    PcapBuilder b(File("wrap0.pcap"));
    for (uint64_t i = 0; i < kProbes; ++i) {
      uint16_t seq = static_cast<uint16_t>(60000 + i);
      b.Write(RequestTime(i), EchoFrame(DLT_EN10MB, Ip(kRequester), Ip(kTarget), 8, kId, seq));
      b.Write(RequestTime(i) + Rtt(i),
              EchoFrame(DLT_EN10MB, Ip(kTarget), Ip(kRequester), 0, kId, seq));
    }
  }
  EchoRttOptions o = Options(0);
  o.first_sequence = 60000;
  EchoRttResult r = AnalyzeEchoRtt(File("wrap0.pcap"), o);
  EXPECT_FALSE(r.accounting.sent_known);
  EXPECT_EQ(r.accounting.sent, kProbes);
  EXPECT_EQ(r.accounting.paired, kProbes);
  ASSERT_EQ(r.samples.size(), kProbes);
  EXPECT_EQ(r.samples.back().probe, kProbes - 1);
  EXPECT_EQ(r.samples.back().rtt_ns, Rtt(kProbes - 1));
}

TEST_F(IcmpRttTest, WarmupProbesAreExcluded) {
  WriteRun(File("warm.pcap"), 10);
  EchoRttResult r = AnalyzeEchoRtt(File("warm.pcap"), Options(10, 3));
  const EchoAccounting& a = r.accounting;
  EXPECT_EQ(a.sent, 7u);
  EXPECT_EQ(a.paired, 7u);
  EXPECT_EQ(a.warmup_packets, 6u);
  EXPECT_EQ(a.echo_packets, 14u);
  ASSERT_EQ(r.samples.size(), 7u);
  EXPECT_EQ(r.samples.front().probe, 3u);
  EXPECT_EQ(r.samples.front().rtt_ns, Rtt(3));
  EXPECT_DOUBLE_EQ(r.samples.front().t_s, 0.0);  // relative to the first *measured* request
  EXPECT_DOUBLE_EQ(r.samples.back().t_s, 0.006);
  ExpectPartition(a);
}

TEST_F(IcmpRttTest, WarmupCountsLostWarmupProbesNowhere) {
  // A lost warm-up probe must not show up in the measured accounting.
  WriteRun(File("warm2.pcap"), 10, DLT_EN10MB,
           [](uint64_t i, bool reply) { return i == 1 || (reply && i == 2); });
  EchoRttResult r = AnalyzeEchoRtt(File("warm2.pcap"), Options(10, 3));
  EXPECT_EQ(r.accounting.sent, 7u);
  EXPECT_EQ(r.accounting.paired, 7u);
  EXPECT_EQ(r.accounting.lost, 0u);
  EXPECT_EQ(r.accounting.missing_from_capture, 0u);
  EXPECT_EQ(r.accounting.warmup_packets, 3u);
}

TEST_F(IcmpRttTest, MissingRequestsAndRepliesWithoutRequest) {
  // Probe 4: request not captured, reply captured. Probe 6: neither captured.
  // The pinger sent 12, the capture ended after 10 (probes 10 and 11 missing too).
  WriteRun(File("missing.pcap"), 10, DLT_EN10MB,
           [](uint64_t i, bool reply) { return (i == 4 && !reply) || i == 6; });
  EchoRttResult r = AnalyzeEchoRtt(File("missing.pcap"), Options(12));
  const EchoAccounting& a = r.accounting;
  EXPECT_EQ(a.sent, 12u);
  EXPECT_EQ(a.paired, 8u);
  EXPECT_EQ(a.lost, 0u);
  EXPECT_EQ(a.missing_from_capture, 4u);  // 4, 6, 10, 11
  EXPECT_EQ(a.replies_without_request, 1u);
  EXPECT_EQ(r.samples.size(), 8u);
  ExpectPartition(a);
}

TEST_F(IcmpRttTest, UnknownSentCountIsInferredFromTheCapture) {
  WriteRun(File("unknown.pcap"), 10, DLT_EN10MB,
           [](uint64_t i, bool reply) { return i == 5 || (i == 9 && reply); });
  EchoRttResult r = AnalyzeEchoRtt(File("unknown.pcap"), Options(0, 2));
  const EchoAccounting& a = r.accounting;
  EXPECT_FALSE(a.sent_known);
  EXPECT_EQ(a.sent, 8u);  // probes 2..9 by the highest index seen
  EXPECT_EQ(a.paired, 6u);
  EXPECT_EQ(a.lost, 1u);
  EXPECT_EQ(a.missing_from_capture, 1u);
  ExpectPartition(a);
}

TEST_F(IcmpRttTest, OtherTrafficIsIgnored) {
  {
    PcapBuilder b(File("other.pcap"));
    int64_t t = kT0 - 5000;
    uint32_t req = Ip(kRequester);
    uint32_t tgt = Ip(kTarget);
    uint32_t other = Ip("198.18.0.99");
    std::vector<uint8_t> udp(16, 0);
    b.Write(t++, Concat(LinkHeader(DLT_EN10MB, 0x0806), std::vector<uint8_t>(28, 0)));  // ARP
    b.Write(t++, Concat(LinkHeader(DLT_EN10MB), Ipv4(req, tgt, 17, udp)));              // UDP
    b.Write(t++, Concat(LinkHeader(DLT_EN10MB, 0x86dd), std::vector<uint8_t>(48, 0)));  // IPv6
    b.Write(t++, EchoFrame(DLT_EN10MB, req, other, 8, kId, Seq(0)));  // ping to another host
    b.Write(t++, EchoFrame(DLT_EN10MB, other, req, 0, kId, Seq(0)));
    b.Write(t++, EchoFrame(DLT_EN10MB, tgt, req, 8, kId, Seq(0)));  // target pinging us
    b.Write(t++, EchoFrame(DLT_EN10MB, req, tgt, 0, kId, Seq(0)));  // and our reply
    b.Write(t++, Concat(LinkHeader(DLT_EN10MB), Ipv4(tgt, req, 1, Icmp(3, 1, 0, 0))));  // unreach
    b.Write(t++, Concat(LinkHeader(DLT_EN10MB), Ipv4(tgt, req, 1, Icmp(0, 1, kId, Seq(0)))));
    b.Write(t++, Request(0), 30);  // cut short by snaplen
    b.Write(t++, Concat(LinkHeader(DLT_EN10MB), Ipv4(req, tgt, 1, Icmp(8, 0, kId, Seq(0)), false,
                                                     0x0010)));  // non-first fragment
    for (uint64_t i = 0; i < 4; ++i) {
      b.Write(RequestTime(i), Request(i));
      b.Write(RequestTime(i) + 1, Request(i, DLT_EN10MB, kId + 1));  // second pinger
      b.Write(RequestTime(i) + Rtt(i), Reply(i));
      b.Write(RequestTime(i) + Rtt(i) + 1, Reply(i, DLT_EN10MB, kId + 1));
    }
  }
  EchoRttResult r = AnalyzeEchoRtt(File("other.pcap"), Options(4));
  const EchoAccounting& a = r.accounting;
  EXPECT_EQ(*r.identifier, kId);  // the first request's identifier
  EXPECT_EQ(a.paired, 4u);
  EXPECT_EQ(a.packets_total, 11u + 16u);
  EXPECT_EQ(a.packets_ignored, 11u + 8u);
  EXPECT_EQ(a.echo_packets, 8u);
  for (const RttSample& s : r.samples) EXPECT_EQ(s.rtt_ns, Rtt(s.probe));
  ExpectPartition(a);

  // Asking for the second pinger's flow instead.
  EchoRttOptions o = Options(4);
  o.identifier = kId + 1;
  EchoRttResult second = AnalyzeEchoRtt(File("other.pcap"), o);
  EXPECT_EQ(second.accounting.paired, 4u);
  for (const RttSample& s : second.samples) EXPECT_EQ(s.rtt_ns, Rtt(s.probe));
}

TEST_F(IcmpRttTest, ReplyBeforeFirstRequestIsKeptForTheLockedIdentifier) {
  {
    PcapBuilder b(File("early.pcap"));
    b.Write(kT0 - 10, Reply(0, DLT_EN10MB, 7));  // stale reply of an earlier pinger
    b.Write(kT0 - 5, Reply(1));                  // reply whose request was not captured
    b.Write(RequestTime(0), Request(0));
    b.Write(RequestTime(0) + Rtt(0), Reply(0));
  }
  EchoRttResult r = AnalyzeEchoRtt(File("early.pcap"), Options(2));
  EXPECT_EQ(*r.identifier, kId);
  EXPECT_EQ(r.accounting.packets_ignored, 1u);
  EXPECT_EQ(r.accounting.paired, 1u);
  EXPECT_EQ(r.accounting.replies_without_request, 1u);
  EXPECT_EQ(r.accounting.missing_from_capture, 1u);
  ExpectPartition(r.accounting);
}

TEST_F(IcmpRttTest, ProbesOutsideTheSentRangeAreCounted) {
  WriteRun(File("range.pcap"), 7);
  EchoRttResult r = AnalyzeEchoRtt(File("range.pcap"), Options(5));
  EXPECT_EQ(r.accounting.paired, 5u);
  EXPECT_EQ(r.accounting.out_of_range, 4u);
  ExpectPartition(r.accounting);
  // A sequence number before the first probe (here: first_sequence 3, probes 0 and 1 earlier).
  EchoRttOptions o = Options(5);
  o.first_sequence = 3;
  EchoRttResult shifted = AnalyzeEchoRtt(File("range.pcap"), o);
  EXPECT_EQ(shifted.accounting.out_of_range, 4u);
  EXPECT_EQ(shifted.accounting.paired, 5u);
  EXPECT_EQ(shifted.samples.front().rtt_ns, Rtt(2));
}

TEST_F(IcmpRttTest, LinuxCookedCaptures) {
  for (int dlt : {DLT_LINUX_SLL, DLT_LINUX_SLL2}) {
    WriteRun(File("sll.pcap"), 5, dlt, [](uint64_t i, bool reply) { return reply && i == 2; });
    EchoRttResult r = AnalyzeEchoRtt(File("sll.pcap"), Options(5));
    EXPECT_EQ(r.accounting.paired, 4u) << dlt;
    EXPECT_EQ(r.accounting.lost, 1u) << dlt;
    ASSERT_EQ(r.samples.size(), 4u);
    EXPECT_EQ(r.samples[3].rtt_ns, Rtt(4));
  }
}

TEST_F(IcmpRttTest, VlanTaggedAndIpOptions) {
  {
    PcapBuilder b(File("vlan.pcap"));
    uint32_t req = Ip(kRequester);
    uint32_t tgt = Ip(kTarget);
    b.Write(RequestTime(0),
            Concat(LinkHeader(DLT_EN10MB, 0x0800, 1), Ipv4(req, tgt, 1, Icmp(8, 0, kId, Seq(0)))));
    b.Write(RequestTime(0) + 777, Concat(LinkHeader(DLT_EN10MB, 0x0800, 2),
                                         Ipv4(tgt, req, 1, Icmp(0, 0, kId, Seq(0)), true)));
  }
  EchoRttResult r = AnalyzeEchoRtt(File("vlan.pcap"), Options(1));
  ASSERT_EQ(r.samples.size(), 1u);
  EXPECT_EQ(r.samples[0].rtt_ns, 777);
}

TEST_F(IcmpRttTest, WrongLinkTypeIsInputError) {
  {
    PcapBuilder b(File("raw.pcap"), DLT_RAW);
    b.Write(kT0, Ipv4(Ip(kRequester), Ip(kTarget), 1, Icmp(8, 0, kId, 1)));
  }
  try {
    AnalyzeEchoRtt(File("raw.pcap"), Options(1));
    FAIL() << "no exception";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("link type"));
    EXPECT_THAT(e.what(), HasSubstr("raw.pcap"));
  }
}

TEST_F(IcmpRttTest, TruncatedFileIsInputError) {
  WriteRun(File("trunc.pcap"), 10);
  fs::resize_file(File("trunc.pcap"), fs::file_size(File("trunc.pcap")) - 30);
  try {
    AnalyzeEchoRtt(File("trunc.pcap"), Options(10));
    FAIL() << "no exception";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("truncated"));
  }
  // Cut inside the file header as well.
  fs::resize_file(File("trunc.pcap"), 10);
  EXPECT_THROW(AnalyzeEchoRtt(File("trunc.pcap"), Options(10)), InputError);
}

TEST_F(IcmpRttTest, CorruptRecordLengthIsInputError) {
  WriteRun(File("corrupt.pcap"), 3);
  {
    // Overwrite the caplen of the second record (24-byte file header, 16-byte record header,
    // 98-byte frames) with an absurd value.
    std::fstream f(File("corrupt.pcap"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(24 + 16 + 98 + 8);
    uint32_t huge = 0x7fffffff;
    f.write(reinterpret_cast<const char*>(&huge), sizeof(huge));
  }
  EXPECT_THROW(AnalyzeEchoRtt(File("corrupt.pcap"), Options(3)), InputError);
}

TEST_F(IcmpRttTest, GarbageEmptyAndMissingFilesAreInputErrors) {
  {
    std::ofstream f(File("garbage.pcap"), std::ios::binary);
    std::mt19937 rng(1);
    for (int i = 0; i < 4096; ++i) f.put(static_cast<char>(rng()));
  }
  { std::ofstream f(File("empty.pcap")); }
  for (const char* name : {"garbage.pcap", "empty.pcap", "does-not-exist.pcap"}) {
    try {
      AnalyzeEchoRtt(File(name), Options(1));
      FAIL() << name << ": no exception";
    } catch (const InputError& e) {
      EXPECT_THAT(e.what(), HasSubstr(name));
    }
  }
}

TEST_F(IcmpRttTest, BadOptionsAreInputErrors) {
  WriteRun(File("ok.pcap"), 2);
  EchoRttOptions o = Options(2);
  o.requester = "198.18.0";
  EXPECT_THROW(AnalyzeEchoRtt(File("ok.pcap"), o), InputError);
  o = Options(2);
  o.target = "fe80::1";
  EXPECT_THROW(AnalyzeEchoRtt(File("ok.pcap"), o), InputError);
  EXPECT_THROW(AnalyzeEchoRtt(File("ok.pcap"), Options(2, 3)), InputError);
  EXPECT_THROW(AnalyzeEchoRtt(File("ok.pcap"), Options(uint64_t{1} << 40)), InputError);
}

TEST_F(IcmpRttTest, EmptyCaptureHasNoSamples) {
  { PcapBuilder b(File("none.pcap")); }
  EchoRttResult r = AnalyzeEchoRtt(File("none.pcap"), Options(5, 1));
  EXPECT_FALSE(r.identifier.has_value());
  EXPECT_TRUE(r.samples.empty());
  EXPECT_EQ(r.accounting.sent, 4u);
  EXPECT_EQ(r.accounting.missing_from_capture, 4u);
  ExpectPartition(r.accounting);
}

TEST_F(IcmpRttTest, RandomisedLossDuplicationAndReorderingKeepTheInvariant) {
  // Property check: whatever happens to the packets, every measured probe is accounted for once
  // and every pair has the RTT it was given.
  std::mt19937_64 rng(2024);
  for (int round = 0; round < 20; ++round) {
    uint64_t n = 500 + rng() % 2000;
    uint64_t warmup = rng() % 20;
    struct Rec {
      int64_t t;
      std::vector<uint8_t> frame;
    };
    std::vector<Rec> recs;
    uint64_t expect_paired = 0;
    for (uint64_t i = 0; i < n; ++i) {
      bool req = rng() % 10 != 0;
      bool rep = rng() % 8 != 0;
      if (req) recs.push_back({RequestTime(i), Request(i)});
      if (rep) recs.push_back({RequestTime(i) + Rtt(i), Reply(i)});
      // Duplicates carry the original's timestamp: which copy comes first after reordering is
      // then irrelevant (DuplicatesKeepTheFirstPacket checks the choice).
      if (rep && rng() % 20 == 0) recs.push_back({RequestTime(i) + Rtt(i), Reply(i)});
      if (req && rng() % 30 == 0) recs.push_back({RequestTime(i), Request(i)});
      if (req && rep && i >= warmup) ++expect_paired;
    }
    // Local reordering: swap neighbours at random.
    for (std::size_t k = 1; k < recs.size(); ++k) {
      if (rng() % 4 == 0) std::swap(recs[k - 1], recs[k]);
    }
    {
      PcapBuilder b(File("random.pcap"));
      for (const Rec& rec : recs) b.Write(rec.t, rec.frame);
    }
    EchoRttResult r = AnalyzeEchoRtt(File("random.pcap"), Options(n, warmup));
    EXPECT_EQ(r.accounting.paired, expect_paired);
    EXPECT_EQ(r.accounting.sent, n - warmup);
    ExpectPartition(r.accounting);
    for (const RttSample& s : r.samples) ASSERT_EQ(s.rtt_ns, Rtt(s.probe));
  }
}

}  // namespace
}  // namespace nfb::collectors
