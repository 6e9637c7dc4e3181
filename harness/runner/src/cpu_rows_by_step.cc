#include "cpu_rows_by_step.h"

#include <algorithm>

namespace nfb::runner {

std::vector<std::pair<std::vector<std::string>, std::vector<collectors::CpuSeriesRow>>>
GroupCpuRowsBySteps(const std::vector<collectors::CpuSeriesRow>& rows,
                    const std::vector<StepWindow>& windows) {
  std::vector<std::pair<std::vector<std::string>, std::vector<collectors::CpuSeriesRow>>> groups;
  for (const collectors::CpuSeriesRow& row : rows) {
    const double begin = row.t_s - row.interval_s;
    const StepWindow* best = nullptr;
    double best_overlap = 0;
    for (const StepWindow& w : windows) {
      double overlap = std::min(row.t_s, w.end_s) - std::max(begin, w.begin_s);
      // Strictly more: on a tie the earlier step keeps the row, so a row is never split.
      if (overlap > best_overlap) {
        best_overlap = overlap;
        best = &w;
      }
    }
    std::vector<std::string> key =
        best ? std::vector<std::string>{best->configuration, std::to_string(best->repetition)}
             : std::vector<std::string>{kBetweenStepsLabel, "0"};
    if (groups.empty() || groups.back().first != key) groups.push_back({std::move(key), {}});
    groups.back().second.push_back(row);
  }
  return groups;
}

}  // namespace nfb::runner
