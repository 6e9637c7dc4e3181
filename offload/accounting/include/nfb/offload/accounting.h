// CPU accounting for offloaded programs: the per-packet cost that bpfd multiplies with the
// dispatcher's per-domain packet counters to estimate the dom0 CPU time spent for each domain.
//
// As in the thesis (section 5.4), the cost is calibrated once with BPF_PROG_TEST_RUN: the kernel
// runs a program `repeats` times on one frame and reports the mean time per run. The figure
// covers the program alone: not the driver, the stack around the tc hook, nor the transmission
// of a redirected packet, so the estimate is a lower bound on the real cost (docs/verifier.md,
// "CPU accounting calibration", and tests/bench/accounting_bench.cc measure by how much).
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace nfb::offload {

struct Calibration {
  double ns_per_packet = 0;  // median over rounds of the kernel's mean time per run
  uint32_t repeats = 0;      // runs per BPF_PROG_TEST_RUN call
  std::string packet;        // the frame that was run, in lower-case hex
  // The same measurement of a program that only returns (TC_ACT_OK / XDP_PASS), of the same
  // program type: what BPF_PROG_TEST_RUN's loop costs around any program. Not subtracted from
  // ns_per_packet (dispatching a real packet costs at least that much too), reported so users can
  // judge how much of the figure is the program's own.
  double empty_ns_per_packet = 0;
};

// Calibrates prog_fd (SCHED_CLS or XDP) on `packet`: kCalibrationRounds rounds, each one
// BPF_PROG_TEST_RUN of the program and one of the empty program with `repeats` runs, interleaved;
// the medians are returned. The kernel reruns the program on the same buffer, so a program that
// rewrites the frame (an echo responder turning a request into a reply) sees its own output from
// the second run on: calibrate with a frame the program does not change to measure one path.
// Throws InputError for a negative fd, a frame shorter than an Ethernet header or zero repeats,
// PrerequisiteError without privileges, RunError if the kernel refuses the run or the empty
// program.
Calibration CalibrateProgram(int prog_fd, std::span<const uint8_t> packet, uint32_t repeats = 1000);

inline constexpr int kCalibrationRounds = 5;

// Estimated CPU time, in nanoseconds, of `packets` packets at the calibrated cost.
inline double EstimatedCpuNs(const Calibration& calibration, uint64_t packets) {
  return calibration.ns_per_packet * static_cast<double>(packets);
}

}  // namespace nfb::offload
