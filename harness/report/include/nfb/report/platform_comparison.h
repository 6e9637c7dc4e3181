// `nfbench compare`: finished runs of one scenario (e.g. on netns and on emulated Xen) side by
// side with the thesis, per configuration: each run's median (or mean) and its ratio to the
// baseline configuration. Absolute times differ by orders of magnitude between platforms; the
// ratios and the ordering of the configurations are what can be compared.
//
//   std::vector<RunComparison> runs;
//   for (const auto& dir : dirs) runs.push_back(LoadRunComparison(dir));
//   fmt::print("{}", FormatPlatformComparison(ComparePlatforms(runs)));
//
// Inputs are results directories, possibly from other machines or older versions: missing or
// malformed files are InputErrors naming file and line; context.json is optional.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace nfb::report {

// One configuration of a run's comparison.csv.
struct RunComparisonRow {
  std::string configuration;
  std::string unit;
  std::string statistic;  // "median" or "mean": the one `value` is
  double value = 0;
  std::optional<double> ratio_in_file;  // ratio_to_baseline as written by the run
  std::optional<double> thesis_value;   // in `unit`
  std::optional<double> thesis_ratio_in_file;
  size_t line = 0;  // in comparison.csv, for errors
};

// A run's comparison.csv plus what its context.json says about the run.
struct RunComparison {
  std::filesystem::path dir;
  std::string platform = "unknown";           // context platform.name
  std::optional<std::string> emulated_under;  // "QEMU/TCG" (emulation.h)
  std::string emulation_caveat;               // EmulationCaveat(context), may be empty
  std::string run_id;                         // short: its first 8 characters
  // From context scenario.name and scenario.report; nullopt without a context.
  std::optional<std::string> scenario, baseline, metric;
  std::vector<RunComparisonRow> rows;

  // "netns 9fed9d7c", "xen (emulated) aee8cf46".
  std::string Label() const;
};

// Reads <dir>/comparison.csv (required) and <dir>/context.json (optional: without it the
// platform is "unknown" and the run id comes from the directory's name).
RunComparison LoadRunComparison(const std::filesystem::path& dir);

struct PlatformCell {
  std::optional<double> value;  // in the run's unit; nullopt: the configuration is not in the run
  std::optional<double> ratio;  // to the baseline
};

struct PlatformComparisonRow {
  std::string configuration;
  std::optional<double> thesis_value, thesis_ratio;  // thesis value in PlatformComparison::unit
  std::vector<PlatformCell> runs;                    // one per PlatformComparison::runs
};

struct PlatformRunColumn {
  std::string label;
  std::filesystem::path dir;
  std::string platform;
  std::optional<std::string> emulated_under;
  std::string emulation_caveat;
  std::string run_id;
  std::string statistic;  // "median", "mean", or "value" when its rows disagree
  std::string unit;       // every cell of the run is in it
  std::string ordering;   // "XenBPF < dom0 BPF < ...", smallest value first
};

struct PlatformComparison {
  std::string scenario;  // empty when no run has a context
  std::string metric;
  std::string baseline;  // empty when unknown: ratios are then the runs' own
  std::string unit;      // of the thesis values: the first run's
  std::string thesis_ordering;
  std::vector<PlatformRunColumn> runs;
  std::vector<PlatformComparisonRow> rows;
};

// One row per configuration, in the first run's order (configurations only in later runs
// follow). The thesis value comes from the first run that has one. Ratios are computed from the
// values when the baseline is known (from the contexts) and present in the run, otherwise the
// run's own ratio_to_baseline is shown. Throws InputError when runs are of different scenarios,
// metrics or baselines, or when `runs` is empty.
PlatformComparison ComparePlatforms(const std::vector<RunComparison>& runs);

// Names by value, smallest first, "<" between them and "=" between equal values; configurations
// without a value are left out. Ties keep the given order.
std::string FormatOrdering(
    const std::vector<std::pair<std::string, std::optional<double>>>& values);

// The aligned text table, the orderings and a note per emulated run.
std::string FormatPlatformComparison(const PlatformComparison& comparison);
// Long format, one line per configuration and source (the thesis, then each run):
// configuration,source,platform,emulated_under,run_id,statistic,unit,value,ratio_to_baseline
void WritePlatformComparisonCsv(std::ostream& out, const PlatformComparison& comparison);
nlohmann::json PlatformComparisonJson(const PlatformComparison& comparison);

}  // namespace nfb::report
