// Shared by the verifier's kernel tests: loading raw bytecode, and three network namespaces in
// which a "dom0" sits between a traffic source and a sink:
//
//   nfbtest-verifier-<pid>-src   vsrc0  02:00:00:00:a1:01  198.18.91.2/24
//   nfbtest-verifier-<pid>-dom0  vd0    02:00:00:00:a1:02  198.18.91.1/24  (programs at ingress)
//                                vd1    02:00:00:00:a1:03  (the configured redirect interface)
//   nfbtest-verifier-<pid>-sink  vsink0 02:00:00:00:a1:04  (counts what dom0 sends out of vd1)
//
// vsrc0-vd0 and vd1-vsink0 are veth pairs. dom0 ignores echo requests itself, IPv6 is off
// everywhere (no router solicitations in the counters).
#pragma once

#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "nfb/bpf/mac_address.h"

struct bpf_object;

#ifndef NFB_SKIP_UNLESS_ROOT  // also in bpf_test_util.h
#define NFB_SKIP_UNLESS_ROOT()                                                \
  do {                                                                        \
    if (geteuid() != 0) GTEST_SKIP() << "needs root (BPF and network admin)"; \
  } while (0)
#endif

namespace nfb::offload::testing {

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

struct LoadResult {
  Fd fd;            // invalid if the kernel refused the program
  int error = 0;    // the negative errno then
  std::string log;  // the kernel verifier's log of a refused load
};

// Loads raw bytecode with bpf_prog_load().
LoadResult LoadProgram(bpf_prog_type type, std::span<const bpf_insn> insns,
                       const char* license = "GPL");

// VerifyAndRewrite with `ifindex` as the redirect interface; the instructions only.
std::vector<bpf_insn> Rewritten(std::span<const bpf_insn> insns, int ifindex);

// The echo responder's object (nf_programs/icmp_echo.bpf.c) opened and loaded by libbpf, for its
// tc program's final instructions: the map references carry the fds of the maps libbpf created,
// so the instructions can be loaded again, rewritten, while this object is alive.
class LoadedEchoObject {
 public:
  LoadedEchoObject();  // fails the test (and leaves tc_insns empty) if the object does not load
  LoadedEchoObject(const LoadedEchoObject&) = delete;
  LoadedEchoObject& operator=(const LoadedEchoObject&) = delete;
  ~LoadedEchoObject();
  const std::vector<bpf_insn>& tc_insns() const { return tc_insns_; }

 private:
  bpf_object* object_ = nullptr;
  std::vector<bpf_insn> tc_insns_;
};

inline const bpf::MacAddress kSrcMac{0x02, 0, 0, 0, 0xa1, 0x01};
inline const bpf::MacAddress kDom0InMac{0x02, 0, 0, 0, 0xa1, 0x02};
inline const bpf::MacAddress kDom0OutMac{0x02, 0, 0, 0, 0xa1, 0x03};
inline const bpf::MacAddress kSinkMac{0x02, 0, 0, 0, 0xa1, 0x04};

// The namespaces above, created in SetUp and removed in TearDown (also those of earlier runs
// whose process is gone).
class ThreeNamespaces : public ::testing::Test {
 protected:
  static constexpr char kSrcDev[] = "vsrc0";
  static constexpr char kDom0In[] = "vd0";
  static constexpr char kDom0Out[] = "vd1";
  static constexpr char kSinkDev[] = "vsink0";
  static constexpr char kDom0Ip[] = "198.18.91.1";

  void SetUp() override;
  void TearDown() override;

  // `ip ...` (or any command) that must succeed; fails the test otherwise.
  void MustRun(std::vector<std::string> argv, const std::string& netns = "");
  // Interface index of `dev` in namespace `netns`.
  int Ifindex(const std::string& netns, const std::string& dev);
  // The interface's received-packet counter (for a veth: what its peer sent).
  uint64_t RxPackets(const std::string& netns, const std::string& dev);
  // Waits up to a second for RxPackets to reach `at_least`; returns the last value read.
  uint64_t WaitRxPackets(const std::string& netns, const std::string& dev, uint64_t at_least);
  // Sends `frame` `count` times out of `dev` in `netns` through a packet socket.
  void SendFrames(const std::string& netns, const std::string& dev, std::span<const uint8_t> frame,
                  int count);
  // Pings dom0 from src; returns the number of replies received.
  int PingDom0(int count);

  std::string src_ns_, dom0_ns_, sink_ns_;
};

}  // namespace nfb::offload::testing
