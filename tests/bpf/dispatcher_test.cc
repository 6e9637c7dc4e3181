// dispatcher.bpf.c through BPF_PROG_TEST_RUN, with the echo responder in a slot, and the slot
// bookkeeping of nfb::bpf::Dispatcher: every slot's tail-call site, MACs that share a bucket of the
// MAC table, moves and refusals (the same cases without a kernel:
// tests/unit/offload/dispatcher_table_test.cc).
#include "nfb/bpf/dispatcher.h"

#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "bpf_test_util.h"
#include "dispatcher_test_util.h"
#include "nfb/bpf/icmp_echo.h"
#include "nfb/bpf/test_run.h"
#include "nfb/bpf/verdict_program.h"
#include "nfb/core/error.h"
#include "packet_builder.h"

namespace nfb::bpf::testing {
namespace {

// A tc program that only returns `verdict`: which program ran shows in the test run's retval.
class VerdictProgram : public bpf::VerdictProgram {
 public:
  explicit VerdictProgram(int32_t verdict)
      : bpf::VerdictProgram(BPF_PROG_TYPE_SCHED_CLS, verdict) {}
};

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NFB_SKIP_UNLESS_ROOT();
    echo_.emplace();
    dispatcher_.emplace();
  }

  void ExpectPassedUntouched(const Bytes& frame) {
    const TestRunResult result = TestRun(dispatcher_->tc_fd(), frame);
    EXPECT_EQ(result.retval, static_cast<uint32_t>(TC_ACT_OK));
    EXPECT_EQ(result.packet, frame) << HexDump(result.packet);
  }

  // The verdict of the dispatcher for one frame to `mac` (a VerdictProgram's, or TC_ACT_OK).
  uint32_t VerdictFor(const MacAddress& mac) {
    return TestRun(dispatcher_->tc_fd(), FrameTo(mac)).retval;
  }

  EchoSpec spec_;  // client 02:00:00:00:bf:02 pings server 02:00:00:00:bf:01
  std::optional<IcmpEchoProgram> echo_;
  std::optional<Dispatcher> dispatcher_;
};

TEST_F(DispatcherTest, KnownMacTailCallsIntoEchoAndCountsTheSlot) {
  dispatcher_->SetSlot(spec_.server_mac, echo_->tc_fd());
  const Bytes request = EchoRequest(spec_).Build();

  const TestRunResult result = TestRun(dispatcher_->tc_fd(), request);
  EXPECT_EQ(result.retval, static_cast<uint32_t>(TC_ACT_REDIRECT));
  EXPECT_EQ(result.packet, EchoReply(spec_).Build()) << HexDump(result.packet);
  EXPECT_TRUE(HasValidIcmpChecksums(result.packet));

  SlotCounters slot = dispatcher_->Counters(spec_.server_mac);
  EXPECT_EQ(slot.packets, 1u);
  EXPECT_EQ(slot.bytes, request.size());
  EXPECT_EQ(echo_->Counters().answered, 1u);

  // Traffic the slot's program does not answer is still counted for the slot, then passes.
  PacketBuilder udp;
  udp.Ethernet(spec_.server_mac, spec_.client_mac)
      .Ipv4(spec_.client_ip, spec_.server_ip)
      .Udp(40000, 9999)
      .Payload(PingPayload(100));
  const Bytes datagram = udp.Build();
  ExpectPassedUntouched(datagram);
  slot = dispatcher_->Counters(spec_.server_mac);
  EXPECT_EQ(slot.packets, 2u);
  EXPECT_EQ(slot.bytes, request.size() + datagram.size());
  EXPECT_EQ(echo_->Counters().passed, 1u);
}

TEST_F(DispatcherTest, UnknownMacPassesWithoutTouchingAnyCounter) {
  dispatcher_->SetSlot(spec_.server_mac, echo_->tc_fd());
  EchoSpec stranger = spec_;
  stranger.server_mac = {0x02, 0x00, 0x00, 0x00, 0xbf, 0x77};
  ExpectPassedUntouched(EchoRequest(stranger).Build());
  // Broadcast (ARP requests) is not a guest's MAC either.
  stranger.server_mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  ExpectPassedUntouched(EchoRequest(stranger).Build());

  const SlotCounters slot = dispatcher_->Counters(spec_.server_mac);
  EXPECT_EQ(slot.packets, 0u);
  EXPECT_EQ(slot.bytes, 0u);
  const IcmpEchoCounters echo = echo_->Counters();
  EXPECT_EQ(echo.answered + echo.passed, 0u) << "the echo program ran";
}

TEST_F(DispatcherTest, KnownMacWithEmptySlotPasses) {
  const uint32_t slot = dispatcher_->SetSlot(spec_.server_mac, echo_->tc_fd());
  // Empty the program array behind the Dispatcher's back, as the kernel does when the array's
  // last user reference goes away.
  ASSERT_EQ(bpf_map_delete_elem(dispatcher_->slot_progs_fd(), &slot), 0);

  ExpectPassedUntouched(EchoRequest(spec_).Build());
  const IcmpEchoCounters echo = echo_->Counters();
  EXPECT_EQ(echo.answered + echo.passed, 0u) << "the echo program ran";
  // The frame still belonged to the slot's MAC, so it is counted (see docs/nf-programs.md).
  EXPECT_EQ(dispatcher_->Counters(spec_.server_mac).packets, 1u);
}

TEST_F(DispatcherTest, ClearSlotStopsDispatchingAndFreesTheSlot) {
  const uint32_t slot = dispatcher_->SetSlot(spec_.server_mac, echo_->tc_fd());
  dispatcher_->ClearSlot(spec_.server_mac);
  EXPECT_FALSE(dispatcher_->SlotOf(spec_.server_mac).has_value());
  EXPECT_THROW(dispatcher_->Counters(spec_.server_mac), InputError);
  ExpectPassedUntouched(EchoRequest(spec_).Build());
  EXPECT_EQ(echo_->Counters().passed + echo_->Counters().answered, 0u);
  EXPECT_NO_THROW(dispatcher_->ClearSlot(spec_.server_mac)) << "clearing twice is harmless";

  // The freed slot is reused, with fresh counters.
  EXPECT_EQ(dispatcher_->SetSlot(spec_.client_mac, echo_->tc_fd()), slot);
  EXPECT_EQ(dispatcher_->Counters(spec_.client_mac).packets, 0u);
}

TEST_F(DispatcherTest, SetSlotAgainReplacesTheProgramAndKeepsSlotAndCounters) {
  const uint32_t slot = dispatcher_->SetSlot(spec_.server_mac, echo_->tc_fd());
  EXPECT_EQ(TestRun(dispatcher_->tc_fd(), EchoRequest(spec_).Build()).retval,
            static_cast<uint32_t>(TC_ACT_REDIRECT));

  IcmpEchoProgram other_echo;
  EXPECT_EQ(dispatcher_->SetSlot(spec_.server_mac, other_echo.tc_fd()), slot);
  EXPECT_EQ(TestRun(dispatcher_->tc_fd(), EchoRequest(spec_).Build()).retval,
            static_cast<uint32_t>(TC_ACT_REDIRECT));
  EXPECT_EQ(echo_->Counters().answered, 1u);
  EXPECT_EQ(other_echo.Counters().answered, 1u);
  EXPECT_EQ(dispatcher_->Counters(spec_.server_mac).packets, 2u);
}

TEST_F(DispatcherTest, SlotsAreSeparate) {
  const MacAddress guest1{0x02, 0x00, 0x00, 0x00, 0x01, 0x01};
  const MacAddress guest2{0x02, 0x00, 0x00, 0x00, 0x02, 0x01};
  IcmpEchoProgram echo2;
  const uint32_t slot1 = dispatcher_->SetSlot(guest1, echo_->tc_fd());
  const uint32_t slot2 = dispatcher_->SetSlot(guest2, echo2.tc_fd());
  EXPECT_NE(slot1, slot2);

  EchoSpec to_guest2 = spec_;
  to_guest2.server_mac = guest2;
  for (int i = 0; i < 3; ++i) TestRun(dispatcher_->tc_fd(), EchoRequest(to_guest2).Build());
  EXPECT_EQ(dispatcher_->Counters(guest1).packets, 0u);
  EXPECT_EQ(dispatcher_->Counters(guest2).packets, 3u);
  EXPECT_EQ(echo_->Counters().answered, 0u);
  EXPECT_EQ(echo2.Counters().answered, 3u);
}

TEST_F(DispatcherTest, RejectsBadSlotRequests) {
  EXPECT_THROW(dispatcher_->SetSlot({0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}, echo_->tc_fd()),
               InputError);
  EXPECT_THROW(dispatcher_->SetSlot(spec_.server_mac, -1), InputError);
  // The program array belongs to a tc program: an XDP program cannot be tail-called from it.
  EXPECT_THROW(dispatcher_->SetSlot(spec_.server_mac, echo_->xdp_fd()), RunError);
  EXPECT_FALSE(dispatcher_->SlotOf(spec_.server_mac).has_value());
}

TEST_F(DispatcherTest, RunsOutOfSlotsCleanly) {
  for (uint32_t i = 0; i < Dispatcher::kMaxSlots; ++i) {
    const MacAddress mac{
        0x02, 0x00, 0x00, 0x00, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i & 0xff)};
    EXPECT_EQ(dispatcher_->SetSlot(mac, echo_->tc_fd()), i);
  }
  const MacAddress one_more{0x02, 0x00, 0x00, 0x01, 0x00, 0x00};
  EXPECT_THROW(dispatcher_->SetSlot(one_more, echo_->tc_fd()), SlotUnavailableError);
  EXPECT_FALSE(dispatcher_->SlotOf(one_more).has_value());
  ExpectPassedUntouched(FrameTo(one_more));
  // A freed slot goes to the next MAC.
  dispatcher_->ClearSlot({0x02, 0x00, 0x00, 0x00, 0x00, 0x05});
  EXPECT_EQ(dispatcher_->SetSlot(one_more, echo_->tc_fd()), 5u);
}

TEST_F(DispatcherTest, EverySlotTailCallsItsOwnProgram) {
  // Each slot has its own tail-call site in the program (a constant index, for a direct jump):
  // check that each one jumps to its own slot.
  std::vector<std::unique_ptr<VerdictProgram>> programs;
  std::vector<MacAddress> macs;
  for (uint32_t i = 0; i < Dispatcher::kMaxSlots; ++i) {
    programs.push_back(std::make_unique<VerdictProgram>(static_cast<int32_t>(100 + i)));
    macs.push_back({0x02, 0x00, 0x00, 0x00, 0x5e, static_cast<uint8_t>(i)});
    ASSERT_EQ(dispatcher_->SetSlot(macs[i], programs[i]->fd()), i);
  }
  for (uint32_t i = 0; i < Dispatcher::kMaxSlots; ++i) {
    EXPECT_EQ(VerdictFor(macs[i]), 100 + i) << "slot " << i;
  }
  for (uint32_t i = 0; i < Dispatcher::kMaxSlots; ++i) {
    EXPECT_EQ(dispatcher_->Counters(macs[i]).packets, 1u) << "slot " << i;
  }
  // Emptying a slot turns its jump back into a fall-through: the frame passes, counted.
  dispatcher_->ClearSlot(macs[17]);
  EXPECT_EQ(VerdictFor(macs[17]), static_cast<uint32_t>(TC_ACT_OK));
  EXPECT_EQ(VerdictFor(macs[18]), 118u);
}

TEST_F(DispatcherTest, TwoMacsInOneBucketEachReachTheirOwnProgram) {
  uint32_t next = 0;
  const MacAddress a = TwoBucketMac(&next);
  const MacAddress b = SamePrimary(a, &next);
  VerdictProgram program_a(101);
  VerdictProgram program_b(102);
  const uint32_t slot_a = dispatcher_->SetSlot(a, program_a.fd());
  const uint32_t slot_b = dispatcher_->SetSlot(b, program_b.fd());
  EXPECT_NE(slot_a, slot_b);
  EXPECT_EQ(dispatcher_->BucketOf(a), Primary(a));
  EXPECT_EQ(dispatcher_->BucketOf(b), Secondary(b)) << "b's primary bucket holds a";

  for (int i = 0; i < 2; ++i) EXPECT_EQ(VerdictFor(a), 101u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(VerdictFor(b), 102u);
  EXPECT_EQ(dispatcher_->Counters(a).packets, 2u);
  EXPECT_EQ(dispatcher_->Counters(b).packets, 3u);
  EXPECT_EQ(dispatcher_->Counters(b).bytes, 3 * FrameTo(b).size());
}

TEST_F(DispatcherTest, UnknownMacWhoseBucketsAreTakenPassesUntouched) {
  uint32_t next = 0;
  const MacAddress a = TwoBucketMac(&next);
  const MacAddress stranger = SamePrimary(a, &next);
  const MacAddress c = FindMac(
      [&](const MacAddress& m) { return Primary(m) == Secondary(stranger) && m != stranger; },
      &next);
  VerdictProgram program_a(101);
  VerdictProgram program_c(103);
  dispatcher_->SetSlot(a, program_a.fd());
  dispatcher_->SetSlot(c, program_c.fd());
  ASSERT_EQ(dispatcher_->BucketOf(a), Primary(stranger));
  ASSERT_EQ(dispatcher_->BucketOf(c), Secondary(stranger));

  // Both buckets the stranger's frames probe hold other MACs: the full MAC decides.
  ExpectPassedUntouched(FrameTo(stranger));
  EchoSpec to_stranger = spec_;
  to_stranger.server_mac = stranger;
  ExpectPassedUntouched(EchoRequest(to_stranger).Build());
  EXPECT_EQ(dispatcher_->Counters(a).packets, 0u);
  EXPECT_EQ(dispatcher_->Counters(c).packets, 0u);
}

TEST_F(DispatcherTest, RemovingOneOfTwoCollidingMacsKeepsTheOtherWorking) {
  uint32_t next = 0;
  const MacAddress a = TwoBucketMac(&next);
  const MacAddress b = SamePrimary(a, &next);
  VerdictProgram program_a(101);
  VerdictProgram program_b(102);
  dispatcher_->SetSlot(a, program_a.fd());
  dispatcher_->SetSlot(b, program_b.fd());
  ASSERT_EQ(VerdictFor(b), 102u);

  // a (in the primary bucket) goes: b is still found, in its secondary bucket.
  dispatcher_->ClearSlot(a);
  EXPECT_EQ(VerdictFor(a), static_cast<uint32_t>(TC_ACT_OK));
  EXPECT_EQ(VerdictFor(b), 102u);
  EXPECT_EQ(dispatcher_->Counters(b).packets, 2u);

  // a comes back (into its free primary bucket, a fresh slot), then b goes: a still works.
  dispatcher_->SetSlot(a, program_a.fd());
  EXPECT_EQ(dispatcher_->BucketOf(a), Primary(a));
  EXPECT_EQ(dispatcher_->Counters(a).packets, 0u);
  dispatcher_->ClearSlot(b);
  EXPECT_EQ(VerdictFor(b), static_cast<uint32_t>(TC_ACT_OK));
  EXPECT_EQ(VerdictFor(a), 101u);
  EXPECT_EQ(dispatcher_->Counters(a).packets, 1u);
}

TEST_F(DispatcherTest, AMovedMacKeepsItsSlotCountersAndProgram) {
  // n's primary bucket holds a, its secondary holds c; a moves to its own secondary bucket.
  uint32_t next = 0;
  const MacAddress n = TwoBucketMac(&next);
  const MacAddress a = SamePrimary(n, &next);
  const MacAddress c = FindMac(
      [&](const MacAddress& m) {
        return Primary(m) == Secondary(n) && Secondary(m) != Primary(n) &&
               Secondary(m) != Secondary(a);
      },
      &next);
  VerdictProgram program_a(101);
  VerdictProgram program_c(103);
  VerdictProgram program_n(104);
  const uint32_t slot_a = dispatcher_->SetSlot(a, program_a.fd());
  dispatcher_->SetSlot(c, program_c.fd());
  EXPECT_EQ(VerdictFor(a), 101u);

  dispatcher_->SetSlot(n, program_n.fd());
  EXPECT_EQ(dispatcher_->BucketOf(n), Primary(n));
  EXPECT_EQ(dispatcher_->BucketOf(a), Secondary(a)) << "a made room";
  EXPECT_EQ(dispatcher_->SlotOf(a), slot_a);
  EXPECT_EQ(VerdictFor(a), 101u);
  EXPECT_EQ(VerdictFor(c), 103u);
  EXPECT_EQ(VerdictFor(n), 104u);
  EXPECT_EQ(dispatcher_->Counters(a).packets, 2u) << "counted before and after the move";
  EXPECT_EQ(dispatcher_->Counters(n).packets, 1u);
}

TEST_F(DispatcherTest, AMacWithNoFreeBucketIsRefusedAndNothingChanges) {
  // n's two buckets each hold a MAC in its secondary bucket (its primary taken by another): none
  // of them can move, so n cannot get a bucket although slots are free.
  uint32_t next = 0;
  const MacAddress n = TwoBucketMac(&next);
  const std::vector<MacAddress> order = MacsBlocking(n, &next);
  std::vector<std::unique_ptr<VerdictProgram>> programs;
  for (uint32_t i = 0; i < order.size(); ++i) {
    programs.push_back(std::make_unique<VerdictProgram>(static_cast<int32_t>(100 + i)));
    ASSERT_EQ(dispatcher_->SetSlot(order[i], programs[i]->fd()), i);
  }
  ASSERT_EQ(dispatcher_->BucketOf(order[1]), Primary(n));
  ASSERT_EQ(dispatcher_->BucketOf(order[3]), Secondary(n));

  VerdictProgram program_n(110);
  EXPECT_THROW(dispatcher_->SetSlot(n, program_n.fd()), SlotUnavailableError);
  EXPECT_FALSE(dispatcher_->SlotOf(n).has_value());
  EXPECT_EQ(VerdictFor(n), static_cast<uint32_t>(TC_ACT_OK)) << "n's frames pass";
  for (uint32_t i = 0; i < order.size(); ++i) EXPECT_EQ(VerdictFor(order[i]), 100 + i);
  // The refused MAC took no slot: the next MAC gets slot 4.
  EXPECT_EQ(dispatcher_->SetSlot({0x02, 0x00, 0x00, 0x00, 0xbf, 0x77}, program_n.fd()), 4u);
}

TEST(MacAddressTest, ParsesAndFormats) {
  EXPECT_EQ(ParseMac("02:00:00:00:01:01"), (MacAddress{0x02, 0, 0, 0, 0x01, 0x01}));
  EXPECT_EQ(ParseMac("0A-bC-00-00-01-FF"), (MacAddress{0x0a, 0xbc, 0, 0, 0x01, 0xff}));
  EXPECT_EQ(FormatMac({0x02, 0xab, 0, 0, 0x01, 0xff}), "02:ab:00:00:01:ff");
  for (const char* bad :
       {"", "02:00:00:00:01", "02:00:00:00:01:011", "02:00:00:00:01:0g", "02.00.00.00.01.01"}) {
    EXPECT_THROW(ParseMac(bad), InputError) << bad;
  }
  EXPECT_TRUE(IsGroupMac(ParseMac("ff:ff:ff:ff:ff:ff")));
  EXPECT_FALSE(IsGroupMac(ParseMac("02:00:00:00:01:01")));
}

}  // namespace
}  // namespace nfb::bpf::testing
