// Where the attack's packets went: kernel counters read before and after a flood step along the
// path attacker -> dom0's NIC -> the guest's vif -> the guest's eth0 -> its UDP layer, and a
// per-second rate of dom0's NIC that shows when the attack was seen.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "nfb/collectors/net_counters.h"
#include "nfb/platform/platform.h"

namespace nfb::runner {

using collectors::InterfaceCounters;
using collectors::UdpCounters;

struct PacketCounterSnapshot {
  InterfaceCounters attacker_nic, dom0_nic, dom0_vif, guest_eth0;
  UdpCounters guest_udp;
};
using PacketCounterDelta = PacketCounterSnapshot;

// Reads the counters (each namespace's own /proc/net view; a guest reached over SSH through one
// `cat` there). Interfaces that do not exist read as absent; throws RunError if a namespace
// cannot be entered or the guest's files cannot be read.
PacketCounterSnapshot ReadPacketCounters(const platform::Platform& platform,
                                         const std::string& guest,
                                         const std::string& attacker);
// The output of `cat /proc/net/dev /proc/net/snmp` (how a guest reached over SSH is read) split
// into the two files: /proc/net/snmp starts at its first line beginning with "Ip: ". Throws
// RunError when either part is missing.
struct ProcNetDevSnmp {
  std::string dev, snmp;
};
ProcNetDevSnmp SplitProcNetDevSnmp(const std::string& text);

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

// Samples an interface's received packets once per second on its own thread, which sleeps in
// between (it runs inside the measurement window).
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
  std::mutex mutex_;
  std::condition_variable wake_;  // Stop() -> the sampling thread, which otherwise sleeps
  bool stop_ = false;
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
