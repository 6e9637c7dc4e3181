#include "nfb/bpf/test_run.h"

#include <bpf/bpf.h>

#include "nfb/bpf/libbpf_support.h"

namespace nfb::bpf {

TestRunResult TestRun(int prog_fd, std::span<const uint8_t> packet, uint32_t repeat) {
  RouteLibbpfLog();
  // Room for programs that grow the packet; the kernel fails the run (ENOSPC) if it is not enough.
  constexpr size_t kGrowth = 256;
  TestRunResult result;
  result.packet.resize(packet.size() + kGrowth);

  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.data_in = packet.data();
  opts.data_size_in = static_cast<uint32_t>(packet.size());
  opts.data_out = result.packet.data();
  opts.data_size_out = static_cast<uint32_t>(result.packet.size());
  opts.repeat = static_cast<int>(repeat);
  const int err = bpf_prog_test_run_opts(prog_fd, &opts);
  if (err != 0) ThrowLibbpfError("BPF_PROG_TEST_RUN", err);

  result.packet.resize(opts.data_size_out);
  result.retval = opts.retval;
  result.duration_ns = opts.duration;
  return result;
}

}  // namespace nfb::bpf
