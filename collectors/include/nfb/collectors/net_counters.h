// Kernel packet counters of a network namespace: its interfaces (/proc/net/dev) and its UDP
// layer (/proc/net/snmp), read from inside the namespace. The CPU sampler weighs shared CPUs by
// these counters; the flood runner accounts for the attack's packets with them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace nfb::collectors {

struct InterfaceCounters {
  uint64_t rx_packets = 0, rx_dropped = 0, tx_packets = 0, tx_dropped = 0;
  bool present = false;  // the interface was listed
};

// The UDP line pair of /proc/net/snmp.
struct UdpCounters {
  uint64_t in_datagrams = 0;   // delivered to a socket
  uint64_t no_ports = 0;       // nothing listened: answered with ICMP port unreachable
  uint64_t in_errors = 0;      // includes rcvbuf_errors
  uint64_t rcvbuf_errors = 0;  // a socket's receive buffer was full
};

// /proc/net/dev text -> device -> counters. Header and malformed lines are skipped.
std::map<std::string, InterfaceCounters> ParseNetDev(std::string_view text);
// /proc/net/snmp text -> the Udp: counters, by column name. Throws RunError without a Udp: pair.
UdpCounters ParseSnmpUdp(std::string_view text);

// /proc/net/<file> of the named network namespace (entered with setns for the read: /proc/
// thread-self/net follows the calling thread's namespace). Throws RunError if the namespace
// cannot be entered or the file read.
std::string ReadProcNet(const std::string& netns, std::string_view file);

}  // namespace nfb::collectors
