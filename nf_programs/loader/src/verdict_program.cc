#include "nfb/bpf/verdict_program.h"

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <unistd.h>

#include "nfb/bpf/libbpf_support.h"

namespace nfb::bpf {

std::array<bpf_insn, 2> VerdictInstructions(int32_t verdict) {
  return {{
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0,
       .imm = verdict},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  }};
}

VerdictProgram::VerdictProgram(bpf_prog_type type, int32_t verdict, const char* name) {
  const std::array<bpf_insn, 2> insns = VerdictInstructions(verdict);
  fd_ = bpf_prog_load(type, name, "GPL", insns.data(), insns.size(), nullptr);
  if (fd_ < 0) ThrowLibbpfError(fmt::format("cannot load the program {}", name), fd_);
}

VerdictProgram::~VerdictProgram() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace nfb::bpf
