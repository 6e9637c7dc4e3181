// The generators' commands and the parsers of what they print (flood_generator.h, second part).
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <sstream>

#include "nfb/core/error.h"
#include "nfb/workloads/flood_generator.h"
#include "nfb/workloads/udp_frame.h"

namespace nfb::workloads {

namespace fs = std::filesystem;

namespace {

void CheckPort(int port, const char* what) {
  if (port < 1 || port > 65535) {
    throw InputError(fmt::format("{}: {} is not a port (1-65535)", what, port));
  }
}

UdpFrameSpec FrameSpec(const FloodGeneratorOptions& o) {
  UdpFrameSpec spec;
  spec.src_mac = ParseMac(o.src_mac, "src_mac");
  spec.dst_mac = ParseMac(o.dst_mac, "dst_mac");
  spec.src_ip = ParseIpv4(o.src_ip, "src_ip");
  spec.dst_ip = ParseIpv4(o.dst_ip, "dst_ip");
  spec.src_port = static_cast<uint16_t>(o.src_port);
  spec.dst_port = static_cast<uint16_t>(o.dst_port);
  spec.frame_bytes = o.frame_bytes;
  return spec;
}

// Both tools take whole packets per second.
uint64_t WholeRate(double rate_pps) { return static_cast<uint64_t>(std::llround(rate_pps)); }

std::string_view Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// A decimal uint64 that must be the whole token.
bool ToU64(std::string_view token, uint64_t& value) {
  if (token.empty()) return false;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  return ec == std::errc() && end == token.data() + token.size();
}

uint64_t RequireU64(std::string_view token, const std::string& what) {
  uint64_t value = 0;
  if (!ToU64(token, value)) {
    throw InputError(fmt::format("{}: '{}' is not a non-negative integer below 2^64", what,
                                 std::string(token.substr(0, 40))));
  }
  return value;
}

std::vector<std::string_view> Tokens(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    if (end == text.size()) break;
    start = end + 1;
  }
  return out;
}

}  // namespace

void ValidateFloodOptions(const FloodGeneratorOptions& o) {
  // Interface names: 1-15 bytes (IFNAMSIZ - 1) and no '/', which would escape /proc/net/pktgen.
  if (o.interface.empty() || o.interface.size() > 15 ||
      o.interface.find_first_of("/ \t\n") != std::string::npos || o.interface == "." ||
      o.interface == ".." || o.interface == "pgctrl" || o.interface.rfind("kpktgend_", 0) == 0) {
    throw InputError(fmt::format("interface: '{}' is not an interface name", o.interface));
  }
  CheckPort(o.src_port, "src_port");
  CheckPort(o.dst_port, "dst_port");
  (void)BuildUdpFrame(FrameSpec(o));  // MACs, addresses and frame_bytes
  if (!std::isfinite(o.rate_pps) || o.rate_pps < 0 || o.rate_pps > 1e9 ||
      (o.rate_pps > 0 && WholeRate(o.rate_pps) < 1)) {
    throw InputError(fmt::format("rate_pps: {} is neither 0 (full speed) nor 1..1e9", o.rate_pps));
  }
  if (o.cpu && (*o.cpu < 0 || *o.cpu > 4095)) {
    throw InputError(fmt::format("cpu: {} is not a CPU number", *o.cpu));
  }
  if (o.nice < -20 || o.nice > 19) throw InputError(fmt::format("nice: {} is not -20..19", o.nice));
  if (o.output_dir.empty()) throw InputError("output_dir: empty");
}

// ---------------------------------------------------------------------------------------------
// trafgen

std::string TrafgenConfig(const FloodGeneratorOptions& options) {
  ValidateFloodOptions(options);
  std::vector<uint8_t> frame = BuildUdpFrame(FrameSpec(options));
  std::string text = fmt::format(
      "/* nfbench flood frame: {} bytes (Ethernet frame without FCS), {} {}:{} -> {} {}:{} */\n{{",
      frame.size(), options.src_mac, options.src_ip, options.src_port, options.dst_mac,
      options.dst_ip, options.dst_port);
  for (size_t i = 0; i < frame.size(); ++i) {
    text += fmt::format("{}0x{:02x}{}", i % 14 == 0 ? "\n  " : "", frame[i],
                        i + 1 < frame.size() ? "," : "");
    if (i + 1 < frame.size() && (i + 1) % 14 != 0) text += ' ';
  }
  text += "\n}\n";
  return text;
}

std::vector<std::string> TrafgenCommand(const FloodGeneratorOptions& options,
                                        const fs::path& config, const fs::path& pin_helper) {
  ValidateFloodOptions(options);
  std::vector<std::string> argv;
  if (options.nice != 0) argv = {"nice", "-n", std::to_string(options.nice)};
  argv.push_back(pin_helper.string());
  if (options.cpu) argv.insert(argv.end(), {"--cpu", std::to_string(*options.cpu)});
  // One worker (--cpus 1): exact counts and one CPU.
  // Option and value on one line.
  // clang-format off
  argv.insert(argv.end(), {
      "--chdir", (options.work_dir.empty() ? options.output_dir : options.work_dir).string(), "--",
      "trafgen",
      "--dev", options.interface,
      "--in", config.string(),
      "--cpus", "1",
      "--no-sock-mem",
      "--notouch-irq",
  });
  // clang-format on
  if (options.packets > 0) argv.insert(argv.end(), {"--num", std::to_string(options.packets)});
  if (options.rate_pps > 0) {
    argv.insert(argv.end(), {"--rate", fmt::format("{}pps", WholeRate(options.rate_pps))});
  }
  return argv;
}

double TrafgenSummary::DurationSeconds() const {
  double longest = 0;
  for (const TrafgenCpuStats& c : cpus) {
    longest = std::max(longest, double(c.seconds) + double(c.microseconds) / 1e6);
  }
  return longest;
}

TrafgenSummary ParseTrafgenSummary(std::string_view output) {
  // The summary (trafgen.c main): "\r%12llu packets outgoing", "\r%12llu bytes outgoing", then
  // per worker "\r%12lu sec, %lu usec on CPU%d (%llu packets)".
  TrafgenSummary summary;
  bool have_packets = false, have_bytes = false;
  for (std::string_view raw : Lines(output)) {
    std::string_view line = Trim(raw);
    std::vector<std::string_view> t = Tokens(line);
    if (t.size() == 3 && t[1] == "packets" && t[2] == "outgoing") {
      if (have_packets) throw InputError("trafgen output: two 'packets outgoing' lines");
      summary.packets = RequireU64(t[0], "trafgen output: packets outgoing");
      have_packets = true;
    } else if (t.size() == 3 && t[1] == "bytes" && t[2] == "outgoing") {
      if (have_bytes) throw InputError("trafgen output: two 'bytes outgoing' lines");
      summary.bytes = RequireU64(t[0], "trafgen output: bytes outgoing");
      have_bytes = true;
    } else if (t.size() >= 2 && t[1] == "sec," && have_packets) {
      // "S sec, U usec on CPUn (P packets)"
      if (t.size() != 8 || t[3] != "usec" || t[4] != "on" || t[5].substr(0, 3) != "CPU" ||
          t[6].empty() || t[6][0] != '(' || t[7] != "packets)") {
        throw InputError(fmt::format("trafgen output: garbled per-CPU line '{}'",
                                     std::string(line.substr(0, 80))));
      }
      TrafgenCpuStats c;
      c.seconds = RequireU64(t[0], "trafgen output: seconds");
      c.microseconds = RequireU64(t[2], "trafgen output: microseconds");
      uint64_t cpu = RequireU64(t[5].substr(3), "trafgen output: CPU number");
      if (cpu > 65535) throw InputError("trafgen output: CPU number out of range");
      c.cpu = static_cast<int>(cpu);
      c.packets = RequireU64(t[6].substr(1), "trafgen output: per-CPU packets");
      if (c.microseconds >= 1'000'000) {
        throw InputError(
            fmt::format("trafgen output: {} usec is not below a second", c.microseconds));
      }
      summary.cpus.push_back(c);
    }
  }
  if (!have_packets || !have_bytes) {
    throw InputError(
        "trafgen output has no end-of-run summary ('N packets outgoing', "
        "'N bytes outgoing'): trafgen failed or was killed");
  }
  if (!summary.cpus.empty()) {
    uint64_t sum = 0;
    for (const TrafgenCpuStats& c : summary.cpus) {
      if (__builtin_add_overflow(sum, c.packets, &sum)) {
        throw InputError("trafgen output: per-CPU packets overflow");
      }
    }
    if (sum != summary.packets) {
      throw InputError(
          fmt::format("trafgen output: per-CPU packets add up to {}, not the {} "
                      "packets outgoing",
                      sum, summary.packets));
    }
  }
  return summary;
}

// ---------------------------------------------------------------------------------------------
// pktgen

std::vector<PktgenWrite> PktgenSetup(const FloodGeneratorOptions& o) {
  ValidateFloodOptions(o);
  const std::string thread = fmt::format("kpktgend_{}", o.cpu.value_or(0));
  const std::string& dev = o.interface;
  std::vector<PktgenWrite> writes = {
      {thread, "rem_device_all"},
      {thread, "add_device " + dev},
      {dev, fmt::format("count {}", o.packets)},  // 0: until stopped
      // A veth lacks IFF_TX_SKB_SHARING, so clone_skb > 0 is refused there; a fresh skb per
      // packet is also what the receiver of a real flood sees.
      {dev, "clone_skb 0"},
      {dev, fmt::format("pkt_size {}", o.frame_bytes)},  // Ethernet frame without FCS
  };
  if (o.rate_pps > 0) {
    writes.push_back({dev, fmt::format("ratep {}", WholeRate(o.rate_pps))});
  } else {
    writes.push_back({dev, "delay 0"});
  }
  for (const std::string& c :
       {"dst " + o.dst_ip, "dst_mac " + o.dst_mac, "src_min " + o.src_ip, "src_max " + o.src_ip,
        "src_mac " + o.src_mac, fmt::format("udp_src_min {}", o.src_port),
        fmt::format("udp_src_max {}", o.src_port), fmt::format("udp_dst_min {}", o.dst_port),
        fmt::format("udp_dst_max {}", o.dst_port)}) {
    writes.push_back({dev, c});
  }
  return writes;
}

std::vector<PktgenWrite> PktgenTeardown(const FloodGeneratorOptions& o) {
  return {{fmt::format("kpktgend_{}", o.cpu.value_or(0)), "rem_device_all"}};
}

PktgenResult ParsePktgenDevice(std::string_view text) {
  // net/core/pktgen.c pktgen_if_show():
  //   Params: count %llu  min_pkt_size: %u  max_pkt_size: %u
  //   ...
  //   Current:
  //        pkts-sofar: %llu  errors: %llu
  //   ...
  //   Result: OK: %llu(c%llu+d%llu) usec, %llu (%dbyte,%dfrags)
  //     %llupps %lluMb/sec (%llubps) errors: %llu
  PktgenResult r;
  bool have_params = false, have_sofar = false;
  std::vector<std::string_view> lines = Lines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::vector<std::string_view> t = Tokens(lines[i]);
    if (t.empty()) continue;
    if (t[0] == "Params:") {
      if (t.size() < 5 || t[3] != "min_pkt_size:") {
        throw InputError("pktgen device file: garbled Params line");
      }
      uint64_t size = RequireU64(t[4], "pktgen device file: min_pkt_size");
      if (size > 65535) throw InputError("pktgen device file: min_pkt_size out of range");
      r.frame_bytes = static_cast<int>(size);
      have_params = true;
    } else if (t[0] == "pkts-sofar:") {
      if (t.size() != 4 || t[2] != "errors:") {
        throw InputError("pktgen device file: garbled pkts-sofar line");
      }
      r.sent_packets = RequireU64(t[1], "pktgen device file: pkts-sofar");
      r.errors = RequireU64(t[3], "pktgen device file: errors");
      have_sofar = true;
    } else if (t[0] == "Result:" && t.size() >= 3 && t[1] == "OK:" && t.size() >= 5 &&
               t[3] == "usec,") {
      // "Result: OK: 1234(c1200+d34) usec, 20000 (72byte,0frags)"
      std::string_view elapsed = t[2].substr(0, t[2].find('('));
      r.elapsed_us = RequireU64(elapsed, "pktgen device file: elapsed usec");
      uint64_t sofar = RequireU64(t[4], "pktgen device file: result packets");
      if (have_sofar && sofar != r.sent_packets) {
        throw InputError(fmt::format("pktgen device file: Result has {} packets, pkts-sofar {}",
                                     sofar, r.sent_packets));
      }
      // The next line: "  123pps 45Mb/sec (45000000bps) errors: 0"
      if (i + 1 < lines.size()) {
        std::vector<std::string_view> n = Tokens(lines[i + 1]);
        if (!n.empty() && n[0].size() > 3 && n[0].substr(n[0].size() - 3) == "pps") {
          r.result_pps = RequireU64(n[0].substr(0, n[0].size() - 3), "pktgen device file: pps");
        }
      }
      r.finished = true;
    }
  }
  if (!have_params || !have_sofar) {
    throw InputError(
        "pktgen device file has no 'Params:' or 'pkts-sofar:' line (not a pktgen "
        "device file?)");
  }
  return r;
}

}  // namespace nfb::workloads
