// Small value helpers of the scenario model: formatting, parsing and look-ups.
#include "nfb/scenario/scenario.h"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>

#include "enum_names.h"

namespace nfb::scenario {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses a decimal number of 1..max_digits digits without a leading zero (so "010" cannot be
// mistaken for octal the way inet_aton would read it). Returns -1 when malformed.
int ParseDecimal(std::string_view text, size_t max_digits) {
  if (text.empty() || text.size() > max_digits) return -1;
  if (text.size() > 1 && text[0] == '0') return -1;
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return -1;
  return value;
}

template <typename E, size_t N>
const char* NameOf(const std::pair<std::string_view, E> (&table)[N], E value) {
  for (const auto& [name, v] : table) {
    if (v == value) return name.data();  // the names are literals, so NUL-terminated
  }
  return "?";
}

}  // namespace

std::string Mac::ToString() const {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", bytes[0], bytes[1], bytes[2],
                     bytes[3], bytes[4], bytes[5]);
}

std::optional<Mac> Mac::Parse(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  Mac mac;
  for (size_t i = 0; i < 6; ++i) {
    const size_t at = i * 3;
    if (i > 0 && text[at - 1] != ':') return std::nullopt;
    const int hi = HexDigit(text[at]);
    const int lo = HexDigit(text[at + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    mac.bytes[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return mac;
}

std::string Ipv4Prefix::AddressString() const {
  return fmt::format("{}.{}.{}.{}", address >> 24, (address >> 16) & 0xff, (address >> 8) & 0xff,
                     address & 0xff);
}

std::string Ipv4Prefix::ToString() const {
  return fmt::format("{}/{}", AddressString(), prefix_len);
}

std::optional<Ipv4Prefix> Ipv4Prefix::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const int len = ParseDecimal(text.substr(slash + 1), 2);
  if (len < 0 || len > 32) return std::nullopt;
  std::string_view rest = text.substr(0, slash);
  uint32_t address = 0;
  for (int i = 0; i < 4; ++i) {
    const size_t dot = rest.find('.');
    if ((i < 3) == (dot == std::string_view::npos)) return std::nullopt;
    const int octet = ParseDecimal(rest.substr(0, dot), 3);
    if (octet < 0 || octet > 255) return std::nullopt;
    address = (address << 8) | static_cast<uint32_t>(octet);
    rest = i < 3 ? rest.substr(dot + 1) : std::string_view();
  }
  return Ipv4Prefix{address, len};
}

uint32_t Ipv4Prefix::Netmask() const {
  if (prefix_len <= 0) return 0;
  if (prefix_len >= 32) return 0xffffffffu;
  return ~((uint32_t{1} << (32 - prefix_len)) - 1);
}

uint32_t Ipv4Prefix::Network() const { return address & Netmask(); }

uint32_t Ipv4Prefix::Broadcast() const { return Network() | ~Netmask(); }

const GuestSpec* Topology::FindGuest(const std::string& name) const {
  auto it = std::find_if(guests.begin(), guests.end(),
                         [&](const GuestSpec& g) { return g.name == name; });
  return it == guests.end() ? nullptr : &*it;
}

const ExternalHostSpec* Topology::FindExternal(const std::string& name) const {
  auto it = std::find_if(external_hosts.begin(), external_hosts.end(),
                         [&](const ExternalHostSpec& h) { return h.name == name; });
  return it == external_hosts.end() ? nullptr : &*it;
}

const Configuration* Scenario::FindConfiguration(const std::string& config_name) const {
  auto it = std::find_if(configurations.begin(), configurations.end(),
                         [&](const Configuration& c) { return c.name == config_name; });
  return it == configurations.end() ? nullptr : &*it;
}

const char* ToString(Hook hook) { return NameOf(internal::kHookNames, hook); }
const char* ToString(ProgramKind kind) { return NameOf(internal::kProgramKindNames, kind); }
const char* ToString(GeneratorKind kind) { return NameOf(internal::kGeneratorNames, kind); }
const char* ToString(CpuBenchmarkKind kind) {
  return NameOf(internal::kCpuBenchmarkNames, kind);
}
const char* ToString(InstallAt at) { return NameOf(internal::kInstallAtNames, at); }
const char* ToString(TimestampRequest request) {
  return NameOf(internal::kTimestampNames, request);
}
const char* ToString(Order order) { return NameOf(internal::kOrderNames, order); }

}  // namespace nfb::scenario
