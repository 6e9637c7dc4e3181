// CPU rows sampled over a whole run, given to the steps they were taken in. Used when a step is
// shorter than a sampling interval (the ping workload: 0.3 s of probes in the quick profile, 10 s
// in the paper's, against 1 s intervals), so one sampler runs from provisioning to the end and
// every row says which configuration was being measured while its interval ran; rows during
// installs, removals and guest pauses belong to no step and keep their own label, so the series
// covers the whole run.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "nfb/collectors/cpu_series.h"

namespace nfb::runner {

// When a step's traffic ran, in seconds on the sampler's clock (t = 0 when sampling started).
struct StepWindow {
  std::string configuration;
  int repetition = 0;
  double begin_s = 0;
  double end_s = 0;
};

// The key columns of rows that overlap no step (cpu.csv's configuration, repetition).
inline constexpr const char* kBetweenStepsLabel = "(between steps)";

// Groups rows by the step whose window overlaps the row's interval [t_s - interval_s, t_s] the
// most; rows overlapping no window go to {kBetweenStepsLabel, ""}. Consecutive rows with the same
// label form one group, so the groups stay in time order and a label may appear more than once
// (between steps, before and after each step). Keys are {configuration, repetition}.
std::vector<std::pair<std::vector<std::string>, std::vector<collectors::CpuSeriesRow>>>
GroupCpuRowsBySteps(const std::vector<collectors::CpuSeriesRow>& rows,
                    const std::vector<StepWindow>& windows);

}  // namespace nfb::runner
