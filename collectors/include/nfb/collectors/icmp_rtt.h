// Round-trip times of ICMP echo (ping) probes, from a capture taken on the requesting host.
//
// The pinger's own RTT figures include its scheduling and syscall latency; the capture's
// timestamps are taken by the kernel (or the NIC) as the packets pass the interface, so pairing
// requests and replies in the capture measures the network path alone. Every probe is accounted
// for, because a capture that silently drops a quarter of the probes biases the sample (see
// docs/measurement.md for the definitions).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace nfb::collectors {

struct EchoRttOptions {
  std::string requester;        // IPv4 address (dotted quad) of the host sending the echo requests
  std::string target;           // IPv4 address being pinged
  uint64_t warmup = 0;          // probes excluded at the start (the first `warmup` by sequence)
  uint64_t sent = 0;            // probes the pinger reports sent, warm-up included; 0 = unknown
  uint16_t first_sequence = 1;  // sequence number of probe 0 (iputils ping starts at 1)
  // ICMP identifier of the pinger's flow; unset = the identifier of the first echo request from
  // requester to target in the capture (echo packets with other identifiers are then ignored).
  std::optional<uint16_t> identifier;
};

struct RttSample {
  uint64_t probe = 0;  // probe index: extended sequence - first_sequence (0 = first probe sent)
  int64_t rtt_ns = 0;  // reply timestamp - request timestamp
  double t_s = 0;      // request timestamp relative to the earliest measured request, seconds
};

// Counts for the measured probes (indices warmup .. sent-1), except the packet counters.
// paired + lost + missing_from_capture == sent always holds.
struct EchoAccounting {
  bool sent_known = false;  // the caller gave the pinger's count
  // Measured probes: options.sent - warmup when known (0 if warmup >= sent); otherwise inferred
  // as (highest probe index captured + 1) - warmup, a lower bound, since probes after the last
  // captured one are invisible.
  uint64_t sent = 0;
  uint64_t paired = 0;                   // request and reply captured: one RTT sample each
  uint64_t lost = 0;                     // request captured, no reply captured
  uint64_t missing_from_capture = 0;     // request not captured (its reply may have been)
  uint64_t replies_without_request = 0;  // of missing_from_capture: reply captured anyway
  uint64_t duplicate_requests = 0;       // extra requests for a probe (the first one is used)
  uint64_t duplicate_replies = 0;        // extra replies for a probe (the first one is used)
  // Packet counters (each packet of the file lands in exactly one of the last four).
  uint64_t packets_total = 0;
  uint64_t packets_ignored = 0;  // not an echo request/reply of this requester/target/identifier
  uint64_t warmup_packets = 0;   // echo packets of warm-up probes
  uint64_t out_of_range = 0;     // echo packets whose probe index is < 0 or >= options.sent
  uint64_t echo_packets = 0;     // echo packets of measured probes, duplicates included
};

struct EchoRttResult {
  std::optional<uint16_t> identifier;  // the flow analysed; unset if no echo packet was found
  std::vector<RttSample> samples;      // one per paired probe, by ascending probe index
  EchoAccounting accounting;
};

// Pairs echo requests (requester -> target, type 8) with replies (target -> requester, type 0)
// by (identifier, sequence) in a capture file of link type EN10MB (optionally 802.1Q-tagged),
// LINUX_SLL or LINUX_SLL2. 16-bit sequence numbers are unwrapped against the previous echo
// packet of the flow, so runs longer than 65536 probes pair correctly as long as no packet is
// more than 32767 probes out of place. Duplicates keep the first packet in file order.
// Runs in one pass, O(packets + probes) time and O(probes) memory.
// Throws InputError for an invalid address, warmup > sent, or an unreadable, truncated, corrupt
// or wrong-link-type capture file.
EchoRttResult AnalyzeEchoRtt(const std::filesystem::path& pcap, const EchoRttOptions& options);

}  // namespace nfb::collectors
