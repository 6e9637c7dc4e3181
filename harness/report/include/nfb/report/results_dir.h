// Layout of a run's output (docs/results.md):
//   <base>/<scenario>/<UTC time>-<run id>/{scenario.resolved.yaml, context.json, samples.csv,
//   summary.csv, accounting.csv, comparison.csv, raw/<configuration>/<repetition>/, figures/}
#pragma once

#include <filesystem>
#include <string>

namespace nfb::report {

// "domU plain" -> "domU-plain": configuration names become folder names.
std::string Slug(const std::string& name);

class ResultsDir {
 public:
  // Creates <base>/<scenario>/<UTC yyyymmddThhmmssZ>-<run_id>/ (and raw/, figures/).
  // Throws RunError when it cannot be created.
  static ResultsDir Create(const std::filesystem::path& base, const std::string& scenario,
                           const std::string& run_id);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path File(const std::string& name) const { return root_ / name; }
  std::filesystem::path Figures() const { return root_ / "figures"; }
  // raw/<slug(configuration)>/<repetition>/, created on first use.
  std::filesystem::path Raw(const std::string& configuration, int repetition) const;

  // Writes a file atomically (temporary + rename) so a crash never leaves half a table.
  void WriteFile(const std::string& name, const std::string& content) const;

 private:
  explicit ResultsDir(std::filesystem::path root) : root_(std::move(root)) {}
  std::filesystem::path root_;
};

}  // namespace nfb::report
