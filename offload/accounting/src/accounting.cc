#include "nfb/offload/accounting.h"

#include <bpf/bpf.h>
#include <fmt/core.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "nfb/bpf/libbpf_support.h"
#include "nfb/bpf/test_run.h"
#include "nfb/bpf/verdict_program.h"
#include "nfb/core/error.h"

namespace nfb::offload {
namespace {

bpf_prog_type ProgramType(int prog_fd) {
  bpf_prog_info info{};
  uint32_t size = sizeof(info);
  const int err = bpf_obj_get_info_by_fd(prog_fd, &info, &size);
  if (err != 0) bpf::ThrowLibbpfError(fmt::format("cannot query program fd {}", prog_fd), err);
  return static_cast<bpf_prog_type>(info.type);
}


double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

}  // namespace

Calibration CalibrateProgram(int prog_fd, std::span<const uint8_t> packet, uint32_t repeats) {
  constexpr size_t kEthernetHeader = 14;
  if (prog_fd < 0) throw InputError(fmt::format("calibration: bad program fd {}", prog_fd));
  if (packet.size() < kEthernetHeader) {
    throw InputError(fmt::format("calibration: a {}-byte frame is shorter than an Ethernet header",
                                 packet.size()));
  }
  if (repeats == 0) throw InputError("calibration: repeats must be at least 1");
  bpf::RouteLibbpfLog();

  // `return TC_ACT_OK` (0) or `return XDP_PASS`, of the calibrated program's type.
  const bpf_prog_type type = ProgramType(prog_fd);
  const bpf::VerdictProgram empty(type, type == BPF_PROG_TYPE_XDP ? XDP_PASS : 0,
                                  "nfb_calib_empty");
  std::vector<double> program_ns;
  std::vector<double> empty_ns;
  for (int round = 0; round < kCalibrationRounds; ++round) {
    program_ns.push_back(bpf::TestRun(prog_fd, packet, repeats).duration_ns);
    empty_ns.push_back(bpf::TestRun(empty.fd(), packet, repeats).duration_ns);
  }

  Calibration calibration;
  calibration.ns_per_packet = Median(program_ns);
  calibration.empty_ns_per_packet = Median(empty_ns);
  calibration.repeats = repeats;
  calibration.packet.reserve(packet.size() * 2);
  for (const uint8_t byte : packet) calibration.packet += fmt::format("{:02x}", byte);
  return calibration;
}

}  // namespace nfb::offload
