// The valid flow of the flood experiments (thesis 6.3.1-6.3.3): an iperf3 UDP client on an
// external host sends to an iperf3 server in the guest at a target rate, and we want throughput
// and loss for every second.
//
// Where the numbers come from (iperf3 3.12, Debian 12):
// - The client's `-J` output has the SENT side per interval (bytes, datagrams) and, at the end,
//   `end.sum_sent`. It cannot know what arrived: its `end.sum_received` holds zeros for UDP.
// - Loss per interval is only known where datagrams arrive, so the RECEIVED side (bytes,
//   datagrams expected, lost, jitter) comes from the server's own `-J` output, which the server
//   writes to its stdout (a file here) when its one test (`-1`) ends or when it is stopped with
//   SIGINT/SIGTERM. That copy survives an interrupted or failed client.
// - The client also asks for it with `--get-server-output`: a complete run's client JSON then
//   carries the server's JSON in `server_output_json`. It only arrives when the test ends
//   normally, so it is the fallback, not the source (CombineIperf3Reports).
// - iperf3 3.12 with -J exits 0 even when it fails ("unable to connect to server: Connection
//   refused"): the `error` field is the only reliable signal, so it is always checked.
// - On SIGINT/SIGTERM/SIGHUP iperf3 writes the JSON gathered so far with `error`
//   "interrupt - the client has terminated" (or "... the server has terminated"); its peer
//   then ends with "the server has terminated" / "the client has terminated" (no "interrupt").
//
// The parsers check the type of every field they read and throw InputError for anything else;
// text they are given may come from a file a user edited. tests/data/iperf3/ holds real outputs.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nfb/platform/platform.h"

namespace nfb::workloads {

// ---------------------------------------------------------------------------------------------
// Reports parsed from iperf3 -J output

// One interval (`intervals[i].sum`) or a total (`end.sum_sent` / `end.sum_received`).
// Times are seconds since that process's test start, on its own clock.
struct Iperf3Interval {
  double start_s = 0;
  double end_s = 0;
  double seconds = 0;
  uint64_t bytes = 0;          // sent (sender) or received (receiver) payload bytes
  double bits_per_second = 0;  // NaN when iperf3 printed null (it prints NaN/inf as null)
  // Sender: datagrams sent. Receiver: datagrams expected, i.e. the advance of the highest
  // sequence number seen (received + lost). The receiver's total can fall short of the sender's
  // by the datagrams still in flight when the server closed its test (72 of 431574 in
  // tests/data/iperf3/udp_*.json): those are neither received nor lost.
  uint64_t packets = 0;
  // Receiver only (0 on the sender side). Can be negative in an interval where datagrams that
  // were counted lost arrive late (iperf3 then decrements its loss counter).
  int64_t lost_packets = 0;
  double lost_percent = 0;  // receiver only; lost_packets / packets * 100 as iperf3 computed it
  double jitter_ms = 0;     // receiver only
  bool omitted = false;     // in the -O warm-up period (not counted in totals)
};

// One direction as one process saw it.
struct Iperf3Side {
  std::vector<Iperf3Interval> intervals;
  std::optional<Iperf3Interval> total;  // absent when the output has no `end` summary
  // Intervals dropped because they repeat the previous one's start and end: iperf3 3.12 prints
  // its last interval twice when its peer terminates (tests/data/iperf3/client_sigint_server.json,
  // server_sigint_client.json). Counting both would double that second.
  int repeated_intervals = 0;
};

enum class Iperf3Role { kUnknown, kClient, kServer };
const char* ToString(Iperf3Role role);

struct Iperf3Report {
  Iperf3Role role = Iperf3Role::kUnknown;  // from start.connecting_to / start.accepted_connection
  std::string version;                     // "iperf 3.12"; empty if absent
  std::string protocol;                    // "UDP"; empty when the test never started
  uint64_t target_bitrate = 0;             // start.test_start.target_bitrate (bit/s), 0 if absent
  uint64_t block_bytes = 0;                // start.test_start.blksize
  uint64_t duration_s = 0;                 // start.test_start.duration
  uint64_t start_timesecs = 0;             // start.timestamp.timesecs (Unix time, 1 s resolution)

  std::string error;             // iperf3's `error`, empty if none
  bool interrupted = false;      // this iperf3 was stopped by a signal ("interrupt - ...")
  bool peer_terminated = false;  // the other side went away ("the client has terminated", ...)

  // The client's datagrams as it sent them. Absent in a server's output.
  std::optional<Iperf3Side> sent;
  // The server's view of what arrived. From a server's own output, or from a client's
  // `server_output_json` (then received_from_server_output is set).
  std::optional<Iperf3Side> received;
  bool received_from_server_output = false;
  std::string server_error;  // `error` inside server_output_json, if any

  // True when iperf3 reported an error that is not a stop we asked for (a signal to this process
  // or the peer ending after its own signal count as stops).
  bool Failed() const;
};

// Parses one process's -J output (client or server, complete, interrupted or failed). Throws
// InputError with the JSON path and the problem ("iperf3 JSON: intervals[3].sum.bytes: expected a
// non-negative integer, got string") for invalid JSON, a missing or mistyped field, numbers out
// of range, a non-UDP test, or more than 64 MiB of text.
Iperf3Report ParseIperf3Json(std::string_view text);

// The client's report with the received side taken from the server's own output when there is
// one (it has the intervals even when the client was interrupted), else what the client got
// through --get-server-output.
Iperf3Report CombineIperf3Reports(const Iperf3Report& client,
                                  const std::optional<Iperf3Report>& server);

// The report as JSON for results (sides, intervals, totals, error flags).
nlohmann::json ToJson(const Iperf3Report& report);

// ---------------------------------------------------------------------------------------------
// Commands and the processes

struct Iperf3ServerOptions {
  std::string netns;                                // where to run; empty = current namespace
  std::vector<std::filesystem::path> cgroup_procs;  // cgroups to join (ProcessSpec)
  std::string bind_address;                         // -B; empty = all addresses
  int port = 5201;                                  // -p: TCP control and UDP data
  std::optional<int> cpu;                           // -A: pin iperf3 to this CPU
  std::filesystem::path output_dir;                 // <name>.json, <name>.stderr.log
  std::string name = "iperf3-server";
  std::chrono::milliseconds ready_timeout{10000};  // until the control port listens
  // A host reached over SSH (a Xen guest): when `platform` is set, iperf3 runs in `host` through
  // platform->Command (netns and cgroup_procs are not used), readiness is read from that host's
  // /proc/net/tcp{,6} over SSH (ready_timeout at least 60 s then), and Stop() ends its stdin,
  // on which a remote shell sends it SIGTERM (held_remote.h).
  const platform::Platform* platform = nullptr;
  std::string host;
};

struct Iperf3ClientOptions {
  std::string netns;
  std::vector<std::filesystem::path> cgroup_procs;
  std::string server_address;      // -c
  int port = 5201;                 // -p
  double rate_mbit = 1000;         // -b in bit/s (1 Mbit = 10^6 bit); 0 = unlimited
  int datagram_bytes = 1448;       // -l: UDP payload, 16..65507
  int duration_s = 180;            // -t
  double interval_s = 1;           // -i, 0.1..60
  std::optional<int> client_port;  // --cport: fixed source port (else ephemeral)
  std::optional<int> cpu;          // -A
  bool get_server_output = true;   // --get-server-output
  std::chrono::milliseconds connect_timeout{5000};  // --connect-timeout (control connection)
  std::filesystem::path output_dir;
  std::string name = "iperf3-client";
};

// Whether /proc/net/tcp or tcp6 text (one or both files, headers included) lists a socket in
// state LISTEN (0A) on local `port`.
bool TcpListening(std::string_view proc_net_tcp, int port);

// `iperf3 -s -1 -J -p PORT [-B ADDR] [-A CPU]`. Throws InputError for invalid options.
std::vector<std::string> Iperf3ServerCommand(const Iperf3ServerOptions& options);
// `iperf3 -c ADDR -p PORT -u -b BPS -l LEN -t DUR -i INT -J --connect-timeout MS
//  [--get-server-output] [--cport P] [-A CPU]`. Throws InputError for invalid options.
std::vector<std::string> Iperf3ClientCommand(const Iperf3ClientOptions& options);

// What a finished (or stopped) iperf3 left.
struct Iperf3Outcome {
  std::vector<std::string> argv;
  std::filesystem::path json_path, stderr_path;
  Iperf3Report report;
  std::string exit_status;  // ProcessResult::Status(), e.g. "exit status 1"
  bool stopped = false;     // we stopped it (Stop(), or RunIperf3Client's time limit)
  std::chrono::system_clock::time_point started_wall, ended_wall;
  std::chrono::steady_clock::time_point started_steady, ended_steady;
};

// A running iperf3. Not thread-safe; movable. The destructor kills a process still running
// (SIGKILL to its process group) so it never outlives the handle.
class Iperf3Process {
 public:
  Iperf3Process();
  Iperf3Process(Iperf3Process&&) noexcept;
  Iperf3Process& operator=(Iperf3Process&&) noexcept;
  ~Iperf3Process();

  const std::vector<std::string>& argv() const;
  const std::filesystem::path& json_path() const;
  bool Running() const;

  // Waits up to `timeout` for iperf3 to exit and parses its JSON; nullopt if still running.
  // Throws InterruptedError on Ctrl-C (iperf3 is stopped first), RunError if it left no
  // parsable JSON (the message has its exit status and stderr).
  std::optional<Iperf3Outcome> Wait(std::chrono::milliseconds timeout);
  // SIGTERM (iperf3 then writes the JSON gathered so far, as on SIGINT), up to `grace` for it to
  // exit, then SIGKILL. Completes even after Ctrl-C, so teardown keeps the partial report.
  // Returns the outcome, with `stopped` set unless iperf3 had already exited by itself; throws
  // RunError as Wait does.
  Iperf3Outcome Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  struct State;  // implementation detail (src/iperf3.cc)

 private:
  friend Iperf3Process StartIperf3Server(const Iperf3ServerOptions& options);
  friend Iperf3Process StartIperf3Client(const Iperf3ClientOptions& options);
  std::unique_ptr<State> state_;
};

// Starts the server and returns once its control port listens in its namespace (read from
// /proc/net/tcp{,6} of that namespace, no extra process). Throws InputError for bad options,
// RunError if the port is already taken there, iperf3 exits first (its JSON error is in the
// message) or does not listen within ready_timeout, InterruptedError on Ctrl-C.
Iperf3Process StartIperf3Server(const Iperf3ServerOptions& options);
// Starts the client; returns at once.
Iperf3Process StartIperf3Client(const Iperf3ClientOptions& options);
// Runs the client to its end. iperf3 normally exits about a second after `duration_s`; if it is
// still running `grace` after that (a control connection lost under a flood), it is stopped and
// the outcome says so. Logs progress every 15 s. Throws as Iperf3Process::Wait does.
Iperf3Outcome RunIperf3Client(const Iperf3ClientOptions& options,
                              std::chrono::seconds grace = std::chrono::seconds(30));

}  // namespace nfb::workloads
