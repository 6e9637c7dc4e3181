#include "nfb/bpf/udp_drop.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <utility>

#include "nf/udp_drop_abi.h"
#include "nfb/bpf/libbpf_support.h"
#include "nfb/core/error.h"
#include "udp_drop.skel.h"

namespace nfb::bpf {

// The BPF side reads struct udp_drop_config and writes struct udp_drop_counters; the functions
// below fill and sum every field. A field added there without being handled here breaks the
// build.
static_assert(sizeof(udp_drop_config) == 8);
static_assert(offsetof(udp_drop_config, only_daddr) == 0);
static_assert(offsetof(udp_drop_config, port) == 4);
static_assert(offsetof(udp_drop_config, reserved) == 6);
static_assert(sizeof(udp_drop_counters) == 16);
static_assert(offsetof(udp_drop_counters, dropped) == 0);
static_assert(offsetof(udp_drop_counters, passed) == 8);
static_assert(sizeof(UdpDropCounters) == sizeof(udp_drop_counters));

std::vector<uint8_t> EncodeUdpDropConfig(const UdpDropConfig& config) {
  udp_drop_config value{};
  value.only_daddr = config.only_daddr_be;
  value.port = htons(config.port);
  std::vector<uint8_t> bytes(sizeof(value));
  std::memcpy(bytes.data(), &value, sizeof(value));
  return bytes;
}

UdpDropCounters SumUdpDropCounters(std::span<const uint8_t> per_cpu_value) {
  // Per-CPU values come in slots of round_up(value_size, 8) bytes: exactly the struct here.
  if (per_cpu_value.empty() || per_cpu_value.size() % sizeof(udp_drop_counters) != 0) {
    throw RunError("udp_drop counters: a per-CPU value of " +
                   std::to_string(per_cpu_value.size()) + " bytes is not a whole number of " +
                   std::to_string(sizeof(udp_drop_counters)) + "-byte counter sets");
  }
  UdpDropCounters total;
  for (size_t at = 0; at < per_cpu_value.size(); at += sizeof(udp_drop_counters)) {
    udp_drop_counters cpu{};
    std::memcpy(&cpu, per_cpu_value.data() + at, sizeof(cpu));
    total.dropped += cpu.dropped;
    total.passed += cpu.passed;
  }
  return total;
}

void UdpDropProgram::SkeletonDeleter::operator()(::udp_drop* skel) const {
  udp_drop__destroy(skel);
}

UdpDropProgram::UdpDropProgram() : UdpDropProgram(UdpDropConfig{}) {}

UdpDropProgram::UdpDropProgram(const UdpDropConfig& config) {
  RouteLibbpfLog();
  skel_.reset(udp_drop__open());
  if (!skel_) ThrowLibbpfError("open the udp_drop BPF object", -errno);
  const int err = udp_drop__load(skel_.get());
  if (err != 0) ThrowLibbpfError("load the udp_drop BPF programs", err);
  if (bpf_map__value_size(skel_->maps.udp_drop_config) != sizeof(udp_drop_config) ||
      bpf_map__value_size(skel_->maps.udp_drop_stats) != sizeof(udp_drop_counters)) {
    throw RunError("udp_drop: the BPF object's map values do not match udp_drop_abi.h");
  }
  Configure(config);
}

UdpDropProgram::UdpDropProgram(UdpDropProgram&& other) noexcept = default;
UdpDropProgram& UdpDropProgram::operator=(UdpDropProgram&& other) noexcept = default;
UdpDropProgram::~UdpDropProgram() = default;

void UdpDropProgram::Configure(const UdpDropConfig& config) {
  const std::vector<uint8_t> value = EncodeUdpDropConfig(config);
  const uint32_t key = 0;
  const int err = bpf_map__update_elem(skel_->maps.udp_drop_config, &key, sizeof(key),
                                       value.data(), value.size(), BPF_ANY);
  if (err != 0) ThrowLibbpfError("write the udp_drop configuration", err);
}

int UdpDropProgram::tc_fd() const { return bpf_program__fd(skel_->progs.udp_drop_tc); }

int UdpDropProgram::xdp_fd() const { return bpf_program__fd(skel_->progs.udp_drop_xdp); }

int UdpDropProgram::config_map_fd() const { return bpf_map__fd(skel_->maps.udp_drop_config); }

int UdpDropProgram::stats_map_fd() const { return bpf_map__fd(skel_->maps.udp_drop_stats); }

UdpDropCounters UdpDropProgram::Counters() const {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) ThrowLibbpfError("count possible CPUs", cpus);
  std::vector<uint8_t> per_cpu(static_cast<size_t>(cpus) * sizeof(udp_drop_counters));
  const uint32_t key = 0;
  const int err = bpf_map__lookup_elem(skel_->maps.udp_drop_stats, &key, sizeof(key),
                                       per_cpu.data(), per_cpu.size(), 0);
  if (err != 0) ThrowLibbpfError("read udp_drop counters", err);
  return SumUdpDropCounters(per_cpu);
}

}  // namespace nfb::bpf
