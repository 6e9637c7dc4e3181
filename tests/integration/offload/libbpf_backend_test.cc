// bpfd's request handling (OffloadService) over the real kernel backend (LibbpfBackend) when
// guests' MACs collide in the dispatcher's MAC table: MACs sharing a bucket each get their own
// program, a MAC whose buckets cannot be freed is refused with ENOSPC and a message that names no
// slot or bucket, and nothing else changes. The dispatcher sits at the ingress of a veth in a
// scratch namespace (nfbtest-bpfdbk-<pid>, removed at the end); frames are run through it with
// BPF_PROG_TEST_RUN. Root only; skips otherwise.
#include "nfb/bpf/verdict_program.h"
#include "nfb/bpfd/libbpf_backend.h"

#include <fmt/core.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dispatcher_test_util.h"  // tests/bpf
#include "nfb/bpf/test_run.h"
#include "nfb/bpfd/service.h"
#include "nfb/core/subprocess.h"
#include "nfb/offload/protocol.h"

namespace nfb::bpfd {
namespace {

namespace proto = offload::proto;
using namespace std::chrono_literals;
using bpf::MacAddress;
using bpf::testing::FrameTo;
using bpf::testing::MacsBlocking;
using bpf::testing::Primary;
using bpf::testing::SamePrimary;
using bpf::testing::Secondary;
using bpf::testing::TwoBucketMac;
using ::testing::HasSubstr;
using ::testing::Not;

// `r0 = verdict; exit` as LOAD_BYTECODE sends it.
std::vector<uint8_t> VerdictBytecode(int32_t verdict) {
  const std::array<bpf_insn, 2> insns = bpf::VerdictInstructions(verdict);
  std::vector<uint8_t> bytes(sizeof(insns));
  std::memcpy(bytes.data(), insns.data(), sizeof(insns));
  return bytes;
}

class LibbpfBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (namespaces, BPF)";
    netns_ = fmt::format("nfbtest-bpfdbk-{}", ::getpid());
    for (const std::vector<std::string>& command :
         {std::vector<std::string>{"ip", "netns", "add", netns_},
          {"ip", "-n", netns_, "link", "add", "nic0", "type", "veth", "peer", "name", "nic0p"},
          {"ip", "-n", netns_, "link", "set", "nic0", "up"}}) {
      RunChecked(ProcessSpec(command), 10s);
    }
    LibbpfBackendOptions options;
    options.netns = netns_;
    options.interface = "nic0";
    options.fixed_cost_ps = 50'000;  // calibration is tested elsewhere
    backend_ = std::make_unique<LibbpfBackend>(options, MakeOffloadVerifier());
    service_ = std::make_unique<OffloadService>(*backend_);
  }

  void TearDown() override {
    service_.reset();
    backend_.reset();
    if (!netns_.empty()) RunProcess(ProcessSpec({"ip", "netns", "del", netns_}), 10s);
  }

  // LOAD_BYTECODE of a verdict program from `domain`; the reply's status and message.
  std::pair<int32_t, std::string> LoadVerdict(const std::string& domain, int32_t verdict) {
    const std::vector<uint8_t> insns = VerdictBytecode(verdict);
    std::vector<uint8_t> frame;
    const proto::Status e = proto::EncodeRequest(
        {0, ++next_id_, proto::LoadBytecodeRequest{insns, BPF_PROG_TYPE_SCHED_CLS, "GPL"}}, &frame);
    EXPECT_TRUE(e.ok()) << e.message;
    const std::vector<uint8_t> reply_frame = service_->HandleRequest(domain, frame);
    std::span<const uint8_t> body;
    EXPECT_TRUE(proto::SplitFrame(reply_frame, &body).ok());
    proto::Reply reply;
    EXPECT_TRUE(proto::DecodeReply(body, &reply).ok());
    return {reply.status, std::string(reply.message)};
  }

  uint32_t VerdictFor(const MacAddress& mac) {
    return bpf::TestRun(backend_->dispatcher().tc_fd(), FrameTo(mac)).retval;
  }

  std::string netns_;
  std::unique_ptr<LibbpfBackend> backend_;
  std::unique_ptr<OffloadService> service_;
  uint32_t next_id_ = 0;
};

TEST_F(LibbpfBackendTest, GuestsWhoseMacsShareABucketEachGetTheirOwnProgram) {
  uint32_t next = 0;
  const MacAddress a = TwoBucketMac(&next);
  const MacAddress b = SamePrimary(a, &next);
  service_->AddDomain("a", a);
  service_->AddDomain("b", b);
  ASSERT_EQ(LoadVerdict("a", 101).first, 0);
  ASSERT_EQ(LoadVerdict("b", 102).first, 0);
  EXPECT_EQ(backend_->dispatcher().BucketOf(b), Secondary(b));
  EXPECT_EQ(VerdictFor(a), 101u);
  EXPECT_EQ(VerdictFor(b), 102u);
  EXPECT_EQ(VerdictFor(b), 102u);
  EXPECT_EQ(service_->Report("a").packets, 1u);
  EXPECT_EQ(service_->Report("b").packets, 2u);

  // a's session ends: b keeps its program, and its count goes on.
  service_->ResetDomain("a");
  EXPECT_EQ(VerdictFor(a), static_cast<uint32_t>(TC_ACT_OK));
  EXPECT_EQ(VerdictFor(b), 102u);
  EXPECT_EQ(service_->Report("b").packets, 3u);
}

TEST_F(LibbpfBackendTest, AMacWithoutRoomIsRefusedWithEnospcAndNothingElseChanges) {
  uint32_t next = 0;
  const MacAddress n = TwoBucketMac(&next);
  const std::vector<MacAddress> blocking = MacsBlocking(n, &next);
  for (size_t i = 0; i < blocking.size(); ++i) {
    const std::string name = fmt::format("g{}", i);
    service_->AddDomain(name, blocking[i]);
    ASSERT_EQ(LoadVerdict(name, static_cast<int32_t>(100 + i)).first, 0);
  }
  ASSERT_EQ(backend_->dispatcher().BucketOf(blocking[1]), Primary(n));
  ASSERT_EQ(backend_->dispatcher().BucketOf(blocking[3]), Secondary(n));

  service_->AddDomain("n", n);
  const auto [status, message] = LoadVerdict("n", 110);
  EXPECT_EQ(status, -ENOSPC);
  EXPECT_EQ(message, "no free dispatcher slot in dom0");  // no slot, bucket or MAC of others
  EXPECT_THAT(message, Not(HasSubstr("bucket")));
  EXPECT_FALSE(backend_->SlotOf(n).has_value());
  EXPECT_EQ(service_->Report("n").programs, 0u) << "the refused program is not kept";
  EXPECT_EQ(VerdictFor(n), static_cast<uint32_t>(TC_ACT_OK)) << "n's frames pass";
  EXPECT_EQ(service_->Report("n").packets, 0u);
  for (size_t i = 0; i < blocking.size(); ++i) EXPECT_EQ(VerdictFor(blocking[i]), 100 + i);

  // Once the guest in n's secondary bucket unloads, n fits.
  service_->ResetDomain("g3");
  EXPECT_EQ(LoadVerdict("n", 110).first, 0);
  EXPECT_EQ(backend_->dispatcher().BucketOf(n), Secondary(n));
  EXPECT_EQ(VerdictFor(n), 110u);
  EXPECT_EQ(VerdictFor(blocking[1]), 101u);
}

}  // namespace
}  // namespace nfb::bpfd
