// Live packet capture to a pcap file, on an interface inside a named network namespace.
//
// The harness captures on the load generator (or in dom0) while a workload runs, then analyses
// the file. libpcap's packet socket is bound to the namespace it was created in, so the calling
// thread enters the namespace only to create and activate the handle; the capture thread never
// changes namespace. Timestamps are requested in nanoseconds from the best clock the interface
// offers, and the report says what was granted, because RTTs of 1-2 us are only a few ticks of
// a host clock (docs/measurement.md).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

struct pcap;         // pcap_t
struct pcap_dumper;  // pcap_dumper_t

namespace nfb::collectors {

// Which clock stamps the packets (libpcap's PCAP_TSTAMP_* types). On a NIC with a hardware clock,
// outgoing packets still get host stamps (the packet socket sees them before the NIC does), so
// requester-side RTTs need kHost there: see docs/measurement.md.
enum class TimestampRequest {
  kAuto,             // adapter_unsynced, else adapter, else host: the first the interface offers
  kAdapter,          // NIC clock synchronised to the system clock; error if not offered
  kAdapterUnsynced,  // raw NIC clock; error if not offered
  kHost,             // the kernel's clock when the packet reaches the packet socket
};

// "auto", "adapter", "adapter_unsynced", "host". Throws InputError for other text.
TimestampRequest ParseTimestampRequest(const std::string& text);
std::string ToString(TimestampRequest request);

struct CaptureOptions {
  std::string netns;            // named namespace (ip netns) holding the interface; empty = current
  std::string interface;        // interface to capture on
  std::string filter;           // BPF filter in pcap syntax (e.g. "icmp"); empty = everything
  int snaplen = 128;            // bytes kept per packet: headers only, enough for the analyses
  int buffer_bytes = 32 << 20;  // kernel ring size: large enough for bursts while we write
  // The kernel hands a partly filled ring block to the capture thread after at most ~2x this
  // long. Larger means fewer wake-ups under light traffic; Stop() takes 2x this to drain.
  int timeout_ms = 100;
  bool promiscuous = false;  // also needed for libpcap to report ps_ifdrop
  TimestampRequest timestamps = TimestampRequest::kAuto;
  std::filesystem::path output;  // pcap file written (nanosecond format when granted)
};

struct CaptureReport {
  std::string timestamp_type;                        // type in use: "host", "adapter", ...
  std::vector<std::string> timestamp_types_offered;  // as listed by pcap_list_tstamp_types
  bool nanosecond = false;       // nanosecond precision granted (file magic 0xa1b23c4d)
  uint64_t packets_written = 0;  // packets in the output file
  // pcap_stats at the end of the capture (counts since Start, kernel filter applied):
  uint64_t ps_recv = 0;     // packets that passed the filter, including ps_drop
  uint64_t ps_drop = 0;     // dropped because the ring was full: the capture is incomplete
  uint64_t ps_ifdrop = 0;   // dropped by the interface (libpcap only fills this in promiscuous
                            // mode, from /sys of the mount namespace: 0 for most virtual links)
  double thread_cpu_s = 0;  // CPU time used by the capture thread
};

class PcapCapture {
 public:
  // Opens and activates the capture (entering options.netns for that), opens the output file and
  // starts the capture thread. Returns once packets are being captured.
  // Throws InputError for bad options or filter syntax, PrerequisiteError if the requested
  // timestamp type is not offered or capturing is not permitted, RunError for other failures
  // (missing namespace or interface, output file not writable).
  static std::unique_ptr<PcapCapture> Start(const CaptureOptions& options);

  // Stops capturing and returns the report. Keeps reading for 2 x timeout_ms + 20 ms so that
  // packets already in the kernel ring reach the file, then flushes and closes it. Call it from
  // any thread other than the capture thread (once; later calls throw RunError). Throws RunError
  // if the capture failed while running (the file keeps what was captured until then).
  CaptureReport Stop();

  // Stops without a report if Stop() was not called.
  ~PcapCapture();

  PcapCapture(const PcapCapture&) = delete;
  PcapCapture& operator=(const PcapCapture&) = delete;

 private:
  PcapCapture() = default;
  void Run();
  void Shutdown();

  CaptureOptions options_;
  pcap* handle_ = nullptr;
  pcap_dumper* dumper_ = nullptr;
  CaptureReport report_;
  std::thread thread_;
  int wake_fd_ = -1;  // eventfd: Stop() -> capture thread
  std::atomic<std::chrono::steady_clock::time_point> stop_requested_at_{};
  bool stopped_ = false;
  // Written by the capture thread, read after join.
  uint64_t packets_written_ = 0;
  std::string thread_error_;
  double thread_cpu_s_ = 0;
};

}  // namespace nfb::collectors
