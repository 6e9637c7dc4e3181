#include "nfb/bpfd/testing/fake_backend.h"

#include <fmt/core.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "nfb/core/log.h"

namespace nfb::bpfd::testing {
namespace {

bool StartsWith(std::span<const uint8_t> bytes, std::string_view prefix) {
  return bytes.size() >= prefix.size() &&
         std::memcmp(bytes.data(), prefix.data(), prefix.size()) == 0;
}

class FakeProgram : public KernelProgram {
 public:
  FakeProgram(std::string name, std::shared_ptr<int> live) : name_(std::move(name)), live_(live) {
    ++*live_;
  }
  ~FakeProgram() override { --*live_; }
  int fd() const override { return -1; }
  const std::string& name() const override { return name_; }

 private:
  std::string name_;
  std::shared_ptr<int> live_;
};

class FakeMap : public KernelMap {
 public:
  FakeMap(MapDescription d, std::shared_ptr<int> live) : d_(std::move(d)), live_(live) {
    ++*live_;
    if (d_.type == BPF_MAP_TYPE_ARRAY || d_.type == BPF_MAP_TYPE_PERCPU_ARRAY) {
      // Arrays have every index from the start, zeroed.
      for (uint32_t i = 0; i < d_.max_entries; ++i) {
        std::vector<uint8_t> key(d_.key_size);
        std::memcpy(key.data(), &i, std::min<size_t>(key.size(), sizeof(i)));
        entries_[key] = std::vector<uint8_t>(d_.wire_value_size);
      }
    }
  }
  ~FakeMap() override { --*live_; }
  const MapDescription& description() const override { return d_; }

  int Lookup(std::span<const uint8_t> key, std::span<uint8_t> value) override {
    const auto it = entries_.find(std::vector<uint8_t>(key.begin(), key.end()));
    if (it == entries_.end()) return -ENOENT;
    std::copy(it->second.begin(), it->second.end(), value.begin());
    return 0;
  }
  int Update(std::span<const uint8_t> key, std::span<const uint8_t> value,
             uint64_t flags) override {
    std::vector<uint8_t> k(key.begin(), key.end());
    const bool array = d_.type == BPF_MAP_TYPE_ARRAY || d_.type == BPF_MAP_TYPE_PERCPU_ARRAY;
    const auto it = entries_.find(k);
    if (array && it == entries_.end()) return -E2BIG;
    if (array && flags == BPF_NOEXIST) return -EEXIST;
    if (flags == BPF_NOEXIST && it != entries_.end()) return -EEXIST;
    if (flags == BPF_EXIST && it == entries_.end()) return -ENOENT;
    if (it == entries_.end() && entries_.size() >= d_.max_entries) return -E2BIG;
    entries_[k].assign(value.begin(), value.end());
    return 0;
  }
  int Delete(std::span<const uint8_t> key) override {
    if (d_.type == BPF_MAP_TYPE_ARRAY || d_.type == BPF_MAP_TYPE_PERCPU_ARRAY) return -EINVAL;
    return entries_.erase(std::vector<uint8_t>(key.begin(), key.end())) == 1 ? 0 : -ENOENT;
  }

 private:
  MapDescription d_;
  std::shared_ptr<int> live_;
  std::map<std::vector<uint8_t>, std::vector<uint8_t>> entries_;
};

}  // namespace

MapDescription DescribeMap(std::string name, uint32_t type, uint32_t key_size, uint32_t value_size,
                           uint32_t max_entries, uint32_t cpus) {
  MapDescription d;
  d.name = std::move(name);
  d.type = type;
  d.key_size = key_size;
  d.value_size = value_size;
  d.max_entries = max_entries;
  d.wire_value_size = static_cast<uint32_t>(WireValueSize(type, value_size, cpus));
  d.memory = EstimateMapMemory(type, key_size, value_size, max_entries, cpus);
  return d;
}

FakeBackend::FakeBackend() {
  cost_ = {20'000, "fixed 20 ns per packet (fake backend)"};
  elf_maps = {DescribeMap("counters", BPF_MAP_TYPE_HASH, 4, 8, 16),
              DescribeMap(".rodata", BPF_MAP_TYPE_ARRAY, 4, 8, 1)};
}

LoadedElf FakeBackend::LoadElf(std::span<const uint8_t> object, std::string_view program,
                               const ObjectBudget& budget) {
  if (StartsWith(object, "REJECT")) {
    throw RequestError(EACCES, "insn 3: bpf_tail_call is not allowed");
  }
  if (StartsWith(object, "KERNEL-FAIL")) {
    throw RequestError(EINVAL, "the kernel refused the program: R1 invalid mem access");
  }
  uint64_t memory = 0;
  for (const MapDescription& d : elf_maps) memory += d.memory;
  if (elf_maps.size() > budget.maps || memory > budget.map_memory) {
    throw RequestError(EDQUOT,
                       fmt::format("quota: {} maps of {} bytes, {} maps and {} bytes left",
                                   elf_maps.size(), memory, budget.maps, budget.map_memory));
  }
  ++loads_;
  LoadedElf loaded;
  loaded.program = std::make_unique<FakeProgram>(
      program.empty() ? std::string("fake_tc") : std::string(program), live_programs_);
  for (const MapDescription& d : elf_maps) {
    loaded.maps.push_back(std::make_unique<FakeMap>(d, live_maps_));
  }
  return loaded;
}

std::unique_ptr<KernelProgram> FakeBackend::LoadBytecode(std::span<const uint8_t> insns, uint32_t,
                                                         std::string_view) {
  if (StartsWith(insns, "REJECT")) throw RequestError(EACCES, "insn 0: helper #12 not allowed");
  if (StartsWith(insns, "KERNEL-FAIL")) {
    throw RequestError(EINVAL, "the kernel refused the program");
  }
  ++loads_;
  return std::make_unique<FakeProgram>("fake_bytecode", live_programs_);
}

void FakeBackend::Attach(const bpf::MacAddress& mac, const KernelProgram& program) {
  const auto it = slots_.find(mac);
  if (it != slots_.end()) {
    it->second.program = &program;
    return;
  }
  if (slots_.size() >= max_slots) throw RequestError(ENOSPC, "no free dispatcher slot");
  std::vector<bool> used(max_slots, false);
  for (const auto& [unused, slot] : slots_) used[slot.index] = true;
  uint32_t index = 0;
  while (used[index]) ++index;
  slots_[mac] = Slot{index, &program, {}};
}

void FakeBackend::Detach(const bpf::MacAddress& mac) noexcept { slots_.erase(mac); }

bpf::SlotCounters FakeBackend::Counters(const bpf::MacAddress& mac) {
  const auto it = slots_.find(mac);
  return it == slots_.end() ? bpf::SlotCounters{} : it->second.counters;
}

std::optional<uint32_t> FakeBackend::SlotOf(const bpf::MacAddress& mac) const {
  const auto it = slots_.find(mac);
  if (it == slots_.end()) return std::nullopt;
  return it->second.index;
}

void FakeBackend::AddTraffic(const bpf::MacAddress& mac, uint64_t packets, uint64_t bytes) {
  const auto it = slots_.find(mac);
  if (it == slots_.end()) return;
  it->second.counters.packets += packets;
  it->second.counters.bytes += bytes;
}

std::string FakeBackend::AttachedProgram(const bpf::MacAddress& mac) const {
  const auto it = slots_.find(mac);
  return it == slots_.end() || it->second.program == nullptr ? std::string()
                                                             : it->second.program->name();
}

}  // namespace nfb::bpfd::testing
