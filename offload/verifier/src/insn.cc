#include "nfb/offload/insn.h"

#include <fmt/core.h>

#include "nfb/offload/verifier.h"

namespace nfb::offload::insn {
namespace {

std::string Signed(int64_t value) {
  return value < 0 ? fmt::format("{}", value) : fmt::format("+{}", value);
}

const char* AluOp(uint8_t op) {
  switch (op) {
    case BPF_ADD:
      return "+=";
    case BPF_SUB:
      return "-=";
    case BPF_MUL:
      return "*=";
    case BPF_DIV:
      return "/=";
    case BPF_OR:
      return "|=";
    case BPF_AND:
      return "&=";
    case BPF_LSH:
      return "<<=";
    case BPF_RSH:
      return ">>=";
    case BPF_MOD:
      return "%=";
    case BPF_XOR:
      return "^=";
    case BPF_MOV:
      return "=";
    case BPF_ARSH:
      return "s>>=";
    default:
      return nullptr;
  }
}

const char* JmpOp(uint8_t op) {
  switch (op) {
    case BPF_JEQ:
      return "==";
    case BPF_JGT:
      return ">";
    case BPF_JGE:
      return ">=";
    case BPF_JSET:
      return "&";
    case BPF_JNE:
      return "!=";
    case BPF_JSGT:
      return "s>";
    case BPF_JSGE:
      return "s>=";
    case BPF_JLT:
      return "<";
    case BPF_JLE:
      return "<=";
    case BPF_JSLT:
      return "s<";
    case BPF_JSLE:
      return "s<=";
    default:
      return nullptr;
  }
}

const char* SizeName(uint8_t size) {
  switch (size) {
    case BPF_B:
      return "u8";
    case BPF_H:
      return "u16";
    case BPF_W:
      return "u32";
    default:
      return "u64";
  }
}

std::string Raw(const bpf_insn& insn) {
  return fmt::format("(code 0x{:02x} dst r{} src r{} off {} imm {})", insn.code, insn.dst_reg,
                     insn.src_reg, insn.off, insn.imm);
}

std::string FormatAlu(const bpf_insn& insn) {
  const bool wide = Class(insn.code) == BPF_ALU64;
  const char reg = wide ? 'r' : 'w';
  const uint8_t op = Op(insn.code);
  if (op == BPF_NEG) return fmt::format("{0}{1} = -{0}{1}", reg, insn.dst_reg);
  if (op == BPF_END) {
    const char* order = wide ? "bswap" : (Source(insn.code) == BPF_X ? "be" : "le");
    return fmt::format("r{0} = {1}{2} r{0}", insn.dst_reg, order, insn.imm);
  }
  const char* sign = AluOp(op);
  if (sign == nullptr) return Raw(insn);
  if (Source(insn.code) == BPF_X) {
    return fmt::format("{0}{1} {2} {0}{3}", reg, insn.dst_reg, sign, insn.src_reg);
  }
  return fmt::format("{}{} {} {}", reg, insn.dst_reg, sign, insn.imm);
}

std::string FormatJmp(const bpf_insn& insn) {
  const bool narrow = Class(insn.code) == BPF_JMP32;
  const uint8_t op = Op(insn.code);
  if (op == BPF_JA) {
    return narrow ? fmt::format("gotol {}", Signed(insn.imm))
                  : fmt::format("goto {}", Signed(insn.off));
  }
  if (!narrow && op == kJcond) return fmt::format("may_goto {}", Signed(insn.off));
  if (!narrow && op == BPF_EXIT) return "exit";
  if (!narrow && op == BPF_CALL) {
    if (insn.src_reg == BPF_PSEUDO_CALL) return fmt::format("call pc{}", Signed(insn.imm));
    if (insn.src_reg == BPF_PSEUDO_KFUNC_CALL) return fmt::format("call kfunc#{}", insn.imm);
    return fmt::format("call {}#{}", HelperName(insn.imm), insn.imm);
  }
  const char* sign = JmpOp(op);
  if (sign == nullptr) return Raw(insn);
  const char reg = narrow ? 'w' : 'r';
  if (Source(insn.code) == BPF_X) {
    return fmt::format("if {0}{1} {2} {0}{3} goto {4}", reg, insn.dst_reg, sign, insn.src_reg,
                       Signed(insn.off));
  }
  return fmt::format("if {}{} {} {:#x} goto {}", reg, insn.dst_reg, sign,
                     static_cast<uint32_t>(insn.imm), Signed(insn.off));
}

}  // namespace

std::string Format(const bpf_insn& insn) {
  if (insn.code == 0 && insn.dst_reg == 0 && insn.src_reg == 0 && insn.off == 0) {
    // Not an instruction of its own (BPF_LD | BPF_W | BPF_IMM does not exist).
    return fmt::format("(second half of a 64-bit load: {:#x})", static_cast<uint32_t>(insn.imm));
  }
  switch (Class(insn.code)) {
    case BPF_ALU:
    case BPF_ALU64:
      return FormatAlu(insn);
    case BPF_JMP:
    case BPF_JMP32:
      return FormatJmp(insn);
    case BPF_LD:
      if (IsLdImm64(insn)) {
        switch (insn.src_reg) {
          case 0:
            return fmt::format("r{} = {:#x} ll", insn.dst_reg, static_cast<uint32_t>(insn.imm));
          case BPF_PSEUDO_MAP_FD:
            return fmt::format("r{} = map[fd:{}]", insn.dst_reg, insn.imm);
          case BPF_PSEUDO_MAP_VALUE:
            return fmt::format("r{} = map_value[fd:{}]", insn.dst_reg, insn.imm);
          default:
            return fmt::format("r{} = pseudo{}[{}] ll", insn.dst_reg, insn.src_reg, insn.imm);
        }
      }
      if (Mode(insn.code) == BPF_ABS) {
        return fmt::format("r0 = *({} *)skb[{}]", SizeName(Size(insn.code)), insn.imm);
      }
      if (Mode(insn.code) == BPF_IND) {
        return fmt::format("r0 = *({} *)skb[r{} + {}]", SizeName(Size(insn.code)), insn.src_reg,
                           insn.imm);
      }
      return Raw(insn);
    case BPF_LDX:
      return fmt::format("r{} = *({}{} *)(r{} {})", insn.dst_reg,
                         Mode(insn.code) == kMemSx ? "s" : "", SizeName(Size(insn.code)),
                         insn.src_reg, Signed(insn.off));
    case BPF_ST:
      return fmt::format("*({} *)(r{} {}) = {}", SizeName(Size(insn.code)), insn.dst_reg,
                         Signed(insn.off), insn.imm);
    case BPF_STX:
      if (Mode(insn.code) == BPF_ATOMIC) {
        return fmt::format("atomic {:#x} *({} *)(r{} {}) r{}", insn.imm, SizeName(Size(insn.code)),
                           insn.dst_reg, Signed(insn.off), insn.src_reg);
      }
      return fmt::format("*({} *)(r{} {}) = r{}", SizeName(Size(insn.code)), insn.dst_reg,
                         Signed(insn.off), insn.src_reg);
  }
  return Raw(insn);
}

}  // namespace nfb::offload::insn
