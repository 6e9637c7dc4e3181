#include "nfb/bpf/icmp_echo.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "icmp_echo.skel.h"
#include "nf/icmp_echo_abi.h"
#include "nfb/bpf/libbpf_support.h"
#include "nfb/core/error.h"

namespace nfb::bpf {

// The BPF side writes struct icmp_echo_counters; Counters() below reads every field of it. A
// field added there without being summed here breaks the build.
static_assert(sizeof(icmp_echo_counters) == 16);
static_assert(offsetof(icmp_echo_counters, answered) == 0);
static_assert(offsetof(icmp_echo_counters, passed) == 8);
static_assert(sizeof(IcmpEchoCounters) == sizeof(icmp_echo_counters));

IcmpEchoCounters SumIcmpEchoCounters(std::span<const uint8_t> per_cpu_value) {
  // Per-CPU values come in slots of round_up(value_size, 8) bytes: exactly the struct here.
  if (per_cpu_value.empty() || per_cpu_value.size() % sizeof(icmp_echo_counters) != 0) {
    throw RunError("icmp_echo counters: a per-CPU value of " +
                   std::to_string(per_cpu_value.size()) + " bytes is not a whole number of " +
                   std::to_string(sizeof(icmp_echo_counters)) + "-byte counter sets");
  }
  IcmpEchoCounters total;
  for (size_t at = 0; at < per_cpu_value.size(); at += sizeof(icmp_echo_counters)) {
    icmp_echo_counters cpu{};
    std::memcpy(&cpu, per_cpu_value.data() + at, sizeof(cpu));
    total.answered += cpu.answered;
    total.passed += cpu.passed;
  }
  return total;
}

void IcmpEchoProgram::SkeletonDeleter::operator()(::icmp_echo* skel) const {
  icmp_echo__destroy(skel);
}

IcmpEchoProgram::IcmpEchoProgram() : IcmpEchoProgram(Options{}) {}

IcmpEchoProgram::IcmpEchoProgram(const Options& options) {
  RouteLibbpfLog();
  skel_.reset(icmp_echo__open());
  if (!skel_) ThrowLibbpfError("open the icmp_echo BPF object", -errno);
  // Read-only data is frozen at load, so the verifier prunes the unused branch for 0.
  skel_->rodata->only_daddr = options.only_daddr_be;
  const int err = icmp_echo__load(skel_.get());
  if (err != 0) ThrowLibbpfError("load the icmp_echo BPF programs", err);
  if (bpf_map__value_size(skel_->maps.icmp_echo_stats) != sizeof(icmp_echo_counters)) {
    throw RunError("icmp_echo: the BPF object's counter struct does not match icmp_echo_abi.h");
  }
}

IcmpEchoProgram::IcmpEchoProgram(IcmpEchoProgram&& other) noexcept = default;
IcmpEchoProgram& IcmpEchoProgram::operator=(IcmpEchoProgram&& other) noexcept = default;
IcmpEchoProgram::~IcmpEchoProgram() = default;

int IcmpEchoProgram::tc_fd() const { return bpf_program__fd(skel_->progs.icmp_echo_tc); }

int IcmpEchoProgram::xdp_fd() const { return bpf_program__fd(skel_->progs.icmp_echo_xdp); }

int IcmpEchoProgram::stats_map_fd() const { return bpf_map__fd(skel_->maps.icmp_echo_stats); }

IcmpEchoCounters IcmpEchoProgram::Counters() const {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) ThrowLibbpfError("count possible CPUs", cpus);
  std::vector<icmp_echo_counters> per_cpu(static_cast<size_t>(cpus));
  const uint32_t key = 0;
  const int err = bpf_map__lookup_elem(skel_->maps.icmp_echo_stats, &key, sizeof(key),
                                       per_cpu.data(), per_cpu.size() * sizeof(per_cpu[0]), 0);
  if (err != 0) ThrowLibbpfError("read icmp_echo counters", err);
  IcmpEchoCounters total;
  for (const icmp_echo_counters& cpu : per_cpu) {
    total.answered += cpu.answered;
    total.passed += cpu.passed;
  }
  return total;
}

}  // namespace nfb::bpf
