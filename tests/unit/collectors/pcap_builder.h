// Test helper: writes capture files with chosen packets and exact nanosecond timestamps, so the
// analyses can be checked against known answers. Header-only; used by the unit tests and by
// tests/bench/pcap_analysis_bench.cc.
#pragma once

#include <arpa/inet.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace nfb::testing {

inline uint32_t Ip(const char* text) {
  in_addr a{};
  if (inet_pton(AF_INET, text, &a) != 1) throw std::invalid_argument(text);
  return a.s_addr;  // network order
}

// Writes a pcap (nanosecond by default) of link type `dlt` through libpcap itself.
class PcapBuilder {
 public:
  explicit PcapBuilder(const std::filesystem::path& path, int dlt = DLT_EN10MB,
                       bool nanosecond = true, int snaplen = 65535)
      : path_(path), nanosecond_(nanosecond) {
    dead_ = pcap_open_dead_with_tstamp_precision(
        dlt, snaplen, nanosecond ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
    if (dead_ == nullptr) throw std::runtime_error("pcap_open_dead");
    dumper_ = pcap_dump_open(dead_, path.c_str());
    if (dumper_ == nullptr) throw std::runtime_error(pcap_geterr(dead_));
  }
  PcapBuilder(const PcapBuilder&) = delete;
  PcapBuilder& operator=(const PcapBuilder&) = delete;
  ~PcapBuilder() { Close(); }

  // Writes one packet; caplen may be cut below the frame's length to imitate a short snaplen.
  void Write(int64_t ts_ns, const std::vector<uint8_t>& frame, uint32_t caplen = UINT32_MAX) {
    pcap_pkthdr h{};
    h.ts.tv_sec = ts_ns / 1'000'000'000;
    h.ts.tv_usec = ts_ns % 1'000'000'000;  // the field holds ns in a nanosecond file
    if (!nanosecond_) h.ts.tv_usec /= 1000;
    h.len = static_cast<uint32_t>(frame.size());
    h.caplen = std::min<uint32_t>(caplen, h.len);
    pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, frame.data());
  }

  void Close() {
    if (dumper_ != nullptr) pcap_dump_close(dumper_);
    if (dead_ != nullptr) pcap_close(dead_);
    dumper_ = nullptr;
    dead_ = nullptr;
  }

 private:
  std::filesystem::path path_;
  bool nanosecond_;
  pcap_t* dead_ = nullptr;
  pcap_dumper_t* dumper_ = nullptr;
};

// Link-layer header in front of an IPv4 packet.
inline std::vector<uint8_t> LinkHeader(int dlt, uint16_t ethertype = 0x0800, int vlan_tags = 0) {
  std::vector<uint8_t> h;
  switch (dlt) {
    case DLT_EN10MB:
      h = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
      for (int i = 0; i < vlan_tags; ++i) {
        h.insert(h.end(), {0x81, 0x00, 0x00, static_cast<uint8_t>(10 + i)});
      }
      break;
    case DLT_LINUX_SLL:
      // packet type, ARPHRD_ETHER, address length, 8 address bytes.
      h = {0x00, 0x04, 0x00, 0x01, 0x00, 0x06, 0x02, 0, 0, 0, 0, 0x01, 0, 0};
      break;
    case DLT_LINUX_SLL2:
      // protocol, reserved, ifindex, ARPHRD_ETHER, packet type, address length, 8 address bytes.
      h = {static_cast<uint8_t>(ethertype >> 8),
           static_cast<uint8_t>(ethertype & 0xff),
           0,
           0,
           0,
           0,
           0,
           2,
           0x00,
           0x01,
           0x04,
           0x06,
           0x02,
           0,
           0,
           0,
           0,
           0x01,
           0,
           0};
      return h;
    default:
      throw std::invalid_argument("LinkHeader: unsupported dlt");
  }
  h.push_back(static_cast<uint8_t>(ethertype >> 8));
  h.push_back(static_cast<uint8_t>(ethertype & 0xff));
  return h;
}

// An IPv4 packet (20-byte header, or 24 with an options word) carrying `l4` with protocol `proto`.
inline std::vector<uint8_t> Ipv4(uint32_t src, uint32_t dst, uint8_t proto,
                                 const std::vector<uint8_t>& l4, bool with_options = false,
                                 uint16_t frag = 0) {
  uint8_t ihl = with_options ? 6 : 5;
  uint16_t total = static_cast<uint16_t>(ihl * 4 + l4.size());
  std::vector<uint8_t> p = {static_cast<uint8_t>(0x40 | ihl),
                            0,
                            static_cast<uint8_t>(total >> 8),
                            static_cast<uint8_t>(total),
                            0x12,
                            0x34,
                            static_cast<uint8_t>(frag >> 8),
                            static_cast<uint8_t>(frag),
                            64,
                            proto,
                            0,
                            0};
  p.resize(20);
  std::memcpy(p.data() + 12, &src, 4);
  std::memcpy(p.data() + 16, &dst, 4);
  if (with_options) p.insert(p.end(), {1, 1, 1, 0});  // NOP NOP NOP EOL
  p.insert(p.end(), l4.begin(), l4.end());
  return p;
}

inline std::vector<uint8_t> Icmp(uint8_t type, uint8_t code, uint16_t id, uint16_t seq,
                                 std::size_t payload = 56) {
  std::vector<uint8_t> m = {type,
                            code,
                            0,
                            0,
                            static_cast<uint8_t>(id >> 8),
                            static_cast<uint8_t>(id),
                            static_cast<uint8_t>(seq >> 8),
                            static_cast<uint8_t>(seq)};
  m.resize(8 + payload, 0xab);
  return m;
}

inline std::vector<uint8_t> Concat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A whole ICMP echo frame (type 8 request or 0 reply).
inline std::vector<uint8_t> EchoFrame(int dlt, uint32_t src, uint32_t dst, uint8_t type,
                                      uint16_t id, uint16_t seq) {
  return Concat(LinkHeader(dlt), Ipv4(src, dst, 1, Icmp(type, 0, id, seq)));
}

}  // namespace nfb::testing
