// Helpers shared by the netns platform's integration tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nfb/core/subprocess.h"
#include "nfb/platform/netns_platform.h"
#include "nfb/platform/platform.h"
#include "nfb/scenario/scenario.h"

namespace nfb::platform::testing {

// scenarios/ping_latency.yaml's topology, with a second guest (domu2, domid 2, also on vCPU 1).
scenario::Topology PingTopology();

// `ping -c count` from `host` to `address`, 10 ms apart, 1 s reply timeout.
ProcessResult Ping(const Platform& platform, const std::string& host, const std::string& address,
                   int count = 3);

// Packet counters of a device in a namespace (`ip -s -j link show`).
struct LinkCounters {
  uint64_t rx_packets = 0;
  uint64_t tx_packets = 0;
};
LinkCounters Counters(const std::string& netns, const std::string& device);

// Named namespaces starting with `prefix`.
std::vector<std::string> NamespacesWithPrefix(const std::string& prefix);
// Directories named `hex` under any <cgroup mount>/nfbench.
std::vector<std::filesystem::path> RunCgroups(const std::string& hex);

// PingTopology() provisioned once for a whole test suite: call Provision() in SetUpTestSuite and
// Teardown() in TearDownTestSuite.
class SuitePlatform {
 public:
  // As root: clears an interrupt left by an earlier test, provisions a fresh run (debug logs with
  // NFB_TEST_DEBUG set). Does nothing without root, so the tests can skip.
  void Provision();
  // Tears down and returns the run's namespaces still in `ip netns list` (expected: none).
  std::vector<std::string> Teardown();
  NetnsPlatform* get() const { return platform_.get(); }
  NetnsPlatform* operator->() const { return platform_.get(); }
  NetnsPlatform& operator*() const { return *platform_; }
  explicit operator bool() const { return platform_ != nullptr; }

 private:
  std::optional<RunId> run_id_;
  std::unique_ptr<NetnsPlatform> platform_;
};

// Contents of a file, empty if it cannot be read.
std::string ReadText(const std::filesystem::path& path);

}  // namespace nfb::platform::testing
