// Throughput of the ICMP echo RTT analysis against reading the same file with a plain libpcap
// loop. Target: >= 5 M packets/s on one core and within 3x of the plain loop.
//
//   pcap_analysis_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// main() comes from benchmark::benchmark_main.
//
// The capture (1 M probes = 2 M packets, 98-byte echo frames, ~260 MB) is written once per
// process into the temp directory and removed at exit; the first read comes from the page cache
// like every later one because the file was just written. Rates are per CPU second (the
// benchmark library's default), which is what "one core" means on a shared machine.
#include <benchmark/benchmark.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "../unit/collectors/pcap_builder.h"
#include "nfb/collectors/icmp_rtt.h"
#include "nfb/collectors/pcap_file.h"

namespace {

namespace fs = std::filesystem;
using nfb::testing::EchoFrame;
using nfb::testing::Ip;

constexpr uint64_t kProbes = 1'000'000;
constexpr const char* kRequester = "198.18.0.1";
constexpr const char* kTarget = "198.18.0.2";

const fs::path& CaptureFile() {
  // Never destroyed: the atexit handler below runs after static destructors would have.
  static const fs::path* path = [] {
    auto* p = new fs::path(fs::temp_directory_path() /
                           ("nfbtest-collectors-bench-" + std::to_string(::getpid()) + ".pcap"));
    nfb::testing::PcapBuilder b(*p);
    std::vector<uint8_t> request = EchoFrame(DLT_EN10MB, Ip(kRequester), Ip(kTarget), 8, 77, 0);
    std::vector<uint8_t> reply = EchoFrame(DLT_EN10MB, Ip(kTarget), Ip(kRequester), 0, 77, 0);
    constexpr std::size_t kSeqOffset = 14 + 20 + 6;
    int64_t t = 1'700'000'000'000'000'000;
    for (uint64_t i = 0; i < kProbes; ++i) {
      auto seq = static_cast<uint16_t>(1 + i);  // wraps 15 times
      for (auto* f : {&request, &reply}) {
        (*f)[kSeqOffset] = static_cast<uint8_t>(seq >> 8);
        (*f)[kSeqOffset + 1] = static_cast<uint8_t>(seq);
      }
      b.Write(t, request);
      b.Write(t + 1500 + static_cast<int64_t>(i % 512), reply);
      t += 1'000'000;
    }
    b.Close();
    std::atexit([] { fs::remove(CaptureFile()); });
    return p;
  }();
  return *path;
}

void BM_PlainPcapReadLoop(benchmark::State& state) {
  const fs::path& file = CaptureFile();
  uint64_t packets = 0;
  for (auto _ : state) {
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t* p =
        pcap_open_offline_with_tstamp_precision(file.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (p == nullptr) throw std::runtime_error(errbuf);
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    uint64_t bytes = 0;
    uint64_t n = 0;
    while (pcap_next_ex(p, &h, &data) == 1) {
      bytes += h->caplen + data[0];
      ++n;
    }
    pcap_close(p);
    benchmark::DoNotOptimize(bytes);
    packets += n;
  }
  state.SetItemsProcessed(static_cast<int64_t>(packets));
}
BENCHMARK(BM_PlainPcapReadLoop)->Unit(benchmark::kMillisecond);

// The reader the analyses use (a larger stdio buffer), without any analysis.
void BM_PcapReaderLoop(benchmark::State& state) {
  const fs::path& file = CaptureFile();
  uint64_t packets = 0;
  for (auto _ : state) {
    nfb::collectors::PcapReader reader(file);
    nfb::collectors::PacketView v;
    uint64_t bytes = 0;
    while (reader.Next(v)) {
      bytes += v.caplen + v.data[0];
      ++packets;
    }
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(static_cast<int64_t>(packets));
}
BENCHMARK(BM_PcapReaderLoop)->Unit(benchmark::kMillisecond);

void BM_AnalyzeEcho(benchmark::State& state) {
  const fs::path& file = CaptureFile();
  nfb::collectors::EchoRttOptions options;
  options.requester = kRequester;
  options.target = kTarget;
  options.sent = state.range(0) != 0 ? kProbes : 0;
  options.warmup = 10;
  uint64_t packets = 0;
  for (auto _ : state) {
    nfb::collectors::EchoRttResult r = nfb::collectors::AnalyzeEchoRtt(file, options);
    if (r.accounting.paired != kProbes - 10) state.SkipWithError("wrong pairing");
    packets += r.accounting.packets_total;
    benchmark::DoNotOptimize(r.samples.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(packets));
}
// Arg 1: the pinger's count is known (table allocated up front); 0: unknown (table grows).
BENCHMARK(BM_AnalyzeEcho)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

}  // namespace
