// The XenBPF request fuzz target, independent of libFuzzer so the normal (gcc) build can replay
// its corpus as a unit test (tests/unit/offload/malformed_fuzz_replay_test.cc) and the clang
// build can fuzz it (offload/fuzz/request_fuzzer.cc, scripts/fuzz.sh).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace nfb::offload::fuzz {

// Runs one input through two targets and aborts (after printing why) when an invariant breaks:
//
//  1. The decoder alone: the input as a frame and as a body through SplitFrame, DecodeRequest,
//     DecodeReply and DecodeMessage. Whatever decodes as a request re-encodes to the same bytes.
//  2. bpfd's whole request path: the input as a byte stream from domain domu1 into a
//     FrameDecoder (as bpfd's event loop reads a channel), each complete frame through
//     OffloadService::HandleBody with the in-memory backend. Every reply must be a well-formed
//     frame within the limits that echoes the request id, no reply may be bpfd's "internal
//     error", quotas must hold, the backend must hold exactly the objects the domains report,
//     and the bystander domain domu2 must be unchanged and still answered.
void RunOne(const uint8_t* data, size_t size);

// Valid inputs covering every command and a load-use-unload sequence, named for corpus files.
std::vector<std::pair<std::string, std::vector<uint8_t>>> SeedCorpus();

// The largest input worth trying: one frame of the largest legal size.
size_t MaxInputLength();

}  // namespace nfb::offload::fuzz
