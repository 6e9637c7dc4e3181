// Ethernet addresses as the dispatcher keys them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace nfb::bpf {

using MacAddress = std::array<uint8_t, 6>;

// Parses "02:00:00:00:01:01" (six hex pairs separated by ':' or '-', either case).
// Throws InputError naming the text if it is not such an address.
MacAddress ParseMac(std::string_view text);

// Formats as lower-case "02:00:00:00:01:01".
std::string FormatMac(const MacAddress& mac);

// True for broadcast and multicast addresses (the I/G bit of the first octet).
constexpr bool IsGroupMac(const MacAddress& mac) { return (mac[0] & 0x01) != 0; }

}  // namespace nfb::bpf
