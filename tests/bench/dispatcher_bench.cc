// Per-packet cost of the echo responder alone and behind the dispatcher (MAC table lookup, per-slot
// counters, tail call), measured with BPF_PROG_TEST_RUN the way katran's testPerfFromFixture does.
// The kernel times the runs; `ns_per_packet` is its mean per run, the benchmark's own time is the
// wall time of one bpf() call.
//
// BPF_PROG_TEST_RUN reruns a program on the same buffer, and the responder turns the request into
// a reply on the first run. So:
//  - *Pass rows use repeat 1000 on a frame the program parses completely and then passes (an echo
//    *reply*): the amortised cost, no clock read in it. The frame is addressed to the MAC that
//    has the echo program's slot, so BM_DispatcherEchoPass runs the whole hit path: lookup,
//    counters, tail call, echo.
//  - BM_DispatcherUnknownMac runs the same reply addressed to a MAC without a slot: the miss path
//    (lookup only), to compare with BM_Empty.
//  - BM_DispatcherAdded measures the issue-3 target directly: each iteration runs echo alone and
//    dispatcher + echo back to back (repeat 1000 each, the order alternating) and `added_ns` is
//    the mean of the paired differences, so slow drifts of the machine cancel.
//  - *Answer rows run an echo request once per call (repeat 1): the rewrite path, but the kernel's
//    figure then includes one clock read; BM_Empty/repeat:1 measures that floor.
// Needs root. Run:
//   dispatcher_bench --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
#include <benchmark/benchmark.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <memory>
#include <utility>

#include "nfb/bpf/dispatcher.h"
#include "nfb/bpf/icmp_echo.h"
#include "nfb/bpf/test_run.h"
#include "packet_builder.h"

namespace nfb::bpf {
namespace {

using testing::Bytes;
using testing::EchoSpec;

// `return TC_ACT_OK`: what BPF_PROG_TEST_RUN costs around any program.
int LoadEmptyTcProgram() {
  const bpf_insn program[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = 0},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "nfb_empty", "GPL", program, 2, nullptr);
}

// `spec` seen from the other side: the client's reply goes to the server.
EchoSpec Swapped(EchoSpec spec) {
  std::swap(spec.client_mac, spec.server_mac);
  std::swap(spec.client_ip, spec.server_ip);
  return spec;
}

// Programs and frames shared by all benchmarks, loaded once.
struct Setup {
  IcmpEchoProgram echo;
  Dispatcher dispatcher;
  int empty_fd = -1;
  EchoSpec spec;
  Bytes request = testing::EchoRequest(spec).Build();
  // An echo reply to spec.server_mac (the MAC with the slot): fully parsed by the echo, then
  // passed. The reply of `spec` itself goes to client_mac, which has no slot: the *Pass rows once
  // used it, so BM_DispatcherEchoPass measured only the dispatcher's miss path.
  Bytes reply_to_pass = testing::EchoReply(Swapped(spec)).Build();
  Bytes reply_to_unknown = testing::EchoReply(spec).Build();  // to client_mac: no slot

  Setup() {
    dispatcher.SetSlot(spec.server_mac, echo.tc_fd());
    empty_fd = LoadEmptyTcProgram();
  }
  ~Setup() {
    if (empty_fd >= 0) close(empty_fd);
  }
};

Setup* Shared(benchmark::State& state) {
  static std::unique_ptr<Setup> setup;
  if (geteuid() != 0) {
    state.SkipWithError("needs root (BPF_PROG_TEST_RUN)");
    return nullptr;
  }
  if (!setup) setup = std::make_unique<Setup>();
  if (setup->empty_fd < 0) {
    state.SkipWithError("cannot load the empty program");
    return nullptr;
  }
  return setup.get();
}

enum class Program { kEmpty, kEcho, kDispatcherEcho };
enum class Frame { kRequest, kReply, kReplyToUnknownMac };

void Measure(benchmark::State& state, Program which, Frame what) {
  Setup* setup = Shared(state);
  if (setup == nullptr) return;
  const int fd = which == Program::kEmpty  ? setup->empty_fd
                 : which == Program::kEcho ? setup->echo.tc_fd()
                                           : setup->dispatcher.tc_fd();
  const Bytes& frame = what == Frame::kRequest ? setup->request
                       : what == Frame::kReply ? setup->reply_to_pass
                                               : setup->reply_to_unknown;
  const auto repeat = static_cast<uint32_t>(state.range(0));
  double kernel_ns = 0;
  for (auto _ : state) {
    const TestRunResult result = TestRun(fd, frame, repeat);
    kernel_ns += result.duration_ns;
  }
  state.counters["ns_per_packet"] =
      benchmark::Counter(kernel_ns, benchmark::Counter::kAvgIterations);
}

// Dispatcher + echo minus echo alone on the pass path, paired within each iteration.
void BM_DispatcherAdded(benchmark::State& state) {
  Setup* setup = Shared(state);
  if (setup == nullptr) return;
  const auto repeat = static_cast<uint32_t>(state.range(0));
  const int echo_fd = setup->echo.tc_fd();
  const int dispatcher_fd = setup->dispatcher.tc_fd();
  double added_ns = 0;
  bool echo_first = true;
  for (auto _ : state) {
    double echo_ns = 0;
    double both_ns = 0;
    if (echo_first) {
      echo_ns = TestRun(echo_fd, setup->reply_to_pass, repeat).duration_ns;
      both_ns = TestRun(dispatcher_fd, setup->reply_to_pass, repeat).duration_ns;
    } else {
      both_ns = TestRun(dispatcher_fd, setup->reply_to_pass, repeat).duration_ns;
      echo_ns = TestRun(echo_fd, setup->reply_to_pass, repeat).duration_ns;
    }
    echo_first = !echo_first;
    added_ns += both_ns - echo_ns;
  }
  state.counters["added_ns"] = benchmark::Counter(added_ns, benchmark::Counter::kAvgIterations);
}

void BM_Empty(benchmark::State& state) { Measure(state, Program::kEmpty, Frame::kReply); }
void BM_EchoPass(benchmark::State& state) { Measure(state, Program::kEcho, Frame::kReply); }
void BM_DispatcherEchoPass(benchmark::State& state) {
  Measure(state, Program::kDispatcherEcho, Frame::kReply);
}
void BM_DispatcherUnknownMac(benchmark::State& state) {
  Measure(state, Program::kDispatcherEcho, Frame::kReplyToUnknownMac);
}
void BM_EchoAnswer(benchmark::State& state) { Measure(state, Program::kEcho, Frame::kRequest); }
void BM_DispatcherEchoAnswer(benchmark::State& state) {
  Measure(state, Program::kDispatcherEcho, Frame::kRequest);
}

BENCHMARK(BM_Empty)->ArgName("repeat")->Arg(1)->Arg(1000);
BENCHMARK(BM_EchoPass)->ArgName("repeat")->Arg(1000);
BENCHMARK(BM_DispatcherEchoPass)->ArgName("repeat")->Arg(1000);
BENCHMARK(BM_DispatcherUnknownMac)->ArgName("repeat")->Arg(1000);
BENCHMARK(BM_DispatcherAdded)->ArgName("repeat")->Arg(1000);
BENCHMARK(BM_EchoAnswer)->ArgName("repeat")->Arg(1);
BENCHMARK(BM_DispatcherEchoAnswer)->ArgName("repeat")->Arg(1);

}  // namespace
}  // namespace nfb::bpf
