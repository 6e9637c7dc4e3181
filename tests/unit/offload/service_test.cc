// bpfd's request handling through its seam, OffloadService::HandleRequest(domain, frame), with
// the in-memory FakeBackend: per-domain IDs, isolation, quotas, size checks, accounting, and what
// a disconnect removes. No privileges needed.
#include "nfb/bpfd/service.h"

#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cstring>
#include <string>
#include <vector>

#include "nfb/bpf/mac_address.h"
#include "nfb/bpfd/testing/fake_backend.h"
#include "nfb/core/error.h"
#include "nfb/offload/client.h"
#include "nfb/offload/protocol.h"

namespace nfb::bpfd {
namespace {

namespace proto = offload::proto;
using testing::FakeBackend;

const bpf::MacAddress kMac1 = bpf::ParseMac("02:00:00:00:01:01");
const bpf::MacAddress kMac2 = bpf::ParseMac("02:00:00:00:02:01");

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }
std::vector<uint8_t> U32Key(uint32_t v) {
  std::vector<uint8_t> k(4);
  std::memcpy(k.data(), &v, 4);
  return k;
}
std::vector<uint8_t> U64Value(uint64_t v) {
  std::vector<uint8_t> b(8);
  std::memcpy(b.data(), &v, 8);
  return b;
}

class ServiceTest : public ::testing::Test {
 protected:
  ServiceTest() {
    service_.AddDomain("domu1", kMac1);
    service_.AddDomain("domu2", kMac2);
  }

  // Sends one request from `domain` and decodes the reply (which must be well-formed).
  proto::OwnedReply Call(const std::string& domain, proto::RequestArgs args) {
    std::vector<uint8_t> frame;
    const uint32_t id = ++next_id_;
    const proto::Status e = proto::EncodeRequest({0, id, std::move(args)}, &frame);
    EXPECT_TRUE(e.ok()) << e.message;
    return Raw(domain, frame, id);
  }

  proto::OwnedReply Raw(const std::string& domain, const std::vector<uint8_t>& frame,
                        std::optional<uint32_t> expect_id = std::nullopt) {
    proto::OwnedReply out;
    out.frame = service_.HandleRequest(domain, frame);
    std::span<const uint8_t> body;
    const proto::Status split = proto::SplitFrame(out.frame, &body);
    EXPECT_TRUE(split.ok()) << split.message;
    const proto::Status d = proto::DecodeReply(body, &out.reply);
    EXPECT_TRUE(d.ok()) << d.message;
    if (expect_id) {
      EXPECT_EQ(out.reply.request_id, *expect_id);
    }
    return out;
  }

  proto::LoadElfResult LoadElf(const std::string& domain) {
    proto::OwnedReply r = Call(domain, proto::LoadElfRequest{object_, ""});
    EXPECT_EQ(r.reply.status, 0) << r.reply.message;
    const auto* result = std::get_if<proto::LoadElfResult>(&r.reply.result);
    if (result == nullptr) return {};
    // Copy out: the views die with the reply.
    proto::LoadElfResult copy = *result;
    names_.emplace_back();
    for (auto& m : copy.maps) {
      names_.back().emplace_back(m.name);
    }
    for (size_t i = 0; i < copy.maps.size(); ++i) copy.maps[i].name = names_.back()[i];
    return copy;
  }

  int32_t Status(const std::string& domain, proto::RequestArgs args) {
    return Call(domain, std::move(args)).reply.status;
  }

  FakeBackend backend_;
  OffloadService service_{backend_, Quotas{4, 16, 1 << 20}};
  const std::vector<uint8_t> object_ = Bytes(
      "\x7f"
      "ELF object");
  uint32_t next_id_ = 0;
  std::vector<std::vector<std::string>> names_;
};

TEST_F(ServiceTest, LoadElfReturnsIdsAndAttaches) {
  const proto::LoadElfResult r = LoadElf("domu1");
  EXPECT_EQ(r.program_id, 1u);
  ASSERT_EQ(r.maps.size(), 2u);
  EXPECT_EQ(r.maps[0].name, "counters");
  EXPECT_EQ(r.maps[0].map_id, 1u);
  EXPECT_EQ(r.maps[1].name, ".rodata");
  EXPECT_EQ(r.maps[1].map_id, 2u);
  EXPECT_EQ(backend_.AttachedProgram(kMac1), "fake_tc");
  EXPECT_EQ(backend_.AttachedProgram(kMac2), "");
  const DomainReport report = service_.Report("domu1");
  EXPECT_EQ(report.programs, 1u);
  EXPECT_EQ(report.maps, 2u);
  EXPECT_EQ(report.attached_program, 1u);
  EXPECT_EQ(report.slot, 0u);
}

TEST_F(ServiceTest, IdsArePerDomainAndIsolated) {
  const proto::LoadElfResult a = LoadElf("domu1");
  // domu2 owns nothing yet: domu1's IDs are unknown numbers to it.
  EXPECT_EQ(Status("domu2", proto::MapLookupRequest{1, U32Key(0)}), -ENOENT);
  EXPECT_EQ(Status("domu2", proto::UnloadRequest{1}), -ENOENT);
  EXPECT_EQ(Status("domu2", proto::MapInfoRequest{2}), -ENOENT);
  // After its own load, domu2 has the very same numbers, for its own objects.
  const proto::LoadElfResult b = LoadElf("domu2");
  EXPECT_EQ(b.program_id, a.program_id);
  EXPECT_EQ(b.maps[0].map_id, a.maps[0].map_id);
  ASSERT_EQ(Status("domu1", proto::MapUpdateRequest{1, U32Key(7), U64Value(111), BPF_ANY}), 0);
  ASSERT_EQ(Status("domu2", proto::MapUpdateRequest{1, U32Key(7), U64Value(222), BPF_ANY}), 0);
  proto::OwnedReply r1 = Call("domu1", proto::MapLookupRequest{1, U32Key(7)});
  proto::OwnedReply r2 = Call("domu2", proto::MapLookupRequest{1, U32Key(7)});
  ASSERT_EQ(r1.reply.status, 0);
  ASSERT_EQ(r2.reply.status, 0);
  uint64_t v1 = 0, v2 = 0;
  std::memcpy(&v1, std::get<proto::MapLookupResult>(r1.reply.result).value.data(), 8);
  std::memcpy(&v2, std::get<proto::MapLookupResult>(r2.reply.result).value.data(), 8);
  EXPECT_EQ(v1, 111u);
  EXPECT_EQ(v2, 222u);
  // Unloading in one domain leaves the other's program alone.
  EXPECT_EQ(Status("domu2", proto::UnloadRequest{1}), 0);
  EXPECT_EQ(backend_.AttachedProgram(kMac1), "fake_tc");
  EXPECT_EQ(backend_.AttachedProgram(kMac2), "");
  EXPECT_EQ(Status("domu1", proto::MapLookupRequest{1, U32Key(7)}), 0);
  // IDs are not reused within a session.
  EXPECT_EQ(LoadElf("domu2").program_id, 2u);
}

TEST_F(ServiceTest, MapOperationsCheckSizesAndFlags) {
  LoadElf("domu1");
  EXPECT_EQ(Status("domu1", proto::MapLookupRequest{1, Bytes("abc")}), -EINVAL);
  EXPECT_EQ(Status("domu1", proto::MapLookupRequest{1, Bytes("abcde")}), -EINVAL);
  EXPECT_EQ(Status("domu1", proto::MapLookupRequest{1, {}}), -EINVAL);
  EXPECT_EQ(Status("domu1", proto::MapUpdateRequest{1, U32Key(1), Bytes("1234567"), 0}), -EINVAL);
  EXPECT_EQ(Status("domu1", proto::MapUpdateRequest{1, U32Key(1), Bytes("123456789"), 0}), -EINVAL);
  EXPECT_EQ(Status("domu1", proto::MapUpdateRequest{1, U32Key(1), U64Value(1), 3}), -EINVAL);
  EXPECT_EQ(Status("domu1", proto::MapUpdateRequest{1, U32Key(1), U64Value(1), BPF_F_LOCK}),
            -EINVAL);
  EXPECT_EQ(Status("domu1", proto::MapDeleteRequest{1, Bytes("ab")}), -EINVAL);
  // The kernel's semantics come through.
  EXPECT_EQ(Status("domu1", proto::MapLookupRequest{1, U32Key(1)}), -ENOENT);
  EXPECT_EQ(Status("domu1", proto::MapUpdateRequest{1, U32Key(1), U64Value(5), BPF_EXIST}),
            -ENOENT);
  EXPECT_EQ(Status("domu1", proto::MapUpdateRequest{1, U32Key(1), U64Value(5), BPF_NOEXIST}), 0);
  EXPECT_EQ(Status("domu1", proto::MapUpdateRequest{1, U32Key(1), U64Value(6), BPF_NOEXIST}),
            -EEXIST);
  EXPECT_EQ(Status("domu1", proto::MapDeleteRequest{1, U32Key(1)}), 0);
  EXPECT_EQ(Status("domu1", proto::MapDeleteRequest{1, U32Key(1)}), -ENOENT);

  proto::OwnedReply info = Call("domu1", proto::MapInfoRequest{1});
  ASSERT_EQ(info.reply.status, 0);
  const auto& i = std::get<proto::MapInfoResult>(info.reply.result);
  EXPECT_EQ(i.map_type, static_cast<uint32_t>(BPF_MAP_TYPE_HASH));
  EXPECT_EQ(i.key_size, 4u);
  EXPECT_EQ(i.value_size, 8u);
  EXPECT_EQ(i.max_entries, 16u);
  EXPECT_EQ(i.name, "counters");
}

TEST_F(ServiceTest, PerCpuValuesAreSizedForEveryCpu) {
  backend_.elf_maps = {testing::DescribeMap("percpu", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 12, 1, 4)};
  LoadElf("domu1");
  proto::OwnedReply r = Call("domu1", proto::MapLookupRequest{1, U32Key(0)});
  ASSERT_EQ(r.reply.status, 0) << r.reply.message;
  EXPECT_EQ(std::get<proto::MapLookupResult>(r.reply.result).value.size(), 16u * 4);
  EXPECT_EQ(Status("domu1", proto::MapUpdateRequest{1, U32Key(0), std::vector<uint8_t>(12), 0}),
            -EINVAL);
  EXPECT_EQ(Status("domu1", proto::MapUpdateRequest{1, U32Key(0), std::vector<uint8_t>(64), 0}), 0);
}

TEST_F(ServiceTest, ProgramQuota) {
  for (int i = 0; i < 4; ++i) LoadElf("domu1");
  proto::OwnedReply r = Call("domu1", proto::LoadElfRequest{object_, ""});
  EXPECT_EQ(r.reply.status, -EDQUOT);
  EXPECT_NE(r.reply.message.find("quota"), std::string_view::npos);
  EXPECT_EQ(Status("domu1", proto::LoadBytecodeRequest{std::vector<uint8_t>(8),
                                                       BPF_PROG_TYPE_SCHED_CLS, "GPL"}),
            -EDQUOT);
  // The other domain has its own quota.
  LoadElf("domu2");
  // Unloading frees a place.
  EXPECT_EQ(Status("domu1", proto::UnloadRequest{2}), 0);
  EXPECT_EQ(LoadElf("domu1").program_id, 5u);
}

TEST_F(ServiceTest, MapQuotas) {
  OffloadService small(backend_, Quotas{8, 3, 1 << 20});
  small.AddDomain("d", bpf::ParseMac("02:00:00:00:03:01"));
  std::vector<uint8_t> frame;
  proto::EncodeRequest({0, 1, proto::LoadElfRequest{object_, ""}}, &frame);
  const auto status_of = [&](const std::vector<uint8_t>& reply) {
    proto::Reply r;
    std::span<const uint8_t> body;
    EXPECT_TRUE(proto::SplitFrame(reply, &body).ok());
    EXPECT_TRUE(proto::DecodeReply(body, &r).ok());
    return r.status;
  };
  EXPECT_EQ(status_of(small.HandleRequest("d", frame)), 0);        // 2 maps
  EXPECT_EQ(status_of(small.HandleRequest("d", frame)), -EDQUOT);  // 4 > 3
  EXPECT_EQ(small.Report("d").maps, 2u);

  backend_.elf_maps = {testing::DescribeMap("big", BPF_MAP_TYPE_HASH, 8, 1024, 2048)};
  OffloadService memory(backend_, Quotas{8, 16, 1 << 20});
  memory.AddDomain("d", bpf::ParseMac("02:00:00:00:03:01"));
  EXPECT_EQ(status_of(memory.HandleRequest("d", frame)), -EDQUOT);  // 2 MiB > 1 MiB
  EXPECT_EQ(backend_.live_maps(), 2);                               // only `small`'s
}

TEST_F(ServiceTest, UnloadRemovesProgramAndItsMaps) {
  LoadElf("domu1");
  LoadElf("domu1");  // replaces id 1 behind the dispatcher; id 1 stays loaded
  EXPECT_EQ(service_.Report("domu1").attached_program, 2u);
  EXPECT_EQ(backend_.live_programs(), 2);
  EXPECT_EQ(backend_.live_maps(), 4);
  EXPECT_EQ(Status("domu1", proto::UnloadRequest{1}), 0);  // not attached: slot untouched
  EXPECT_EQ(backend_.AttachedProgram(kMac1), "fake_tc");
  EXPECT_EQ(Status("domu1", proto::MapLookupRequest{1, U32Key(0)}), -ENOENT);
  EXPECT_EQ(Status("domu1", proto::MapInfoRequest{3}), 0);
  EXPECT_EQ(backend_.live_maps(), 2);
  EXPECT_EQ(Status("domu1", proto::UnloadRequest{2}), 0);  // attached: slot cleared
  EXPECT_EQ(backend_.AttachedProgram(kMac1), "");
  EXPECT_FALSE(backend_.SlotOf(kMac1).has_value());
  EXPECT_EQ(backend_.live_programs(), 0);
  EXPECT_EQ(backend_.live_maps(), 0);
  EXPECT_EQ(Status("domu1", proto::UnloadRequest{2}), -ENOENT);
}

TEST_F(ServiceTest, ResetRemovesEverythingAndRestartsIds) {
  LoadElf("domu1");
  LoadElf("domu1");
  LoadElf("domu2");
  backend_.AddTraffic(kMac1, 10, 1000);
  service_.ResetDomain("domu1");
  EXPECT_EQ(backend_.AttachedProgram(kMac1), "");
  EXPECT_EQ(backend_.AttachedProgram(kMac2), "fake_tc");
  EXPECT_EQ(backend_.live_programs(), 1);
  EXPECT_EQ(backend_.live_maps(), 2);
  const DomainReport report = service_.Report("domu1");
  EXPECT_EQ(report.programs, 0u);
  EXPECT_EQ(report.maps, 0u);
  EXPECT_EQ(report.map_memory, 0u);
  EXPECT_EQ(report.packets, 10u) << "accounting survives the session";
  EXPECT_EQ(LoadElf("domu1").program_id, 1u) << "a new session counts from 1 again";

  service_.RemoveDomain("domu2");
  EXPECT_EQ(backend_.AttachedProgram(kMac2), "");
  EXPECT_FALSE(service_.HasDomain("domu2"));
  EXPECT_EQ(Status("domu2", proto::StatsRequest{}), -ENODEV);
}

TEST_F(ServiceTest, StatsAccountPacketsAcrossSlots) {
  EXPECT_EQ(Status("domu1", proto::StatsRequest{}), 0);
  LoadElf("domu1");
  backend_.AddTraffic(kMac1, 1000, 98000);
  backend_.AddTraffic(kMac2, 5, 500);  // no slot: nothing counted for domu2
  proto::OwnedReply r = Call("domu1", proto::StatsRequest{});
  ASSERT_EQ(r.reply.status, 0);
  auto s = std::get<proto::StatsResult>(r.reply.result);
  EXPECT_EQ(s.packets, 1000u);
  EXPECT_EQ(s.bytes, 98000u);
  EXPECT_EQ(s.cost_ps, 20000u);
  EXPECT_EQ(s.cpu_ns, 20000u);
  EXPECT_EQ(s.method, "fixed 20 ns per packet (fake backend)");
  // Unloading retires the slot's counters into the domain's total; a new slot starts at zero.
  EXPECT_EQ(Status("domu1", proto::UnloadRequest{1}), 0);
  LoadElf("domu1");
  backend_.AddTraffic(kMac1, 1, 98);
  r = Call("domu1", proto::StatsRequest{});
  s = std::get<proto::StatsResult>(r.reply.result);
  EXPECT_EQ(s.packets, 1001u);
  EXPECT_EQ(s.cpu_ns, 20020u);
  r = Call("domu2", proto::StatsRequest{});
  EXPECT_EQ(std::get<proto::StatsResult>(r.reply.result).packets, 0u);
}

TEST_F(ServiceTest, BytecodeLoads) {
  const std::vector<uint8_t> insns(16, 0);
  proto::OwnedReply r =
      Call("domu1", proto::LoadBytecodeRequest{insns, BPF_PROG_TYPE_SCHED_CLS, "GPL"});
  ASSERT_EQ(r.reply.status, 0) << r.reply.message;
  EXPECT_EQ(std::get<proto::LoadBytecodeResult>(r.reply.result).program_id, 1u);
  EXPECT_EQ(backend_.AttachedProgram(kMac1), "fake_bytecode");
  EXPECT_EQ(Status("domu1", proto::LoadBytecodeRequest{insns, BPF_PROG_TYPE_XDP, "GPL"}), -EINVAL);
  EXPECT_EQ(Status("domu1",
                   proto::LoadBytecodeRequest{Bytes("REJECT!!"), BPF_PROG_TYPE_SCHED_CLS, "GPL"}),
            -EACCES);
}

TEST_F(ServiceTest, BackendRefusalsReachTheGuestAndLeaveNothing) {
  proto::OwnedReply r = Call("domu1", proto::LoadElfRequest{Bytes("REJECT tail call"), ""});
  EXPECT_EQ(r.reply.status, -EACCES);
  EXPECT_NE(r.reply.message.find("tail_call"), std::string_view::npos);
  EXPECT_EQ(Status("domu1", proto::LoadElfRequest{Bytes("KERNEL-FAIL"), ""}), -EINVAL);
  backend_.max_slots = 0;
  EXPECT_EQ(Status("domu1", proto::LoadElfRequest{object_, ""}), -ENOSPC);
  EXPECT_EQ(backend_.live_programs(), 0);
  EXPECT_EQ(backend_.live_maps(), 0);
  EXPECT_EQ(service_.Report("domu1").programs, 0u);
}

TEST_F(ServiceTest, MalformedRequestsGetErrorsAndServiceGoesOn) {
  LoadElf("domu1");
  struct Row {
    const char* what;
    std::vector<uint8_t> frame;
    int32_t status;
    uint16_t command;
    uint32_t id;
  };
  std::vector<uint8_t> good;
  proto::EncodeRequest({0, 99, proto::UnloadRequest{1}}, &good);
  std::vector<uint8_t> bad_version = good;
  bad_version[4] = 9;
  std::vector<uint8_t> bad_command = good;
  bad_command[6] = 0x55;
  std::vector<uint8_t> truncated(good.begin(), good.end() - 1);
  std::vector<uint8_t> too_long = good;
  too_long.push_back(0);
  std::vector<uint8_t> huge_length = good;
  huge_length[3] = 0x7f;
  const std::vector<Row> rows = {
      {"version 9", bad_version, -EPROTONOSUPPORT, 3, 99},
      {"command 0x55", bad_command, -EBADRQC, 0x55, 99},
      {"frame shorter than its length", truncated, -EBADMSG, 0, 0},
      {"frame longer than its length", too_long, -EBADMSG, 0, 0},
      {"length over the limit", huge_length, -EMSGSIZE, 0, 0},
      {"nothing", {}, -EBADMSG, 0, 0},
  };
  for (const Row& row : rows) {
    proto::OwnedReply r = Raw("domu1", row.frame);
    EXPECT_EQ(r.reply.status, row.status) << row.what << ": " << r.reply.message;
    EXPECT_EQ(r.reply.command, row.command) << row.what;
    EXPECT_EQ(r.reply.request_id, row.id) << row.what;
  }
  // Both domains are still served, domu1's program untouched.
  EXPECT_EQ(service_.Report("domu1").programs, 1u);
  EXPECT_EQ(Status("domu1", proto::MapInfoRequest{1}), 0);
  EXPECT_EQ(LoadElf("domu2").program_id, 1u);
}

TEST_F(ServiceTest, UnregisteredDomainIsRefused) {
  EXPECT_EQ(Status("nobody", proto::StatsRequest{}), -ENODEV);
  EXPECT_EQ(Status("", proto::StatsRequest{}), -ENODEV);
}

TEST_F(ServiceTest, RegistrationChecks) {
  EXPECT_THROW(service_.AddDomain("domu1", bpf::ParseMac("02:00:00:00:09:01")), InputError);
  EXPECT_THROW(service_.AddDomain("domu3", kMac1), InputError);
  EXPECT_THROW(service_.AddDomain("domu3", bpf::ParseMac("01:00:5e:00:00:01")), InputError);
  EXPECT_THROW(service_.AddDomain("", bpf::ParseMac("02:00:00:00:09:01")), InputError);
  EXPECT_THROW(service_.Report("domu3"), InputError);
  EXPECT_EQ(service_.Domains(), (std::vector<std::string>{"domu1", "domu2"}));
}

}  // namespace
}  // namespace nfb::bpfd
