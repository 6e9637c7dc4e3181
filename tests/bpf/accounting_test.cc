// CalibrateProgram (offload/accounting): input checks without privileges, and calibrations of the
// project's programs with BPF_PROG_TEST_RUN as root.
#include "nfb/offload/accounting.h"

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "bpf_test_util.h"
#include "nfb/bpf/dispatcher.h"
#include "nfb/bpf/icmp_echo.h"
#include "nfb/core/error.h"
#include "packet_builder.h"

namespace nfb::offload {
namespace {

using bpf::testing::Bytes;
using bpf::testing::EchoSpec;

std::string Hex(const Bytes& bytes) {
  std::string hex;
  for (const uint8_t byte : bytes) hex += fmt::format("{:02x}", byte);
  return hex;
}

// Sane for a program of a few dozen instructions on any machine this runs on.
constexpr double kMaxPlausibleNs = 20000;

TEST(AccountingTest, RefusesBadInputBeforeTouchingTheKernel) {
  const Bytes frame = bpf::testing::EchoRequest(EchoSpec{}).Build();
  EXPECT_THROW(CalibrateProgram(-1, frame), InputError);
  EXPECT_THROW(CalibrateProgram(0, Bytes(13, 0)), InputError);
  EXPECT_THROW(CalibrateProgram(0, frame, 0), InputError);
}

TEST(AccountingTest, CalibratesTheEchoResponderOnAFrameItPasses) {
  NFB_SKIP_UNLESS_ROOT();
  bpf::IcmpEchoProgram echo;
  // A reply is parsed completely, then passed unchanged: every run takes the same path.
  const Bytes reply = bpf::testing::EchoReply(EchoSpec{}).Build();
  const Calibration calibration = CalibrateProgram(echo.tc_fd(), reply, 1000);
  EXPECT_EQ(calibration.repeats, 1000u);
  EXPECT_EQ(calibration.packet, Hex(reply));
  EXPECT_GT(calibration.ns_per_packet, 0);
  EXPECT_LT(calibration.ns_per_packet, kMaxPlausibleNs);
  EXPECT_GT(calibration.empty_ns_per_packet, 0);
  EXPECT_LT(calibration.empty_ns_per_packet, kMaxPlausibleNs);
  EXPECT_DOUBLE_EQ(EstimatedCpuNs(calibration, 1000), 1000 * calibration.ns_per_packet);
}

TEST(AccountingTest, DispatcherAndEchoCostMoreThanTheEmptyFloor) {
  NFB_SKIP_UNLESS_ROOT();
  bpf::IcmpEchoProgram echo;
  bpf::Dispatcher dispatcher;
  const EchoSpec spec;
  dispatcher.SetSlot(spec.client_mac, echo.tc_fd());  // the reply's destination
  const Calibration calibration =
      CalibrateProgram(dispatcher.tc_fd(), bpf::testing::EchoReply(spec).Build(), 1000);
  // A hash lookup, a per-CPU counter update, a tail call and a full parse against two
  // instructions: the medians of five rounds cannot come out the other way round.
  EXPECT_GT(calibration.ns_per_packet, calibration.empty_ns_per_packet);
  EXPECT_EQ(dispatcher.Counters(spec.client_mac).packets,
            static_cast<uint64_t>(kCalibrationRounds) * 1000)
      << "every run went through the slot";
}

TEST(AccountingTest, CalibratesXdpProgramsAgainstAnEmptyXdpProgram) {
  NFB_SKIP_UNLESS_ROOT();
  bpf::IcmpEchoProgram echo;
  const Calibration calibration =
      CalibrateProgram(echo.xdp_fd(), bpf::testing::EchoReply(EchoSpec{}).Build(), 100);
  EXPECT_EQ(calibration.repeats, 100u);
  EXPECT_GT(calibration.ns_per_packet, 0);
  EXPECT_GT(calibration.empty_ns_per_packet, 0);
}

TEST(AccountingTest, AClosedDescriptorIsARunError) {
  NFB_SKIP_UNLESS_ROOT();
  const int fd = dup(STDERR_FILENO);
  ASSERT_GE(fd, 0);
  close(fd);  // now certainly not open
  EXPECT_THROW(CalibrateProgram(fd, bpf::testing::EchoRequest(EchoSpec{}).Build()), RunError);
}

}  // namespace
}  // namespace nfb::offload
