#include "nfb/offload/frame_decoder.h"

#include <algorithm>

namespace nfb::offload::proto {

FrameDecoder::FrameDecoder(uint32_t max_body) : max_body_(max_body) {}

size_t FrameDecoder::Feed(std::span<const uint8_t> input) {
  if (has_frame_ || failed()) return 0;
  size_t taken = 0;
  if (buffer_.size() < kFrameHeaderSize) {
    const size_t n = std::min(kFrameHeaderSize - buffer_.size(), input.size());
    buffer_.insert(buffer_.end(), input.begin(), input.begin() + static_cast<ptrdiff_t>(n));
    taken += n;
    if (buffer_.size() < kFrameHeaderSize) return taken;
    body_length_ = LoadU32(buffer_.data());
    status_ = CheckBodyLength(body_length_, max_body_);
    if (failed()) return taken;
    // The length is within bounds now, so reserving for it is safe.
    buffer_.reserve(kFrameHeaderSize + body_length_);
  }
  const size_t want = kFrameHeaderSize + body_length_ - buffer_.size();
  const size_t n = std::min(want, input.size() - taken);
  const auto from = input.begin() + static_cast<ptrdiff_t>(taken);
  buffer_.insert(buffer_.end(), from, from + static_cast<ptrdiff_t>(n));
  taken += n;
  if (buffer_.size() == kFrameHeaderSize + body_length_) has_frame_ = true;
  return taken;
}

std::span<const uint8_t> FrameDecoder::Body() const {
  if (!has_frame_) return {};
  return std::span<const uint8_t>(buffer_).subspan(kFrameHeaderSize);
}

size_t FrameDecoder::needed() const {
  if (has_frame_ || failed()) return 0;
  if (buffer_.size() < kFrameHeaderSize) return kFrameHeaderSize - buffer_.size();
  return kFrameHeaderSize + body_length_ - buffer_.size();
}

void FrameDecoder::Pop() {
  if (!has_frame_) return;
  has_frame_ = false;
  body_length_ = 0;
  buffer_.clear();
  // A large frame's capacity is not kept around per idle connection.
  if (buffer_.capacity() > 4096) buffer_.shrink_to_fit();
}

}  // namespace nfb::offload::proto
