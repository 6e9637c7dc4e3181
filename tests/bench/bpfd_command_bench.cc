// Latency of each guest command through bpfd, as a guest sees it: libxenbpf on the client side,
// the real abstract Unix socket inside the guest's network namespace, bpfd's real event loop
// (nfb::bpfd::Daemon) in a thread of this process, and the real kernel backend (LibbpfBackend:
// the dispatcher at the tc ingress of a scratch "dom0" veth, libbpf, bpfd's verifier and the
// kernel's). One round trip per iteration (load and unload are measured as a pair), wall time.
//
// Scratch set-up, removed at exit: network namespaces nfbtest-bench-<pid>-dom0 and -domu1 joined
// by a veth pair (peth0 198.18.0.254/24 in dom0, eth0 198.18.0.1/24 02:00:00:00:01:01 in domu1);
// domain "domu1" registered on channel @nfbtest-bench-<pid> in domu1's namespace.
//
// icmp_echo.bpf.o has only array maps (its per-CPU stats and .rodata), so MAP_DELETE is measured
// on the per-CPU array: a full round trip in which bpfd checks the key and calls the kernel,
// which answers -EINVAL (arrays have no delete). The map operations use icmp_echo_stats, whose
// wire value is 32 bytes for each possible CPU of the host.
//
// Needs root. Run:
//   bpfd_command_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "nfb/bpf/objects.h"
#include "nfb/bpfd/daemon.h"
#include "nfb/bpfd/libbpf_backend.h"
#include "nfb/bpfd/service.h"
#include "nfb/bpfd/transport.h"
#include "nfb/core/log.h"
#include "nfb/core/netns.h"
#include "xenbpf/xenbpf.h"

namespace nfb::bpfd {
namespace {

constexpr const char kGuestMac[] = "02:00:00:00:01:01";

bool Sh(const std::string& command) {
  const int rc = std::system((command + " >/dev/null 2>&1").c_str());
  return rc == 0;
}

std::vector<uint8_t> ReadBinary(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The scratch namespaces, bpfd (backend, service, daemon and its thread) and one guest session.
class Setup {
 public:
  Setup() {
    const std::string prefix = "nfbtest-bench-" + std::to_string(::getpid());
    dom0_ = prefix + "-dom0";
    domu_ = prefix + "-domu1";
    channel_ = prefix;
    if (!Sh("ip netns add " + dom0_) || !Sh("ip netns add " + domu_) ||
        !Sh("ip -n " + dom0_ + " link add peth0 type veth peer name eth0 netns " + domu_) ||
        !Sh("ip -n " + dom0_ + " addr add 198.18.0.254/24 dev peth0") ||
        !Sh("ip -n " + domu_ + " link set eth0 address " + kGuestMac) ||
        !Sh("ip -n " + domu_ + " addr add 198.18.0.1/24 dev eth0") ||
        !Sh("ip -n " + dom0_ + " link set peth0 up") || !Sh("ip -n " + domu_ + " link set eth0 up") ||
        !Sh("ip -n " + dom0_ + " link set lo up") || !Sh("ip -n " + domu_ + " link set lo up")) {
      error_ = "cannot create the scratch network namespaces (ip netns)";
      return;
    }
    try {
      LibbpfBackendOptions options;
      options.netns = dom0_;
      options.interface = "peth0";
      options.fixed_cost_ps = 60'000;  // no calibration: it is not what is measured here
      backend_ = std::make_unique<LibbpfBackend>(options, MakeOffloadVerifier());
      service_ = std::make_unique<OffloadService>(*backend_);
      daemon_ = std::make_unique<Daemon>(*service_, DefaultListenerFactory(channel_),
                                         DaemonOptions{});
      daemon_->RegisterDomain({"domu1", domu_, kGuestMac, -1});
      thread_ = std::thread([this] { daemon_->Run(/*stop_on_interrupt=*/false); });
    } catch (const std::exception& e) {
      error_ = std::string("cannot start bpfd in-process: ") + e.what();
      return;
    }
    {
      NetnsScope scope(domu_);  // the socket stays in the guest's namespace afterwards
      if (const int rc = xenbpf_connect(channel_.c_str(), &h_); rc < 0) {
        error_ = std::string("xenbpf_connect: ") + xenbpf_errmsg(nullptr);
        return;
      }
    }
    object_ = ReadBinary(bpf::kIcmpEchoObjectPath);
    // A program that stays loaded for the map commands.
    struct xenbpf_map_info maps[XENBPF_MAX_MAPS];
    size_t n_maps = XENBPF_MAX_MAPS;
    if (xenbpf_load_elf(h_, object_.data(), object_.size(), nullptr, &echo_id_, maps, &n_maps) <
        0) {
      error_ = std::string("loading icmp_echo.bpf.o: ") + xenbpf_errmsg(h_);
      return;
    }
    for (size_t i = 0; i < n_maps && i < XENBPF_MAX_MAPS; ++i) {
      if (std::strcmp(maps[i].name, "icmp_echo_stats") == 0) stats_map_ = maps[i];
    }
    if (stats_map_.id == 0) error_ = "icmp_echo.bpf.o has no icmp_echo_stats map";
  }

  ~Setup() {
    if (h_ != nullptr) xenbpf_disconnect(h_);
    if (daemon_) {
      daemon_->Stop();
      if (thread_.joinable()) thread_.join();
    }
    daemon_.reset();   // sessions and listeners
    service_.reset();  // the domain's programs and slot
    backend_.reset();  // the dispatcher and its attachment
    Sh("ip netns del " + domu_);  // the veth pair goes with it
    Sh("ip netns del " + dom0_);
  }

  const std::string& error() const { return error_; }
  xenbpf* h() { return h_; }
  const std::vector<uint8_t>& object() const { return object_; }
  const struct xenbpf_map_info& stats_map() const { return stats_map_; }

 private:
  std::string dom0_, domu_, channel_, error_;
  std::unique_ptr<LibbpfBackend> backend_;
  std::unique_ptr<OffloadService> service_;
  std::unique_ptr<Daemon> daemon_;
  std::thread thread_;
  xenbpf* h_ = nullptr;
  std::vector<uint8_t> object_;
  uint32_t echo_id_ = 0;
  struct xenbpf_map_info stats_map_{};
};

std::unique_ptr<Setup> g_setup;

Setup* Shared(benchmark::State& state) {
  if (geteuid() != 0) {
    state.SkipWithError("needs root (bpfd's kernel backend, network namespaces)");
    return nullptr;
  }
  if (!g_setup) {
    log::SetLevel(log::Level::kWarn);
    g_setup = std::make_unique<Setup>();
  }
  if (!g_setup->error().empty()) {
    state.SkipWithError(g_setup->error().c_str());
    return nullptr;
  }
  return g_setup.get();
}

void Fail(benchmark::State& state, const char* what, xenbpf* h) {
  const std::string message = std::string(what) + ": " + xenbpf_errmsg(h);
  state.SkipWithError(message.c_str());
}

void BM_LoadElfUnload(benchmark::State& state) {
  Setup* s = Shared(state);
  if (s == nullptr) return;
  for (auto _ : state) {
    uint32_t id = 0;
    if (xenbpf_load_elf(s->h(), s->object().data(), s->object().size(), nullptr, &id, nullptr,
                        nullptr) < 0) {
      Fail(state, "load_elf", s->h());
      break;
    }
    if (xenbpf_unload(s->h(), id) < 0) {
      Fail(state, "unload", s->h());
      break;
    }
  }
}

void BM_LoadBytecodeUnload(benchmark::State& state) {
  Setup* s = Shared(state);
  if (s == nullptr) return;
  // r0 = TC_ACT_OK; exit
  const bpf_insn program[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = 0},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  for (auto _ : state) {
    uint32_t id = 0;
    if (xenbpf_load_bytecode(s->h(), program, 2, BPF_PROG_TYPE_SCHED_CLS, "GPL", &id) < 0) {
      Fail(state, "load_bytecode", s->h());
      break;
    }
    if (xenbpf_unload(s->h(), id) < 0) {
      Fail(state, "unload", s->h());
      break;
    }
  }
}

void BM_MapLookup(benchmark::State& state) {
  Setup* s = Shared(state);
  if (s == nullptr) return;
  const struct xenbpf_map_info& map = s->stats_map();
  const uint32_t key = 0;
  std::vector<uint8_t> value(map.value_size);
  for (auto _ : state) {
    if (xenbpf_lookup_elem(s->h(), map.id, &key, sizeof(key), value.data(), value.size()) < 0) {
      Fail(state, "lookup", s->h());
      break;
    }
  }
  state.counters["value_bytes"] = static_cast<double>(map.value_size);
}

void BM_MapUpdate(benchmark::State& state) {
  Setup* s = Shared(state);
  if (s == nullptr) return;
  const struct xenbpf_map_info& map = s->stats_map();
  const uint32_t key = 0;
  const std::vector<uint8_t> value(map.value_size, 0);
  for (auto _ : state) {
    if (xenbpf_update_elem(s->h(), map.id, &key, sizeof(key), value.data(), value.size(),
                           XENBPF_ANY) < 0) {
      Fail(state, "update", s->h());
      break;
    }
  }
  state.counters["value_bytes"] = static_cast<double>(map.value_size);
}

// Arrays cannot delete: the kernel's -EINVAL comes back (see the top of the file).
void BM_MapDelete(benchmark::State& state) {
  Setup* s = Shared(state);
  if (s == nullptr) return;
  const struct xenbpf_map_info& map = s->stats_map();
  const uint32_t key = 0;
  for (auto _ : state) {
    if (xenbpf_delete_elem(s->h(), map.id, &key, sizeof(key)) != -EINVAL) {
      Fail(state, "delete (expected the kernel's -EINVAL)", s->h());
      break;
    }
  }
}

void BM_MapInfo(benchmark::State& state) {
  Setup* s = Shared(state);
  if (s == nullptr) return;
  struct xenbpf_map_info info{};
  for (auto _ : state) {
    if (xenbpf_map_info(s->h(), s->stats_map().id, &info) < 0) {
      Fail(state, "map_info", s->h());
      break;
    }
  }
}

void BM_Stats(benchmark::State& state) {
  Setup* s = Shared(state);
  if (s == nullptr) return;
  struct xenbpf_stats stats{};
  for (auto _ : state) {
    if (xenbpf_stats(s->h(), &stats) < 0) {
      Fail(state, "stats", s->h());
      break;
    }
  }
}

BENCHMARK(BM_LoadElfUnload)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LoadBytecodeUnload)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MapLookup)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MapUpdate)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MapDelete)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MapInfo)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Stats)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace nfb::bpfd

// Own main: the scratch namespaces and bpfd must be torn down after the last benchmark.
int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  nfb::bpfd::g_setup.reset();
  return 0;
}
