// Unit tests of the user-space verifier on crafted bytecode: what it rejects (with the index of the
// instruction to blame), and the exact output of the redirect rewrite, with every jump and call
// checked to land on the instruction it targeted before.
#include "nfb/offload/verifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <array>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "nfb/core/error.h"
#include "nfb/offload/insn.h"

// gtest compares and prints instructions through these (struct bpf_insn is a global C type, so
// they must live in the global namespace for ADL to find them).
bool operator==(const bpf_insn& a, const bpf_insn& b) { return nfb::offload::insn::Equal(a, b); }
void PrintTo(const bpf_insn& insn, std::ostream* os) { *os << nfb::offload::insn::Format(insn); }

namespace nfb::offload {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace insn;  // NOLINT(google-build-using-namespace): the instruction builders

using Program = std::vector<bpf_insn>;

void Append(Program& program, const bpf_insn& one) { program.push_back(one); }
void Append(Program& program, const std::array<bpf_insn, 2>& two) {
  program.insert(program.end(), two.begin(), two.end());
}
void Append(Program& program, const Program& more) {
  program.insert(program.end(), more.begin(), more.end());
}
// Concatenates instructions, two-slot loads and program pieces.
template <typename... Parts>
Program Prog(const Parts&... parts) {
  Program program;
  (Append(program, parts), ...);
  return program;
}

constexpr int kIfindex = 7;
constexpr int32_t kNotIngress = ~static_cast<int32_t>(BPF_F_INGRESS);  // -2
const VerifierConfig kConfig{.redirect_ifindex = kIfindex};

// What the verifier inserts before each call.
const std::array<bpf_insn, 2> kForceRedirect = {Mov64Imm(BPF_REG_1, kIfindex),
                                                Alu64Imm(BPF_AND, BPF_REG_2, kNotIngress)};
const std::array<bpf_insn, 2> kForceCloneRedirect = {Mov64Imm(BPF_REG_2, kIfindex),
                                                     Alu64Imm(BPF_AND, BPF_REG_3, kNotIngress)};

// The message of the VerifierError that VerifyAndRewrite throws, or "" if it accepts.
std::string Rejection(const Program& program, const VerifierConfig& config = kConfig) {
  try {
    VerifyAndRewrite(program, config);
  } catch (const VerifierError& e) {
    return e.what();
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Accepted unchanged

TEST(VerifierTest, AcceptsAProgramWithoutRedirectUnchanged) {
  const Program program =
      Prog(LdMapFd(BPF_REG_1, 5), Mov64Reg(BPF_REG_2, BPF_REG_10), Alu64Imm(BPF_ADD, BPF_REG_2, -4),
           StMem(BPF_W, BPF_REG_10, -4, 0), Call(BPF_FUNC_map_lookup_elem),
           JmpImm(BPF_JEQ, BPF_REG_0, 0, 1), Mov64Imm(BPF_REG_0, 2), Exit());
  const VerifierResult result = VerifyAndRewrite(program, kConfig);
  EXPECT_THAT(result.insns, ElementsAreArray(program));
  ASSERT_EQ(result.insn_map.size(), program.size());
  for (uint32_t i = 0; i < program.size(); ++i) EXPECT_EQ(result.insn_map[i], i);
  EXPECT_THAT(result.notes.front(), HasSubstr("bpf_map_lookup_elem#1 x1"));
  EXPECT_THAT(result.notes.back(), HasSubstr("no rewrite needed: 9 instructions"));
}

TEST(VerifierTest, AcceptsEveryHelperOnTheAllowList) {
  for (const AllowedHelper& helper : HelperAllowList()) {
    EXPECT_EQ(Rejection(Prog(Call(helper.id), Exit())), "") << HelperName(helper.id);
    EXPECT_FALSE(helper.why.empty());
  }
}

TEST(VerifierTest, AcceptsTheLongestProgramAGuestMaySend) {
  Program program(kMaxGuestInsns - 1, Mov64Imm(BPF_REG_0, 0));
  program.push_back(Exit());
  EXPECT_EQ(Rejection(program), "");
}

TEST(VerifierTest, AcceptsLegacyPacketLoadsMayGotoAndAProgramEndingInGoto) {
  const Program program = Prog(Mov64Reg(BPF_REG_6, BPF_REG_1),
                               Make(BPF_LD | BPF_ABS | BPF_H, 0, 0, 0, 12),  // r0 = skb[12]
                               MayGoto(1), Mov64Imm(BPF_REG_0, 1), Ja(1), Exit(), Ja(-2));
  EXPECT_EQ(Rejection(program), "");
}

// ---------------------------------------------------------------------------------------------
// Rejected: tail calls, kfuncs, helpers off the list

TEST(VerifierTest, RejectsATailCallInTheMainProgram) {
  const Program program = Prog(LdMapFd(BPF_REG_2, 4), Mov64Imm(BPF_REG_3, 0),
                               Call(BPF_FUNC_tail_call), Mov64Imm(BPF_REG_0, 0), Exit());
  EXPECT_THAT(Rejection(program), AllOf(StartsWith("insn 3: "), HasSubstr("bpf_tail_call#12")));
}

TEST(VerifierTest, RejectsATailCallInASubprogram) {
  // main: call sub; exit.   sub: r2 = map; r3 = 0; tail_call; r0 = 0; exit
  const Program program =
      Prog(CallSubprog(1), Exit(), LdMapFd(BPF_REG_2, 4), Mov64Imm(BPF_REG_3, 0),
           Call(BPF_FUNC_tail_call), Mov64Imm(BPF_REG_0, 0), Exit());
  EXPECT_THAT(Rejection(program), AllOf(StartsWith("insn 5: "), HasSubstr("tail call")));
}

TEST(VerifierTest, RejectsATailCallEvenInDeadCode) {
  const Program program = Prog(Mov64Imm(BPF_REG_0, 0), Exit(), Call(BPF_FUNC_tail_call), Exit());
  EXPECT_THAT(Rejection(program), StartsWith("insn 2: "));
}

TEST(VerifierTest, RejectsHelpersOffTheAllowListByNameAndNumber) {
  const struct {
    int32_t id;
    const char* name;
  } cases[] = {
      {BPF_FUNC_trace_printk, "bpf_trace_printk#6"},
      {BPF_FUNC_probe_read, "bpf_probe_read#4"},
      {BPF_FUNC_get_current_pid_tgid, "bpf_get_current_pid_tgid#14"},
      {BPF_FUNC_skb_vlan_push, "bpf_skb_vlan_push#18"},
      {BPF_FUNC_perf_event_output, "bpf_perf_event_output#25"},
      {BPF_FUNC_redirect_map, "bpf_redirect_map#51"},
      {BPF_FUNC_fib_lookup, "bpf_fib_lookup#69"},
      {BPF_FUNC_redirect_neigh, "bpf_redirect_neigh#152"},
      {BPF_FUNC_redirect_peer, "bpf_redirect_peer#155"},
      {BPF_FUNC_loop, "bpf_loop#181"},
      {211, "bpf_cgrp_storage_delete#211"},
      {999, "helper #999#999"},
      {-1, "helper #-1#-1"},
  };
  for (const auto& c : cases) {
    const Program program = Prog(Mov64Imm(BPF_REG_0, 0), Call(c.id), Exit());
    EXPECT_THAT(Rejection(program),
                AllOf(StartsWith("insn 1: "), HasSubstr(c.name), HasSubstr("allow-list")))
        << c.name;
  }
}

TEST(VerifierTest, RejectsKfuncCalls) {
  const Program program = Prog(Mov64Imm(BPF_REG_1, 0), CallKfunc(12345), Exit());
  EXPECT_THAT(Rejection(program), AllOf(StartsWith("insn 1: "), HasSubstr("kfunc")));
}

TEST(VerifierTest, RejectsRedirectsWhenNoInterfaceIsConfigured) {
  const Program program =
      Prog(Mov64Imm(BPF_REG_1, 3), Mov64Imm(BPF_REG_2, 0), Call(BPF_FUNC_redirect), Exit());
  EXPECT_THAT(Rejection(program, VerifierConfig{}),
              AllOf(StartsWith("insn 2: "), HasSubstr("no redirect interface")));
  // A program that does not redirect needs no interface.
  EXPECT_EQ(Rejection(Prog(Mov64Imm(BPF_REG_0, 0), Exit()), VerifierConfig{}), "");
}

TEST(VerifierTest, RejectsANegativeInterfaceAsBadConfiguration) {
  EXPECT_THROW(VerifyAndRewrite(Prog(Mov64Imm(BPF_REG_0, 0), Exit()), {.redirect_ifindex = -1}),
               InputError);
}

TEST(VerifierTest, RejectsKernelSymbolAndCallbackAddresses) {
  EXPECT_THAT(
      Rejection(Prog(Mov64Imm(BPF_REG_0, 0), LdImm64(BPF_REG_1, 77, BPF_PSEUDO_BTF_ID), Exit())),
      AllOf(StartsWith("insn 1: "), HasSubstr("BPF_PSEUDO_BTF_ID")));
  EXPECT_THAT(Rejection(Prog(LdImm64(BPF_REG_2, 2, BPF_PSEUDO_FUNC), Mov64Imm(BPF_REG_0, 0), Exit(),
                             Mov64Imm(BPF_REG_0, 0), Exit())),
              AllOf(StartsWith("insn 0: "), HasSubstr("callback")));
}

// ---------------------------------------------------------------------------------------------
// Rejected: malformed

struct MalformedCase {
  const char* name;
  Program program;
  const char* expected;  // start of the message
};

TEST(VerifierTest, RejectsMalformedProgramsNamingTheInstruction) {
  const bpf_insn r0 = Mov64Imm(BPF_REG_0, 0);
  const bpf_insn broken_high = Make(0x18, 0, 0, 0, 0);  // a new ld_imm64 where the high half goes
  const MalformedCase cases[] = {
      {"empty", {}, "empty program"},
      {"4097 instructions", Program(kMaxGuestInsns + 1, Exit()), "insn 4096: program has 4097"},
      {"jump past the end", Prog(JmpImm(BPF_JEQ, BPF_REG_1, 0, 5), r0, Exit()),
       "insn 0: jump to insn 6 is outside the program (insns 0..2)"},
      {"jump to one past the end", Prog(r0, Ja(1), Exit()), "insn 1: jump to insn 3 is outside"},
      {"jump before the start", Prog(r0, Ja(-3), Exit()), "insn 1: jump to insn -1 is outside"},
      {"jmp32 past the end", Prog(Jmp32Imm(BPF_JGT, BPF_REG_1, 1, 100), r0, Exit()),
       "insn 0: jump to insn 101 is outside"},
      {"gotol past the end", Prog(r0, Gotol(1000), Exit()), "insn 1: jump to insn 1002 is outside"},
      {"jump into a 64-bit load",
       Prog(JmpImm(BPF_JEQ, BPF_REG_1, 0, 1), LdImm64(BPF_REG_0, 1), Exit()),
       "insn 0: jump into the middle of the 64-bit load at insn 1"},
      {"backward jump into a 64-bit load", Prog(LdImm64(BPF_REG_0, 1), Ja(-2), Exit()),
       "insn 2: jump into the middle of the 64-bit load at insn 0"},
      {"call past the end", Prog(CallSubprog(2), Exit()), "insn 0: call to insn 3 is outside"},
      {"call into a 64-bit load", Prog(CallSubprog(2), Exit(), LdImm64(BPF_REG_0, 1), Exit()),
       "insn 0: call into the middle of the 64-bit load at insn 2"},
      {"truncated 64-bit load", Prog(r0, Exit(), LdImm64(BPF_REG_0, 1)[0]),
       "insn 2: 64-bit load is truncated"},
      {"64-bit load whose second half is an instruction",
       Prog(LdImm64(BPF_REG_0, 1)[0], Exit(), Exit()),
       "insn 1: second half of the 64-bit load at insn 0"},
      {"64-bit load followed by another", Prog(LdImm64(BPF_REG_0, 1)[0], broken_high, Exit()),
       "insn 1: second half"},
      {"64-bit load of unknown kind", Prog(LdImm64(BPF_REG_0, 1, 9), Exit()),
       "insn 0: 64-bit load of unknown kind (src_reg 9)"},
      {"stray second half", Prog(Make(0, 0, 0, 0, 0), Exit()), "insn 0: unknown load opcode 0x00"},
      {"no exit", Prog(r0, Ja(-2)), "program has no exit"},
      {"falls off the end", Prog(Exit(), r0), "insn 1: program falls off its end"},
      {"unknown ALU op", Prog(Make(BPF_ALU64 | 0xe0 | BPF_K, 0, 0, 0, 0), Exit()),
       "insn 0: unknown ALU opcode 0xe7"},
      {"unknown jump op", Prog(r0, Make(BPF_JMP | 0xf0 | BPF_K, 0, 0, 0, 0), Exit()),
       "insn 1: unknown jump opcode 0xf5"},
      {"32-bit call", Prog(Make(BPF_JMP32 | BPF_CALL, 0, 0, 0, 1), Exit()),
       "insn 0: unknown jump opcode 0x86"},
      {"32-bit exit", Prog(r0, Make(BPF_JMP32 | BPF_EXIT, 0, 0, 0, 0)),
       "insn 1: unknown jump opcode 0x96"},
      {"call of unknown kind", Prog(Make(BPF_JMP | BPF_CALL, 0, 3, 0, 1), Exit()),
       "insn 0: call of unknown kind"},
      {"helper call with offset", Prog(Make(BPF_JMP | BPF_CALL, 0, 0, 1, 1), Exit()),
       "insn 0: helper call with a nonzero offset"},
      {"register 11", Prog(Mov64Imm(11, 0), Exit()), "insn 0: invalid register r11"},
      {"source register 12", Prog(r0, Mov64Reg(BPF_REG_0, 12), Exit()),
       "insn 1: invalid register r12"},
      {"64-bit legacy packet load", Prog(Make(BPF_LD | BPF_ABS | BPF_DW, 0, 0, 0, 0), Exit()),
       "insn 0: unknown load opcode 0x38"},
      {"unknown store mode", Prog(Make(BPF_ST | BPF_ATOMIC | BPF_W, 10, 0, -4, 0), r0, Exit()),
       "insn 0: unknown store opcode 0xc2"},
  };
  for (const MalformedCase& c : cases) {
    EXPECT_THAT(Rejection(c.program), StartsWith(c.expected)) << c.name;
  }
}

// ---------------------------------------------------------------------------------------------
// Rewritten: exact output

TEST(VerifierTest, RewritesRedirectToTheConfiguredInterfaceInTheEgressDirection) {
  const Program program = Prog(Mov64Imm(BPF_REG_1, 42), Mov64Imm(BPF_REG_2, BPF_F_INGRESS),
                               Call(BPF_FUNC_redirect), Exit());
  const VerifierResult result = VerifyAndRewrite(program, kConfig);
  const Program expected = Prog(
      Mov64Imm(BPF_REG_1, 42), Mov64Imm(BPF_REG_2, BPF_F_INGRESS), Mov64Imm(BPF_REG_1, kIfindex),
      Alu64Imm(BPF_AND, BPF_REG_2, kNotIngress), Call(BPF_FUNC_redirect), Exit());
  EXPECT_THAT(result.insns, ElementsAreArray(expected));
  EXPECT_THAT(result.insn_map, ElementsAreArray<uint32_t>({0, 1, 2, 5}));
  EXPECT_THAT(result.notes, ::testing::Contains(AllOf(
                                StartsWith("insn 2 (now 4): call bpf_redirect#23"),
                                HasSubstr("'r1 = 7' and 'r2 &= -2'"), HasSubstr("ifindex 7"))));
  EXPECT_THAT(result.notes.back(), HasSubstr("rewritten: 4 -> 6 instructions"));
}

TEST(VerifierTest, RewritesCloneRedirectArgumentsTwoAndThree) {
  const Program program = Prog(Mov64Reg(BPF_REG_6, BPF_REG_1), Mov64Reg(BPF_REG_1, BPF_REG_6),
                               Mov64Imm(BPF_REG_2, 99), Mov64Imm(BPF_REG_3, BPF_F_INGRESS),
                               Call(BPF_FUNC_clone_redirect), Mov64Imm(BPF_REG_0, 0), Exit());
  const Program expected =
      Prog(Mov64Reg(BPF_REG_6, BPF_REG_1), Mov64Reg(BPF_REG_1, BPF_REG_6), Mov64Imm(BPF_REG_2, 99),
           Mov64Imm(BPF_REG_3, BPF_F_INGRESS), kForceCloneRedirect[0], kForceCloneRedirect[1],
           Call(BPF_FUNC_clone_redirect), Mov64Imm(BPF_REG_0, 0), Exit());
  EXPECT_THAT(VerifyAndRewrite(program, kConfig).insns, ElementsAreArray(expected));
}

TEST(VerifierTest, MasksFlagsTheProgramComputed) {
  // r2 = skb->mark (unknown at verification time): the AND clears BPF_F_INGRESS whatever it holds.
  const Program program = Prog(LdxMem(BPF_W, BPF_REG_2, BPF_REG_1, offsetof(__sk_buff, mark)),
                               Alu64Imm(BPF_AND, BPF_REG_2, 1), Mov64Imm(BPF_REG_1, 3),
                               Call(BPF_FUNC_redirect), Exit());
  const VerifierResult result = VerifyAndRewrite(program, kConfig);
  ASSERT_EQ(result.insns.size(), 7u);
  EXPECT_EQ(result.insns[3], kForceRedirect[0]);
  EXPECT_EQ(result.insns[4], kForceRedirect[1]);
  EXPECT_EQ(Format(result.insns[4]), "r2 &= -2");
  EXPECT_EQ(result.insns[5], Call(BPF_FUNC_redirect));
}

TEST(VerifierTest, RewritesTwoRedirectsAndTheJumpsBetweenThem) {
  // if r1 == 0 goto B; A: redirect(1, ingress); exit; B: redirect(2, 0); exit
  const Program program = Prog(
      /*0*/ JmpImm(BPF_JEQ, BPF_REG_1, 0, 4),
      /*1*/ Mov64Imm(BPF_REG_1, 1), Mov64Imm(BPF_REG_2, BPF_F_INGRESS),
      /*3*/ Call(BPF_FUNC_redirect), Exit(),
      /*5*/ Mov64Imm(BPF_REG_1, 2), Mov64Imm(BPF_REG_2, 0),
      /*7*/ Call(BPF_FUNC_redirect), Exit());
  const Program expected = Prog(
      /*0*/ JmpImm(BPF_JEQ, BPF_REG_1, 0, 6),
      /*1*/ Mov64Imm(BPF_REG_1, 1), Mov64Imm(BPF_REG_2, BPF_F_INGRESS),
      /*3*/ kForceRedirect[0], kForceRedirect[1], Call(BPF_FUNC_redirect), Exit(),
      /*7*/ Mov64Imm(BPF_REG_1, 2), Mov64Imm(BPF_REG_2, 0),
      /*9*/ kForceRedirect[0], kForceRedirect[1], Call(BPF_FUNC_redirect), Exit());
  const VerifierResult result = VerifyAndRewrite(program, kConfig);
  EXPECT_THAT(result.insns, ElementsAreArray(expected));
  EXPECT_THAT(result.notes, ::testing::Contains(StartsWith("insn 0 (now 0): 'if r1 == 0x0 goto +4' "
                                                           "-> 'if r1 == 0x0 goto +6'")));
}

TEST(VerifierTest, AJumpToTheCallLandsOnTheInsertedInstructions) {
  // r1 = 5; r2 = 1; if r3 > 10 goto CALL; r1 = 6; CALL: redirect; exit
  const Program program =
      Prog(Mov64Imm(BPF_REG_1, 5), Mov64Imm(BPF_REG_2, 1), JmpImm(BPF_JGT, BPF_REG_3, 10, 1),
           Mov64Imm(BPF_REG_1, 6), Call(BPF_FUNC_redirect), Exit());
  const VerifierResult result = VerifyAndRewrite(program, kConfig);
  ASSERT_EQ(result.insns.size(), 8u);
  EXPECT_EQ(result.insns[2], JmpImm(BPF_JGT, BPF_REG_3, 10, 1)) << "jumps to the first inserted";
  EXPECT_EQ(result.insns[4], kForceRedirect[0]);
  EXPECT_EQ(result.insn_map[4], 4u);
}

// ---------------------------------------------------------------------------------------------
// Jumps over the insertion point: checked against old->new indices computed here, independently.

struct Target {
  size_t from;
  int64_t to;
};

// Jump and call targets of a program, by their own encoding.
std::vector<Target> Targets(const Program& program) {
  std::vector<Target> targets;
  for (size_t i = 0; i < program.size(); ++i) {
    const bpf_insn& x = program[i];
    if (IsLdImm64(x)) {
      ++i;
      continue;
    }
    const uint8_t cls = Class(x.code), op = Op(x.code);
    if (cls != BPF_JMP && cls != BPF_JMP32) continue;
    if (op == BPF_EXIT || (op == BPF_CALL && x.src_reg != BPF_PSEUDO_CALL)) continue;
    const int64_t rel = op == BPF_CALL || (cls == BPF_JMP32 && op == BPF_JA) ? x.imm : x.off;
    targets.push_back({i, static_cast<int64_t>(i) + 1 + rel});
  }
  return targets;
}

bool IsRedirectCall(const bpf_insn& x) {
  return x.code == (BPF_JMP | BPF_CALL) && x.src_reg == 0 &&
         (x.imm == BPF_FUNC_redirect || x.imm == BPF_FUNC_clone_redirect);
}

// Checks `result` against `program`: every original instruction at its new place (i plus two per
// redirect at or before i), unchanged unless it is a jump; every jump and call landing where its
// original target now is (for a redirect call: on the first inserted instruction).
void ExpectSameControlFlow(const Program& program, const VerifierResult& result) {
  std::vector<size_t> new_pos(program.size()), lands(program.size());
  size_t redirects = 0;
  for (size_t i = 0; i < program.size(); ++i) {
    lands[i] = i + 2 * redirects;
    if (IsRedirectCall(program[i])) ++redirects;
    new_pos[i] = i + 2 * redirects;
  }
  ASSERT_EQ(result.insns.size(), program.size() + 2 * redirects);
  EXPECT_THAT(result.insn_map, ElementsAreArray(std::vector<uint32_t>(lands.begin(), lands.end())));

  std::vector<bool> is_jump(program.size());
  const std::vector<Target> old_targets = Targets(program);
  for (const Target& t : old_targets) is_jump[t.from] = true;
  for (size_t i = 0; i < program.size(); ++i) {
    if (!is_jump[i]) {
      EXPECT_EQ(result.insns[new_pos[i]], program[i]) << "insn " << i;
    }
  }
  std::vector<Target> new_targets = Targets(result.insns);
  ASSERT_EQ(new_targets.size(), old_targets.size());
  for (size_t k = 0; k < old_targets.size(); ++k) {
    const Target& before = old_targets[k];
    const Target& after = new_targets[k];
    EXPECT_EQ(after.from, new_pos[before.from]);
    EXPECT_EQ(after.to, static_cast<int64_t>(lands[before.to]))
        << "jump at insn " << before.from << " to insn " << before.to;
    EXPECT_EQ(result.insns[after.to].code, IsRedirectCall(program[before.to])
                                               ? kForceRedirect[0].code
                                               : program[before.to].code);
  }
}

TEST(VerifierTest, JumpsOverTheInsertionPointLandWhereTheyDidBefore) {
  const Program program = Prog(
      /* 0*/ Mov64Reg(BPF_REG_6, BPF_REG_1),
      /* 1*/ Mov64Imm(BPF_REG_7, 0),
      /* 2*/ JmpImm(BPF_JEQ, BPF_REG_6, 0, 9),          // forward over the call, to 12
      /* 3*/ Jmp32Imm(BPF_JGT, BPF_REG_7, 100, 5),      // JMP32 forward onto the call (9)
      /* 4*/ LdImm64(BPF_REG_2, 0x100000000ull),        // 4-5: a two-slot load before the call
      /* 6*/ JmpReg(BPF_JNE, BPF_REG_7, BPF_REG_6, 2),  // forward, to 9 (the call)
      /* 7*/ Mov64Imm(BPF_REG_1, 3),
      /* 8*/ Mov64Imm(BPF_REG_2, 0),
      /* 9*/ Call(BPF_FUNC_redirect),
      /*10*/ Alu64Imm(BPF_ADD, BPF_REG_7, 1),
      /*11*/ Jmp32Imm(BPF_JLT, BPF_REG_7, 3, -9),  // JMP32 backward over the call, to 3
      /*12*/ JmpImm(BPF_JGT, BPF_REG_7, 1, -3),    // backward onto the call's successor (10)
      /*13*/ Gotol(1),                             // gotol after the call: offset stays
      /*14*/ Mov64Imm(BPF_REG_0, 1),
      /*15*/ Ja(-7),  // backward onto the call (9)
      /*16*/ Exit());
  const VerifierResult result = VerifyAndRewrite(program, kConfig);
  ExpectSameControlFlow(program, result);
  EXPECT_EQ(result.insns[2].off, 11) << "forward over the call";
  EXPECT_EQ(result.insns[3].off, 5) << "onto the call: lands on the inserted instructions";
  EXPECT_EQ(result.insns[13].off, -11) << "JMP32 backward over the call";
  EXPECT_EQ(result.insns[15].imm, 1) << "gotol after the call";
  EXPECT_EQ(result.insns[17].off, -9) << "backward onto the call";
}

TEST(VerifierTest, BpfToBpfCallsAcrossTheInsertionLandOnTheSameSubprogram) {
  // main: call redirector; call after; exit.  redirector (3): starts with the redirect call.
  // after (5): gotol; a call back to the redirector; r0 = 0; exit.
  const Program program = Prog(
      /*0*/ CallSubprog(2),  // -> 3, the subprogram that starts with the redirect call
      /*1*/ CallSubprog(3),  // -> 5, across the insertion
      /*2*/ Exit(),
      /*3*/ Call(BPF_FUNC_redirect),
      /*4*/ Exit(),
      /*5*/ Gotol(0),
      /*6*/ CallSubprog(-4),  // -> 3, backward onto the redirect subprogram
      /*7*/ Mov64Imm(BPF_REG_0, 0),
      /*8*/ Exit());
  const VerifierResult result = VerifyAndRewrite(program, kConfig);
  ExpectSameControlFlow(program, result);
  EXPECT_EQ(result.insns[0].imm, 2) << "the subprogram now starts at the inserted instructions";
  EXPECT_EQ(result.insns[1].imm, 5);
  EXPECT_EQ(result.insns[8].imm, -6);
}

TEST(VerifierTest, TwoRedirectsInBranchesKeepEveryTarget) {
  const Program program = Prog(
      /*0*/ JmpImm(BPF_JSET, BPF_REG_1, 1, 4),
      /*1*/ Mov64Imm(BPF_REG_1, 1), Mov64Imm(BPF_REG_2, 1),
      /*3*/ Call(BPF_FUNC_redirect),
      /*4*/ Ja(3),
      /*5*/ Mov64Imm(BPF_REG_2, 1),
      /*6*/ Mov64Imm(BPF_REG_3, 0),
      /*7*/ Call(BPF_FUNC_clone_redirect),
      /*8*/ Jmp32Reg(BPF_JSLE, BPF_REG_0, BPF_REG_1, -6),
      /*9*/ Exit());
  ExpectSameControlFlow(program, VerifyAndRewrite(program, kConfig));
}

TEST(VerifierTest, TheLongestProgramWithRedirectsEverywhereStillRewrites) {
  // 4096 instructions: a jump from the start to the end over 1364 redirect calls.
  Program program{Ja(kMaxGuestInsns - 3)};
  while (program.size() < kMaxGuestInsns - 2) {
    Append(program, Prog(Mov64Imm(BPF_REG_2, 0), Mov64Imm(BPF_REG_1, 1), Call(BPF_FUNC_redirect)));
  }
  program.resize(kMaxGuestInsns - 2);
  Append(program, Prog(Ja(-static_cast<int16_t>(kMaxGuestInsns - 2)), Exit()));
  program[0] = Ja(static_cast<int16_t>(kMaxGuestInsns - 3));
  ASSERT_EQ(program.size(), kMaxGuestInsns);
  ExpectSameControlFlow(program, VerifyAndRewrite(program, kConfig));
}

// ---------------------------------------------------------------------------------------------
// Names, formatting, documentation

TEST(VerifierTest, NamesHelpers) {
  EXPECT_EQ(HelperName(BPF_FUNC_redirect), "bpf_redirect");
  EXPECT_EQ(HelperName(BPF_FUNC_tail_call), "bpf_tail_call");
  EXPECT_EQ(HelperName(BPF_FUNC_unspec), "bpf_unspec");
  EXPECT_EQ(HelperName(211), "bpf_cgrp_storage_delete");
  EXPECT_EQ(HelperName(212), "helper #212");
}

TEST(VerifierTest, FormatsInstructionsLikeTheKernelLog) {
  EXPECT_EQ(Format(Mov64Imm(BPF_REG_1, 7)), "r1 = 7");
  EXPECT_EQ(Format(Mov32Imm(BPF_REG_1, 7)), "w1 = 7");
  EXPECT_EQ(Format(Alu64Imm(BPF_AND, BPF_REG_2, -2)), "r2 &= -2");
  EXPECT_EQ(Format(Call(BPF_FUNC_redirect)), "call bpf_redirect#23");
  EXPECT_EQ(Format(CallSubprog(-4)), "call pc-4");
  EXPECT_EQ(Format(Jmp32Imm(BPF_JGT, BPF_REG_1, 100, 3)), "if w1 > 0x64 goto +3");
  EXPECT_EQ(Format(JmpReg(BPF_JNE, BPF_REG_1, BPF_REG_2, -1)), "if r1 != r2 goto -1");
  EXPECT_EQ(Format(LdMapFd(BPF_REG_1, 5)[0]), "r1 = map[fd:5]");
  EXPECT_EQ(Format(LdxMem(BPF_W, BPF_REG_0, BPF_REG_1, 4)), "r0 = *(u32 *)(r1 +4)");
  EXPECT_EQ(Format(Exit()), "exit");
}

TEST(VerifierTest, EveryAllowedHelperIsDocumented) {
  std::ifstream file(std::string(NFB_SOURCE_DIR) + "/docs/verifier.md");
  ASSERT_TRUE(file) << "docs/verifier.md";
  std::stringstream text;
  text << file.rdbuf();
  for (const AllowedHelper& helper : HelperAllowList()) {
    EXPECT_THAT(text.str(), HasSubstr("`" + HelperName(helper.id) + "`")) << "not in the doc";
  }
}

}  // namespace
}  // namespace nfb::offload
