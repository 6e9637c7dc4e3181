// The rewrite with real traffic: a program that redirects to the ingress of another interface, and
// the project's echo responder, both rewritten to redirect out of dom0's vd1, send the packets to
// the sink behind vd1 (counted on the sink's side of the veth pair) and nowhere else.
// Namespaces and addresses: verifier_test_util.h.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <vector>

#include "nfb/bpf/attach.h"
#include "nfb/bpf/test_run.h"
#include "nfb/core/netns.h"
#include "nfb/offload/insn.h"
#include "nfb/offload/verifier.h"
#include "packet_builder.h"
#include "verifier_test_util.h"

namespace nfb::offload::testing {
namespace {

using namespace insn;  // NOLINT(google-build-using-namespace): the instruction builders

using Program = std::vector<bpf_insn>;

constexpr int kFrames = 20;

// A UDP frame from src to dom0's vd0.
bpf::testing::Bytes UdpFrame() {
  return bpf::testing::PacketBuilder()
      .Ethernet(kDom0InMac, kSrcMac)
      .Ipv4(bpf::testing::Ip("198.18.91.2"), bpf::testing::Ip("198.18.91.1"))
      .Udp(40000, 9)
      .Payload(bpf::testing::Bytes(32, 0x5a))
      .Build();
}

class VerifierNetnsTest : public ThreeNamespaces {
 protected:
  bpf::TcIngressAttachment AttachAtDom0(int prog_fd) {
    const NetnsScope in(dom0_ns_);
    return bpf::TcIngressAttachment::Attach(kDom0In, prog_fd);
  }
};

TEST_F(VerifierNetnsTest, IngressRedirectElsewhereBecomesEgressOfTheConfiguredInterface) {
  // bpf_redirect(ifindex of dom0's lo, BPF_F_INGRESS): as written, frames vanish into dom0's lo.
  const int lo = Ifindex(dom0_ns_, "lo");
  const int out = Ifindex(dom0_ns_, kDom0Out);
  ASSERT_GT(lo, 0);
  ASSERT_GT(out, 0);
  const Program original = {Mov64Imm(BPF_REG_1, lo), Mov64Imm(BPF_REG_2, BPF_F_INGRESS),
                            Call(BPF_FUNC_redirect), Exit()};
  const bpf::testing::Bytes frame = UdpFrame();

  {
    const LoadResult as_written = LoadProgram(BPF_PROG_TYPE_SCHED_CLS, original);
    ASSERT_TRUE(as_written.fd.valid()) << as_written.log;
    bpf::TcIngressAttachment attachment = AttachAtDom0(as_written.fd.get());
    const uint64_t sink_before = RxPackets(sink_ns_, kSinkDev);
    SendFrames(src_ns_, kSrcDev, frame, kFrames);
    EXPECT_EQ(RxPackets(sink_ns_, kSinkDev) - sink_before, 0u) << "control: nothing to the sink";
    EXPECT_EQ(RxPackets(src_ns_, kSrcDev), 0u) << "nothing back to the source either";
  }

  const LoadResult rewritten = LoadProgram(BPF_PROG_TYPE_SCHED_CLS, Rewritten(original, out));
  ASSERT_TRUE(rewritten.fd.valid()) << rewritten.log;
  bpf::TcIngressAttachment attachment = AttachAtDom0(rewritten.fd.get());
  const uint64_t sink_before = RxPackets(sink_ns_, kSinkDev);
  SendFrames(src_ns_, kSrcDev, frame, kFrames);
  EXPECT_EQ(WaitRxPackets(sink_ns_, kSinkDev, sink_before + kFrames) - sink_before,
            static_cast<uint64_t>(kFrames))
      << "every frame leaves dom0 through vd1";
  EXPECT_EQ(RxPackets(src_ns_, kSrcDev), 0u);
}

TEST_F(VerifierNetnsTest, CloneRedirectIsForcedOutOfTheConfiguredInterface) {
  // Run in dom0's namespace, where BPF_PROG_TEST_RUN's packet comes from: clone the frame to the
  // ingress of an interface that does not exist. As written, the helper fails (-EINVAL); rewritten,
  // the clone leaves through vd1 and reaches the sink.
  const int out = Ifindex(dom0_ns_, kDom0Out);
  const Program original = {Mov64Reg(BPF_REG_6, BPF_REG_1),  Mov64Reg(BPF_REG_1, BPF_REG_6),
                            Mov64Imm(BPF_REG_2, 0x7ffffff0), Mov64Imm(BPF_REG_3, BPF_F_INGRESS),
                            Call(BPF_FUNC_clone_redirect),   Exit()};
  const LoadResult as_written = LoadProgram(BPF_PROG_TYPE_SCHED_CLS, original);
  ASSERT_TRUE(as_written.fd.valid()) << as_written.log;
  const LoadResult rewritten = LoadProgram(BPF_PROG_TYPE_SCHED_CLS, Rewritten(original, out));
  ASSERT_TRUE(rewritten.fd.valid()) << rewritten.log;

  const bpf::testing::Bytes frame = UdpFrame();
  const NetnsScope in(dom0_ns_);
  const uint64_t sink_before = RxPackets(sink_ns_, kSinkDev);
  EXPECT_EQ(static_cast<int32_t>(bpf::TestRun(as_written.fd.get(), frame).retval), -EINVAL);
  EXPECT_EQ(RxPackets(sink_ns_, kSinkDev), sink_before);
  EXPECT_EQ(bpf::TestRun(rewritten.fd.get(), frame).retval, 0u);
  EXPECT_EQ(WaitRxPackets(sink_ns_, kSinkDev, sink_before + 1), sink_before + 1);
}

TEST_F(VerifierNetnsTest, RewrittenEchoResponderAnswersOnlyThroughTheConfiguredInterface) {
  const LoadedEchoObject echo;
  ASSERT_FALSE(echo.tc_insns().empty());
  {
    // Configured with the interface the pings arrive on: answered as before.
    const LoadResult back =
        LoadProgram(BPF_PROG_TYPE_SCHED_CLS, Rewritten(echo.tc_insns(), Ifindex(dom0_ns_, kDom0In)),
                    "Dual BSD/GPL");
    ASSERT_TRUE(back.fd.valid()) << back.log;
    bpf::TcIngressAttachment attachment = AttachAtDom0(back.fd.get());
    EXPECT_EQ(PingDom0(3), 3);
  }
  // Configured with vd1: the replies go to the sink, the pinger gets none.
  const LoadResult away =
      LoadProgram(BPF_PROG_TYPE_SCHED_CLS, Rewritten(echo.tc_insns(), Ifindex(dom0_ns_, kDom0Out)),
                  "Dual BSD/GPL");
  ASSERT_TRUE(away.fd.valid()) << away.log;
  bpf::TcIngressAttachment attachment = AttachAtDom0(away.fd.get());
  const uint64_t sink_before = RxPackets(sink_ns_, kSinkDev);
  EXPECT_EQ(PingDom0(3), 0);
  EXPECT_EQ(WaitRxPackets(sink_ns_, kSinkDev, sink_before + 3) - sink_before, 3u)
      << "the three replies left through vd1";
}

}  // namespace
}  // namespace nfb::offload::testing
