// Where the attack's packets went: kernel counters read before and after a flood step along the
// path attacker -> dom0's NIC -> the guest's vif -> the guest's eth0 -> its UDP layer, and a
// per-second rate of dom0's NIC that shows when the attack was seen.
#pragma once

#include <atomic>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "nfb/platform/platform.h"

namespace nfb::runner {

struct InterfaceCounters {
  uint64_t rx_packets = 0, rx_dropped = 0, tx_packets = 0, tx_dropped = 0;
  bool present = false;
};

// The UDP lines of /proc/net/snmp in the guest's namespace.
struct UdpCounters {
  uint64_t in_datagrams = 0;   // delivered to a socket
  uint64_t no_ports = 0;       // nothing listened: answered with ICMP port unreachable
  uint64_t in_errors = 0;      // includes rcvbuf_errors
  uint64_t rcvbuf_errors = 0;  // a socket's receive buffer was full
};

struct PacketCounterSnapshot {
  InterfaceCounters attacker_nic, dom0_nic, dom0_vif, guest_eth0;
  UdpCounters guest_udp;
};
using PacketCounterDelta = PacketCounterSnapshot;

// /proc/net/dev text -> device -> counters. Malformed lines are skipped.
std::vector<std::pair<std::string, InterfaceCounters>> ParseNetDev(const std::string& text);
// /proc/net/snmp text -> the Udp: counters. Throws RunError if there is no Udp: pair of lines.
UdpCounters ParseSnmpUdp(const std::string& text);

// Reads the counters (each namespace's own /proc/net view). Interfaces that do not exist read as
// absent; throws RunError if a namespace cannot be entered.
PacketCounterSnapshot ReadPacketCounters(const platform::Platform& platform,
                                         const std::string& guest, int guest_domid,
                                         const std::string& attacker);
// after - before, per counter (a counter that went down counts 0).
PacketCounterDelta Difference(const PacketCounterSnapshot& before,
                              const PacketCounterSnapshot& after);
nlohmann::json ToJson(const PacketCounterDelta& delta);

// The accounting.csv row of a flood step: the same fields, in the same order, for every step.
std::vector<std::pair<std::string, int64_t>> AttackAccounting(uint64_t generator_sent,
                                                              const PacketCounterDelta& delta,
                                                              const nlohmann::json& sink_report);

struct NicRatePoint {
  double t_s = 0;  // end of the second, since the sampler started
  double packets_per_s = 0;
};

// Samples an interface's received packets once per second on its own thread.
class NicRateSampler {
 public:
  NicRateSampler(std::string netns, std::string interface);
  ~NicRateSampler();
  NicRateSampler(const NicRateSampler&) = delete;
  NicRateSampler& operator=(const NicRateSampler&) = delete;
  // Stops (idempotent) and returns the points.
  std::vector<NicRatePoint> Stop();

 private:
  void Run();
  std::string netns_, interface_;
  std::atomic<bool> stop_{false};
  std::vector<NicRatePoint> points_;
  std::thread thread_;
};

// When the attack was seen at dom0's NIC: the first and last second whose rate exceeded the
// rest of the traffic (the median rate of the seconds before the attack began, or 0) by more
// than 10% of the attack's mean rate (generator_sent / generator_duration_s). Null without an
// attack or without points.
nlohmann::json ObservedAttackWindow(const std::vector<NicRatePoint>& points,
                                    double generator_duration_s, uint64_t generator_sent,
                                    double attack_started_s);

}  // namespace nfb::runner
