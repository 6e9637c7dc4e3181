// Running a loaded program on a packet with BPF_PROG_TEST_RUN: program tests, micro-benchmarks and
// the per-packet cost calibration of CPU accounting.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace nfb::bpf {

struct TestRunResult {
  uint32_t retval = 0;          // the program's verdict (TC_ACT_*, XDP_*)
  std::vector<uint8_t> packet;  // the packet as the program left it
  uint32_t duration_ns = 0;     // mean time of one run, measured by the kernel
};

// Runs the tc (SCHED_CLS) or XDP program prog_fd on a copy of `packet`, `repeat` times on the
// same buffer (so from the second run on, a program that rewrites the packet sees its own
// output). Nothing is sent: a redirect or XDP_TX only shows up in retval. The packet must hold at
// least an Ethernet header.
// Throws RunError if the kernel refuses the run (EINVAL for a packet that is too short) and
// PrerequisiteError without privileges.
TestRunResult TestRun(int prog_fd, std::span<const uint8_t> packet, uint32_t repeat = 1);

}  // namespace nfb::bpf
