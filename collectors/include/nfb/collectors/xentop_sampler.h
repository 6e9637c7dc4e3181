// Per-domain CPU on a real Xen host: `xentop -b -d <interval>` as a child process for the run's
// duration, its output read and parsed as it comes (XentopParser), one row per domain per frame
// (XentopRowBuilder): the same rows as the netns CpuSampler, behind the same interface
// (DomainCpuSampler). Domain-0 becomes "dom0"; guests' rows carry the scenario's guest names
// (their xl names, or the xl names given in xl_names, are what xentop shows). External hosts are
// not Xen domains and get no rows: on a real testbed
// they are other machines, in the lab they are namespaces in dom0 and their CPU is part of dom0's
// figure (flag includes_external_hosts). docs/cpu-accounting.md says what xentop counts.
//
// The process: started in its own process group with stdout into a FIFO the sampler reads
// (every frame arrives as xentop flushes it, timestamped on arrival) and stderr into a file (for
// error messages). Stop() and the destructor end it with SIGTERM (xentop's batch mode exits on
// it), then SIGKILL after a grace period. If the harness itself is killed, the FIFO loses its
// only reader and xentop dies of SIGPIPE at its next frame: it never outlives the run by more
// than one interval.
//
// Output is untrusted: unreadable lines are counted (details), over-long lines are cut, and
// xentop exiting or dying before Stop() is an error reported by Stop() with its status and the
// end of its stderr; Rows() keeps what came before.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nfb/collectors/cpu_series.h"
#include "nfb/collectors/domain_cpu_sampler.h"

namespace nfb::collectors {

struct XentopSamplerOptions {
  // The program; looked up in PATH unless it contains a '/' (tests point it at a fake).
  std::filesystem::path xentop = "xentop";
  // xentop's -d. xentop reads it with atoi (whole seconds; "0.5" would be 0, a busy loop), so
  // it must be a whole number of seconds, at least 1.
  std::chrono::milliseconds interval{1000};
  // The scenario's guests, the rows' names; "dom0" is implied.
  std::vector<std::string> guests;
  // A guest's Xen domain name when it is not the guest's own (the xen platform's
  // "<run prefix>-<guest>"): guest -> xl name. xentop shows xl names; rows get the guest's.
  std::map<std::string, std::string> xl_names;
  // External hosts that run inside dom0 (the lab's namespaces). Only recorded (details) and
  // used to flag dom0's rows includes_external_hosts.
  std::vector<std::string> external_hosts_in_dom0;
  // xentop -f: full names instead of names cut to 10 characters. Xen 4.17's xentop has it.
  // Without it, two guests whose names share their first 10 characters are rejected at Start.
  bool full_names = true;
  // Keep the rows without a CPU(%) (frame 0, a domain's first frame), flagged (see
  // XentopRowOptions).
  bool include_first_frame = false;
  // Start() waits this long for xentop's first header line (xenstat's first reading; seconds
  // under QEMU/TCG).
  std::chrono::milliseconds first_frame_timeout{30000};
  // A copy of everything xentop printed, to keep with the raw results (re-read it with
  // ParseXentopBatch). Empty: not kept.
  std::filesystem::path raw_output;
  // Where the FIFO and the stderr file live (a private subdirectory is made and removed at
  // Stop). Empty: the system's temporary directory.
  std::filesystem::path work_dir;
  // Called on the sampler thread with each frame's rows. Optional; keep it short.
  std::function<void(const std::vector<CpuSeriesRow>&)> on_interval;
};

// The report's details (CpuSamplerReport::details, method "xentop"):
//   argv, interval_s, startup_s (from starting xentop to its first header), frames (read),
//   rows_left_out (no CPU(%): frame 0, domains that appeared), skipped_lines, malformed_lines,
//   cut_lines (longer than 64 KiB), stalls, raw_output,
//   external_hosts_in_dom0, domains {name: {shown_as, first_t_s, last_t_s, frames}},
//   exit (how xentop ended: "terminated by the sampler", or its status if it ended by itself).
class XentopSampler final : public DomainCpuSampler {
 public:
  // Validates the options, starts xentop and waits for its first header line: t = 0 is when that
  // frame arrived, so the first rows (frame 1) come one interval later, as with CpuSampler.
  // Throws InputError for bad options (interval not a whole number of seconds >= 1, a guest
  // named "dom0", Domain-0 or a reserved row name, duplicate guests or xl names, an xl name for
  // an unknown guest, xl names that xentop would cut to the same 10 characters without
  // full_names); PrerequisiteError if the program is not found;
  // RunError if it cannot be started, exits, or prints no header within first_frame_timeout (the
  // message carries its status, stderr and the first lines it printed).
  static std::unique_ptr<XentopSampler> Start(XentopSamplerOptions options);

  std::string_view Method() const override { return "xentop"; }
  std::vector<CpuSeriesRow> Rows() const override;
  bool Failed() const override;
  // Stops reading at once (frames not yet complete are dropped), then ends xentop. Throws
  // RunError if xentop exited or died before Stop(), or its output could not be read.
  CpuSamplerReport Stop() override;

  ~XentopSampler() override;  // stops without a report if Stop() was not called
  XentopSampler(const XentopSampler&) = delete;
  XentopSampler& operator=(const XentopSampler&) = delete;

 private:
  struct State;
  explicit XentopSampler(std::unique_ptr<State> state);
  void Shutdown() noexcept;

  std::unique_ptr<State> state_;
};

}  // namespace nfb::collectors
