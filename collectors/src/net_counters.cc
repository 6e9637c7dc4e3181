#include "nfb/collectors/net_counters.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "nfb/core/error.h"
#include "nfb/core/netns.h"

namespace nfb::collectors {

std::map<std::string, InterfaceCounters> ParseNetDev(std::string_view text) {
  // "  eth0: rx_bytes rx_packets rx_errs rx_drop fifo frame compressed multicast
  //          tx_bytes tx_packets tx_errs tx_drop ..." after two header lines.
  std::map<std::string, InterfaceCounters> devices;
  std::istringstream lines{std::string(text)};
  std::string line;
  while (std::getline(lines, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    std::istringstream fields(line.substr(colon + 1));
    uint64_t v[12];
    bool ok = !name.empty();
    for (uint64_t& x : v) ok = ok && static_cast<bool>(fields >> x);
    if (!ok) continue;
    devices[name] = {v[1], v[3], v[9], v[11], true};
  }
  return devices;
}

UdpCounters ParseSnmpUdp(std::string_view text) {
  // Two lines: "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors ..." and the values.
  std::istringstream lines{std::string(text)};
  std::string line, header;
  while (std::getline(lines, line)) {
    if (line.rfind("Udp: ", 0) != 0) continue;
    if (header.empty()) {
      header = line;
      continue;
    }
    std::istringstream names(header.substr(5)), values(line.substr(5));
    std::string name;
    uint64_t value = 0;
    UdpCounters c;
    while (names >> name && values >> value) {
      if (name == "InDatagrams") c.in_datagrams = value;
      if (name == "NoPorts") c.no_ports = value;
      if (name == "InErrors") c.in_errors = value;
      if (name == "RcvbufErrors") c.rcvbuf_errors = value;
    }
    return c;
  }
  throw RunError("no Udp: counters in /proc/net/snmp");
}

std::string ReadProcNet(const std::string& netns, std::string_view file) {
  NetnsScope in(netns);
  const std::string path = fmt::format("/proc/thread-self/net/{}", file);
  std::ifstream f(path);
  if (!f) throw RunError(fmt::format("cannot read /proc/net/{} in {}", file, netns));
  std::ostringstream text;
  text << f.rdbuf();
  return text.str();
}

}  // namespace nfb::collectors
