// Packet capture on a host the harness does not run on (an external machine reached over SSH on
// the xen platform): tcpdump runs there and writes the pcap to its stdout, which the local
// command (ssh) writes straight into the output file.
//
// The caller supplies how a command reaches the host (Platform::Command: this library knows
// nothing of platforms). The remote command is a small sh wrapper around tcpdump that stops
// tcpdump with SIGTERM when its stdin ends, so closing our end of the pipe ends the capture
// cleanly: tcpdump writes the rest of its packets (-U, --immediate-mode), prints its summary
// ("N packets captured / N packets received by filter / N packets dropped by kernel") on stderr
// and exits; the wrapper exits with tcpdump's status. If the connection is lost instead, the
// remote stdin ends all the same, so no tcpdump is left running on the host.
//
// What differs from the in-process capture (pcap_capture.h), and is recorded as such: the packets
// are stamped by the remote tcpdump's libpcap (host clock unless the interface offers a NIC
// clock, chosen like kAuto from `tcpdump -J`); the kernel ring's counters come from tcpdump's
// summary; the clock's resolution cannot be probed from here (not measured).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nfb/collectors/pcap_capture.h"
#include "nfb/core/held_stdin.h"
#include "nfb/core/subprocess.h"

namespace nfb::collectors {

// tcpdump's end-of-capture statistics, as it prints them on stderr.
struct TcpdumpSummary {
  bool found = false;                  // the three counter lines were there
  uint64_t captured = 0;               // "N packets captured": handed to tcpdump (and written)
  uint64_t received_by_filter = 0;     // "N packets received by filter" (pcap_stats ps_recv)
  uint64_t dropped_by_kernel = 0;      // "N packets dropped by kernel" (ps_drop)
  uint64_t dropped_by_interface = 0;   // "N packets dropped by interface", printed only when > 0
  bool listening = false;              // "listening on IF, link-type ..." was printed
  std::vector<std::string> errors;     // "tcpdump: ..." lines other than listening/verbose notes
  std::vector<std::string> warnings;   // "tcpdump: WARNING: ..." lines
};

// Parses tcpdump's stderr (4.9 and 4.99 wording, singular and plural, counters on one line or
// three). Never throws: found = false when the summary is missing (tcpdump failed or was killed).
TcpdumpSummary ParseTcpdumpSummary(const std::string& stderr_text);

// The time stamp types `tcpdump -J -i IF` lists ("host", "adapter", "adapter_unsynced", ...);
// empty when it says the type cannot be set for the interface.
std::vector<std::string> ParseTcpdumpTimestampTypes(const std::string& output);

// The type to ask for, as the in-process capture decides: kAuto takes adapter_unsynced, else
// adapter, else host; kAdapter/kAdapterUnsynced must be offered (PrerequisiteError naming the
// interface and what is offered); kHost is host.
std::string ChooseTimestampType(TimestampRequest request, const std::vector<std::string>& offered,
                                const std::string& where);

struct RemoteCaptureOptions {
  std::string where;      // for messages and records: "loadgen:enp3s0f0"
  std::string interface;  // on the remote host
  std::string filter;     // pcap syntax
  int snaplen = 128;
  int buffer_bytes = 32 << 20;  // -B (tcpdump takes KiB)
  // From ChooseTimestampType; "host" is not passed to tcpdump (it is libpcap's default, and an
  // interface that lists no types would refuse it).
  std::string timestamp_type = "host";
  std::vector<std::string> timestamp_types_offered;
  std::string tcpdump = "tcpdump";  // the remote tcpdump (looked up in the remote PATH)
  std::filesystem::path output;     // the pcap file written here
  std::filesystem::path stderr_path;  // tcpdump's stderr kept here (default: output + ".stderr")
  // The FIFO that is the remote stdin (default: output + ".stdin"). Must be on a filesystem that
  // has FIFOs (not 9p or some network filesystems): the runner puts it in the run directory.
  std::filesystem::path stdin_fifo;
  std::chrono::milliseconds start_timeout{30000};  // until tcpdump says it is listening
};

// tcpdump's argv: -i IF -p -n -U --immediate-mode -w - --time-stamp-precision=nano -s -B [-j] FILTER.
std::vector<std::string> TcpdumpArgv(const RemoteCaptureOptions& options);

// The remote command: tcpdump's argv under nfb::StopOnStdinEof (core/held_stdin.h), named
// nfb-capture: tcpdump runs with stdin from /dev/null, the end of the wrapper's stdin sends it
// SIGTERM, and the wrapper exits with tcpdump's status.
std::vector<std::string> RemoteCaptureArgv(const RemoteCaptureOptions& options);

// Turns a remote argv into the local process that runs it on the host (Platform::Command).
using RemoteCommand = std::function<ProcessSpec(std::vector<std::string>)>;

class RemoteCapture {
 public:
  // Starts the capture and returns once tcpdump says it is listening (its filter is set).
  // Throws RunError when it exits before (its stderr in the message: unknown interface, filter
  // syntax, tcpdump missing) or does not get there within start_timeout; PrerequisiteError when
  // tcpdump warns that the timestamp type could not be set.
  static std::unique_ptr<RemoteCapture> Start(const RemoteCaptureOptions& options,
                                              const RemoteCommand& command);

  // Ends the remote stdin, waits (up to 30 s) for tcpdump's summary and exit, and reports:
  // ps_recv = received by filter, ps_drop = dropped by kernel, ps_ifdrop = dropped by interface,
  // packets_written counted in the file, nanosecond from the file's magic. Throws RunError when
  // tcpdump failed or printed no summary (the file keeps what arrived). Call once.
  CaptureReport Stop();

  // The summary Stop() parsed (nullopt before).
  const std::optional<TcpdumpSummary>& summary() const { return summary_; }

  ~RemoteCapture();  // stops the capture if Stop() was not called (no report)
  RemoteCapture(const RemoteCapture&) = delete;
  RemoteCapture& operator=(const RemoteCapture&) = delete;

 private:
  RemoteCapture() = default;
  RemoteCaptureOptions options_;
  HeldStdin stdin_;  // the remote stdin: closing it stops tcpdump
  Process process_;
  bool stopped_ = false;
  std::optional<TcpdumpSummary> summary_;
};

}  // namespace nfb::collectors
