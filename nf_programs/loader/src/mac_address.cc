#include "nfb/bpf/mac_address.h"

#include <fmt/core.h>

#include "nfb/core/error.h"

namespace nfb::bpf {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

MacAddress ParseMac(std::string_view text) {
  const auto invalid = [text] {
    return InputError(fmt::format(
        "'{}' is not a MAC address (expected six hex pairs such as 02:00:00:00:01:01)", text));
  };
  constexpr size_t kTextLength = 6 * 2 + 5;
  if (text.size() != kTextLength) throw invalid();
  MacAddress mac{};
  for (size_t i = 0; i < mac.size(); ++i) {
    const size_t pos = i * 3;
    if (i > 0 && text[pos - 1] != ':' && text[pos - 1] != '-') throw invalid();
    const int high = HexValue(text[pos]);
    const int low = HexValue(text[pos + 1]);
    if (high < 0 || low < 0) throw invalid();
    mac[i] = static_cast<uint8_t>(high * 16 + low);
  }
  return mac;
}

std::string FormatMac(const MacAddress& mac) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3],
                     mac[4], mac[5]);
}

}  // namespace nfb::bpf
