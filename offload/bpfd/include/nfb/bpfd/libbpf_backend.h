// The real kernel backend of bpfd: libbpf for ELF objects, bpf_prog_load for raw bytecode, the
// XenBPF dispatcher (nfb::bpf::Dispatcher) attached at the tc ingress of dom0's NIC, and the
// BPF_PROG_TEST_RUN calibration of the per-packet cost.
#pragma once

#include <linux/bpf.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "nfb/bpf/attach.h"
#include "nfb/bpf/dispatcher.h"
#include "nfb/bpfd/backend.h"

namespace nfb::bpfd {

// The user-space verifier pass, as a collaborator (production: nfb::offload::VerifyAndRewrite;
// see MakeOffloadVerifier). Returns the instructions to load and, for each input instruction,
// where it landed (to move BTF line/func info along), plus notes for the log. Throws
// nfb::InputError (VerifierError) to reject the program; the message goes to the guest.
struct RewrittenProgram {
  std::vector<bpf_insn> insns;
  std::vector<uint32_t> insn_map;  // empty = offsets unchanged
  std::vector<std::string> notes;
};
using ProgramVerifier =
    std::function<RewrittenProgram(std::span<const bpf_insn> insns, int redirect_ifindex)>;

// nfb::offload::VerifyAndRewrite with VerifierConfig{redirect_ifindex}.
ProgramVerifier MakeOffloadVerifier();

struct LibbpfBackendOptions {
  std::string netns;      // network namespace of dom0's NIC; empty = bpfd's own
  std::string interface;  // the NIC whose ingress gets the dispatcher (required)
  // Per-packet cost in picoseconds instead of calibrating (reproducible runs, slow hosts).
  std::optional<uint64_t> fixed_cost_ps;
  uint32_t calibration_repeat = 1000;  // runs per BPF_PROG_TEST_RUN, as in the thesis
};

// Not thread-safe (bpfd's event loop is single-threaded). Movable: no.
class LibbpfBackend : public KernelBackend {
 public:
  // Loads the dispatcher, attaches it at the ingress of options.interface in options.netns,
  // resolves that interface's ifindex for the verifier's redirect rewrite, and calibrates the cost
  // model. Throws PrerequisiteError without privileges, RunError if the interface does not exist
  // or the kernel refuses the dispatcher or the calibration.
  LibbpfBackend(const LibbpfBackendOptions& options, ProgramVerifier verifier);
  LibbpfBackend(const LibbpfBackend&) = delete;
  LibbpfBackend& operator=(const LibbpfBackend&) = delete;
  // Detaches the dispatcher, then releases it (programs still in slots go with it).
  ~LibbpfBackend() override;

  LoadedElf LoadElf(std::span<const uint8_t> object, std::string_view program,
                    const ObjectBudget& budget) override;
  std::unique_ptr<KernelProgram> LoadBytecode(std::span<const uint8_t> insns, uint32_t prog_type,
                                              std::string_view license) override;
  void Attach(const bpf::MacAddress& mac, const KernelProgram& program) override;
  void Detach(const bpf::MacAddress& mac) noexcept override;
  bpf::SlotCounters Counters(const bpf::MacAddress& mac) override;
  std::optional<uint32_t> SlotOf(const bpf::MacAddress& mac) const override;
  const CostModel& cost_model() const override { return cost_; }

  // Detaches the dispatcher now (idempotent); frames then pass as if bpfd were not there.
  void DetachDispatcher() noexcept;

  int redirect_ifindex() const { return redirect_ifindex_; }
  const bpf::Dispatcher& dispatcher() const { return dispatcher_; }

 private:
  ProgramVerifier verifier_;
  bpf::Dispatcher dispatcher_;
  std::optional<bpf::TcIngressAttachment> attachment_;
  int redirect_ifindex_ = 0;
  uint32_t possible_cpus_ = 1;
  CostModel cost_;
};

// Checks the map references of a program about to be loaded: every 64-bit load of
// BPF_PSEUDO_MAP_FD or BPF_PSEUDO_MAP_VALUE must name one of `own_map_fds` (the maps libbpf
// created for this very object; none for raw bytecode), and no other pseudo source (map index
// into an fd array, kernel symbol, callback address) nor any kfunc call may appear. Without this
// check a guest could write another domain's map fd number into its bytecode. Throws
// RequestError(EACCES) naming the instruction.
void CheckObjectReferences(std::span<const bpf_insn> insns, std::span<const int> own_map_fds);

// Removes tc filters running a program named "dispatcher_tc" from the ingress of `interface` in
// `netns`: what a bpfd killed without cleanup left there. Only one bpfd may serve a NIC, so any
// such filter at start-up is stale. Uses iproute2's `tc`; problems are logged, never thrown.
void RemoveStaleDispatchers(const std::string& netns, const std::string& interface);

// The outcome of a function run in a forked child.
struct IsolatedResult {
  int exit_code = -1;  // the child's exit status, -1 when killed
  int signal = 0;      // the signal that ended it (SIGSEGV, SIGKILL after the timeout ...)
  bool timed_out = false;
};
// Runs `fn` in a forked child (which exits with its return value) and waits up to `timeout`,
// killing it after that. Isolates code that may crash on guest input from the daemon. Only for
// single-threaded callers (bpfd is). Throws RunError if fork fails.
IsolatedResult RunIsolated(const std::function<int()>& fn, std::chrono::milliseconds timeout);

// Opens `object` with libbpf in a child process first: libbpf 1.1's ELF and BTF parsing crashes on
// some malformed objects (a few in a thousand random mutations of a real one), and one guest must
// not be able to take bpfd down for all. Throws RequestError(EINVAL) if the child crashes or hangs,
// and returns normally otherwise (parse errors are then reported by the real open).
void PreflightParse(std::span<const uint8_t> object);

// The frame bpfd calibrates with: an ICMP echo request (98 bytes, like `ping`'s default) from
// 02:00:00:00:00:02 198.18.0.2 to `dst_mac` 198.18.0.1.
std::vector<uint8_t> CalibrationFrame(const bpf::MacAddress& dst_mac);

}  // namespace nfb::bpfd
