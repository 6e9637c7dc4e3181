#include "nfb/collectors/pcap_capture.h"

#include <pcap/pcap.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/core/netns.h"

namespace nfb::collectors {
namespace {

using Clock = std::chrono::steady_clock;

// After the deadline for retiring ring blocks, how much longer Stop() keeps reading.
constexpr std::chrono::milliseconds kDrainMargin{20};

std::string TypeName(int type) {
  const char* name = pcap_tstamp_type_val_to_name(type);
  return name != nullptr ? name : "type " + std::to_string(type);
}

std::string Where(const CaptureOptions& o) {
  return o.interface + (o.netns.empty() ? std::string() : " in netns " + o.netns);
}

double ThreadCpuSeconds() {
  timespec ts{};
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Fails with the error type that tells the user what to fix.
[[noreturn]] void ThrowActivateError(pcap_t* handle, int rc, const CaptureOptions& o) {
  std::string what = "cannot capture on " + Where(o) + ": " + pcap_statustostr(rc);
  std::string detail = pcap_geterr(handle);
  if (!detail.empty()) what += " (" + detail + ")";
  switch (rc) {
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      throw PrerequisiteError(what + "; capturing needs root or CAP_NET_RAW");
    default:
      throw RunError(what);
  }
}

}  // namespace

TimestampRequest ParseTimestampRequest(const std::string& text) {
  if (text == "auto") return TimestampRequest::kAuto;
  if (text == "adapter") return TimestampRequest::kAdapter;
  if (text == "adapter_unsynced") return TimestampRequest::kAdapterUnsynced;
  if (text == "host") return TimestampRequest::kHost;
  throw InputError("unknown timestamp type '" + text +
                   "' (expected auto, adapter, adapter_unsynced or host)");
}

std::string ToString(TimestampRequest request) {
  switch (request) {
    case TimestampRequest::kAuto:
      return "auto";
    case TimestampRequest::kAdapter:
      return "adapter";
    case TimestampRequest::kAdapterUnsynced:
      return "adapter_unsynced";
    case TimestampRequest::kHost:
      return "host";
  }
  return "?";
}

std::unique_ptr<PcapCapture> PcapCapture::Start(const CaptureOptions& options) {
  if (options.interface.empty()) throw InputError("capture: no interface given");
  if (options.output.empty()) throw InputError("capture: no output file given");
  if (options.snaplen <= 0 || options.buffer_bytes <= 0 || options.timeout_ms <= 0) {
    throw InputError("capture: snaplen, buffer_bytes and timeout_ms must be positive");
  }

  // Owns everything from here, so the destructor cleans up whichever step fails.
  std::unique_ptr<PcapCapture> capture(new PcapCapture());
  capture->options_ = options;
  CaptureReport& report = capture->report_;
  char errbuf[PCAP_ERRBUF_SIZE] = {};

  int chosen = PCAP_TSTAMP_HOST;
  {
    // pcap_create already asks the interface (ethtool) for its timestamp types and
    // pcap_activate binds the packet socket: both must happen inside the namespace.
    NetnsScope scope(options.netns);
    capture->handle_ = pcap_create(options.interface.c_str(), errbuf);
    if (capture->handle_ == nullptr) {
      throw RunError("cannot capture on " + Where(options) + ": " + errbuf);
    }
    pcap_t* h = capture->handle_;

    int* types = nullptr;
    int count = pcap_list_tstamp_types(h, &types);
    if (count < 0) throw RunError("pcap_list_tstamp_types: " + std::string(pcap_geterr(h)));
    std::vector<int> offered(types, types + count);
    pcap_free_tstamp_types(types);
    for (int t : offered) report.timestamp_types_offered.push_back(TypeName(t));
    auto is_offered = [&](int t) {
      return std::find(offered.begin(), offered.end(), t) != offered.end();
    };

    switch (options.timestamps) {
      case TimestampRequest::kAuto:
        // The NIC's clock when there is one: it stamps at the wire, not when the kernel gets to
        // the packet. Unsynced first, so that the clock is not being slewed during a run.
        for (int t : {PCAP_TSTAMP_ADAPTER_UNSYNCED, PCAP_TSTAMP_ADAPTER}) {
          if (is_offered(t)) {
            chosen = t;
            break;
          }
        }
        break;
      case TimestampRequest::kAdapter:
      case TimestampRequest::kAdapterUnsynced: {
        chosen = options.timestamps == TimestampRequest::kAdapter ? PCAP_TSTAMP_ADAPTER
                                                                  : PCAP_TSTAMP_ADAPTER_UNSYNCED;
        if (!is_offered(chosen)) {
          std::string list;
          for (const std::string& name : report.timestamp_types_offered) {
            list += (list.empty() ? "" : ", ") + name;
          }
          throw PrerequisiteError("interface " + Where(options) + " does not offer " +
                                  TypeName(chosen) + " timestamps (offered: " + list + ")");
        }
        break;
      }
      case TimestampRequest::kHost:
        chosen = PCAP_TSTAMP_HOST;
        break;
    }
    // Setting host explicitly on an interface that lists no types would fail with
    // CANTSET_TSTAMP_TYPE, and host is the default anyway.
    if (chosen != PCAP_TSTAMP_HOST && pcap_set_tstamp_type(h, chosen) < 0) {
      throw RunError("pcap_set_tstamp_type(" + TypeName(chosen) + "): " + pcap_geterr(h));
    }
    bool nano_ok = pcap_set_tstamp_precision(h, PCAP_TSTAMP_PRECISION_NANO) == 0;
    if (pcap_set_snaplen(h, options.snaplen) != 0 ||
        pcap_set_promisc(h, options.promiscuous ? 1 : 0) != 0 ||
        pcap_set_timeout(h, options.timeout_ms) != 0 ||
        pcap_set_buffer_size(h, options.buffer_bytes) != 0 ||
        // Immediate mode would wake the thread for every packet; with a timeout the kernel
        // batches packets into ring blocks, which is what keeps the thread off the load
        // generator's CPUs.
        pcap_set_immediate_mode(h, 0) != 0) {
      throw RunError("cannot configure capture on " + Where(options) + ": " + pcap_geterr(h));
    }
    int rc = pcap_activate(h);
    if (rc < 0) ThrowActivateError(h, rc, options);
    if (rc == PCAP_WARNING_TSTAMP_TYPE_NOTSUP) {
      log::Warn("capture on {}: {} timestamps refused, using host", Where(options),
                TypeName(chosen));
      chosen = PCAP_TSTAMP_HOST;
    } else if (rc > 0) {
      log::Warn("capture on {}: {} ({})", Where(options), pcap_statustostr(rc), pcap_geterr(h));
    }
    if (!nano_ok) log::Warn("capture on {}: nanosecond timestamps refused", Where(options));
  }
  pcap_t* h = capture->handle_;
  report.timestamp_type = TypeName(chosen);
  report.nanosecond = pcap_get_tstamp_precision(h) == PCAP_TSTAMP_PRECISION_NANO;

  if (!options.filter.empty()) {
    bpf_program program{};
    if (pcap_compile(h, &program, options.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      throw InputError("capture filter '" + options.filter + "': " + pcap_geterr(h));
    }
    int rc = pcap_setfilter(h, &program);
    pcap_freecode(&program);
    if (rc != 0) throw RunError("cannot install capture filter: " + std::string(pcap_geterr(h)));
  }
  // The thread waits in poll() on the packet socket and on its own eventfd, so Stop() can wake
  // it without libpcap's breakloop (whose eventfd pcap_setnonblock closes and reopens).
  if (pcap_setnonblock(h, 1, errbuf) != 0) {
    throw RunError("pcap_setnonblock: " + std::string(errbuf));
  }
  capture->dumper_ = pcap_dump_open(h, options.output.c_str());
  if (capture->dumper_ == nullptr) {
    throw RunError("cannot write capture file " + options.output.string() + ": " + pcap_geterr(h));
  }
  capture->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (capture->wake_fd_ < 0) ThrowSystemError("eventfd", errno);
  capture->thread_ = std::thread([c = capture.get()] { c->Run(); });
  log::Debug("capturing on {} ({} timestamps, {}) into {}", Where(options), report.timestamp_type,
             report.nanosecond ? "ns" : "us", options.output.string());
  return capture;
}

void PcapCapture::Run() {
  pcap_handler write_packet = [](u_char* user, const pcap_pkthdr* header, const u_char* bytes) {
    auto* self = reinterpret_cast<PcapCapture*>(user);
    pcap_dump(reinterpret_cast<u_char*>(self->dumper_), header, bytes);
    ++self->packets_written_;
  };
  auto* user = reinterpret_cast<u_char*>(this);
  int pcap_fd = pcap_get_selectable_fd(handle_);
  // Reads everything the kernel has handed over; false on a capture error.
  auto read_available = [&]() {
    while (true) {
      int n = pcap_dispatch(handle_, -1, write_packet, user);
      if (n == 0) return true;
      if (n < 0) {
        thread_error_ = pcap_geterr(handle_);
        return false;
      }
    }
  };

  // Running: sleep in poll() until the kernel retires a ring block (full, or timeout_ms after
  // its first packet) or Stop() rings the eventfd. No timeout: an idle capture costs nothing.
  bool ok = true;
  while (ok) {
    pollfd fds[2] = {{pcap_fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int rc = ::poll(fds, 2, -1);
    if (rc < 0) {
      if (errno == EINTR) continue;
      thread_error_ = std::string("poll: ") + std::strerror(errno);
      ok = false;
      break;
    }
    if (fds[0].revents != 0) ok = read_available();
    if (fds[1].revents != 0) break;
  }

  // Draining: packets that arrived before Stop() may sit in a ring block the kernel has not
  // retired yet; it does so within two block timeouts (the retire timer fires every timeout_ms
  // and closes a block that was already open at the previous tick).
  if (ok) {
    auto deadline = stop_requested_at_.load() + 2 * std::chrono::milliseconds(options_.timeout_ms) +
                    kDrainMargin;
    while (ok) {
      ok = read_available();
      auto now = Clock::now();
      if (!ok || now >= deadline) break;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      pollfd fd = {pcap_fd, POLLIN, 0};
      ::poll(&fd, 1, static_cast<int>(left.count()) + 1);
    }
  }
  thread_cpu_s_ = ThreadCpuSeconds();
}

CaptureReport PcapCapture::Stop() {
  if (stopped_) throw RunError("capture on " + Where(options_) + " already stopped");
  stopped_ = true;
  Shutdown();
  CaptureReport report = report_;
  report.packets_written = packets_written_;
  report.thread_cpu_s = thread_cpu_s_;
  pcap_stat stats{};
  if (pcap_stats(handle_, &stats) == 0) {
    report.ps_recv = stats.ps_recv;
    report.ps_drop = stats.ps_drop;
    report.ps_ifdrop = stats.ps_ifdrop;
  } else {
    log::Warn("capture on {}: pcap_stats failed: {}", Where(options_), pcap_geterr(handle_));
  }
  // Flush and close before saying the file is complete.
  // pcap_dump() cannot report errors; the stream's error flag says whether any write failed.
  if (pcap_dump_flush(dumper_) != 0 || std::ferror(pcap_dump_file(dumper_)) != 0) {
    thread_error_ += (thread_error_.empty() ? "" : "; ") + std::string("writing ") +
                     options_.output.string() + " failed";
  }
  pcap_dump_close(dumper_);
  dumper_ = nullptr;
  if (!thread_error_.empty()) {
    throw RunError("capture on " + Where(options_) + " failed: " + thread_error_);
  }
  log::Debug("capture on {}: {} packets written, recv {} drop {}", Where(options_),
             report.packets_written, report.ps_recv, report.ps_drop);
  return report;
}

void PcapCapture::Shutdown() {
  if (!thread_.joinable()) return;
  stop_requested_at_.store(Clock::now());
  uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof(one)) != sizeof(one)) {
    log::Error("capture: cannot wake the capture thread (errno {})", errno);
  }
  thread_.join();
}

PcapCapture::~PcapCapture() {
  Shutdown();
  if (dumper_ != nullptr) pcap_dump_close(dumper_);
  if (handle_ != nullptr) pcap_close(handle_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

}  // namespace nfb::collectors
