// Builds test frames layer by layer (in the manner of katran's PacketBuilder) and computes their
// lengths and checksums from scratch, independently of the BPF programs under test.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "nfb/bpf/mac_address.h"

namespace nfb::bpf::testing {

using Bytes = std::vector<uint8_t>;

inline constexpr uint16_t kEthPIp = 0x0800;
inline constexpr uint16_t kEthPArp = 0x0806;
inline constexpr uint16_t kEthPVlan = 0x8100;
inline constexpr uint16_t kEthPIpv6 = 0x86dd;
inline constexpr uint8_t kIcmpEchoReply = 0;
inline constexpr uint8_t kIcmpEchoRequest = 8;

// RFC 1071 Internet checksum of `data` (odd lengths padded with a zero byte), as the value to
// store big-endian in the checksum field. Never returns 0xffff for data that is not all zero.
uint16_t InternetChecksum(std::span<const uint8_t> data);

// Host-order IPv4 address from dotted text; aborts the test on bad text.
uint32_t Ip(std::string_view dotted);

// A 56-byte payload like the one ping sends (deterministic).
Bytes PingPayload(size_t size = 56);

struct Ipv4Fields {
  uint8_t ttl = 64;
  uint8_t tos = 0;
  uint16_t id = 0x4242;
  uint16_t frag = 0;                     // flags and fragment offset as in the header (0x4000 = DF)
  Bytes options;                         // appended to the header; IHL = 5 + size / 4
  std::optional<uint8_t> version;        // default 4
  std::optional<uint8_t> protocol;       // default: from the layer that follows
  std::optional<uint16_t> total_length;  // default: computed
  std::optional<uint16_t> checksum;      // default: computed
};

class PacketBuilder {
 public:
  PacketBuilder& Ethernet(const MacAddress& dst, const MacAddress& src);
  // An 802.1Q tag between the MACs and the EtherType.
  PacketBuilder& VlanTag(uint16_t tci);
  // Overrides the EtherType (default: IPv4 when an IPv4 layer follows).
  PacketBuilder& EtherType(uint16_t ethertype);
  PacketBuilder& Ipv4(uint32_t src, uint32_t dst, Ipv4Fields fields = {});
  // ICMP header with identifier and sequence (echo layout); checksum computed unless given.
  PacketBuilder& Icmp(uint8_t type, uint8_t code, uint16_t id, uint16_t seq,
                      std::optional<uint16_t> checksum = std::nullopt);
  // UDP header; length computed, checksum 0 (optional for IPv4).
  PacketBuilder& Udp(uint16_t src_port, uint16_t dst_port);
  PacketBuilder& Payload(Bytes payload);

  Bytes Build() const;

 private:
  enum class L4 { kNone, kIcmp, kUdp };

  MacAddress dst_{};
  MacAddress src_{};
  std::optional<uint16_t> vlan_tci_;
  std::optional<uint16_t> ethertype_;
  bool ipv4_ = false;
  uint32_t ip_src_ = 0;
  uint32_t ip_dst_ = 0;
  Ipv4Fields ip_;
  L4 l4_ = L4::kNone;
  uint8_t icmp_type_ = 0;
  uint8_t icmp_code_ = 0;
  uint16_t icmp_id_ = 0;
  uint16_t icmp_seq_ = 0;
  std::optional<uint16_t> icmp_checksum_;
  uint16_t udp_src_ = 0;
  uint16_t udp_dst_ = 0;
  Bytes payload_;
};

// Fields of an ICMP echo exchange between a client and a server.
struct EchoSpec {
  MacAddress client_mac{0x02, 0x00, 0x00, 0x00, 0xbf, 0x02};
  MacAddress server_mac{0x02, 0x00, 0x00, 0x00, 0xbf, 0x01};
  uint32_t client_ip = Ip("198.18.77.2");
  uint32_t server_ip = Ip("198.18.77.1");
  uint16_t id = 0x1d2c;
  uint16_t seq = 1;
  Ipv4Fields ip;
  Bytes payload = PingPayload();
};

// The echo request from client to server (checksums computed).
PacketBuilder EchoRequest(const EchoSpec& spec);
// The reply a correct responder sends: MACs and addresses swapped, type 0, same TTL, id, payload,
// checksums computed from scratch.
PacketBuilder EchoReply(const EchoSpec& spec);

}  // namespace nfb::bpf::testing
