// Loader for nf_programs/icmp_echo.bpf.c, the BPF ICMP echo responder.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

struct icmp_echo;  // the generated skeleton (icmp_echo.skel.h), kept out of this header

namespace nfb::bpf {

// Counters of the responder, summed over all CPUs.
struct IcmpEchoCounters {
  uint64_t answered = 0;  // echo requests turned into replies and sent back out
  uint64_t passed = 0;    // every other packet, handed on untouched
};

// Sums the per-CPU value of icmp_echo_stats at key 0 as a per-CPU map lookup returns it (one
// struct icmp_echo_counters per possible CPU, in memory order), e.g. read through bpfd by a guest
// that offloaded the responder. Throws RunError when the size is not a positive multiple of the
// struct's size.
IcmpEchoCounters SumIcmpEchoCounters(std::span<const uint8_t> per_cpu_value);

// One loaded copy of the responder: the tc program (icmp_echo_tc, replies with bpf_redirect to
// the egress of the receiving device) and the XDP program (icmp_echo_xdp, XDP_TX), sharing one
// counter map. Attach them with TcIngressAttachment / XdpAttachment or put tc_fd() into a
// Dispatcher slot. Movable, not copyable; destroying it releases the programs (an attachment or a
// dispatcher slot keeps its own reference).
class IcmpEchoProgram {
 public:
  struct Options {
    // Answer only requests to this IPv4 address, in network byte order; 0 answers any
    // destination. dom0's responder sets dom0's address so it leaves the guests' pings alone.
    uint32_t only_daddr_be = 0;
  };

  // Opens and loads both programs. Throws PrerequisiteError without privileges and RunError if
  // the kernel rejects them (the verifier log goes to nfb::log at warn level).
  IcmpEchoProgram();
  explicit IcmpEchoProgram(const Options& options);
  IcmpEchoProgram(IcmpEchoProgram&& other) noexcept;
  IcmpEchoProgram& operator=(IcmpEchoProgram&& other) noexcept;
  ~IcmpEchoProgram();

  int tc_fd() const;
  int xdp_fd() const;
  // The PERCPU_ARRAY icmp_echo_stats (one struct icmp_echo_counters per CPU at key 0).
  int stats_map_fd() const;

  // Counters summed over CPUs. Throws RunError if the map cannot be read.
  IcmpEchoCounters Counters() const;

 private:
  struct SkeletonDeleter {
    void operator()(::icmp_echo* skel) const;
  };
  std::unique_ptr<::icmp_echo, SkeletonDeleter> skel_;
};

}  // namespace nfb::bpf
