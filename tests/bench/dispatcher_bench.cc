// Per-packet cost of the echo responder alone and behind the dispatcher (MAC lookup, per-slot
// counters, tail call), measured with BPF_PROG_TEST_RUN the way katran's testPerfFromFixture does.
// The kernel times the runs; `ns_per_packet` is its mean per run, the benchmark's own time is the
// wall time of one bpf() call.
//
// BPF_PROG_TEST_RUN reruns a program on the same buffer, and the responder turns the request into
// a reply on the first run. So:
//  - *Pass rows use repeat 1000 on a frame the program parses completely and then passes (an echo
//    *reply*): the amortised cost, no clock read in it.
//  - *Answer rows run an echo request once per call (repeat 1): the rewrite path, but the kernel's
//    figure then includes one clock read; BM_Empty/repeat:1 measures that floor.
// Needs root. Run:
//   dispatcher_bench --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
#include <benchmark/benchmark.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <memory>

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

// Programs and frames shared by all benchmarks, loaded once.
struct Setup {
  IcmpEchoProgram echo;
  Dispatcher dispatcher;
  int empty_fd = -1;
  EchoSpec spec;
  Bytes request = testing::EchoRequest(spec).Build();
  Bytes reply_to_pass = testing::EchoReply(spec).Build();  // fully parsed, then passed

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

void Measure(benchmark::State& state, Program which, bool answer) {
  Setup* setup = Shared(state);
  if (setup == nullptr) return;
  const int fd = which == Program::kEmpty  ? setup->empty_fd
                 : which == Program::kEcho ? setup->echo.tc_fd()
                                           : setup->dispatcher.tc_fd();
  const Bytes& frame = answer ? setup->request : setup->reply_to_pass;
  const auto repeat = static_cast<uint32_t>(state.range(0));
  double kernel_ns = 0;
  for (auto _ : state) {
    const TestRunResult result = TestRun(fd, frame, repeat);
    kernel_ns += result.duration_ns;
  }
  state.counters["ns_per_packet"] =
      benchmark::Counter(kernel_ns, benchmark::Counter::kAvgIterations);
}

void BM_Empty(benchmark::State& state) { Measure(state, Program::kEmpty, false); }
void BM_EchoPass(benchmark::State& state) { Measure(state, Program::kEcho, false); }
void BM_DispatcherEchoPass(benchmark::State& state) {
  Measure(state, Program::kDispatcherEcho, false);
}
void BM_EchoAnswer(benchmark::State& state) { Measure(state, Program::kEcho, true); }
void BM_DispatcherEchoAnswer(benchmark::State& state) {
  Measure(state, Program::kDispatcherEcho, true);
}

BENCHMARK(BM_Empty)->ArgName("repeat")->Arg(1)->Arg(1000);
BENCHMARK(BM_EchoPass)->ArgName("repeat")->Arg(1000);
BENCHMARK(BM_DispatcherEchoPass)->ArgName("repeat")->Arg(1000);
BENCHMARK(BM_EchoAnswer)->ArgName("repeat")->Arg(1);
BENCHMARK(BM_DispatcherEchoAnswer)->ArgName("repeat")->Arg(1);

}  // namespace
}  // namespace nfb::bpf
