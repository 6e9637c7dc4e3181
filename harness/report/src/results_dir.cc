#include "nfb/report/results_dir.h"

#include <chrono>
#include <ctime>
#include <fstream>
#include <system_error>

#include "nfb/core/error.h"

namespace nfb::report {

namespace fs = std::filesystem;

std::string Slug(const std::string& name) {
  std::string slug;
  for (char c : name) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '.' || c == '-';
    slug += keep ? c : '-';
  }
  return slug.empty() ? "unnamed" : slug;
}

ResultsDir ResultsDir::Create(const fs::path& base, const std::string& scenario,
                              const std::string& run_id) {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
  // Absolute, because tools started with another working directory (trafgen runs in its own
  // output folder) get paths below it.
  std::error_code ec;
  fs::path root = fs::absolute(base, ec) / Slug(scenario) / (std::string(stamp) + "-" + run_id);
  if (ec) throw RunError("cannot resolve results directory " + base.string() + ": " + ec.message());
  fs::create_directories(root / "raw", ec);
  if (!ec) fs::create_directories(root / "figures", ec);
  if (ec) throw RunError("cannot create results directory " + root.string() + ": " + ec.message());
  return ResultsDir(root);
}

fs::path ResultsDir::Raw(const std::string& configuration, int repetition) const {
  fs::path dir = root_ / "raw" / Slug(configuration) / std::to_string(repetition);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw RunError("cannot create " + dir.string() + ": " + ec.message());
  return dir;
}

void ResultsDir::WriteFile(const std::string& name, const std::string& content) const {
  fs::path target = root_ / name;
  fs::path tmp = target;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) throw RunError("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) throw RunError("cannot write " + target.string() + ": " + ec.message());
}

}  // namespace nfb::report
