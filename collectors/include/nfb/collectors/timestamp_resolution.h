// How fine the capture clock really is, measured from captured timestamps.
//
// A nanosecond pcap does not mean a nanosecond clock: the kernel's host timestamps advance in
// steps of its clocksource (10.015 ns on the development VM, whose TSC counts at ~99.85 MHz;
// hundreds of ns elsewhere), and RTTs of 1-2 us may then be only a handful of steps. The step is
// estimated from the capture itself and recorded with every run (context.json).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "nfb/collectors/pcap_capture.h"

namespace nfb::collectors {

struct TimestampResolution {
  // Estimated clock step in ns (see EstimateResolution); 0 when fewer than kMinIntervals
  // differences between distinct timestamps were available.
  double resolution_ns = 0;
  std::string method;  // "gcd", "periodogram" or "none" (no step >= 3 ns found: 1 ns)
  // Share of the differences within max(1.5 ns, 2% of the step) of a multiple of the step.
  double fit_fraction = 0;
  int64_t smallest_step_ns = 0;   // smallest positive difference seen (an upper bound)
  uint64_t packets = 0;           // timestamps read
  uint64_t intervals = 0;         // positive differences between consecutive sorted timestamps
  uint64_t equal_timestamps = 0;  // packets whose timestamp equals the previous one's
  bool file_nanosecond = false;   // the file stores ns; a us file can only show >= 1000 ns

  static constexpr uint64_t kMinIntervals = 16;
};

// Estimates the timestamp clock step from a capture file (any link type), from the positive
// differences d between consecutive distinct timestamps (sorted):
//  1. if the GCD g of all d is >= 2, the step is g (integer steps: 256 ns, 1 us files, ...);
//  2. else a periodogram over up to 256 differences <= 10 us: the largest q in
//     [3 ns, min(d), 2.5 s] (s = IQR(d) / 1.349, a robust sd of the spacing) at which the phase
//     coherence |mean(exp(2 pi i d / q))| peaks above 0.6, refined by least squares
//     (sum d / sum round(d / q)); this finds fractional steps seen through the kernel's +-1 ns
//     rounding (e.g. 41.67 ns, or the 10.015 ns of the development VM) and tolerates outliers;
//  3. else 1 ns.
// The traffic should be dense and irregular (packets a few us apart with jitter), as the probe
// below produces: above 2.5 s, a sender's own period P (and P/2, P/3 ...) would look like a
// clock step.
// Throws InputError if the file cannot be read or is corrupt.
TimestampResolution EstimateResolution(const std::filesystem::path& pcap);

struct ResolutionProbeOptions {
  std::string netns;      // namespace of the interface captured on (empty = current)
  std::string interface;  // interface captured on; must be up
  // Where the burst is sent from; empty = netns/interface above, whose outgoing packets the
  // capture sees too. Give the peer of a veth pair to timestamp the receive path instead.
  std::string sender_netns;
  std::string sender_interface;
  int packets = 2000;
  TimestampRequest timestamps = TimestampRequest::kAuto;
  std::filesystem::path output;  // the probe's capture, kept as evidence
};

struct ResolutionProbeResult {
  CaptureReport capture;
  TimestampResolution resolution;
  int packets_sent = 0;
};

// Sends a burst of `packets` 60-byte frames (ethertype 0x88b5, IEEE local experimental; source
// and destination MAC 02:6e:66:62:00:01, locally administered) back to back on the sender
// interface, captures them on the capture interface with PcapCapture and estimates the
// resolution of that capture. Needs root (CAP_NET_RAW). Throws InputError for bad options,
// PrerequisiteError without privileges, RunError if sending or capturing fails.
ResolutionProbeResult ProbeTimestampResolution(const ResolutionProbeOptions& options);

}  // namespace nfb::collectors
