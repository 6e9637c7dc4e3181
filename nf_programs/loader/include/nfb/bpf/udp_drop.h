// Loader for nf_programs/udp_drop.bpf.c, the BPF UDP port filter, and the encoding of its maps
// for loaders that reach them only as bytes (a guest writing them through bpfd).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

struct udp_drop;  // the generated skeleton (udp_drop.skel.h), kept out of this header

namespace nfb::bpf {

// Map names in the object, as xenbpf-load and bpfd report them.
inline constexpr char kUdpDropConfigMap[] = "udp_drop_config";
inline constexpr char kUdpDropStatsMap[] = "udp_drop_stats";

// Counters of the filter, summed over all CPUs.
struct UdpDropCounters {
  uint64_t dropped = 0;  // IPv4 UDP datagrams to the configured port (and address)
  uint64_t passed = 0;   // every other packet, handed on untouched
};

// What the filter drops: IPv4 UDP datagrams to `port`, and to `only_daddr_be` unless that is 0.
struct UdpDropConfig {
  uint16_t port = 0;           // host byte order; 0 drops nothing
  uint32_t only_daddr_be = 0;  // IPv4 address in network byte order; 0: any destination
};

// The value to store at key 0 of udp_drop_config (struct udp_drop_config of udp_drop_abi.h), as
// bytes in memory order. The program reads both fields in network byte order, so these bytes do
// not depend on the byte order of the host that runs it.
std::vector<uint8_t> EncodeUdpDropConfig(const UdpDropConfig& config);

// Sums the per-CPU value of udp_drop_stats at key 0 as a per-CPU map lookup returns it (one
// struct udp_drop_counters per possible CPU, in memory order). Throws RunError when the size is
// not a positive multiple of the struct's size.
UdpDropCounters SumUdpDropCounters(std::span<const uint8_t> per_cpu_value);

// One loaded copy of the filter: the tc program (udp_drop_tc: TC_ACT_SHOT for the datagrams it
// drops, TC_ACT_OK for everything else, reading non-linear skbs correctly) and the XDP program
// (udp_drop_xdp), sharing one configuration map and one counter map. Attach them with
// TcIngressAttachment / XdpAttachment or put tc_fd() into a Dispatcher slot. Movable, not
// copyable; destroying it releases the programs (an attachment keeps its own reference).
class UdpDropProgram {
 public:
  // Opens and loads both programs and writes `config`. Throws PrerequisiteError without
  // privileges and RunError if the kernel rejects them (the verifier log goes to nfb::log).
  UdpDropProgram();  // drops nothing until Configure()
  explicit UdpDropProgram(const UdpDropConfig& config);
  UdpDropProgram(UdpDropProgram&& other) noexcept;
  UdpDropProgram& operator=(UdpDropProgram&& other) noexcept;
  ~UdpDropProgram();

  // Rewrites the configuration map; packets from then on see the new values (attached programs
  // included). Throws RunError if the map cannot be written.
  void Configure(const UdpDropConfig& config);

  int tc_fd() const;
  int xdp_fd() const;
  // The ARRAY udp_drop_config (one struct udp_drop_config at key 0).
  int config_map_fd() const;
  // The PERCPU_ARRAY udp_drop_stats (one struct udp_drop_counters per CPU at key 0).
  int stats_map_fd() const;

  // Counters summed over CPUs. Throws RunError if the map cannot be read.
  UdpDropCounters Counters() const;

 private:
  struct SkeletonDeleter {
    void operator()(::udp_drop* skel) const;
  };
  std::unique_ptr<::udp_drop, SkeletonDeleter> skel_;
};

}  // namespace nfb::bpf
