// The user-space verifier of the XenBPF offload: checks a guest's BPF program before bpfd hands it
// to the kernel, and rewrites what the kernel's verifier allows but a shared host must not.
//
// The kernel verifier proves a program memory-safe and terminating; it does not know that the
// program belongs to one guest among many. So, before the kernel sees it, a guest's program is:
//  - checked structurally (so that the passes below cannot be fooled by malformed bytecode),
//  - rejected if it tail-calls (bpf_tail_call could enter any program in a program array bpfd
//    holds, including other guests'), calls a kfunc, or calls a helper outside an allow-list for
//    tc/XDP network functions,
//  - rewritten so every bpf_redirect / bpf_clone_redirect sends out of the configured interface in
//    the egress direction, whatever interface and direction the program asked for.
// docs/verifier.md describes the rules, the allow-list and the rewrite.
//
// The passes are pure functions over the instruction array: no kernel, no privileges.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nfb/core/error.h"

namespace nfb::offload {

// The longest program a guest may send (the kernel's BPF_MAXINSNS, its limit for unprivileged
// loads). The rewritten program may be a little longer; bpfd loads it with privileges, where
// the kernel's limit is one million instructions.
inline constexpr size_t kMaxGuestInsns = 4096;

struct VerifierConfig {
  // Egress interface forced for bpf_redirect/bpf_clone_redirect. 0 (the default) configures no
  // interface: then a program that calls either helper is rejected.
  int redirect_ifindex = 0;
};

struct VerifierResult {
  std::vector<struct bpf_insn> insns;  // the program to load
  std::vector<std::string> notes;      // one line per rewrite/decision, for bpfd's log
  // insn_map[i]: where a jump to the input's instruction i lands in `insns` (for a rewritten call,
  // the first instruction inserted before it). Lets a loader move BTF func_info/line_info
  // offsets along with the code. Same size as the input.
  std::vector<uint32_t> insn_map;
};

// A program the verifier refuses. what() starts with "insn <index>: " when one instruction of
// the input is to blame (index into the input array, counting both slots of a 64-bit load).
class VerifierError : public nfb::InputError {
 public:
  using InputError::InputError;
};

// Checks `insns` and returns the program to load, with every bpf_redirect/bpf_clone_redirect
// call preceded by instructions that force config.redirect_ifindex and clear BPF_F_INGRESS, and
// every jump, gotol and BPF-to-BPF call offset adjusted so it lands on the same instruction as
// before (a jump to a rewritten call lands on the inserted instructions, so they always run).
// Throws VerifierError if the program is empty, longer than kMaxGuestInsns, malformed (unknown
// opcode or register, broken 64-bit load, jump or call outside the program or into the second half
// of a 64-bit load, no exit, falls off its end), tail-calls, calls a kfunc or a helper outside the
// allow-list, loads a kernel symbol or callback address (BPF_PSEUDO_BTF_ID, BPF_PSEUDO_FUNC), or
// redirects while no interface is configured. Throws InputError for a negative redirect_ifindex.
//
// Map references (64-bit loads of BPF_PSEUDO_MAP_FD/VALUE/IDX/IDX_VALUE) pass through untouched:
// which maps a guest may use is for bpfd to check.
VerifierResult VerifyAndRewrite(std::span<const struct bpf_insn> insns,
                                const VerifierConfig& config);

// One helper a guest program may call.
struct AllowedHelper {
  int32_t id;            // BPF_FUNC_* number
  std::string_view why;  // the reason it is safe for a guest (docs/verifier.md)
};

// The allow-list, sorted by id.
std::span<const AllowedHelper> HelperAllowList();

// "bpf_redirect" for 23, "bpf_tail_call" for 12 ...; "helper #<id>" for numbers this build does
// not know (helpers newer than Linux 6.2; the list has been frozen since, new kernel functions are
// kfuncs).
std::string HelperName(int32_t id);

}  // namespace nfb::offload
