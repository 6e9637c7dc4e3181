#include "nfb/collectors/remote_capture.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "nfb/collectors/pcap_file.h"
#include "nfb/core/cancel.h"
#include "nfb/core/error.h"
#include "nfb/core/held_stdin.h"
#include "nfb/core/log.h"
#include "nfb/core/text_file.h"

namespace nfb::collectors {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string ReadAll(const fs::path& path) { return ReadTextFile(path).value_or(""); }

std::string LastLines(const std::string& text, size_t lines) {
  size_t pos = text.size();
  while (pos > 0 && (text[pos - 1] == '\n')) --pos;
  const std::string trimmed = text.substr(0, pos);
  while (lines-- > 0 && pos > 0) {
    pos = trimmed.rfind('\n', pos - 1);
    if (pos == std::string::npos) return trimmed;
  }
  return trimmed.substr(pos + 1);
}

}  // namespace

TcpdumpSummary ParseTcpdumpSummary(const std::string& stderr_text) {
  TcpdumpSummary s;
  static const std::regex kCaptured(R"((\d+) packets? captured)");
  static const std::regex kReceived(R"((\d+) packets? received by filter)");
  static const std::regex kDropped(R"((\d+) packets? dropped by kernel)");
  static const std::regex kIfDropped(R"((\d+) packets? dropped by interface)");
  std::smatch m;
  bool captured = false, received = false, dropped = false;
  std::istringstream lines(stderr_text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // Counters: one per line (tcpdump -w) or comma-separated on one line (other versions).
    if (std::regex_search(line, m, kCaptured)) {
      s.captured = std::stoull(m[1]);
      captured = true;
    }
    if (std::regex_search(line, m, kReceived)) {
      s.received_by_filter = std::stoull(m[1]);
      received = true;
    }
    if (std::regex_search(line, m, kDropped)) {
      s.dropped_by_kernel = std::stoull(m[1]);
      dropped = true;
    }
    if (std::regex_search(line, m, kIfDropped)) s.dropped_by_interface = std::stoull(m[1]);
    if (line.find("listening on ") != std::string::npos) {
      s.listening = true;
      continue;
    }
    if (line.rfind("tcpdump: ", 0) != 0) {
      // Continuation lines of an error ("(No such device exists)") belong to the error before.
      if (!s.errors.empty() && !line.empty() && line.front() == '(' && !captured) {
        s.errors.back() += " " + line;
      }
      continue;
    }
    const std::string text = line.substr(9);
    if (text.rfind("WARNING: ", 0) == 0) {
      s.warnings.push_back(text.substr(9));
    } else if (text.find("verbose output suppressed") == std::string::npos &&
               !std::regex_search(text, m, kCaptured)) {
      s.errors.push_back(text);
    }
  }
  s.found = captured && received && dropped;
  return s;
}

std::vector<std::string> ParseTcpdumpTimestampTypes(const std::string& output) {
  // "Time stamp types for eth0 (use option -j to set):\n  host (Host)\n  adapter (Adapter)"
  std::vector<std::string> types;
  if (output.find("Time stamp types for") == std::string::npos) return types;
  static const std::regex kType(R"(^\s+([a-z_]+)(?:\s+\(.*\))?\s*$)");
  std::istringstream lines(output);
  bool in_list = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("Time stamp types for") != std::string::npos) {
      in_list = true;
      continue;
    }
    std::smatch m;
    if (in_list && std::regex_match(line, m, kType)) types.push_back(m[1]);
  }
  return types;
}

std::string ChooseTimestampType(TimestampRequest request, const std::vector<std::string>& offered,
                                const std::string& where) {
  auto is_offered = [&](const std::string& t) {
    return std::find(offered.begin(), offered.end(), t) != offered.end();
  };
  switch (request) {
    case TimestampRequest::kAuto:
      for (const char* t : {"adapter_unsynced", "adapter"}) {
        if (is_offered(t)) return t;
      }
      return "host";
    case TimestampRequest::kAdapter:
    case TimestampRequest::kAdapterUnsynced: {
      const std::string wanted = ToString(request);
      if (!is_offered(wanted)) {
        std::string list;
        for (const std::string& t : offered) list += (list.empty() ? "" : ", ") + t;
        throw PrerequisiteError(fmt::format("interface {} does not offer {} timestamps (tcpdump "
                                            "-J lists: {})",
                                            where, wanted, list.empty() ? "none" : list));
      }
      return wanted;
    }
    case TimestampRequest::kHost:
      return "host";
  }
  return "host";
}

std::vector<std::string> TcpdumpArgv(const RemoteCaptureOptions& o) {
  std::vector<std::string> argv = {
      o.tcpdump, "-i", o.interface,
      "-p",  // not promiscuous, as the in-process capture
      "-n",
      "-U",                // each packet flushed to stdout as it is written
      "--immediate-mode",  // delivered at once: a SIGTERM leaves nothing unread in the ring
      "-w", "-", "--time-stamp-precision=nano",
      "-s", std::to_string(o.snaplen),
      "-B", std::to_string(std::max(1, o.buffer_bytes / 1024))};
  if (!o.timestamp_type.empty() && o.timestamp_type != "host") {
    argv.insert(argv.end(), {"-j", o.timestamp_type});
  }
  if (!o.filter.empty()) argv.push_back(o.filter);
  return argv;
}

std::vector<std::string> RemoteCaptureArgv(const RemoteCaptureOptions& options) {
  return StopOnStdinEof(TcpdumpArgv(options), "nfb-capture");
}

std::unique_ptr<RemoteCapture> RemoteCapture::Start(const RemoteCaptureOptions& options,
                                                    const RemoteCommand& command) {
  std::unique_ptr<RemoteCapture> c(new RemoteCapture());
  c->options_ = options;
  if (c->options_.stderr_path.empty()) {
    c->options_.stderr_path = options.output.string() + ".stderr";
  }
  c->stdin_ = HeldStdin(options.stdin_fifo.empty() ? fs::path(options.output.string() + ".stdin")
                                                    : options.stdin_fifo);
  ProcessSpec spec = WithStdinFrom(command(RemoteCaptureArgv(c->options_)), c->stdin_.path());
  spec.stdout_path = options.output;
  spec.stderr_path = c->options_.stderr_path;
  spec.interruptible = false;  // stopped through Stop() or the destructor, never mid-write
  log::Debug("remote capture on {}: {}", options.where, CommandLine(spec.argv));
  c->process_ = Process::Start(spec);

  const auto deadline = std::chrono::steady_clock::now() + c->options_.start_timeout;
  for (;;) {
    const TcpdumpSummary s = ParseTcpdumpSummary(ReadAll(c->options_.stderr_path));
    for (const std::string& w : s.warnings) {
      if (w.find("time stamp") != std::string::npos || w.find("timestamp") != std::string::npos) {
        throw PrerequisiteError(fmt::format("tcpdump on {}: {}", options.where, w));
      }
    }
    if (s.listening) break;
    if (std::optional<ProcessResult> r = c->process_.Wait(0ms)) {
      throw RunError(fmt::format("tcpdump on {} ended before capturing ({}): {}", options.where,
                                 r->Status(),
                                 LastLines(ReadAll(c->options_.stderr_path), 5)));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw RunError(fmt::format("tcpdump on {} did not start listening within {} ms: {}",
                                 options.where, c->options_.start_timeout.count(),
                                 LastLines(ReadAll(c->options_.stderr_path), 5)));
    }
    ThrowIfInterrupted();
    std::this_thread::sleep_for(20ms);
  }
  return c;
}

CaptureReport RemoteCapture::Stop() {
  if (stopped_) throw RunError("remote capture on " + options_.where + " already stopped");
  stopped_ = true;
  stdin_.Close();
  std::optional<ProcessResult> result = process_.Wait(30s);
  if (!result) {
    process_.Terminate();
    throw RunError(fmt::format("tcpdump on {} did not end within 30 s of its input closing",
                               options_.where));
  }
  const std::string err = ReadAll(options_.stderr_path);
  summary_ = ParseTcpdumpSummary(err);
  if (!result->Succeeded() || !summary_->found) {
    throw RunError(fmt::format("tcpdump on {} failed ({}{}): {}", options_.where, result->Status(),
                               summary_->found ? "" : ", no summary", LastLines(err, 5)));
  }
  CaptureReport report;
  report.timestamp_type = options_.timestamp_type;
  report.timestamp_types_offered = options_.timestamp_types_offered;
  report.ps_recv = summary_->received_by_filter;
  report.ps_drop = summary_->dropped_by_kernel;
  report.ps_ifdrop = summary_->dropped_by_interface;
  PcapReader reader(options_.output);
  report.nanosecond = reader.file_has_nanoseconds();
  PacketView packet;
  while (reader.Next(packet)) ++report.packets_written;
  if (report.packets_written != summary_->captured) {
    log::Warn("remote capture on {}: tcpdump says {} packets captured, the file holds {}",
              options_.where, summary_->captured, report.packets_written);
  }
  return report;
}

RemoteCapture::~RemoteCapture() {
  try {
    stdin_.Close();
    if (process_.running() && !process_.Wait(10s)) process_.Terminate();
  } catch (const std::exception& e) {
    log::Warn("stopping the remote capture on {}: {}", options_.where, e.what());
  }
}

}  // namespace nfb::collectors
