// The verifier's passes: decode and check structure, apply the call policy, rewrite redirects.
#include "nfb/offload/verifier.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "nfb/offload/insn.h"

namespace nfb::offload {
namespace {

using insn::Class;
using insn::Mode;
using insn::Op;
using insn::Size;

[[noreturn]] void Reject(size_t index, const std::string& why) {
  throw VerifierError(fmt::format("insn {}: {}", index, why));
}

enum class Kind {
  kPlain,        // no control flow: ALU, loads, stores
  kLdImm64,      // first slot of a 64-bit load
  kLdImm64High,  // its second slot, not an instruction of its own
  kJump,         // goto, conditional jumps, may_goto: target = pc + 1 + off
  kGotol,        // BPF_JMP32 | BPF_JA: target = pc + 1 + imm
  kHelperCall,   // imm = BPF_FUNC_* number
  kSubprogCall,  // BPF-to-BPF call: target = pc + 1 + imm
  kKfuncCall,
  kExit,
};

struct Decoded {
  Kind kind = Kind::kPlain;
  size_t target = 0;  // kJump, kGotol, kSubprogCall
};

void CheckRegisters(const bpf_insn& insn, size_t index, bool check_src) {
  if (insn.dst_reg > insn::kMaxRegister)
    Reject(index, fmt::format("invalid register r{}", insn.dst_reg));
  if (check_src && insn.src_reg > insn::kMaxRegister) {
    Reject(index, fmt::format("invalid register r{}", insn.src_reg));
  }
}

std::string Unknown(const char* what, const bpf_insn& insn) {
  return fmt::format("unknown {} opcode 0x{:02x}", what, insn.code);
}

// Checks the opcode and registers of one instruction (for a 64-bit load, of its first slot) and
// says what it is. Anything the kernel of today does not define is refused: an encoding this pass
// does not understand could be control flow it would fail to adjust.
Kind Classify(const bpf_insn& insn, size_t index) {
  const uint8_t code = insn.code;
  const uint8_t op = Op(code);
  switch (Class(code)) {
    case BPF_ALU:
    case BPF_ALU64:
      if (op > BPF_END) Reject(index, Unknown("ALU", insn));
      CheckRegisters(insn, index, true);
      return Kind::kPlain;
    case BPF_JMP:
    case BPF_JMP32: {
      const bool narrow = Class(code) == BPF_JMP32;
      if (op == BPF_CALL || op == BPF_EXIT || op == insn::kJcond) {
        if (narrow) Reject(index, Unknown("jump", insn));
      } else if (op > BPF_JSLE) {
        Reject(index, Unknown("jump", insn));
      }
      if (op == BPF_EXIT) return Kind::kExit;
      if (op == BPF_CALL) {
        if (insn.dst_reg != 0) Reject(index, "call with a destination register");
        switch (insn.src_reg) {
          case 0:
            if (insn.off != 0) Reject(index, "helper call with a nonzero offset field");
            return Kind::kHelperCall;
          case BPF_PSEUDO_CALL:
            if (insn.off != 0) Reject(index, "BPF-to-BPF call with a nonzero offset field");
            return Kind::kSubprogCall;
          case BPF_PSEUDO_KFUNC_CALL:
            return Kind::kKfuncCall;
          default:
            Reject(index, fmt::format("call of unknown kind (src_reg {})", insn.src_reg));
        }
      }
      CheckRegisters(insn, index, true);
      return narrow && op == BPF_JA ? Kind::kGotol : Kind::kJump;
    }
    case BPF_LD:
      if (insn::IsLdImm64(insn)) return Kind::kLdImm64;
      // Legacy packet loads (LD_ABS, LD_IND): still valid for tc programs.
      if ((Mode(code) != BPF_ABS && Mode(code) != BPF_IND) || Size(code) == BPF_DW) {
        Reject(index, Unknown("load", insn));
      }
      CheckRegisters(insn, index, true);
      return Kind::kPlain;
    case BPF_LDX:
      if (Mode(code) != BPF_MEM && Mode(code) != insn::kMemSx) Reject(index, Unknown("load", insn));
      CheckRegisters(insn, index, true);
      return Kind::kPlain;
    case BPF_ST:
      if (Mode(code) != BPF_MEM) Reject(index, Unknown("store", insn));
      CheckRegisters(insn, index, true);
      return Kind::kPlain;
    case BPF_STX:
      if (Mode(code) != BPF_MEM && Mode(code) != BPF_ATOMIC) Reject(index, Unknown("store", insn));
      CheckRegisters(insn, index, true);
      return Kind::kPlain;
  }
  Reject(index, Unknown("", insn));  // not reached: Class() has 8 values, all handled
}

void CheckLdImm64(std::span<const bpf_insn> insns, size_t index) {
  const bpf_insn& first = insns[index];
  if (index + 1 >= insns.size()) {
    Reject(index, "64-bit load is truncated: the program ends before its second half");
  }
  const bpf_insn& second = insns[index + 1];
  if (second.code != 0 || second.dst_reg != 0 || second.src_reg != 0 || second.off != 0) {
    Reject(index + 1, fmt::format("second half of the 64-bit load at insn {} is not a "
                                  "continuation (code 0x{:02x})",
                                  index, second.code));
  }
  if (first.off != 0) Reject(index, "64-bit load with a nonzero offset field");
  CheckRegisters(first, index, false);
  switch (first.src_reg) {
    case 0:  // a constant
    case BPF_PSEUDO_MAP_FD:
    case BPF_PSEUDO_MAP_VALUE:
    case BPF_PSEUDO_MAP_IDX:
    case BPF_PSEUDO_MAP_IDX_VALUE:
      return;  // maps: bpfd decides which ones the guest may use
    case BPF_PSEUDO_BTF_ID:
      Reject(index, "loads the address of a kernel symbol (BPF_PSEUDO_BTF_ID)");
    case BPF_PSEUDO_FUNC:
      Reject(index,
             "loads the address of a callback (BPF_PSEUDO_FUNC); no allowed helper "
             "takes one");
    default:
      Reject(index, fmt::format("64-bit load of unknown kind (src_reg {})", first.src_reg));
  }
}

// Pass 1: every instruction decoded and checked, jump and call targets resolved.
std::vector<Decoded> Decode(std::span<const bpf_insn> insns) {
  const size_t n = insns.size();
  if (n == 0) throw VerifierError("empty program");
  if (n > kMaxGuestInsns) {
    Reject(kMaxGuestInsns,
           fmt::format("program has {} instructions, more than the {} allowed", n, kMaxGuestInsns));
  }
  std::vector<Decoded> decoded(n);
  for (size_t i = 0; i < n; ++i) {
    decoded[i].kind = Classify(insns[i], i);
    if (decoded[i].kind == Kind::kLdImm64) {
      CheckLdImm64(insns, i);
      decoded[++i].kind = Kind::kLdImm64High;
    }
  }
  bool has_exit = false;
  for (size_t i = 0; i < n; ++i) {
    const Kind kind = decoded[i].kind;
    has_exit = has_exit || kind == Kind::kExit;
    if (kind != Kind::kJump && kind != Kind::kGotol && kind != Kind::kSubprogCall) continue;
    const int64_t offset = kind == Kind::kJump ? insns[i].off : insns[i].imm;
    const int64_t target = static_cast<int64_t>(i) + 1 + offset;
    const char* what = kind == Kind::kSubprogCall ? "call" : "jump";
    if (target < 0 || target >= static_cast<int64_t>(n)) {
      Reject(i, fmt::format("{} to insn {} is outside the program (insns 0..{})", what, target,
                            n - 1));
    }
    if (decoded[target].kind == Kind::kLdImm64High) {
      Reject(i, fmt::format("{} into the middle of the 64-bit load at insn {}", what, target - 1));
    }
    decoded[i].target = static_cast<size_t>(target);
  }
  if (!has_exit) throw VerifierError("program has no exit instruction");
  const Kind last = decoded[n - 1].kind;
  const bool ends_in_goto =
      (last == Kind::kJump && Op(insns[n - 1].code) == BPF_JA) || last == Kind::kGotol;
  if (last != Kind::kExit && !ends_in_goto) {
    Reject(n - 1, "program falls off its end (the last instruction is neither exit nor goto)");
  }
  return decoded;
}

bool IsAllowed(int32_t helper) {
  const auto list = HelperAllowList();
  return std::binary_search(
      list.begin(), list.end(), AllowedHelper{helper, {}},
      [](const AllowedHelper& a, const AllowedHelper& b) { return a.id < b.id; });
}

// Pass 2: what the program calls.
void CheckCalls(std::span<const bpf_insn> insns, const std::vector<Decoded>& decoded,
                const VerifierConfig& config) {
  for (size_t i = 0; i < insns.size(); ++i) {
    const int32_t imm = insns[i].imm;
    if (decoded[i].kind == Kind::kKfuncCall) {
      Reject(i,
             fmt::format("calls the kernel function with BTF id {} (kfuncs are not allowed)", imm));
    }
    if (decoded[i].kind != Kind::kHelperCall) continue;
    if (imm == BPF_FUNC_tail_call) {
      Reject(i,
             "calls bpf_tail_call#12: tail calls are not allowed (a program array can hold "
             "any program bpfd loaded, other domains' included)");
    }
    if (!IsAllowed(imm)) {
      Reject(i, fmt::format("calls {}#{}, which is not on the helper allow-list", HelperName(imm),
                            imm));
    }
    if ((imm == BPF_FUNC_redirect || imm == BPF_FUNC_clone_redirect) &&
        config.redirect_ifindex == 0) {
      Reject(i, fmt::format("calls {}#{} but no redirect interface is configured", HelperName(imm),
                            imm));
    }
  }
}

constexpr size_t kPrologueSize = 2;

bool IsRedirect(const bpf_insn& insn, Kind kind) {
  return kind == Kind::kHelperCall &&
         (insn.imm == BPF_FUNC_redirect || insn.imm == BPF_FUNC_clone_redirect);
}

// The instructions that force a redirect's arguments: the interface register gets the configured
// ifindex, the flags register loses BPF_F_INGRESS (other bits are kept, so flags the kernel would
// refuse are still refused). Only the two argument registers are written, and both are arguments
// of the call that follows, which the kernel verifier already requires to be initialised there,
// so the inserted instructions read nothing that was not readable. (An AND on a pointer would be
// refused by the kernel verifier: a program that passes a pointer as flags fails to load.)
std::array<bpf_insn, kPrologueSize> ForceEgress(int32_t helper, int ifindex) {
  const uint8_t ifindex_reg = helper == BPF_FUNC_redirect ? BPF_REG_1 : BPF_REG_2;
  const uint8_t flags_reg = ifindex_reg + 1;
  return {insn::Mov64Imm(ifindex_reg, ifindex),
          insn::Alu64Imm(BPF_AND, flags_reg, ~static_cast<int32_t>(BPF_F_INGRESS))};
}

std::string CallSummary(std::span<const bpf_insn> insns, const std::vector<Decoded>& decoded) {
  std::map<int32_t, int> helpers;
  int subprog_calls = 0;
  for (size_t i = 0; i < insns.size(); ++i) {
    if (decoded[i].kind == Kind::kHelperCall) ++helpers[insns[i].imm];
    if (decoded[i].kind == Kind::kSubprogCall) ++subprog_calls;
  }
  std::string calls;
  for (const auto& [id, count] : helpers) {
    calls += fmt::format("{}{}#{} x{}", calls.empty() ? "" : ", ", HelperName(id), id, count);
  }
  return fmt::format("accepted {} instructions: helper calls: {}; BPF-to-BPF calls: {}",
                     insns.size(), calls.empty() ? "none" : calls, subprog_calls);
}

}  // namespace

VerifierResult VerifyAndRewrite(std::span<const bpf_insn> insns, const VerifierConfig& config) {
  if (config.redirect_ifindex < 0) {
    throw InputError(
        fmt::format("redirect_ifindex {} is not an interface index", config.redirect_ifindex));
  }
  const std::vector<Decoded> decoded = Decode(insns);
  CheckCalls(insns, decoded, config);

  VerifierResult result;
  result.notes.push_back(CallSummary(insns, decoded));

  // Pass 3: where every instruction goes once the redirect prologues are in.
  const size_t n = insns.size();
  std::vector<uint32_t> new_pos(n);  // of the instruction itself
  result.insn_map.resize(n);         // where jumps to it land
  uint32_t next = 0;
  for (size_t i = 0; i < n; ++i) {
    result.insn_map[i] = next;
    if (IsRedirect(insns[i], decoded[i].kind)) next += kPrologueSize;
    new_pos[i] = next++;
  }

  result.insns.reserve(next);
  for (size_t i = 0; i < n; ++i) {
    bpf_insn out = insns[i];
    const Decoded& d = decoded[i];
    // The new offset of a jump or call: from its own new place to where its target now lands.
    const auto moved = [&] {
      return static_cast<int64_t>(result.insn_map[d.target]) - new_pos[i] - 1;
    };
    switch (d.kind) {
      case Kind::kHelperCall:
        if (IsRedirect(out, d.kind)) {
          const auto prologue = ForceEgress(out.imm, config.redirect_ifindex);
          result.insns.insert(result.insns.end(), prologue.begin(), prologue.end());
          result.notes.push_back(
              fmt::format("insn {} (now {}): {}: inserted '{}' and '{}' (egress of ifindex {})", i,
                          new_pos[i], insn::Format(out), insn::Format(prologue[0]),
                          insn::Format(prologue[1]), config.redirect_ifindex));
        }
        break;
      case Kind::kJump: {
        // Cannot overflow today (the output has at most 3 * kMaxGuestInsns instructions), but a
        // silently truncated offset would send the jump somewhere else.
        const int64_t off = moved();
        if (off < std::numeric_limits<int16_t>::min() ||
            off > std::numeric_limits<int16_t>::max()) {
          Reject(i, "jump offset no longer fits 16 bits after rewriting");
        }
        out.off = static_cast<int16_t>(off);
        break;
      }
      case Kind::kGotol:
      case Kind::kSubprogCall:
        out.imm = static_cast<int32_t>(moved());
        break;
      default:
        break;
    }
    if (!insn::Equal(out, insns[i])) {
      result.notes.push_back(fmt::format("insn {} (now {}): '{}' -> '{}' (still lands on insn {})",
                                         i, new_pos[i], insn::Format(insns[i]), insn::Format(out),
                                         d.target));
    }
    result.insns.push_back(out);
  }
  result.notes.push_back(next == n ? fmt::format("no rewrite needed: {} instructions", n)
                                   : fmt::format("rewritten: {} -> {} instructions", n, next));
  return result;
}

}  // namespace nfb::offload
