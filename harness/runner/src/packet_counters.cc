#include "packet_counters.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include "nfb/core/error.h"
#include "nfb/core/subprocess.h"

namespace nfb::runner {
namespace {

using json = nlohmann::json;
using collectors::ParseNetDev;
using collectors::ParseSnmpUdp;
using collectors::ReadProcNet;

InterfaceCounters Find(const std::map<std::string, InterfaceCounters>& devices,
                       const std::string& name) {
  const auto it = devices.find(name);
  return it == devices.end() ? InterfaceCounters{} : it->second;
}

uint64_t Sub(uint64_t after, uint64_t before) { return after >= before ? after - before : 0; }

InterfaceCounters Sub(const InterfaceCounters& a, const InterfaceCounters& b) {
  return {Sub(a.rx_packets, b.rx_packets), Sub(a.rx_dropped, b.rx_dropped),
          Sub(a.tx_packets, b.tx_packets), Sub(a.tx_dropped, b.tx_dropped),
          a.present && b.present};
}

json ToJson(const InterfaceCounters& c) {
  if (!c.present) return nullptr;
  return {{"rx_packets", c.rx_packets}, {"rx_dropped", c.rx_dropped},
          {"tx_packets", c.tx_packets}, {"tx_dropped", c.tx_dropped}};
}

}  // namespace

PacketCounterSnapshot ReadPacketCounters(const platform::Platform& platform,
                                         const std::string& guest,
                                         const std::string& attacker) {
  PacketCounterSnapshot s;
  const platform::HostInfo& a = platform.Host(attacker);
  s.attacker_nic = Find(ParseNetDev(ReadProcNet(a.netns, "dev")), a.interface);
  const auto dom0 = ParseNetDev(ReadProcNet(platform.Dom0Netns(), "dev"));
  s.dom0_nic = Find(dom0, platform.Dom0NicInterface());
  const platform::HostInfo& g = platform.Host(guest);
  s.dom0_vif = Find(dom0, g.dom0_vif);
  if (g.IsLocal()) {
    s.guest_eth0 = Find(ParseNetDev(ReadProcNet(g.netns, "dev")), g.interface);
    s.guest_udp = ParseSnmpUdp(ReadProcNet(g.netns, "snmp"));
  } else {
    // A guest reached over SSH (Xen): both files with one `cat` there.
    const ProcessResult r = RunChecked(
        platform.Command(guest, {"cat", "/proc/net/dev", "/proc/net/snmp"}), std::chrono::seconds(60));
    const ProcNetDevSnmp files = SplitProcNetDevSnmp(r.out);
    s.guest_eth0 = Find(ParseNetDev(files.dev), g.interface);
    s.guest_udp = ParseSnmpUdp(files.snmp);
  }
  return s;
}

ProcNetDevSnmp SplitProcNetDevSnmp(const std::string& text) {
  // /proc/net/snmp's first line starts with "Ip: ". No line of /proc/net/dev does: it has two
  // header lines ("Inter-|...", " face |...") and "%6s:" interface lines, right-aligned.
  const std::string marker = "Ip: ";
  size_t at = text.compare(0, marker.size(), marker) == 0 ? 0 : text.find('\n' + marker);
  if (at == std::string::npos) {
    throw RunError("'cat /proc/net/dev /proc/net/snmp' printed no /proc/net/snmp");
  }
  if (at != 0) ++at;
  if (text.compare(0, 7, "Inter-|") != 0) {
    throw RunError("'cat /proc/net/dev /proc/net/snmp' did not start with /proc/net/dev");
  }
  return {text.substr(0, at), text.substr(at)};
}

PacketCounterDelta Difference(const PacketCounterSnapshot& before,
                              const PacketCounterSnapshot& after) {
  PacketCounterDelta d;
  d.attacker_nic = Sub(after.attacker_nic, before.attacker_nic);
  d.dom0_nic = Sub(after.dom0_nic, before.dom0_nic);
  d.dom0_vif = Sub(after.dom0_vif, before.dom0_vif);
  d.guest_eth0 = Sub(after.guest_eth0, before.guest_eth0);
  d.guest_udp = {Sub(after.guest_udp.in_datagrams, before.guest_udp.in_datagrams),
                 Sub(after.guest_udp.no_ports, before.guest_udp.no_ports),
                 Sub(after.guest_udp.in_errors, before.guest_udp.in_errors),
                 Sub(after.guest_udp.rcvbuf_errors, before.guest_udp.rcvbuf_errors)};
  return d;
}

json ToJson(const PacketCounterDelta& d) {
  return {{"attacker_nic", ToJson(d.attacker_nic)},
          {"dom0_nic", ToJson(d.dom0_nic)},
          {"dom0_vif", ToJson(d.dom0_vif)},
          {"guest_eth0", ToJson(d.guest_eth0)},
          {"guest_udp",
           {{"in_datagrams", d.guest_udp.in_datagrams},
            {"no_ports", d.guest_udp.no_ports},
            {"in_errors", d.guest_udp.in_errors},
            {"rcvbuf_errors", d.guest_udp.rcvbuf_errors}}}};
}

std::vector<std::pair<std::string, int64_t>> AttackAccounting(uint64_t generator_sent,
                                                              const PacketCounterDelta& d,
                                                              const json& sink) {
  auto i = [](uint64_t v) { return static_cast<int64_t>(v); };
  const auto sink_value = [&](const char* key) -> int64_t {
    return sink.is_object() && sink.contains(key) && sink[key].is_number_integer() && sink[key].get<int64_t>() >= 0
               ? sink[key].get<int64_t>()
               : 0;
  };
  // Interface and UDP counters include the valid flow's packets; docs/results.md says how to
  // read them.
  return {{"attack_sent", i(generator_sent)},
          {"attacker_nic_tx", i(d.attacker_nic.tx_packets)},
          {"attacker_nic_tx_dropped", i(d.attacker_nic.tx_dropped)},
          {"dom0_nic_rx", i(d.dom0_nic.rx_packets)},
          {"dom0_nic_rx_dropped", i(d.dom0_nic.rx_dropped)},
          {"dom0_vif_tx", i(d.dom0_vif.tx_packets)},
          {"dom0_vif_tx_dropped", i(d.dom0_vif.tx_dropped)},
          {"guest_eth0_rx", i(d.guest_eth0.rx_packets)},
          {"guest_eth0_rx_dropped", i(d.guest_eth0.rx_dropped)},
          {"guest_udp_delivered", i(d.guest_udp.in_datagrams)},
          {"guest_udp_no_port", i(d.guest_udp.no_ports)},
          {"guest_udp_rcvbuf_errors", i(d.guest_udp.rcvbuf_errors)},
          {"guest_udp_in_errors", i(d.guest_udp.in_errors)},
          {"receiver_received", sink_value("received_packets")},
          {"receiver_socket_drops", sink_value("socket_drops")}};
}

NicRateSampler::NicRateSampler(std::string netns, std::string interface)
    : netns_(std::move(netns)), interface_(std::move(interface)) {
  thread_ = std::thread([this] { Run(); });
}

NicRateSampler::~NicRateSampler() { Stop(); }

std::vector<NicRatePoint> NicRateSampler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  return points_;
}

void NicRateSampler::Run() {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto read = [&]() -> uint64_t {
    try {
      return Find(ParseNetDev(ReadProcNet(netns_, "dev")), interface_).rx_packets;
    } catch (const std::exception&) {
      return 0;  // the namespace went away during teardown: the series just ends
    }
  };
  uint64_t last = read();
  auto last_t = start;
  for (int k = 1;; ++k) {
    {
      // Fixed deadlines (start + k s), so the points do not drift.
      std::unique_lock<std::mutex> lock(mutex_);
      if (wake_.wait_until(lock, start + std::chrono::seconds(k), [this] { return stop_; })) {
        return;
      }
    }
    const uint64_t now_packets = read();
    const auto now = Clock::now();
    const double dt = std::chrono::duration<double>(now - last_t).count();
    const double rate = now_packets >= last ? (now_packets - last) / dt : 0;
    points_.push_back({std::chrono::duration<double>(now - start).count(), rate});
    last = now_packets;
    last_t = now;
  }
}

json ObservedAttackWindow(const std::vector<NicRatePoint>& points, double generator_duration_s,
                          uint64_t generator_sent, double attack_started_s) {
  if (points.empty() || generator_sent == 0 || generator_duration_s <= 0) return nullptr;
  std::vector<double> before;
  for (const NicRatePoint& p : points) {
    if (p.t_s <= attack_started_s) before.push_back(p.packets_per_s);
  }
  double background = 0;
  if (!before.empty()) {
    std::sort(before.begin(), before.end());
    background = before[before.size() / 2];
  }
  const double threshold = background + 0.1 * generator_sent / generator_duration_s;
  const NicRatePoint* first = nullptr;
  const NicRatePoint* last = nullptr;
  for (const NicRatePoint& p : points) {
    if (p.packets_per_s <= threshold) continue;
    if (first == nullptr) first = &p;
    last = &p;
  }
  if (first == nullptr) return {{"seen", false}, {"threshold_pps", threshold}};
  // A point covers the second that ends at t_s.
  return {{"seen", true},
          {"started_s", first->t_s - 1},
          {"ended_s", last->t_s},
          {"threshold_pps", threshold},
          {"background_pps", background}};
}

}  // namespace nfb::runner
