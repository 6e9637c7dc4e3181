// The attack's packet: one Ethernet/IPv4/UDP frame, built byte by byte so that every generator
// (trafgen's packet config, a capture check in a test) sends and expects exactly the same bytes.
//
// Frame size convention (the thesis's pktgen `pkt_size 72`): `frame_bytes` counts the Ethernet
// frame from the first byte of the destination MAC to the last payload byte, WITHOUT the 4-byte
// FCS that a NIC appends. It is what a capture reports as the packet length. A 72-byte frame is
// 14 (Ethernet) + 20 (IPv4, no options) + 8 (UDP) + 30 payload bytes; on a physical link it
// occupies 72 + 4 (FCS) + 8 (preamble/SFD) + 12 (inter-frame gap) = 96 byte times.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace nfb::workloads {

inline constexpr int kEthernetHeaderBytes = 14;
inline constexpr int kIpv4HeaderBytes = 20;
inline constexpr int kUdpHeaderBytes = 8;
// Ethernet's minimum frame without FCS (a NIC pads shorter frames; a veth does not).
inline constexpr int kMinFrameBytes = 60;
// A full 1500-byte MTU plus the Ethernet header.
inline constexpr int kMaxFrameBytes = 1514;

using MacAddress = std::array<uint8_t, 6>;

// "02:00:00:00:01:01" (hex digits in either case, exactly six colon-separated pairs). Throws
// InputError naming `what` (e.g. "dst_mac") otherwise.
MacAddress ParseMac(const std::string& text, const std::string& what);
// Dotted quad "198.18.0.11" in network byte order. Throws InputError naming `what` otherwise.
uint32_t ParseIpv4(const std::string& text, const std::string& what);

struct UdpFrameSpec {
  MacAddress src_mac{}, dst_mac{};
  uint32_t src_ip = 0, dst_ip = 0;  // network byte order (ParseIpv4)
  uint16_t src_port = 0, dst_port = 0;
  int frame_bytes = 72;  // see the convention above; kMinFrameBytes..kMaxFrameBytes
  uint8_t ttl = 64;
};

// The frame: IPv4 header with ID 0, no fragmentation flags and a correct header checksum; UDP
// with a correct checksum; payload all zero. Throws InputError if frame_bytes is out of range.
std::vector<uint8_t> BuildUdpFrame(const UdpFrameSpec& spec);

}  // namespace nfb::workloads
