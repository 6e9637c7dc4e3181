// The spelling of every enum value in scenario files. One table per enum serves both the decoder
// and ToString(), so the two cannot drift apart.
#pragma once

#include <string_view>
#include <utility>

#include "nfb/scenario/scenario.h"

namespace nfb::scenario::internal {

inline constexpr std::pair<std::string_view, Hook> kHookNames[] = {
    {"tc", Hook::kTc},
    {"xdp", Hook::kXdp},
};

inline constexpr std::pair<std::string_view, ProgramKind> kProgramKindNames[] = {
    {"bpf", ProgramKind::kBpf},
    {"iptables", ProgramKind::kIptables},
};

inline constexpr std::pair<std::string_view, GeneratorKind> kGeneratorNames[] = {
    {"auto", GeneratorKind::kAuto},
    {"pktgen", GeneratorKind::kPktgen},
    {"trafgen", GeneratorKind::kTrafgen},
};

inline constexpr std::pair<std::string_view, CpuBenchmarkKind> kCpuBenchmarkNames[] = {
    {"auto", CpuBenchmarkKind::kAuto},
    {"unixbench", CpuBenchmarkKind::kUnixBench},
    {"sysbench", CpuBenchmarkKind::kSysbench},
    {"stress-ng", CpuBenchmarkKind::kStressNg},
};

inline constexpr std::pair<std::string_view, InstallAt> kInstallAtNames[] = {
    {"guest", InstallAt::kGuest},
    {"offload", InstallAt::kOffload},
    {"dom0", InstallAt::kDom0},
};

inline constexpr std::pair<std::string_view, TimestampRequest> kTimestampNames[] = {
    {"auto", TimestampRequest::kAuto},
    {"adapter", TimestampRequest::kAdapter},
    {"adapter_unsynced", TimestampRequest::kAdapterUnsynced},
    {"host", TimestampRequest::kHost},
};

inline constexpr std::pair<std::string_view, Order> kOrderNames[] = {
    {"interleaved", Order::kInterleaved},
    {"sequential", Order::kSequential},
};

}  // namespace nfb::scenario::internal
