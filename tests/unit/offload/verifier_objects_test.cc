// The verifier over the project's own compiled programs (the ELF files in the build tree), as
// libbpf hands them over after opening: the echo responder passes with its redirect rewritten, the
// dispatcher (which tail-calls) is refused. Opening an ELF file needs no privileges.
#include <bpf/libbpf.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "nf/dispatcher_abi.h"
#include "nfb/bpf/objects.h"
#include "nfb/offload/insn.h"
#include "nfb/offload/verifier.h"

namespace nfb::offload {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::StartsWith;

struct ObjectCloser {
  void operator()(bpf_object* object) const { bpf_object__close(object); }
};
using Object = std::unique_ptr<bpf_object, ObjectCloser>;

Object Open(const char* path) {
  bpf_object* object = bpf_object__open_file(path, nullptr);  // NULL and errno on failure
  if (object == nullptr) ADD_FAILURE() << "cannot open " << path << ": " << std::strerror(errno);
  return Object(object);
}

std::vector<bpf_insn> Insns(bpf_object* object, const char* program_name) {
  const bpf_program* program = bpf_object__find_program_by_name(object, program_name);
  if (program == nullptr) return {};
  const bpf_insn* insns = bpf_program__insns(program);
  return {insns, insns + bpf_program__insn_cnt(program)};
}

// Indices of calls to `helper`.
std::vector<size_t> CallsOf(std::span<const bpf_insn> insns, int32_t helper) {
  std::vector<size_t> found;
  for (size_t i = 0; i < insns.size(); ++i) {
    if (insns[i].code == (BPF_JMP | BPF_CALL) && insns[i].src_reg == 0 && insns[i].imm == helper) {
      found.push_back(i);
    }
  }
  return found;
}

TEST(VerifierObjectsTest, TheEchoResponderPassesWithItsRedirectRewritten) {
  const Object object = Open(bpf::kIcmpEchoObjectPath);
  ASSERT_TRUE(object) << bpf::kIcmpEchoObjectPath;
  const std::vector<bpf_insn> tc = Insns(object.get(), "icmp_echo_tc");
  ASSERT_FALSE(tc.empty());
  ASSERT_EQ(CallsOf(tc, BPF_FUNC_redirect).size(), 1u) << "the responder redirects once";

  const VerifierResult result = VerifyAndRewrite(tc, {.redirect_ifindex = 12});
  ASSERT_EQ(result.insns.size(), tc.size() + 2);
  const std::vector<size_t> calls = CallsOf(result.insns, BPF_FUNC_redirect);
  ASSERT_EQ(calls.size(), 1u);
  const size_t call = calls[0];
  ASSERT_GE(call, 2u);
  EXPECT_EQ(insn::Format(result.insns[call - 2]), "r1 = 12");
  EXPECT_EQ(insn::Format(result.insns[call - 1]), "r2 &= -2");
  EXPECT_THAT(result.notes, Contains(AllOf(HasSubstr("call bpf_redirect#23"),
                                           HasSubstr("egress of ifindex 12"))));
  // It uses only allowed helpers: map lookup, packet loads, pull, redirect.
  EXPECT_THAT(result.notes.front(), HasSubstr("bpf_redirect#23 x1"));

  // The XDP variant answers with XDP_TX and needs no rewrite.
  const std::vector<bpf_insn> xdp = Insns(object.get(), "icmp_echo_xdp");
  ASSERT_FALSE(xdp.empty());
  const VerifierResult xdp_result = VerifyAndRewrite(xdp, {});
  EXPECT_EQ(xdp_result.insns.size(), xdp.size());
  EXPECT_THAT(xdp_result.notes.back(), StartsWith("no rewrite needed"));
}

TEST(VerifierObjectsTest, TheUdpFilterPassesUnchanged) {
  const Object object = Open(bpf::kUdpDropObjectPath);
  ASSERT_TRUE(object) << bpf::kUdpDropObjectPath;
  for (const char* name : {"udp_drop_tc", "udp_drop_xdp"}) {
    SCOPED_TRACE(name);
    const std::vector<bpf_insn> insns = Insns(object.get(), name);
    ASSERT_FALSE(insns.empty());
    // No redirect to pin, so it passes even with no interface to pin it to.
    const VerifierResult result = VerifyAndRewrite(insns, {});
    EXPECT_EQ(result.insns.size(), insns.size());
    EXPECT_THAT(result.notes.back(), StartsWith("no rewrite needed"));
  }
  // Non-linear skbs are read with bpf_skb_load_bytes (allowed), not pulled.
  const std::vector<bpf_insn> tc = Insns(object.get(), "udp_drop_tc");
  EXPECT_EQ(CallsOf(tc, BPF_FUNC_skb_load_bytes).size(), 2u);
  EXPECT_TRUE(CallsOf(tc, BPF_FUNC_skb_pull_data).empty());
}

TEST(VerifierObjectsTest, TheDispatcherIsRefusedForItsTailCall) {
  const Object object = Open(bpf::kDispatcherObjectPath);
  ASSERT_TRUE(object) << bpf::kDispatcherObjectPath;
  const std::vector<bpf_insn> tc = Insns(object.get(), "dispatcher_tc");
  ASSERT_FALSE(tc.empty());
  // One tail-call site per slot (constant indexes, for direct jumps); the first one is refused.
  const std::vector<size_t> tail_calls = CallsOf(tc, BPF_FUNC_tail_call);
  ASSERT_EQ(tail_calls.size(), static_cast<size_t>(DISPATCHER_MAX_SLOTS));
  try {
    VerifyAndRewrite(tc, {.redirect_ifindex = 1});
    ADD_FAILURE() << "the dispatcher was accepted";
  } catch (const VerifierError& e) {
    EXPECT_THAT(e.what(), StartsWith("insn " + std::to_string(tail_calls[0]) +
                                     ": calls "
                                     "bpf_tail_call#12"));
  }
}

}  // namespace
}  // namespace nfb::offload
