#include "nfb/collectors/timestamp_resolution.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "nfb/collectors/pcap_file.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/core/netns.h"

namespace nfb::collectors {
namespace {

constexpr uint16_t kProbeEthertype = 0x88b5;
constexpr std::array<uint8_t, 6> kProbeMac = {0x02, 0x6e, 0x66, 0x62, 0x00, 0x01};

// Clock steps are searched with a periodogram over differences of at most this size: dense
// traffic (the probe's burst) has them, and the search cost grows with the largest difference.
constexpr int64_t kMaxDiffForSearchNs = 10'000;
// Differences used by the periodogram; the noise floor of the coherence is ~1/sqrt(this).
constexpr std::size_t kSearchSample = 256;
// Smallest step searched: below ~3 ns the +-1 ns rounding of each timestamp hides any step.
constexpr double kMinSearchedStepNs = 3.0;
// Coherence needed to call a candidate step real; random differences reach ~0.3 at most here,
// a real step with +-1 ns rounding >= ~0.8 for steps of 10 ns and more.
constexpr double kMinCoherence = 0.6;

double Tolerance(double q) { return std::max(1.5, 0.02 * q); }

// Share of `diffs` within tolerance of an integer multiple (>= 1) of q.
double Fit(const std::vector<int64_t>& diffs, double q) {
  double tol = Tolerance(q);
  std::size_t fit = 0;
  for (int64_t d : diffs) {
    double k = std::max(1.0, std::round(static_cast<double>(d) / q));
    if (std::abs(static_cast<double>(d) - k * q) <= tol) ++fit;
  }
  return static_cast<double>(fit) / static_cast<double>(diffs.size());
}

// Least-squares step given the integer multiples of a found q: sum(d) / sum(k) over the
// differences that fit, which averages out the rounding of each timestamp.
double Refine(const std::vector<int64_t>& diffs, double q) {
  double tol = Tolerance(q);
  double sum_d = 0;
  double sum_k = 0;
  for (int64_t d : diffs) {
    double k = std::max(1.0, std::round(static_cast<double>(d) / q));
    if (std::abs(static_cast<double>(d) - k * q) <= tol) {
      sum_d += static_cast<double>(d);
      sum_k += k;
    }
  }
  return sum_k > 0 ? sum_d / sum_k : q;
}

// Phase coherence |mean(exp(2 pi i d / q))|: 1 when every difference is a multiple of q, ~0 for
// 2q (odd multiples cancel even ones) and ~1/sqrt(n) for unrelated q.
double Coherence(const std::vector<double>& sample, double q) {
  double c = 0;
  double s = 0;
  double w = 2.0 * M_PI / q;
  for (double d : sample) {
    c += std::cos(w * d);
    s += std::sin(w * d);
  }
  return std::hypot(c, s) / static_cast<double>(sample.size());
}

// The largest step with a coherence peak above kMinCoherence, or 0. Scans q upwards in steps
// small enough that the phase of the largest difference moves by < 0.04 cycle per step.
double SearchStep(const std::vector<int64_t>& diffs) {
  std::vector<double> sample;
  for (int64_t d : diffs) {
    if (d <= kMaxDiffForSearchNs) sample.push_back(static_cast<double>(d));
    if (sample.size() == kSearchSample) break;
  }
  if (sample.size() < TimestampResolution::kMinIntervals) return 0;
  double d_min = *std::min_element(sample.begin(), sample.end());
  double d_max = *std::max_element(sample.begin(), sample.end());
  // Nearly periodic traffic makes its period P (and P/2, P/3 ...) look like a clock step as long
  // as the jitter of the spacing is small against it: search only up to twice that jitter.
  // The spread is estimated robustly (IQR / 1.349, the sd of a normal distribution), since a
  // few long gaps would inflate a standard deviation. At q = 2.5 sd the coherence of a periodic
  // sender's fractions P/k is exp(-(2 pi / 2.5)^2 / 2) ~ 0.04, far below kMinCoherence.
  std::vector<double> sorted = sample;
  std::sort(sorted.begin(), sorted.end());
  double iqr = sorted[sorted.size() * 3 / 4] - sorted[sorted.size() / 4];
  double q_max = std::min(d_min, 2.5 * iqr / 1.349);
  double best_q = 0;
  double best_r = 0;
  bool in_peak = false;
  for (double q = kMinSearchedStepNs; q <= q_max; q += std::max(1e-6, 0.04 * q * q / d_max)) {
    double r = Coherence(sample, q);
    if (r >= kMinCoherence) {
      // Each new peak replaces the earlier ones (the largest step wins); within a peak, its top.
      if (!in_peak || r > best_r) {
        best_q = q;
        best_r = r;
      }
      in_peak = true;
    } else {
      in_peak = false;
    }
  }
  return best_q;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

TimestampResolution EstimateResolution(const std::filesystem::path& pcap) {
  TimestampResolution r;
  std::vector<int64_t> ts;
  {
    PcapReader reader(pcap);
    r.file_nanosecond = reader.file_has_nanoseconds();
    PacketView packet;
    while (reader.Next(packet)) ts.push_back(packet.ts_ns);
  }
  r.packets = ts.size();
  // Sorted, so that packets stamped on different CPUs and written slightly out of order still
  // give differences between neighbours in time.
  std::sort(ts.begin(), ts.end());
  std::vector<int64_t> diffs;
  diffs.reserve(ts.size());
  for (std::size_t i = 1; i < ts.size(); ++i) {
    int64_t d = ts[i] - ts[i - 1];
    if (d == 0) {
      ++r.equal_timestamps;
    } else {
      diffs.push_back(d);
    }
  }
  r.intervals = diffs.size();
  if (diffs.empty()) return r;
  r.smallest_step_ns = *std::min_element(diffs.begin(), diffs.end());
  if (diffs.size() < TimestampResolution::kMinIntervals) return r;

  // Integer steps (256 ns, 1 us files, coarse clocks) divide every difference exactly.
  int64_t g = 0;
  for (int64_t d : diffs) g = std::gcd(g, d);
  if (g >= 2) {
    r.resolution_ns = static_cast<double>(g);
    r.fit_fraction = 1.0;
    r.method = "gcd";
    return r;
  }
  // Otherwise the step is fractional (a counter at a frequency that is not a divisor of 1 GHz,
  // read through the kernel's mult/shift conversion: multiples of ~q +-1 ns), a few timestamps
  // are outliers, or the clock really has 1 ns steps.
  double q = SearchStep(diffs);
  if (q > 0) {
    q = Refine(diffs, Refine(diffs, q));
    r.resolution_ns = q;
    r.fit_fraction = Fit(diffs, q);
    r.method = "periodogram";
    return r;
  }
  r.resolution_ns = 1.0;
  r.fit_fraction = 1.0;
  r.method = "none";
  return r;
}

ResolutionProbeResult ProbeTimestampResolution(const ResolutionProbeOptions& options) {
  if (options.interface.empty()) throw InputError("resolution probe: no interface given");
  if (options.packets < static_cast<int>(TimestampResolution::kMinIntervals) + 1) {
    throw InputError("resolution probe: at least " +
                     std::to_string(TimestampResolution::kMinIntervals + 1) + " packets needed");
  }
  const std::string& sender_netns =
      options.sender_interface.empty() ? options.netns : options.sender_netns;
  const std::string& sender_if =
      options.sender_interface.empty() ? options.interface : options.sender_interface;

  // The socket is created in the sender's namespace and stays bound to it.
  int raw_fd = -1;
  unsigned ifindex = 0;
  {
    NetnsScope scope(sender_netns);
    ifindex = if_nametoindex(sender_if.c_str());
    if (ifindex == 0) {
      ThrowSystemError(
          "resolution probe: interface " + sender_if + " in netns '" + sender_netns + "'", errno);
    }
    raw_fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);  // protocol 0: send only
    if (raw_fd < 0) {
      if (errno == EPERM || errno == EACCES) {
        throw PrerequisiteError("resolution probe: raw packet socket needs root or CAP_NET_RAW");
      }
      ThrowSystemError("resolution probe: socket(AF_PACKET)", errno);
    }
  }
  Fd sock(raw_fd);
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(ifindex);
  to.sll_halen = 6;
  std::copy(kProbeMac.begin(), kProbeMac.end(), to.sll_addr);

  CaptureOptions capture;
  capture.netns = options.netns;
  capture.interface = options.interface;
  capture.filter = "ether proto " + std::to_string(kProbeEthertype);
  capture.timestamps = options.timestamps;
  capture.output = options.output;
  auto running = PcapCapture::Start(capture);

  std::array<uint8_t, 60> frame{};
  std::copy(kProbeMac.begin(), kProbeMac.end(), frame.begin());
  std::copy(kProbeMac.begin(), kProbeMac.end(), frame.begin() + 6);
  frame[12] = kProbeEthertype >> 8;
  frame[13] = kProbeEthertype & 0xff;
  ResolutionProbeResult result;
  // Back-to-back sends come out nearly periodic, and a period hides the clock step (every
  // difference is then the same multiple of it, and of any nearby step). A random pause of
  // 0-2 us between sends spreads the differences over hundreds of steps.
  std::mt19937 rng(0x6e6662);
  std::uniform_int_distribution<int> pause_ns(0, 2000);
  for (int i = 0; i < options.packets; ++i) {
    auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(pause_ns(rng));
    while (std::chrono::steady_clock::now() < until) {
    }
    uint32_t seq = htonl(static_cast<uint32_t>(i));
    std::memcpy(frame.data() + 14, &seq, sizeof(seq));
    if (::sendto(sock.get(), frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to),
                 sizeof(to)) != static_cast<ssize_t>(frame.size())) {
      if (errno == ENOBUFS) continue;  // queue full: the burst is just shorter
      int err = errno;
      running->Stop();
      ThrowSystemError("resolution probe: send on " + sender_if, err);
    }
    ++result.packets_sent;
  }
  result.capture = running->Stop();
  result.resolution = EstimateResolution(options.output);
  log::Info("timestamp resolution on {}: {:.3f} ns ({} timestamps, fit {:.3f}, {} clock)",
            options.interface, result.resolution.resolution_ns, result.resolution.packets,
            result.resolution.fit_fraction, result.capture.timestamp_type);
  return result;
}

}  // namespace nfb::collectors
