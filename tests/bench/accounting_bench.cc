// CPU accounting (offload/accounting): how far the estimate bpfd reports -- the dispatcher's
// per-slot packet counter times the per-packet cost calibrated with BPF_PROG_TEST_RUN -- is from
// the CPU time dom0 actually spends on those packets at a known rate.
//
//   nfbtest-verifier-<pid>-bsrc   vsrc0 02:00:00:00:a2:01 198.18.92.2/24  (sender)
//   nfbtest-verifier-<pid>-bdom0  vd0   02:00:00:00:a2:02 198.18.92.1/24  (dispatcher + echo)
//
// A sender thread pinned to the last CPU writes frames into a packet socket at a fixed rate
// (paced per millisecond). A veth delivers in the sender's context: the receive path, the tc
// hook, the programs and, for answered requests, the reply's transmission and reception all run
// as softirq work inline in the sender's sendto(). This kernel has no IRQ_TIME_ACCOUNTING, so
// that softirq time is charged to the running thread: the thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID, nanosecond resolution) is everything the packets cost. /proc/stat's
// softirq column for the pinned CPU (sampled at each tick, 4 ms at HZ=250) is reported as well.
//
// Each benchmark iteration alternates six pairs of phases of the same traffic: without programs
// (baseline) and with the dispatcher at vd0's ingress and the echo responder in vd0's slot
// (NFB_ACCOUNTING_SECONDS, default 3, is split over the pairs). Frames:
//  - pass: echo replies to vd0; echo parses them completely and passes them on, as the stack
//    does without programs. marginal_ns = what the tc hook + dispatcher + echo add per packet.
//  - answer: echo requests to vd0; echo answers them (rewrite, bpf_redirect back out of vd0),
//    the reply is received by the sender's namespace. Without programs dom0 drops them
//    (icmp_echo_ignore_all).
// Counters (per packet unless said otherwise):
//   est_ns          calibrated cost: dispatcher + echo on a passed reply, 1000 runs
//   empty_ns        the empty program's figure measured the same way (BPF_PROG_TEST_RUN floor)
//   cpu_ns          sender-thread CPU during the bursts, with programs (sendto + stack +
//                   programs + replies)
//   base_cpu_ns     the same without programs
//   marginal_ns     median over the pairs of cpu_ns - base_cpu_ns
//   softirq_ns      /proc/stat softirq time of the pinned CPU, with programs (tick-sampled)
//   est_vs_marginal est_ns / marginal_ns;  est_vs_total  est_ns / cpu_ns
//   slot_pkts       the dispatcher's counter for vd0 (what bpfd multiplies)
//   sent_pps        the rate achieved
// BM_Calibration reports the calibrations themselves, including the thesis's method (the echo
// program alone, 1000 runs of an echo request; from the second run on it sees its own reply).
//
// Needs root. Run (the phase length defaults to 3 s; NFB_ACCOUNTING_SECONDS changes it):
//   accounting_bench --benchmark_repetitions=3
#include <benchmark/benchmark.h>
#include <fmt/core.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "nfb/bpf/attach.h"
#include "nfb/bpf/dispatcher.h"
#include "nfb/bpf/icmp_echo.h"
#include "nfb/core/error.h"
#include "nfb/core/netns.h"
#include "nfb/core/subprocess.h"
#include "nfb/offload/accounting.h"
#include "packet_builder.h"

namespace nfb::offload {
namespace {

using bpf::testing::Bytes;

constexpr char kSrcDev[] = "vsrc0";
constexpr char kDom0Dev[] = "vd0";
const bpf::MacAddress kSrcMac{0x02, 0, 0, 0, 0xa2, 0x01};
const bpf::MacAddress kDom0Mac{0x02, 0, 0, 0, 0xa2, 0x02};

void MustRun(std::vector<std::string> argv, const std::string& netns = "") {
  ProcessSpec spec(std::move(argv));
  spec.netns = netns;
  RunChecked(spec, std::chrono::seconds(20));
}

double PhaseSeconds() {
  const char* text = std::getenv("NFB_ACCOUNTING_SECONDS");
  return text != nullptr ? std::atof(text) : 3.0;
}

// Softirq time of one CPU from /proc/stat, in nanoseconds (counted in USER_HZ ticks).
double SoftirqNs(int cpu) {
  std::ifstream stat("/proc/stat");
  const std::string prefix = fmt::format("cpu{} ", cpu);
  for (std::string line; std::getline(stat, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    std::istringstream fields(line.substr(prefix.size()));
    uint64_t user, nice, system, idle, iowait, irq, softirq;
    fields >> user >> nice >> system >> idle >> iowait >> irq >> softirq;
    return static_cast<double>(softirq) * 1e9 / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  throw RunError(fmt::format("no {}line in /proc/stat", prefix));
}

double ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

struct Phase {
  uint64_t sent = 0;
  double seconds = 0;
  double thread_cpu_ns = 0;
  double softirq_ns = 0;
  uint64_t slot_packets = 0;
};

Bytes PassFrame() {  // an echo reply to dom0: parsed to the end, then passed
  bpf::testing::EchoSpec spec;
  spec.client_mac = kDom0Mac;
  spec.server_mac = kSrcMac;
  spec.client_ip = bpf::testing::Ip("198.18.92.1");
  spec.server_ip = bpf::testing::Ip("198.18.92.2");
  return bpf::testing::EchoReply(spec).Build();
}

Bytes RequestFrame() {  // an echo request to dom0: answered
  bpf::testing::EchoSpec spec;
  spec.client_mac = kSrcMac;
  spec.server_mac = kDom0Mac;
  spec.client_ip = bpf::testing::Ip("198.18.92.2");
  spec.server_ip = bpf::testing::Ip("198.18.92.1");
  return bpf::testing::EchoRequest(spec).Build();
}

// The namespaces, the programs and the sender's socket; torn down at exit.
class Bed {
 public:
  Bed() {
    const std::string base = fmt::format("nfbtest-verifier-{}-", getpid());
    src_ns_ = base + "bsrc";
    dom0_ns_ = base + "bdom0";
    for (const std::string& ns : {src_ns_, dom0_ns_}) {
      MustRun({"ip", "netns", "add", ns});
      MustRun({"sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
               "net.ipv6.conf.default.disable_ipv6=1"},
              ns);
    }
    MustRun({"sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1"}, dom0_ns_);
    MustRun({"ip", "link", "add", kDom0Dev, "netns", dom0_ns_, "address", bpf::FormatMac(kDom0Mac),
             "type", "veth", "peer", "name", kSrcDev, "netns", src_ns_, "address",
             bpf::FormatMac(kSrcMac)});
    MustRun({"ip", "addr", "add", "198.18.92.1/24", "dev", kDom0Dev}, dom0_ns_);
    MustRun({"ip", "addr", "add", "198.18.92.2/24", "dev", kSrcDev}, src_ns_);
    MustRun({"ip", "link", "set", kDom0Dev, "up"}, dom0_ns_);
    MustRun({"ip", "link", "set", kSrcDev, "up"}, src_ns_);
    {
      const NetnsScope in(src_ns_);
      sock_ = socket(AF_PACKET, SOCK_RAW, 0);
      ifindex_ = static_cast<int>(if_nametoindex(kSrcDev));
    }
    if (sock_ < 0) ThrowSystemError("packet socket", errno);
    dispatcher_.SetSlot(kDom0Mac, echo_.tc_fd());
    cpu_ = static_cast<int>(std::thread::hardware_concurrency()) - 1;
  }

  ~Bed() {
    if (sock_ >= 0) close(sock_);
    for (const std::string& ns : {src_ns_, dom0_ns_}) {
      RunProcess(ProcessSpec({"ip", "netns", "del", ns}), std::chrono::seconds(20));
    }
  }

  // Sends `frame` at `pps` for `seconds` from the pinned sender thread, with or without the
  // programs attached at vd0. The thread's CPU time is summed over the bursts only, so the
  // wake-ups between them (equal in both phases, but noisy) stay out.
  Phase Run(const Bytes& frame, double pps, double seconds, bool with_programs) {
    std::optional<bpf::TcIngressAttachment> attachment;
    if (with_programs) {
      const NetnsScope in(dom0_ns_);
      attachment = bpf::TcIngressAttachment::Attach(kDom0Dev, dispatcher_.tc_fd());
    }
    const uint64_t slot_before = dispatcher_.Counters(kDom0Mac).packets;
    Phase phase;
    std::string error;
    std::thread sender([&] {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu_, &set);
      pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
      sockaddr_ll to{};
      to.sll_family = AF_PACKET;
      to.sll_ifindex = ifindex_;
      // A 997 us period rather than 1 ms: the bursts drift against the 4 ms scheduler tick, so
      // the tick-sampled /proc/stat figures are not aliased to one phase of the burst.
      constexpr long kPeriodNs = 997000;
      const auto periods = static_cast<uint64_t>(seconds * 1e9 / kPeriodNs);
      const double softirq_before = SoftirqNs(cpu_);
      timespec next{};
      clock_gettime(CLOCK_MONOTONIC, &next);
      const auto start = std::chrono::steady_clock::now();
      for (uint64_t period = 1; period <= periods; ++period) {
        const auto due = static_cast<uint64_t>(pps * static_cast<double>(period) * kPeriodNs / 1e9);
        const double burst_start = ThreadCpuNs();
        for (; phase.sent < due; ++phase.sent) {
          if (sendto(sock_, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to),
                     sizeof(to)) < 0) {
            error = std::strerror(errno);
            return;
          }
        }
        phase.thread_cpu_ns += ThreadCpuNs() - burst_start;
        next.tv_nsec += kPeriodNs;
        if (next.tv_nsec >= 1000000000) {
          next.tv_nsec -= 1000000000;
          ++next.tv_sec;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
      }
      phase.softirq_ns = SoftirqNs(cpu_) - softirq_before;
      phase.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    });
    sender.join();
    if (!error.empty()) throw RunError("sendto: " + error);
    phase.slot_packets = dispatcher_.Counters(kDom0Mac).packets - slot_before;
    return phase;
  }

  const bpf::IcmpEchoProgram& echo() const { return echo_; }
  const bpf::Dispatcher& dispatcher() const { return dispatcher_; }

 private:
  std::string src_ns_, dom0_ns_;
  bpf::IcmpEchoProgram echo_;
  bpf::Dispatcher dispatcher_;
  int sock_ = -1;
  int ifindex_ = 0;
  int cpu_ = 0;
};

Bed* Shared(benchmark::State& state) {
  static std::unique_ptr<Bed> bed;
  if (geteuid() != 0) {
    state.SkipWithError("needs root (namespaces, BPF)");
    return nullptr;
  }
  if (!bed) bed = std::make_unique<Bed>();
  return bed.get();
}

void BM_Calibration(benchmark::State& state) {
  Bed* bed = Shared(state);
  if (bed == nullptr) return;
  Calibration thesis, echo_pass, dispatcher_pass, dispatcher_request;
  for (auto _ : state) {
    thesis = CalibrateProgram(bed->echo().tc_fd(), RequestFrame(), 1000);
    echo_pass = CalibrateProgram(bed->echo().tc_fd(), PassFrame(), 1000);
    dispatcher_pass = CalibrateProgram(bed->dispatcher().tc_fd(), PassFrame(), 1000);
    // The first run answers; the reply is addressed to the sender, whose MAC has no slot, so the
    // other 999 runs measure the dispatcher's miss path.
    dispatcher_request = CalibrateProgram(bed->dispatcher().tc_fd(), RequestFrame(), 1000);
  }
  state.counters["thesis_echo_request_ns"] = thesis.ns_per_packet;
  state.counters["echo_pass_ns"] = echo_pass.ns_per_packet;
  state.counters["dispatcher_echo_pass_ns"] = dispatcher_pass.ns_per_packet;
  state.counters["dispatcher_echo_request_ns"] = dispatcher_request.ns_per_packet;
  state.counters["empty_ns"] = dispatcher_pass.empty_ns_per_packet;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

void BM_EstimateVsMeasured(benchmark::State& state) {
  Bed* bed = Shared(state);
  if (bed == nullptr) return;
  const auto pps = static_cast<double>(state.range(0));
  const bool answer = state.range(1) == 1;
  const Bytes frame = answer ? RequestFrame() : PassFrame();
  // Short phases, alternating, so that a change in the machine's load (other processes, cache
  // and frequency) hits both sides alike; the marginal cost is the median over the pairs.
  constexpr int kPairs = 6;
  const double seconds = PhaseSeconds() / kPairs;
  const Calibration calibration = CalibrateProgram(bed->dispatcher().tc_fd(), PassFrame(), 1000);
  Phase base, with;
  std::vector<double> marginals;
  for (auto _ : state) {
    for (int pair = 0; pair < kPairs; ++pair) {
      const Phase b = bed->Run(frame, pps, seconds, false);
      const Phase w = bed->Run(frame, pps, seconds, true);
      marginals.push_back(w.thread_cpu_ns / static_cast<double>(w.sent) -
                          b.thread_cpu_ns / static_cast<double>(b.sent));
      for (auto [sum, part] : {std::pair{&base, &b}, std::pair{&with, &w}}) {
        sum->sent += part->sent;
        sum->seconds += part->seconds;
        sum->thread_cpu_ns += part->thread_cpu_ns;
        sum->softirq_ns += part->softirq_ns;
        sum->slot_packets += part->slot_packets;
      }
    }
  }
  const auto sent = static_cast<double>(with.sent);
  const double cpu_ns = with.thread_cpu_ns / sent;
  const double marginal_ns = Median(marginals);
  state.counters["est_ns"] = calibration.ns_per_packet;
  state.counters["empty_ns"] = calibration.empty_ns_per_packet;
  state.counters["cpu_ns"] = cpu_ns;
  state.counters["base_cpu_ns"] = base.thread_cpu_ns / static_cast<double>(base.sent);
  state.counters["marginal_ns"] = marginal_ns;
  state.counters["softirq_ns"] = with.softirq_ns / sent;
  state.counters["base_softirq_ns"] = base.softirq_ns / static_cast<double>(base.sent);
  state.counters["est_vs_marginal"] = calibration.ns_per_packet / marginal_ns;
  state.counters["est_vs_total"] = calibration.ns_per_packet / cpu_ns;
  state.counters["slot_pkts"] = static_cast<double>(with.slot_packets);
  state.counters["sent_pps"] = sent / with.seconds;
  state.SetLabel(answer ? "answer" : "pass");
}

BENCHMARK(BM_Calibration)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EstimateVsMeasured)
    ->ArgNames({"pps", "answer"})
    ->ArgsProduct({{20000, 100000}, {0, 1}})
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kSecond);

}  // namespace
}  // namespace nfb::offload
