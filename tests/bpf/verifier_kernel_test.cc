// The verifier's output against this kernel's verifier: crafted programs (straight, branches
// onto and over the call with JMP, JMP32 and gotol, a bounded loop jumping back over it, a
// subprogram that starts with the call, two redirects, a map lookup before it) and the project's
// own echo responder are loaded before and after the rewrite, both must be accepted, and
// BPF_PROG_TEST_RUN must give the expected verdict. The thesis's rewritten programs hit a kernel
// verifier bug; these tests are how we know ours do not, on the kernel they run on.
#include <bpf/bpf.h>
#include <fmt/core.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "nfb/bpf/test_run.h"
#include "nfb/offload/insn.h"
#include "nfb/offload/verifier.h"
#include "packet_builder.h"
#include "verifier_test_util.h"

namespace nfb::offload::testing {
namespace {

using ::testing::HasSubstr;
using namespace insn;  // NOLINT(google-build-using-namespace): the instruction builders

using Program = std::vector<bpf_insn>;

void Append(Program& program, const bpf_insn& one) { program.push_back(one); }
void Append(Program& program, const std::array<bpf_insn, 2>& two) {
  program.insert(program.end(), two.begin(), two.end());
}
template <typename... Parts>
Program Prog(const Parts&... parts) {
  Program program;
  (Append(program, parts), ...);
  return program;
}

std::string Listing(const Program& program) {
  std::string out;
  for (size_t i = 0; i < program.size(); ++i) {
    out += fmt::format("{:4}: {}\n", i, Format(program[i]));
  }
  return out;
}

constexpr int16_t kLen = offsetof(__sk_buff, len);
constexpr int16_t kMark = offsetof(__sk_buff, mark);
// Any interface will do for BPF_PROG_TEST_RUN: bpf_redirect only records it.
constexpr int kIfindex = 1;

bpf::testing::Bytes Request() {
  return bpf::testing::EchoRequest(bpf::testing::EchoSpec{}).Build();
}

struct KernelCase {
  const char* name;
  std::function<Program(int map_fd)> program;
  uint32_t verdict_before;  // on an echo request frame (98 bytes)
  uint32_t verdict_after;
};

const KernelCase kCases[] = {
    {"straight",
     [](int) {
       return Prog(Mov64Imm(BPF_REG_1, 99), Mov64Imm(BPF_REG_2, BPF_F_INGRESS),
                   Call(BPF_FUNC_redirect), Exit());
     },
     TC_ACT_REDIRECT, TC_ACT_REDIRECT},
    {"JMP onto the call, JMP32 over it",
     [](int) {
       return Prog(/* 0*/ Mov64Reg(BPF_REG_6, BPF_REG_1),
                   /* 1*/ LdxMem(BPF_W, BPF_REG_7, BPF_REG_6, kLen),
                   /* 2*/ Mov64Imm(BPF_REG_0, TC_ACT_OK),
                   /* 3*/ Mov64Imm(BPF_REG_1, 5),
                   /* 4*/ Mov64Imm(BPF_REG_2, BPF_F_INGRESS),
                   /* 5*/ Jmp32Imm(BPF_JLT, BPF_REG_7, 20, 4),  // over the call, to 10
                   /* 6*/ JmpImm(BPF_JGT, BPF_REG_7, 60, 2),    // onto the call (9)
                   /* 7*/ Mov64Imm(BPF_REG_1, 6),
                   /* 8*/ Mov64Imm(BPF_REG_2, 0),
                   /* 9*/ Call(BPF_FUNC_redirect),
                   /*10*/ Exit());
     },
     TC_ACT_REDIRECT, TC_ACT_REDIRECT},
    {"bounded loop jumping back over the call",
     [](int) {
       return Prog(/*0*/ Mov64Imm(BPF_REG_7, 0),
                   /*1*/ Mov64Imm(BPF_REG_1, 3),
                   /*2*/ Mov64Imm(BPF_REG_2, BPF_F_INGRESS),
                   /*3*/ Call(BPF_FUNC_redirect),
                   /*4*/ Alu64Imm(BPF_ADD, BPF_REG_7, 1),
                   /*5*/ JmpImm(BPF_JLT, BPF_REG_7, 3, -5),  // back to 1
                   /*6*/ Exit());
     },
     TC_ACT_REDIRECT, TC_ACT_REDIRECT},
    {"gotol over the call",
     [](int) {
       return Prog(/*0*/ Mov64Reg(BPF_REG_6, BPF_REG_1),
                   /*1*/ LdxMem(BPF_W, BPF_REG_7, BPF_REG_6, kLen),
                   /*2*/ Mov64Imm(BPF_REG_1, 3),
                   /*3*/ Mov64Imm(BPF_REG_2, BPF_F_INGRESS),
                   /*4*/ Mov64Imm(BPF_REG_0, TC_ACT_OK),
                   /*5*/ JmpImm(BPF_JLT, BPF_REG_7, 1000, 1),  // to 7
                   /*6*/ Gotol(2),                             // over the call, to 9
                   /*7*/ Mov64Imm(BPF_REG_2, 0),
                   /*8*/ Call(BPF_FUNC_redirect),
                   /*9*/ Exit());
     },
     TC_ACT_REDIRECT, TC_ACT_REDIRECT},
    {"flags computed from skb->mark",
     [](int) {
       return Prog(LdxMem(BPF_W, BPF_REG_2, BPF_REG_1, kMark),
                   Alu64Imm(BPF_OR, BPF_REG_2, BPF_F_INGRESS), Mov64Imm(BPF_REG_1, 3),
                   Call(BPF_FUNC_redirect), Exit());
     },
     TC_ACT_REDIRECT, TC_ACT_REDIRECT},
    {"flags bpf_redirect refuses stay refused",
     [](int) {
       return Prog(Mov64Imm(BPF_REG_1, 3), Mov64Imm(BPF_REG_2, BPF_F_INGRESS | 2),
                   Call(BPF_FUNC_redirect), Exit());
     },
     TC_ACT_SHOT, TC_ACT_SHOT},
    {"subprogram that starts with the call",
     [](int) {
       return Prog(/*0*/ Mov64Imm(BPF_REG_1, 5),
                   /*1*/ Mov64Imm(BPF_REG_2, BPF_F_INGRESS),
                   /*2*/ CallSubprog(1),  // to 4
                   /*3*/ Exit(),
                   /*4*/ Call(BPF_FUNC_redirect),
                   /*5*/ Exit());
     },
     TC_ACT_REDIRECT, TC_ACT_REDIRECT},
    {"two redirects",
     [](int) {
       return Prog(/* 0*/ Mov64Reg(BPF_REG_6, BPF_REG_1),
                   /* 1*/ LdxMem(BPF_W, BPF_REG_7, BPF_REG_6, kLen),
                   /* 2*/ JmpImm(BPF_JGT, BPF_REG_7, 60, 4),  // to 7
                   /* 3*/ Mov64Imm(BPF_REG_1, 1),
                   /* 4*/ Mov64Imm(BPF_REG_2, BPF_F_INGRESS),
                   /* 5*/ Call(BPF_FUNC_redirect),
                   /* 6*/ Exit(),
                   /* 7*/ Mov64Imm(BPF_REG_1, 2),
                   /* 8*/ Mov64Imm(BPF_REG_2, 0),
                   /* 9*/ Call(BPF_FUNC_redirect),
                   /*10*/ Exit());
     },
     TC_ACT_REDIRECT, TC_ACT_REDIRECT},
    {"map lookup, flags from the map value, jump over the call",
     [](int map_fd) {
       return Prog(/* 0*/ StMem(BPF_W, BPF_REG_10, -4, 0),
                   /* 1*/ Mov64Reg(BPF_REG_2, BPF_REG_10),
                   /* 2*/ Alu64Imm(BPF_ADD, BPF_REG_2, -4),
                   /* 3*/ LdMapFd(BPF_REG_1, map_fd),
                   /* 5*/ Call(BPF_FUNC_map_lookup_elem),
                   /* 6*/ JmpImm(BPF_JEQ, BPF_REG_0, 0, 3),  // over the call, to 10 (r0 = 0)
                   /* 7*/ LdxMem(BPF_W, BPF_REG_2, BPF_REG_0, 0),
                   /* 8*/ Mov64Imm(BPF_REG_1, 3),
                   /* 9*/ Call(BPF_FUNC_redirect),
                   /*10*/ Exit());
     },
     TC_ACT_REDIRECT, TC_ACT_REDIRECT},
};

class VerifierKernelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NFB_SKIP_UNLESS_ROOT();
    // One u32 element holding BPF_F_INGRESS, for the case that takes its flags from a map.
    map_ = Fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "nfb_verif_t", 4, 4, 1, nullptr));
    ASSERT_TRUE(map_.valid());
    const uint32_t key = 0, value = BPF_F_INGRESS;
    ASSERT_EQ(bpf_map_update_elem(map_.get(), &key, &value, BPF_ANY), 0);
  }
  Fd map_;
};

TEST_F(VerifierKernelTest, RewrittenProgramsAreAcceptedAndRedirect) {
  const bpf::testing::Bytes frame = Request();
  for (const KernelCase& c : kCases) {
    SCOPED_TRACE(c.name);
    const Program original = c.program(map_.get());
    const LoadResult before = LoadProgram(BPF_PROG_TYPE_SCHED_CLS, original);
    ASSERT_TRUE(before.fd.valid()) << "the test program itself is wrong:\n"
                                   << Listing(original) << before.log;
    const VerifierResult result = VerifyAndRewrite(original, {.redirect_ifindex = kIfindex});
    ASSERT_GT(result.insns.size(), original.size());
    const LoadResult after = LoadProgram(BPF_PROG_TYPE_SCHED_CLS, result.insns);
    ASSERT_TRUE(after.fd.valid()) << "the kernel refused the rewritten program (" << after.error
                                  << "):\n"
                                  << Listing(result.insns) << after.log;
    EXPECT_EQ(bpf::TestRun(before.fd.get(), frame).retval, c.verdict_before);
    EXPECT_EQ(bpf::TestRun(after.fd.get(), frame).retval, c.verdict_after);
  }
}

TEST_F(VerifierKernelTest, XdpRedirectWithIngressFlagIsRepairedNotAborted) {
  // XDP's bpf_redirect aborts on any flag; BPF_F_INGRESS cleared, the redirect goes through.
  const Program original = Prog(Mov64Imm(BPF_REG_1, 99), Mov64Imm(BPF_REG_2, BPF_F_INGRESS),
                                Call(BPF_FUNC_redirect), Exit());
  const LoadResult before = LoadProgram(BPF_PROG_TYPE_XDP, original);
  ASSERT_TRUE(before.fd.valid()) << before.log;
  const LoadResult after = LoadProgram(BPF_PROG_TYPE_XDP, Rewritten(original, kIfindex));
  ASSERT_TRUE(after.fd.valid()) << after.log;
  EXPECT_EQ(bpf::TestRun(before.fd.get(), Request()).retval, XDP_ABORTED);
  EXPECT_EQ(bpf::TestRun(after.fd.get(), Request()).retval, XDP_REDIRECT);
}

TEST_F(VerifierKernelTest, APointerPassedAsFlagsFailsClosed) {
  // Root may pass any value as flags, a pointer included; masking a pointer is prohibited, so the
  // rewritten program is refused by the kernel rather than run with unmasked flags.
  const Program original =
      Prog(Mov64Reg(BPF_REG_2, BPF_REG_1), Mov64Imm(BPF_REG_1, 3), Call(BPF_FUNC_redirect), Exit());
  const LoadResult before = LoadProgram(BPF_PROG_TYPE_SCHED_CLS, original);
  ASSERT_TRUE(before.fd.valid()) << before.log;
  const LoadResult after = LoadProgram(BPF_PROG_TYPE_SCHED_CLS, Rewritten(original, kIfindex));
  EXPECT_FALSE(after.fd.valid());
  EXPECT_THAT(after.log, HasSubstr("pointer prohibited"));
}

TEST_F(VerifierKernelTest, TheEchoResponderRewrittenStillAnswers) {
  const LoadedEchoObject echo;
  const Program& loaded = echo.tc_insns();
  ASSERT_FALSE(loaded.empty());

  const VerifierResult result = VerifyAndRewrite(loaded, {.redirect_ifindex = kIfindex});
  ASSERT_EQ(result.insns.size(), loaded.size() + 2);
  const LoadResult rewritten = LoadProgram(BPF_PROG_TYPE_SCHED_CLS, result.insns, "Dual BSD/GPL");
  ASSERT_TRUE(rewritten.fd.valid()) << rewritten.log;

  const bpf::testing::EchoSpec spec;
  const bpf::TestRunResult run =
      bpf::TestRun(rewritten.fd.get(), bpf::testing::EchoRequest(spec).Build());
  EXPECT_EQ(run.retval, static_cast<uint32_t>(TC_ACT_REDIRECT));
  EXPECT_EQ(run.packet, bpf::testing::EchoReply(spec).Build());
  // Anything else still passes.
  EXPECT_EQ(bpf::TestRun(rewritten.fd.get(), bpf::testing::EchoReply(spec).Build()).retval,
            static_cast<uint32_t>(TC_ACT_OK));
}

}  // namespace
}  // namespace nfb::offload::testing
