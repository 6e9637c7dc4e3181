// Building and printing raw BPF instructions (struct bpf_insn from <linux/bpf.h>).
//
// The builders mirror the kernel's BPF_MOV64_IMM(), BPF_JMP_IMM() ... macros from
// tools/include/linux/filter.h, but are constexpr functions, so tests can write programs as
// constant arrays and the verifier builds the instructions it inserts with the same code.
#pragma once

#include <linux/bpf.h>

#include <array>
#include <cstdint>
#include <string>

namespace nfb::offload::insn {

// Encodings newer than the Debian 12 UAPI headers (linux-libc-dev 6.1); the values are ABI.
inline constexpr uint8_t kJcond = 0xe0;  // BPF_JCOND (may_goto), Linux 6.9
inline constexpr uint8_t kMemSx = 0x80;  // BPF_MEMSX, sign-extending loads, Linux 6.6
inline constexpr uint8_t kMaxRegister = BPF_REG_10;

// The three parts of the opcode byte.
constexpr uint8_t Class(uint8_t code) { return code & 0x07; }
constexpr uint8_t Op(uint8_t code) { return code & 0xf0; }    // ALU and JMP classes
constexpr uint8_t Mode(uint8_t code) { return code & 0xe0; }  // LD, LDX, ST, STX classes
constexpr uint8_t Size(uint8_t code) { return code & 0x18; }  // LD, LDX, ST, STX classes
constexpr uint8_t Source(uint8_t code) { return code & 0x08; }

constexpr bpf_insn Make(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn insn{};
  insn.code = code;
  insn.dst_reg = dst & 0x0f;
  insn.src_reg = src & 0x0f;
  insn.off = off;
  insn.imm = imm;
  return insn;
}

// ALU: dst = dst <op> imm / src. `op` is BPF_ADD, BPF_AND, BPF_MOV ...
constexpr bpf_insn Alu64Imm(uint8_t op, uint8_t dst, int32_t imm) {
  return Make(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm);
}
constexpr bpf_insn Alu64Reg(uint8_t op, uint8_t dst, uint8_t src) {
  return Make(BPF_ALU64 | op | BPF_X, dst, src, 0, 0);
}
constexpr bpf_insn Alu32Imm(uint8_t op, uint8_t dst, int32_t imm) {
  return Make(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
constexpr bpf_insn Alu32Reg(uint8_t op, uint8_t dst, uint8_t src) {
  return Make(BPF_ALU | op | BPF_X, dst, src, 0, 0);
}
constexpr bpf_insn Mov64Imm(uint8_t dst, int32_t imm) { return Alu64Imm(BPF_MOV, dst, imm); }
constexpr bpf_insn Mov64Reg(uint8_t dst, uint8_t src) { return Alu64Reg(BPF_MOV, dst, src); }
constexpr bpf_insn Mov32Imm(uint8_t dst, int32_t imm) { return Alu32Imm(BPF_MOV, dst, imm); }

// Conditional jumps: if (dst <op> imm / src) goto pc + 1 + off. `op` is BPF_JEQ, BPF_JGT ...
constexpr bpf_insn JmpImm(uint8_t op, uint8_t dst, int32_t imm, int16_t off) {
  return Make(BPF_JMP | op | BPF_K, dst, 0, off, imm);
}
constexpr bpf_insn JmpReg(uint8_t op, uint8_t dst, uint8_t src, int16_t off) {
  return Make(BPF_JMP | op | BPF_X, dst, src, off, 0);
}
// The same comparisons on the low 32 bits.
constexpr bpf_insn Jmp32Imm(uint8_t op, uint8_t dst, int32_t imm, int16_t off) {
  return Make(BPF_JMP32 | op | BPF_K, dst, 0, off, imm);
}
constexpr bpf_insn Jmp32Reg(uint8_t op, uint8_t dst, uint8_t src, int16_t off) {
  return Make(BPF_JMP32 | op | BPF_X, dst, src, off, 0);
}
// goto pc + 1 + off.
constexpr bpf_insn Ja(int16_t off) { return Make(BPF_JMP | BPF_JA, 0, 0, off, 0); }
// "gotol": goto pc + 1 + imm, with a 32-bit offset (BPF_JMP32 | BPF_JA, Linux 6.4).
constexpr bpf_insn Gotol(int32_t imm) { return Make(BPF_JMP32 | BPF_JA, 0, 0, 0, imm); }
// may_goto pc + 1 + off (BPF_JMP | BPF_JCOND, Linux 6.9).
constexpr bpf_insn MayGoto(int16_t off) { return Make(BPF_JMP | kJcond, 0, 0, off, 0); }

// Helper call: r0 = helper(r1, ..., r5). `helper` is a BPF_FUNC_* number.
constexpr bpf_insn Call(int32_t helper) { return Make(BPF_JMP | BPF_CALL, 0, 0, 0, helper); }
// BPF-to-BPF call of the subprogram at pc + 1 + rel.
constexpr bpf_insn CallSubprog(int32_t rel) {
  return Make(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, rel);
}
// Call of the kernel function with BTF id `btf_id`.
constexpr bpf_insn CallKfunc(int32_t btf_id) {
  return Make(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, btf_id);
}
constexpr bpf_insn Exit() { return Make(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

// Memory: dst = *(size *)(src + off), *(size *)(dst + off) = src / imm. `size` is BPF_B, BPF_H,
// BPF_W or BPF_DW.
constexpr bpf_insn LdxMem(uint8_t size, uint8_t dst, uint8_t src, int16_t off) {
  return Make(BPF_LDX | size | BPF_MEM, dst, src, off, 0);
}
constexpr bpf_insn StxMem(uint8_t size, uint8_t dst, uint8_t src, int16_t off) {
  return Make(BPF_STX | size | BPF_MEM, dst, src, off, 0);
}
constexpr bpf_insn StMem(uint8_t size, uint8_t dst, int16_t off, int32_t imm) {
  return Make(BPF_ST | size | BPF_MEM, dst, 0, off, imm);
}

// The two-slot 64-bit load, dst = imm64; `pseudo` (src_reg) makes imm a map fd
// (BPF_PSEUDO_MAP_FD), a map value (BPF_PSEUDO_MAP_VALUE) and so on.
constexpr std::array<bpf_insn, 2> LdImm64(uint8_t dst, uint64_t imm, uint8_t pseudo = 0) {
  return {Make(BPF_LD | BPF_DW | BPF_IMM, dst, pseudo, 0, static_cast<int32_t>(imm)),
          Make(0, 0, 0, 0, static_cast<int32_t>(imm >> 32))};
}
constexpr std::array<bpf_insn, 2> LdMapFd(uint8_t dst, int32_t fd) {
  return LdImm64(dst, static_cast<uint32_t>(fd), BPF_PSEUDO_MAP_FD);
}

constexpr bool IsLdImm64(const bpf_insn& insn) { return insn.code == (BPF_LD | BPF_DW | BPF_IMM); }

// Field-wise equality (struct bpf_insn has no operator==, and defining one for a C type in the
// global namespace is left to tests).
constexpr bool Equal(const bpf_insn& a, const bpf_insn& b) {
  return a.code == b.code && a.dst_reg == b.dst_reg && a.src_reg == b.src_reg && a.off == b.off &&
         a.imm == b.imm;
}

// One instruction in the notation of the kernel verifier log ("r1 = 4", "if r2 > 0x64 goto +3",
// "call bpf_redirect#23"), for notes and error messages. Unknown opcodes print their raw fields.
std::string Format(const bpf_insn& insn);

}  // namespace nfb::offload::insn
