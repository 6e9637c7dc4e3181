#include "packet_builder.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <string>

namespace nfb::bpf::testing {
namespace {

void Put16(Bytes& out, uint16_t value) {
  out.push_back(static_cast<uint8_t>(value >> 8));
  out.push_back(static_cast<uint8_t>(value & 0xff));
}

void Put32(Bytes& out, uint32_t value) {
  Put16(out, static_cast<uint16_t>(value >> 16));
  Put16(out, static_cast<uint16_t>(value & 0xffff));
}

void Set16(Bytes& out, size_t offset, uint16_t value) {
  out[offset] = static_cast<uint8_t>(value >> 8);
  out[offset + 1] = static_cast<uint8_t>(value & 0xff);
}

}  // namespace

uint16_t InternetChecksum(std::span<const uint8_t> data) {
  uint64_t sum = 0;
  for (size_t i = 0; i + 1 < data.size(); i += 2) sum += (data[i] << 8) | data[i + 1];
  if (data.size() % 2 != 0) sum += data.back() << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

uint32_t Ip(std::string_view dotted) {
  in_addr addr{};
  if (inet_pton(AF_INET, std::string(dotted).c_str(), &addr) != 1) std::abort();
  return ntohl(addr.s_addr);
}

Bytes PingPayload(size_t size) {
  Bytes payload(size);
  for (size_t i = 0; i < size; ++i) payload[i] = static_cast<uint8_t>(0x10 + i);
  return payload;
}

PacketBuilder& PacketBuilder::Ethernet(const MacAddress& dst, const MacAddress& src) {
  dst_ = dst;
  src_ = src;
  return *this;
}

PacketBuilder& PacketBuilder::VlanTag(uint16_t tci) {
  vlan_tci_ = tci;
  return *this;
}

PacketBuilder& PacketBuilder::EtherType(uint16_t ethertype) {
  ethertype_ = ethertype;
  return *this;
}

PacketBuilder& PacketBuilder::Ipv4(uint32_t src, uint32_t dst, Ipv4Fields fields) {
  ipv4_ = true;
  ip_src_ = src;
  ip_dst_ = dst;
  ip_ = std::move(fields);
  return *this;
}

PacketBuilder& PacketBuilder::Icmp(uint8_t type, uint8_t code, uint16_t id, uint16_t seq,
                                   std::optional<uint16_t> checksum) {
  l4_ = L4::kIcmp;
  icmp_type_ = type;
  icmp_code_ = code;
  icmp_id_ = id;
  icmp_seq_ = seq;
  icmp_checksum_ = checksum;
  return *this;
}

PacketBuilder& PacketBuilder::Udp(uint16_t src_port, uint16_t dst_port) {
  l4_ = L4::kUdp;
  udp_src_ = src_port;
  udp_dst_ = dst_port;
  return *this;
}

PacketBuilder& PacketBuilder::Payload(Bytes payload) {
  payload_ = std::move(payload);
  return *this;
}

Bytes PacketBuilder::Build() const {
  Bytes out(dst_.begin(), dst_.end());
  out.insert(out.end(), src_.begin(), src_.end());
  if (vlan_tci_) {
    Put16(out, kEthPVlan);
    Put16(out, *vlan_tci_);
  }
  Put16(out, ethertype_.value_or(ipv4_ ? kEthPIp : 0));

  // Layer 4 first, so the IP header knows its length.
  Bytes l4;
  if (l4_ == L4::kIcmp) {
    l4 = {icmp_type_, icmp_code_, 0, 0};
    Put16(l4, icmp_id_);
    Put16(l4, icmp_seq_);
    l4.insert(l4.end(), payload_.begin(), payload_.end());
    Set16(l4, 2, icmp_checksum_.value_or(InternetChecksum(l4)));
  } else if (l4_ == L4::kUdp) {
    Put16(l4, udp_src_);
    Put16(l4, udp_dst_);
    Put16(l4, static_cast<uint16_t>(8 + payload_.size()));
    Put16(l4, 0);
    l4.insert(l4.end(), payload_.begin(), payload_.end());
  } else {
    l4 = payload_;
  }

  if (ipv4_) {
    const size_t header_length = 20 + ip_.options.size();
    const uint8_t protocol = ip_.protocol.value_or(l4_ == L4::kIcmp ? 1 : l4_ == L4::kUdp ? 17 : 0);
    Bytes ip;
    ip.push_back(static_cast<uint8_t>((ip_.version.value_or(4) << 4) | (header_length / 4)));
    ip.push_back(ip_.tos);
    Put16(ip, ip_.total_length.value_or(static_cast<uint16_t>(header_length + l4.size())));
    Put16(ip, ip_.id);
    Put16(ip, ip_.frag);
    ip.push_back(ip_.ttl);
    ip.push_back(protocol);
    Put16(ip, 0);
    Put32(ip, ip_src_);
    Put32(ip, ip_dst_);
    ip.insert(ip.end(), ip_.options.begin(), ip_.options.end());
    Set16(ip, 10, ip_.checksum.value_or(InternetChecksum(ip)));
    out.insert(out.end(), ip.begin(), ip.end());
  }
  out.insert(out.end(), l4.begin(), l4.end());
  return out;
}

PacketBuilder EchoRequest(const EchoSpec& spec) {
  PacketBuilder builder;
  builder.Ethernet(spec.server_mac, spec.client_mac)
      .Ipv4(spec.client_ip, spec.server_ip, spec.ip)
      .Icmp(kIcmpEchoRequest, 0, spec.id, spec.seq)
      .Payload(spec.payload);
  return builder;
}

PacketBuilder EchoReply(const EchoSpec& spec) {
  PacketBuilder builder;
  builder.Ethernet(spec.client_mac, spec.server_mac)
      .Ipv4(spec.server_ip, spec.client_ip, spec.ip)
      .Icmp(kIcmpEchoReply, 0, spec.id, spec.seq)
      .Payload(spec.payload);
  return builder;
}

}  // namespace nfb::bpf::testing
