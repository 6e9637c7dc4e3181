#include "nfb/bpfd/backend.h"

#include <linux/bpf.h>

#include <cerrno>

namespace nfb::bpfd {

RequestError::RequestError(int errno_value, const std::string& message)
    : std::runtime_error(message), code_(errno_value > 0 ? -errno_value : errno_value) {
  if (code_ == 0) code_ = -EIO;
}

bool IsAllowedMapType(uint32_t type) {
  switch (type) {
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_LPM_TRIE:
    case BPF_MAP_TYPE_QUEUE:
    case BPF_MAP_TYPE_STACK:
      return true;
    default:
      return false;
  }
}

bool IsPerCpuMap(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

namespace {
uint64_t RoundUp8(uint64_t v) { return (v + 7) / 8 * 8; }
}  // namespace

uint64_t WireValueSize(uint32_t type, uint32_t value_size, uint32_t possible_cpus) {
  if (!IsPerCpuMap(type)) return value_size;
  return RoundUp8(value_size) * (possible_cpus == 0 ? 1 : possible_cpus);
}

uint64_t EstimateMapMemory(uint32_t type, uint32_t key_size, uint32_t value_size,
                           uint32_t max_entries, uint32_t possible_cpus) {
  const uint64_t per_value = IsPerCpuMap(type)
                                 ? RoundUp8(value_size) * (possible_cpus == 0 ? 1 : possible_cpus)
                                 : RoundUp8(value_size);
  // At most 2^32 entries x (2^32 + 2^32 x 2^13 CPUs): fits in 64 bits only barely for absurd
  // inputs, so saturate instead of wrapping.
  const uint64_t per_entry = RoundUp8(key_size) + per_value;
  if (per_entry != 0 && max_entries > UINT64_MAX / per_entry) return UINT64_MAX;
  return per_entry * max_entries;
}

}  // namespace nfb::bpfd
