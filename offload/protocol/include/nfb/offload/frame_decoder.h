// Incremental frame decoder: feed it bytes as they arrive from a stream (socket, vchan ring) and
// take out complete frame bodies. Used by bpfd for every channel and by clients for replies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "nfb/offload/protocol.h"

namespace nfb::offload::proto {

// Holds at most one frame (4 + max_body bytes): Feed() takes bytes only up to the end of the
// current frame, and none while a complete frame waits to be popped. The length in a frame header
// is checked the moment its 4 bytes are in (CheckBodyLength), before anything is buffered for the
// body; an out-of-range length puts the decoder into a failed state for good, because a byte
// stream cannot be resynchronised after it: the owner answers with an error and closes.
//
//   while (!input.empty()) {
//     input = input.subspan(decoder.Feed(input));
//     if (decoder.failed()) { reply(decoder.status()); close(); break; }
//     if (decoder.HasFrame()) { handle(decoder.Body()); decoder.Pop(); }
//   }
//
// Not thread-safe. Never throws except std::bad_alloc.
class FrameDecoder {
 public:
  explicit FrameDecoder(uint32_t max_body = kMaxFrameBody);

  // Takes bytes from the front of `input`, stopping at the end of the current frame. Returns
  // how many it took: 0 when a complete frame is waiting (HasFrame()) or the decoder failed.
  size_t Feed(std::span<const uint8_t> input);

  // A complete frame is ready.
  bool HasFrame() const { return has_frame_; }
  // The ready frame's body (without the length prefix); valid until Pop() or destruction.
  std::span<const uint8_t> Body() const;
  // Discards the ready frame, so Feed() continues with the next one. No-op without a frame.
  void Pop();

  // The frame header was invalid; status() says why (kFrameTooBig or kMalformed).
  bool failed() const { return !status_.ok(); }
  const Status& status() const { return status_; }

  // Bytes of an incomplete frame are buffered (for timeouts on peers that stall mid-frame).
  bool MidFrame() const { return !has_frame_ && !buffer_.empty(); }
  // Bytes still missing from the current frame (header first, then body), so a reader can stop
  // at its end; 0 while a frame is ready or after failure.
  size_t needed() const;
  // Bytes currently held (header included).
  size_t buffered() const { return buffer_.size(); }
  uint32_t max_body() const { return max_body_; }

 private:
  uint32_t max_body_;
  std::vector<uint8_t> buffer_;  // header + body bytes of the current frame
  uint32_t body_length_ = 0;     // valid once buffer_ holds the header
  bool has_frame_ = false;
  Status status_;
};

}  // namespace nfb::offload::proto
