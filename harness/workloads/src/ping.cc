#include "nfb/workloads/ping.h"

#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>

#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/core/subprocess.h"

namespace nfb::workloads {

std::vector<std::string> PingCommand(const scenario::PingWorkload& workload,
                                     const std::string& target_address) {
  uint64_t total = workload.count + workload.warmup;
  return {"ping",
          "-n",  // no reverse lookups
          "-q",  // only the summary: per-probe lines would cost the sender time
          "-c", std::to_string(total),
          "-i", fmt::format("{:.6f}", workload.interval_ms / 1000.0),
          "-W", fmt::format("{:.3f}", workload.timeout_s),
          target_address};
}

PingSummary ParsePingSummary(const std::string& output) {
  static const std::regex kSummary(
      R"((\d+) packets transmitted, (\d+) (?:packets )?received(?:, \+(\d+) duplicates)?(?:, \+(\d+) errors)?)");
  std::smatch m;
  if (!std::regex_search(output, m, kSummary)) {
    throw InputError("ping printed no summary line");
  }
  PingSummary s;
  s.transmitted = std::stoull(m[1]);
  s.received = std::stoull(m[2]);
  if (m[3].matched) s.duplicates = std::stoull(m[3]);
  if (m[4].matched) s.errors = std::stoull(m[4]);
  return s;
}

PingRun RunPing(const platform::Platform& platform, const scenario::PingWorkload& workload,
                const std::string& target_address, const std::filesystem::path& raw_dir) {
  PingRun run;
  run.argv = PingCommand(workload, target_address);
  ProcessSpec spec = platform.Command(workload.from, run.argv);
  spec.stdout_path = raw_dir / "ping.log";
  spec.stderr_path = raw_dir / "ping.stderr.log";

  const uint64_t total = workload.count + workload.warmup;
  const double expected_s = total * workload.interval_ms / 1000.0;
  // ping stops by itself after the last reply or `-W`; a generous limit catches a hung tool.
  const auto limit = std::chrono::duration<double>(expected_s * 2 + workload.timeout_s + 30);

  spec.interruptible = true;  // Ctrl-C stops ping and unwinds to the runner's teardown
  log::Debug("ping: {}", CommandLine(run.argv));
  auto start = std::chrono::steady_clock::now();
  Process ping = Process::Start(spec);
  std::optional<ProcessResult> result;
  while (!result) {
    result = ping.Wait(std::chrono::seconds(15));
    if (result) break;
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (elapsed > limit.count()) {
      ping.Terminate();
      throw RunError(fmt::format("ping did not finish within {:.0f} s", limit.count()));
    }
    log::Info("  ... {:.0f} s of ~{:.0f} s", elapsed, expected_s);
  }
  run.duration_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::ifstream log_file(spec.stdout_path);
  std::stringstream text;
  text << log_file.rdbuf();
  try {
    run.summary = ParsePingSummary(text.str());
  } catch (const InputError&) {
    std::ifstream err_file(spec.stderr_path);
    std::stringstream err;
    err << err_file.rdbuf();
    throw RunError(fmt::format("ping to {} failed ({}): {}", target_address, result->Status(),
                               err.str().empty() ? text.str() : err.str()));
  }
  // ping exits 1 when some probes got no reply: that is a measurement, not a failure.
  if (run.summary.transmitted == 0) {
    throw RunError("ping to " + target_address + " sent nothing");
  }
  return run;
}

}  // namespace nfb::workloads
