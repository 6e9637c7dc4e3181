#include "nfb/collectors/icmp_rtt.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "nfb/collectors/pcap_file.h"
#include "nfb/core/error.h"

namespace nfb::collectors {
namespace {

constexpr int64_t kNone = std::numeric_limits<int64_t>::min();

// When the pinger's count is unknown the slot table grows with the highest probe index seen;
// cap it so that a corrupt or hostile file cannot make it allocate without bound (2^26 probes is
// 18 hours at 1 ms and 1 GiB of slots).
constexpr uint64_t kMaxProbesUnknownSent = uint64_t{1} << 26;

// A count from the pinger above this (49 days at 1 ms) is a parsing error, not a run; the table
// for it would not fit in memory.
constexpr uint64_t kMaxProbesKnownSent = uint64_t{1} << 32;

constexpr uint8_t kIcmpEchoReply = 0;
constexpr uint8_t kIcmpEchoRequest = 8;

// Per probe: capture time of the first request and of the first reply.
struct Slot {
  int64_t request_ns = kNone;
  int64_t reply_ns = kNone;
};

enum class Kind { kOther, kRequest, kReply };

struct Echo {
  Kind kind = Kind::kOther;
  uint16_t id = 0;
  uint16_t seq = 0;
};

inline uint16_t Load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

uint32_t ParseIpv4(const std::string& text, const char* what) {
  in_addr addr{};
  if (inet_pton(AF_INET, text.c_str(), &addr) != 1) {
    throw InputError(std::string("ICMP RTT analysis: ") + what + " '" + text +
                     "' is not an IPv4 address");
  }
  return addr.s_addr;  // network byte order, compared as raw bytes
}

// Finds the IPv4 header and classifies the packet. Anything short, fragmented past the first
// fragment, or not ICMP echo between the two hosts is kOther.
class Classifier {
 public:
  Classifier(LinkType link, uint32_t requester, uint32_t target)
      : link_(link), requester_(requester), target_(target) {}

  Echo Classify(const uint8_t* p, uint32_t caplen) const {
    Echo echo;
    uint32_t l3 = 0;
    uint16_t proto = 0;
    switch (link_) {
      case LinkType::kEthernet: {
        if (caplen < 14) return echo;
        l3 = 14;
        proto = Load16(p + 12);
        // Up to two VLAN tags (802.1Q, 802.1ad).
        for (int i = 0; i < 2 && (proto == 0x8100 || proto == 0x88a8); ++i) {
          if (caplen < l3 + 4) return echo;
          proto = Load16(p + l3 + 2);
          l3 += 4;
        }
        break;
      }
      case LinkType::kLinuxSll:
        if (caplen < 16) return echo;
        l3 = 16;
        proto = Load16(p + 14);
        break;
      case LinkType::kLinuxSll2:
        if (caplen < 20) return echo;
        l3 = 20;
        proto = Load16(p);
        break;
    }
    if (proto != 0x0800) return echo;
    if (caplen < l3 + 20) return echo;
    const uint8_t* ip = p + l3;
    if ((ip[0] >> 4) != 4) return echo;
    uint32_t ihl = (ip[0] & 0x0f) * 4u;
    if (ihl < 20 || ip[9] != 1 /* ICMP */) return echo;
    if ((Load16(ip + 6) & 0x1fff) != 0) return echo;  // not the first fragment: no ICMP header
    if (caplen < l3 + ihl + 8) return echo;
    uint32_t src;
    uint32_t dst;
    std::memcpy(&src, ip + 12, 4);
    std::memcpy(&dst, ip + 16, 4);
    const uint8_t* icmp = ip + ihl;
    if (icmp[1] != 0) return echo;  // code
    if (icmp[0] == kIcmpEchoRequest && src == requester_ && dst == target_) {
      echo.kind = Kind::kRequest;
    } else if (icmp[0] == kIcmpEchoReply && src == target_ && dst == requester_) {
      echo.kind = Kind::kReply;
    } else {
      return echo;
    }
    echo.id = Load16(icmp + 4);
    echo.seq = Load16(icmp + 6);
    return echo;
  }

 private:
  LinkType link_;
  uint32_t requester_;
  uint32_t target_;
};

class Pairer {
 public:
  explicit Pairer(const EchoRttOptions& options)
      : warmup_(options.warmup),
        sent_(options.sent),
        reference_(options.first_sequence),
        first_sequence_(options.first_sequence) {
    acc_.sent_known = options.sent != 0;
    // The whole table up front when the count is known: no growth, no rehashing, one pass.
    if (acc_.sent_known) {
      slots_.resize(sent_ - warmup_);
      used_ = slots_.size();
    } else {
      slots_.resize(1024);
    }
  }

  EchoAccounting& accounting() { return acc_; }

  void Add(Kind kind, uint16_t seq, int64_t ts_ns) {
    // Unwrap against the previous echo packet: the 16-bit difference, read as signed, is the
    // step in probes whatever wrap-arounds lie between.
    int64_t ext = reference_ + static_cast<int16_t>(
                                   static_cast<uint16_t>(seq - static_cast<uint16_t>(reference_)));
    reference_ = ext;
    int64_t probe = ext - first_sequence_;
    if (probe < 0 || (acc_.sent_known && static_cast<uint64_t>(probe) >= sent_)) {
      ++acc_.out_of_range;
      return;
    }
    auto index = static_cast<uint64_t>(probe);
    if (index < warmup_) {
      ++acc_.warmup_packets;
      return;
    }
    index -= warmup_;
    if (index >= used_) {
      if (acc_.sent_known || index >= kMaxProbesUnknownSent) {
        ++acc_.out_of_range;
        return;
      }
      // Unknown count: grow the table geometrically; only the first used_ slots are probes.
      if (index >= slots_.size())
        slots_.resize(std::max<std::size_t>(index + 1, slots_.size() * 2));
      used_ = index + 1;
    }
    ++acc_.echo_packets;
    Slot& slot = slots_[index];
    if (kind == Kind::kRequest) {
      if (slot.request_ns == kNone) {
        slot.request_ns = ts_ns;
      } else {
        ++acc_.duplicate_requests;
      }
    } else {
      if (slot.reply_ns == kNone) {
        slot.reply_ns = ts_ns;
      } else {
        ++acc_.duplicate_replies;
      }
    }
  }

  std::vector<RttSample> Finish() {
    slots_.resize(used_);
    acc_.sent = used_;
    int64_t first_request = kNone;
    for (const Slot& s : slots_) {
      if (s.request_ns != kNone && (first_request == kNone || s.request_ns < first_request)) {
        first_request = s.request_ns;
      }
    }
    std::vector<RttSample> samples;
    samples.reserve(slots_.size());
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      const Slot& s = slots_[i];
      if (s.request_ns == kNone) {
        ++acc_.missing_from_capture;
        if (s.reply_ns != kNone) ++acc_.replies_without_request;
      } else if (s.reply_ns == kNone) {
        ++acc_.lost;
      } else {
        ++acc_.paired;
        samples.push_back({i + warmup_, s.reply_ns - s.request_ns,
                           static_cast<double>(s.request_ns - first_request) * 1e-9});
      }
    }
    return samples;
  }

 private:
  uint64_t warmup_;
  uint64_t sent_;
  int64_t reference_;
  int64_t first_sequence_;
  std::vector<Slot> slots_;
  std::size_t used_ = 0;  // probes in the table: options.sent - warmup, or highest index seen + 1
  EchoAccounting acc_;
};

// An echo packet seen before the flow's identifier is known (only replies can be: the identifier
// is taken from the first request).
struct Pending {
  Kind kind;
  uint16_t id;
  uint16_t seq;
  int64_t ts_ns;
};

}  // namespace

EchoRttResult AnalyzeEchoRtt(const std::filesystem::path& pcap, const EchoRttOptions& options) {
  uint32_t requester = ParseIpv4(options.requester, "requester");
  uint32_t target = ParseIpv4(options.target, "target");
  if (options.sent > kMaxProbesKnownSent) {
    throw InputError("ICMP RTT analysis: implausible probe count " + std::to_string(options.sent));
  }
  if (options.sent != 0 && options.warmup > options.sent) {
    throw InputError("ICMP RTT analysis: warm-up (" + std::to_string(options.warmup) +
                     " probes) exceeds the probes sent (" + std::to_string(options.sent) + ")");
  }

  PcapReader reader(pcap);
  Classifier classifier(reader.link_type(), requester, target);
  Pairer pairer(options);
  EchoAccounting& acc = pairer.accounting();
  std::optional<uint16_t> id = options.identifier;
  std::vector<Pending> pending;

  auto lock_identifier = [&](uint16_t chosen) {
    id = chosen;
    for (const Pending& p : pending) {
      if (p.id == chosen) {
        pairer.Add(p.kind, p.seq, p.ts_ns);
      } else {
        ++acc.packets_ignored;
      }
    }
    pending.clear();
  };

  PacketView packet;
  while (reader.Next(packet)) {
    ++acc.packets_total;
    Echo echo = classifier.Classify(packet.data, packet.caplen);
    if (echo.kind == Kind::kOther) {
      ++acc.packets_ignored;
      continue;
    }
    if (!id) {
      if (echo.kind == Kind::kReply) {
        pending.push_back({echo.kind, echo.id, echo.seq, packet.ts_ns});
        continue;
      }
      lock_identifier(echo.id);
    }
    if (echo.id != *id) {
      ++acc.packets_ignored;
      continue;
    }
    pairer.Add(echo.kind, echo.seq, packet.ts_ns);
  }
  // Only replies, no request at all: analyse the flow of the first reply.
  if (!id && !pending.empty()) lock_identifier(pending.front().id);

  EchoRttResult result;
  result.samples = pairer.Finish();
  result.accounting = acc;
  // An identifier given by the caller is reported even if no packet carried it.
  result.identifier = id;
  return result;
}

}  // namespace nfb::collectors
