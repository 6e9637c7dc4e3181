#include "bpf_test_util.h"

#include <fmt/core.h>

namespace nfb::bpf::testing {

std::string HexDump(std::span<const uint8_t> bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    out += fmt::format("{}{:02x}", i % 16 == 0 ? (i == 0 ? "" : "\n") : " ", bytes[i]);
  }
  return out;
}

::testing::AssertionResult HasValidIcmpChecksums(const Bytes& frame) {
  constexpr size_t kEth = 14;
  if (frame.size() < kEth + 20) return ::testing::AssertionFailure() << "frame too short";
  const size_t ihl = size_t{4} * (frame[kEth] & 0x0fu);
  const size_t total = (frame[kEth + 2] << 8) | frame[kEth + 3];
  if (total < ihl + 8 || kEth + total > frame.size()) {
    return ::testing::AssertionFailure() << "bad IPv4 total length " << total;
  }
  const std::span<const uint8_t> all(frame);
  // A header or message that includes a valid checksum sums to 0xffff, i.e. "checksums" to 0.
  if (const uint16_t ip = InternetChecksum(all.subspan(kEth, ihl)); ip != 0) {
    return ::testing::AssertionFailure() << fmt::format("IPv4 header checksum off by {:#06x}", ip);
  }
  if (const uint16_t icmp = InternetChecksum(all.subspan(kEth + ihl, total - ihl)); icmp != 0) {
    return ::testing::AssertionFailure() << fmt::format("ICMP checksum off by {:#06x}", icmp);
  }
  return ::testing::AssertionSuccess();
}

}  // namespace nfb::bpf::testing
