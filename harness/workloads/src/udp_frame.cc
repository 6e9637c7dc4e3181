#include "nfb/workloads/udp_frame.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <optional>

#include "nfb/core/error.h"
#include "nfb/scenario/scenario.h"

namespace nfb::workloads {
namespace {

// One's-complement sum of 16-bit big-endian words (RFC 1071), not yet inverted.
uint32_t SumWords(const uint8_t* data, size_t length, uint32_t sum) {
  for (size_t i = 0; i + 1 < length; i += 2) sum += uint32_t(data[i]) << 8 | data[i + 1];
  if (length % 2 != 0) sum += uint32_t(data[length - 1]) << 8;
  return sum;
}

uint16_t Fold(uint32_t sum) {
  while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

void Put16(std::vector<uint8_t>& frame, size_t offset, uint16_t value) {
  frame[offset] = static_cast<uint8_t>(value >> 8);
  frame[offset + 1] = static_cast<uint8_t>(value & 0xff);
}

void Put32(std::vector<uint8_t>& frame, size_t offset, uint32_t network_order) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(&network_order);
  for (int i = 0; i < 4; ++i) frame[offset + i] = bytes[i];
}

}  // namespace

MacAddress ParseMac(const std::string& text, const std::string& what) {
  // The scenario model's parser, so a MAC means the same in a scenario file and on the wire.
  const std::optional<scenario::Mac> mac = scenario::Mac::Parse(text);
  if (!mac) {
    throw InputError(
        fmt::format("{}: '{}' is not a MAC address like 02:00:00:00:01:01", what, text));
  }
  return mac->bytes;
}

uint32_t ParseIpv4(const std::string& text, const std::string& what) {
  in_addr address{};
  if (::inet_pton(AF_INET, text.c_str(), &address) != 1) {
    throw InputError(fmt::format("{}: '{}' is not an IPv4 address (dotted quad)", what, text));
  }
  return address.s_addr;
}

std::vector<uint8_t> BuildUdpFrame(const UdpFrameSpec& spec) {
  if (spec.frame_bytes < kMinFrameBytes || spec.frame_bytes > kMaxFrameBytes) {
    throw InputError(fmt::format("frame_bytes: {} is outside {}..{} (Ethernet frame without FCS)",
                                 spec.frame_bytes, kMinFrameBytes, kMaxFrameBytes));
  }
  std::vector<uint8_t> frame(static_cast<size_t>(spec.frame_bytes), 0);
  const size_t ip = kEthernetHeaderBytes;
  const size_t udp = ip + kIpv4HeaderBytes;
  const auto ip_length = static_cast<uint16_t>(spec.frame_bytes - kEthernetHeaderBytes);
  const auto udp_length = static_cast<uint16_t>(ip_length - kIpv4HeaderBytes);

  for (int i = 0; i < 6; ++i) {
    frame[i] = spec.dst_mac[i];
    frame[6 + i] = spec.src_mac[i];
  }
  Put16(frame, 12, 0x0800);  // IPv4

  frame[ip] = 0x45;  // version 4, 5 words of header
  Put16(frame, ip + 2, ip_length);
  frame[ip + 8] = spec.ttl;
  frame[ip + 9] = 17;  // UDP
  Put32(frame, ip + 12, spec.src_ip);
  Put32(frame, ip + 16, spec.dst_ip);
  Put16(frame, ip + 10, Fold(SumWords(&frame[ip], kIpv4HeaderBytes, 0)));

  Put16(frame, udp, spec.src_port);
  Put16(frame, udp + 2, spec.dst_port);
  Put16(frame, udp + 4, udp_length);
  // Pseudo-header: source, destination, zero + protocol, UDP length.
  uint32_t sum = SumWords(&frame[ip + 12], 8, 0) + 17 + udp_length;
  uint16_t checksum = Fold(SumWords(&frame[udp], udp_length, sum));
  Put16(frame, udp + 6, checksum == 0 ? 0xffff : checksum);  // 0 would mean "no checksum"
  return frame;
}

}  // namespace nfb::workloads
