// Helpers shared by the BPF program tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <span>
#include <string>

#include "packet_builder.h"

// BPF_PROG_TEST_RUN, loading programs and namespaces all need root (CAP_BPF + CAP_NET_ADMIN).
#define NFB_SKIP_UNLESS_ROOT()                                                \
  do {                                                                        \
    if (geteuid() != 0) GTEST_SKIP() << "needs root (BPF and network admin)"; \
  } while (0)

namespace nfb::bpf::testing {

// Hex dump for failure messages, 16 bytes a line.
std::string HexDump(std::span<const uint8_t> bytes);

// Checks, by recomputing them from scratch, that an Ethernet/IPv4/ICMP frame has a valid IPv4
// header checksum and a valid ICMP checksum over the IPv4 total length.
::testing::AssertionResult HasValidIcmpChecksums(const Bytes& frame);

}  // namespace nfb::bpf::testing
