#include "nfb/collectors/cpu_sampler.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "nfb/collectors/net_counters.h"
#include "nfb/core/cancel.h"
#include "nfb/core/cgroup.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/core/netns.h"
#include "nfb/core/subprocess.h"

namespace nfb::collectors {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

int64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

double ThreadCpuSeconds() {
  timespec ts{};
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Whole file, or nullopt if it cannot be opened.
std::optional<std::string> TryRead(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<uint64_t> ToU64(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// The first directory with a CPU usage counter: cpuacct.usage (v1, ns) or cpu.stat usage_usec
// (v2). A v1 domain also has cpuset and freezer directories, which have neither.
std::optional<uint64_t> ReadCgroupUsageNs(const std::vector<fs::path>& dirs) {
  for (const fs::path& dir : dirs) {
    if (auto text = TryRead(dir / "cpuacct.usage")) {
      if (auto ns = ToU64(*text)) return ns;
    }
    if (auto text = TryRead(dir / "cpu.stat")) {
      std::istringstream stat(*text);
      std::string key;
      uint64_t value = 0;
      while (stat >> key >> value) {
        if (key == "usage_usec") return value * 1000;
      }
    }
  }
  return std::nullopt;
}

std::string JoinFlags(const std::set<std::string>& flags) {
  std::string out;
  for (const std::string& f : flags) AddFlag(out, f);
  return out;
}

class ProcCpuCounterReader final : public CpuCounterReader {
 public:
  CpuSnapshot Read(const std::vector<CpuSource>& sources) override {
    CpuSnapshot snap;
    snap.monotonic_ns = MonotonicNs();
    std::optional<std::string> stat = TryRead("/proc/stat");
    if (!stat) ThrowSystemError("read /proc/stat", errno ? errno : EIO);
    snap.cpus = ParseProcStat(*stat);

    // One read of /proc/net/dev per namespace, from inside it (net_counters.h).
    std::map<std::string, std::optional<std::map<std::string, uint64_t>>> devices;
    for (const CpuSource& s : sources) {
      for (const NetInterface& i : s.interfaces) devices.emplace(i.netns, std::nullopt);
    }
    for (auto& [netns, table] : devices) {
      try {
        table = ParseNetDevRxPackets(ReadProcNet(netns, "dev"));
      } catch (const Error& e) {
        // A namespace that is gone (guest stopped, run torn down) reads as missing interfaces.
        log::Debug("cpu sampler: cannot read devices of netns '{}': {}", netns, e.what());
      }
    }

    for (const CpuSource& s : sources) {
      CpuSnapshot::Source out;
      out.process_ns = ReadCgroupUsageNs(s.cgroup_dirs);
      for (const NetInterface& i : s.interfaces) {
        const auto& table = devices.at(i.netns);
        std::optional<uint64_t> packets;
        if (table) {
          auto it = table->find(i.name);
          if (it != table->end()) packets = it->second;
        }
        out.rx_packets.push_back(packets);
      }
      snap.sources.push_back(std::move(out));
    }
    return snap;
  }
};

void ValidateSources(const std::vector<CpuSource>& sources) {
  if (sources.empty()) throw InputError("cpu sampler: no sources");
  std::set<std::string> names;
  for (const CpuSource& s : sources) {
    if (s.name.empty()) throw InputError("cpu sampler: a source has no name");
    if (s.name == kUnattributedRow || s.name == kTotalRow) {
      throw InputError(fmt::format("cpu sampler: '{}' is reserved for a pseudo-row", s.name));
    }
    if (!names.insert(s.name).second) {
      throw InputError(fmt::format("cpu sampler: duplicate source '{}'", s.name));
    }
    for (int cpu : s.cpus) {
      if (cpu < 0) throw InputError(fmt::format("cpu sampler: '{}' has CPU {}", s.name, cpu));
    }
    for (const NetInterface& i : s.interfaces) {
      if (i.name.empty()) {
        throw InputError(fmt::format("cpu sampler: '{}' has an unnamed interface", s.name));
      }
    }
  }
}

}  // namespace

std::map<int, CpuTicks> ParseProcStat(std::string_view text) {
  std::map<int, CpuTicks> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() < 4 || line.compare(0, 3, "cpu") != 0 ||
        std::isdigit(static_cast<unsigned char>(line[3])) == 0) {
      continue;  // the aggregate "cpu " line and everything else
    }
    std::istringstream fields(line.substr(3));
    int cpu = -1;
    std::vector<uint64_t> v;
    fields >> cpu;
    uint64_t x = 0;
    while (fields >> x) v.push_back(x);
    if (cpu < 0 || v.size() < 8) continue;
    out[cpu] = CpuTicks{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
  }
  return out;
}

std::map<std::string, uint64_t> ParseNetDevRxPackets(std::string_view text) {
  std::map<std::string, uint64_t> out;
  for (const auto& [name, counters] : ParseNetDev(text)) out[name] = counters.rx_packets;
  return out;
}

std::vector<CpuSeriesRow> AttributeCpu(const std::vector<CpuSource>& sources,
                                       const CpuSnapshot& before, const CpuSnapshot& after,
                                       const AttributionParams& params) {
  const size_t n = sources.size();
  if (before.sources.size() != n || after.sources.size() != n) {
    throw InputError(fmt::format("cpu attribution: snapshots hold {} and {} sources, expected {}",
                                 before.sources.size(), after.sources.size(), n));
  }
  for (size_t i = 0; i < n; ++i) {
    size_t k = sources[i].interfaces.size();
    if (before.sources[i].rx_packets.size() != k || after.sources[i].rx_packets.size() != k) {
      throw InputError(fmt::format(
          "cpu attribution: snapshots do not hold the {} interfaces of '{}'", k, sources[i].name));
    }
  }
  if (params.user_hz <= 0) throw InputError("cpu attribution: user_hz must be positive");
  const int64_t interval_ns = after.monotonic_ns - before.monotonic_ns;
  if (interval_ns <= 0) return {};

  const double tick_ns = 1e9 / static_cast<double>(params.user_hz);
  auto ns_percent = [&](double ns) { return ns / static_cast<double>(interval_ns) * 100.0; };
  auto ticks_percent = [&](double ticks) { return ns_percent(ticks * tick_ns); };

  // Per-CPU deltas over the union of the sources' CPUs.
  std::vector<std::set<int>> cpus_of(n);
  std::set<int> sampled;
  for (size_t i = 0; i < n; ++i) {
    cpus_of[i].insert(sources[i].cpus.begin(), sources[i].cpus.end());
    sampled.insert(sources[i].cpus.begin(), sources[i].cpus.end());
  }
  struct CpuDelta {
    uint64_t kernel = 0, busy = 0, steal = 0;
    double unaccounted = 0;  // ticks of wall time in no column (signed)
    std::set<std::string> flags;
  };
  std::map<int, CpuDelta> cpu;
  for (int c : sampled) {
    CpuDelta& d = cpu[c];
    auto b = before.cpus.find(c);
    auto a = after.cpus.find(c);
    if (b == before.cpus.end() || a == after.cpus.end()) {
      d.flags.insert("cpu_missing");
      continue;
    }
    auto delta = [&](uint64_t CpuTicks::*field) -> uint64_t {
      uint64_t x = b->second.*field, y = a->second.*field;
      if (y < x) {
        d.flags.insert("counter_reset");
        return 0;
      }
      return y - x;
    };
    uint64_t irq = delta(&CpuTicks::irq), softirq = delta(&CpuTicks::softirq);
    d.kernel = irq + softirq;
    d.busy = delta(&CpuTicks::user) + delta(&CpuTicks::nice) + delta(&CpuTicks::system) + d.kernel;
    d.steal = delta(&CpuTicks::steal);
    uint64_t all = d.busy + d.steal + delta(&CpuTicks::idle) + delta(&CpuTicks::iowait);
    d.unaccounted = static_cast<double>(interval_ns) / tick_ns - static_cast<double>(all);
  }

  // Per-source packets and process time.
  std::vector<uint64_t> packets(n, 0);
  std::vector<std::optional<uint64_t>> process(n);
  std::vector<std::set<std::string>> flags(n);
  for (size_t i = 0; i < n; ++i) {
    const auto& b = before.sources[i];
    const auto& a = after.sources[i];
    for (size_t j = 0; j < sources[i].interfaces.size(); ++j) {
      if (!b.rx_packets[j] || !a.rx_packets[j]) {
        flags[i].insert("interface_missing");
      } else if (*a.rx_packets[j] < *b.rx_packets[j]) {
        flags[i].insert("counter_reset");
      } else {
        packets[i] += *a.rx_packets[j] - *b.rx_packets[j];
      }
    }
    if (!b.process_ns || !a.process_ns) {
      if (!sources[i].cgroup_dirs.empty()) flags[i].insert("process_time_missing");
    } else if (*a.process_ns < *b.process_ns) {
      flags[i].insert("counter_reset");
      process[i] = 0;
    } else {
      process[i] = *a.process_ns - *b.process_ns;
    }
  }

  // Each CPU's kernel ticks: whole to a lone owner, else by packets (packets/CPUs per sharer).
  std::vector<double> kernel_ticks(n, 0.0);
  double unattributed = 0;
  std::vector<int> unattributed_cpus;
  std::set<std::string> unattributed_flags;
  for (int c : sampled) {
    const CpuDelta& d = cpu[c];
    std::vector<size_t> sharers;
    for (size_t i = 0; i < n; ++i) {
      if (cpus_of[i].contains(c)) sharers.push_back(i);
    }
    if (sharers.size() == 1) {
      kernel_ticks[sharers[0]] += static_cast<double>(d.kernel);
      continue;
    }
    double total_weight = 0;
    for (size_t i : sharers) {
      total_weight += static_cast<double>(packets[i]) / static_cast<double>(cpus_of[i].size());
    }
    if (total_weight > 0) {
      for (size_t i : sharers) {
        double w = static_cast<double>(packets[i]) / static_cast<double>(cpus_of[i].size());
        kernel_ticks[i] += static_cast<double>(d.kernel) * w / total_weight;
      }
    } else if (d.kernel > 0) {
      unattributed += static_cast<double>(d.kernel);
      unattributed_cpus.push_back(c);
      unattributed_flags.insert("shared_cpu_without_packets");
      for (size_t i : sharers) flags[i].insert("shared_cpu_without_packets");
    }
  }

  const double t_s = static_cast<double>(after.monotonic_ns - params.start_ns) / 1e9;
  const double interval_s = static_cast<double>(interval_ns) / 1e9;
  std::vector<CpuSeriesRow> rows;
  rows.reserve(n + 2);
  for (size_t i = 0; i < n; ++i) {
    const CpuSource& s = sources[i];
    CpuSeriesRow r;
    r.t_s = t_s;
    r.interval_s = interval_s;
    r.domain = s.name;
    r.kind = s.kind == CpuSourceKind::kExternal ? CpuRowKind::kExternal : CpuRowKind::kDomain;
    r.cpus = FormatCpuList({cpus_of[i].begin(), cpus_of[i].end()});
    uint64_t own_kernel = 0, busy = 0, steal = 0;
    double unaccounted = 0;
    std::set<std::string> f = flags[i];
    for (int c : cpus_of[i]) {
      own_kernel += cpu[c].kernel;
      busy += cpu[c].busy;
      steal += cpu[c].steal;
      unaccounted += cpu[c].unaccounted;
      f.insert(cpu[c].flags.begin(), cpu[c].flags.end());
    }
    if (process[i]) {
      r.process_ns = process[i];
      r.process_percent = ns_percent(static_cast<double>(*process[i]));
    }
    if (after.sources[i].process_ns) {
      r.cpu_total_s = static_cast<double>(*after.sources[i].process_ns) / 1e9;
    }
    r.kernel_percent = ticks_percent(kernel_ticks[i]);
    r.kernel_ns = static_cast<uint64_t>(std::llround(kernel_ticks[i] * tick_ns));
    r.kernel_ticks = own_kernel;
    if (!s.interfaces.empty()) r.rx_packets = packets[i];
    r.cpu_percent = (std::isnan(r.process_percent) ? 0.0 : r.process_percent) + r.kernel_percent;
    if (!cpus_of[i].empty()) {
      double ncpu = static_cast<double>(cpus_of[i].size());
      r.capacity_percent = 100.0 * ncpu;
      r.busy_percent = ticks_percent(static_cast<double>(busy));
      r.steal_percent = ticks_percent(static_cast<double>(steal));
      r.unaccounted_percent = ticks_percent(unaccounted);
      if (r.cpu_percent > r.capacity_percent + kCheckTolerancePercentPerCpu * ncpu) {
        f.insert("over_capacity");
      }
    }
    r.flags = JoinFlags(f);
    rows.push_back(std::move(r));
  }

  CpuSeriesRow u;
  u.t_s = t_s;
  u.interval_s = interval_s;
  u.domain = std::string(kUnattributedRow);
  u.kind = CpuRowKind::kUnattributed;
  u.cpus = FormatCpuList(unattributed_cpus);
  u.kernel_percent = ticks_percent(unattributed);
  u.cpu_percent = u.kernel_percent;
  u.kernel_ns = static_cast<uint64_t>(std::llround(unattributed * tick_ns));
  u.kernel_ticks = static_cast<uint64_t>(std::llround(unattributed));
  u.flags = JoinFlags(unattributed_flags);

  CpuSeriesRow total;
  total.t_s = t_s;
  total.interval_s = interval_s;
  total.domain = std::string(kTotalRow);
  total.kind = CpuRowKind::kTotal;
  total.cpus = FormatCpuList({sampled.begin(), sampled.end()});
  uint64_t kernel = 0, busy = 0, steal = 0, process_sum = 0, rx = 0;
  double unaccounted = 0;
  bool any_process = false;
  std::set<std::string> tf;
  for (int c : sampled) {
    kernel += cpu[c].kernel;
    busy += cpu[c].busy;
    steal += cpu[c].steal;
    unaccounted += cpu[c].unaccounted;
    tf.insert(cpu[c].flags.begin(), cpu[c].flags.end());
  }
  for (size_t i = 0; i < n; ++i) {
    if (process[i]) {
      any_process = true;
      process_sum += *process[i];
    }
    rx += packets[i];
  }
  double cpu_sum = u.cpu_percent;
  for (const CpuSeriesRow& r : rows) cpu_sum += r.cpu_percent;
  total.cpu_percent = cpu_sum;
  if (any_process) {
    total.process_ns = process_sum;
    total.process_percent = ns_percent(static_cast<double>(process_sum));
  }
  total.kernel_percent = ticks_percent(static_cast<double>(kernel));
  total.kernel_ns = static_cast<uint64_t>(std::llround(static_cast<double>(kernel) * tick_ns));
  total.kernel_ticks = kernel;
  total.rx_packets = rx;
  if (!sampled.empty()) {
    double ncpu = static_cast<double>(sampled.size());
    total.capacity_percent = 100.0 * ncpu;
    total.busy_percent = ticks_percent(static_cast<double>(busy));
    total.steal_percent = ticks_percent(static_cast<double>(steal));
    total.unaccounted_percent = ticks_percent(unaccounted);
    if (total.cpu_percent > total.capacity_percent + kCheckTolerancePercentPerCpu * ncpu) {
      tf.insert("over_capacity");
    }
    if (total.cpu_percent > total.busy_percent + kCheckTolerancePercentPerCpu * ncpu) {
      tf.insert("exceeds_busy");
    }
  }
  total.flags = JoinFlags(tf);
  rows.push_back(std::move(u));
  rows.push_back(std::move(total));
  return rows;
}

std::unique_ptr<CpuCounterReader> MakeProcCpuCounterReader() {
  return std::make_unique<ProcCpuCounterReader>();
}

// --- CpuSampler ---------------------------------------------------------------------------

std::unique_ptr<CpuSampler> CpuSampler::Start(CpuSamplerOptions options) {
  ValidateSources(options.sources);
  if (options.interval < std::chrono::milliseconds(10)) {
    throw InputError("cpu sampler: the interval must be at least 10 ms");
  }
  std::unique_ptr<CpuSampler> sampler(new CpuSampler());
  if (!options.reader) options.reader = MakeProcCpuCounterReader();
  sampler->options_ = std::move(options);
  long hz = sysconf(_SC_CLK_TCK);
  sampler->params_.user_hz = hz > 0 ? hz : 100;
  sampler->report_.user_hz = sampler->params_.user_hz;
  sampler->report_.method = std::string(sampler->Method());
  InterruptFd();  // created here, where a failure can still be thrown to the caller
  sampler->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (sampler->wake_fd_ < 0) ThrowSystemError("eventfd", errno);
  sampler->last_ = sampler->options_.reader->Read(sampler->options_.sources);
  sampler->params_.start_ns = sampler->last_.monotonic_ns;
  sampler->thread_ = std::thread([s = sampler.get()] { s->Run(); });
  return sampler;
}

void CpuSampler::Run() {
  const int64_t interval_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.interval).count();
  int64_t deadline = params_.start_ns + interval_ns;
  try {
    while (true) {
      int64_t now = MonotonicNs();
      if (now < deadline) {
        int64_t wait = deadline - now;
        timespec timeout{static_cast<time_t>(wait / 1'000'000'000),
                         static_cast<long>(wait % 1'000'000'000)};
        pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {InterruptFd(), POLLIN, 0}};
        int rc = ::ppoll(fds, 2, &timeout, nullptr);
        if (rc < 0 && errno == EINTR) continue;
        if (rc < 0) ThrowSystemError("cpu sampler: ppoll", errno);
        if (fds[1].revents != 0) {
          report_.stopped_by_interrupt = true;
          break;
        }
        if (fds[0].revents != 0) break;
        continue;  // recheck the clock: ppoll may return a little early
      }
      CpuSnapshot snap = options_.reader->Read(options_.sources);
      if (snap.monotonic_ns - deadline > interval_ns / 2) ++report_.late_readings;
      std::vector<CpuSeriesRow> rows = AttributeCpu(options_.sources, last_, snap, params_);
      last_ = std::move(snap);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        report_.rows.insert(report_.rows.end(), rows.begin(), rows.end());
        ++report_.intervals;
      }
      if (options_.on_interval) options_.on_interval(rows);
      // The next deadline still ahead: a late reading makes one longer interval, not a burst.
      now = MonotonicNs();
      deadline += interval_ns;
      if (deadline <= now) deadline += ((now - deadline) / interval_ns + 1) * interval_ns;
    }
  } catch (const std::exception& e) {
    thread_error_ = e.what();
    failed_ = true;
  }
  report_.thread_cpu_s = ThreadCpuSeconds();
}

std::vector<CpuSeriesRow> CpuSampler::Rows() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return report_.rows;
}

void CpuSampler::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    if (::write(wake_fd_, &one, sizeof(one)) < 0) {
      log::Warn("cpu sampler: cannot wake the sampler thread: {}", std::strerror(errno));
    }
  }
  if (thread_.joinable()) thread_.join();
  if (wake_fd_ >= 0) ::close(wake_fd_);
  wake_fd_ = -1;
}

CpuSamplerReport CpuSampler::Stop() {
  if (stopped_) throw RunError("cpu sampler: Stop() called twice");
  Shutdown();
  if (!thread_error_.empty()) throw RunError("cpu sampler failed: " + thread_error_);
  std::lock_guard<std::mutex> lock(mutex_);
  return report_;
}

CpuSampler::~CpuSampler() { Shutdown(); }

// --- Sources of a netns platform run ------------------------------------------------------

std::vector<CpuSource> CpuSourcesFromPlatformDescription(const json& description) {
  std::vector<CpuSource> out;
  try {
    const std::string switch_netns = description.at("switch").at("netns").get<std::string>();
    for (const json& host : description.at("hosts")) {
      CpuSource s;
      s.name = host.at("name").get<std::string>();
      const std::string role = host.at("role").get<std::string>();
      s.kind = role == "external" ? CpuSourceKind::kExternal : CpuSourceKind::kDomain;
      for (const json& dir : host.at("cgroups")) s.cgroup_dirs.emplace_back(dir.get<std::string>());
      s.cpus = host.at("cpus").get<std::vector<int>>();
      const std::string netns = host.at("netns").get<std::string>();
      for (const auto& [device, mask] : host.at("rps_cpus").items()) {
        s.interfaces.push_back({netns, device});
      }
      // The emulated wire (a switch port's receive work) runs on the sending host's CPU.
      if (role == "dom0") {
        s.interfaces.push_back({switch_netns, host.at("nic").at("switch_port").get<std::string>()});
      } else if (role == "external") {
        s.interfaces.push_back({switch_netns, host.at("switch_port").get<std::string>()});
      }
      out.push_back(std::move(s));
    }
  } catch (const json::exception& e) {
    throw InputError(std::string("platform description lacks what the cpu sampler needs: ") +
                     e.what());
  }
  return out;
}

json ToJson(const CpuSource& source) {
  json interfaces = json::array();
  for (const NetInterface& i : source.interfaces) {
    interfaces.push_back({{"netns", i.netns}, {"name", i.name}});
  }
  json dirs = json::array();
  for (const fs::path& d : source.cgroup_dirs) dirs.push_back(d.string());
  return {{"name", source.name},
          {"kind", source.kind == CpuSourceKind::kExternal ? "external" : "domain"},
          {"cgroup_dirs", dirs},
          {"cpus", source.cpus},
          {"interfaces", interfaces}};
}

// --- How the kernel accounts CPU time -----------------------------------------------------

namespace {

std::optional<uint64_t> ReadJiffies() {
  auto text = TryRead("/proc/timer_list");
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("jiffies: ", 0) == 0) return ToU64(std::string_view(line).substr(9));
  }
  return std::nullopt;
}

std::optional<std::string> KernelConfig() {
  if (fs::exists("/proc/config.gz")) {
    try {
      ProcessResult r =
          RunProcess(ProcessSpec({"gzip", "-dc", "/proc/config.gz"}), std::chrono::seconds(10));
      if (r.Succeeded()) return r.out;
    } catch (const Error&) {
      // gzip missing: try /boot below
    }
  }
  utsname u{};
  if (uname(&u) == 0) return TryRead(fs::path("/boot") / (std::string("config-") + u.release));
  return std::nullopt;
}

}  // namespace

CpuAccountingInfo ProbeCpuAccounting(std::chrono::milliseconds window) {
  CpuAccountingInfo info;
  long hz = sysconf(_SC_CLK_TCK);
  info.user_hz = hz > 0 ? hz : 0;
  int64_t t0 = MonotonicNs();
  std::optional<uint64_t> j0 = ReadJiffies();
  if (j0 && SleepFor(window)) {
    std::optional<uint64_t> j1 = ReadJiffies();
    int64_t t1 = MonotonicNs();
    if (j1 && *j1 >= *j0 && t1 > t0) {
      info.measured_hz = static_cast<double>(*j1 - *j0) / (static_cast<double>(t1 - t0) / 1e9);
    }
  }
  if (auto config = KernelConfig()) {
    std::istringstream in(*config);
    std::string line;
    bool idle = false, full = false, periodic = false;
    info.irq_time_accounting = "n";
    while (std::getline(in, line)) {
      if (line.rfind("CONFIG_HZ=", 0) == 0) {
        info.config_hz = static_cast<int>(ToU64(std::string_view(line).substr(10)).value_or(0));
      } else if (line == "CONFIG_IRQ_TIME_ACCOUNTING=y") {
        info.irq_time_accounting = "y";
      } else if (line == "CONFIG_NO_HZ_IDLE=y") {
        idle = true;
      } else if (line == "CONFIG_NO_HZ_FULL=y") {
        full = true;
      } else if (line == "CONFIG_HZ_PERIODIC=y") {
        periodic = true;
      }
    }
    info.nohz = full ? "full" : idle ? "idle" : periodic ? "periodic" : "unknown";
  }
  return info;
}

json ToJson(const CpuAccountingInfo& info) {
  return {{"user_hz", info.user_hz},
          {"measured_hz", info.measured_hz},
          {"config_hz", info.config_hz},
          {"irq_time_accounting", info.irq_time_accounting},
          {"nohz", info.nohz}};
}

}  // namespace nfb::collectors
