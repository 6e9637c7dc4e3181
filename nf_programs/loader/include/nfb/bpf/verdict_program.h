// The smallest program there is, `r0 = verdict; exit`: an empty program to measure the cost of
// running any program (accounting calibration), and a marker whose return value shows which
// program ran (dispatcher tests, bytecode loads through bpfd).
#pragma once

#include <linux/bpf.h>

#include <array>
#include <cstdint>

namespace nfb::bpf {

// The two instructions.
std::array<bpf_insn, 2> VerdictInstructions(int32_t verdict);

// Those instructions loaded as a program of `type`, with its fd owned.
class VerdictProgram {
 public:
  // Throws as ThrowLibbpfError does when the kernel refuses the load.
  VerdictProgram(bpf_prog_type type, int32_t verdict, const char* name = "nfb_verdict");
  VerdictProgram(const VerdictProgram&) = delete;
  VerdictProgram& operator=(const VerdictProgram&) = delete;
  ~VerdictProgram();
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace nfb::bpf
