#include "nfb/core/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace nfb::log {
namespace {
std::atomic<Level> g_level{Level::kInfo};
std::mutex g_write_mutex;  // collectors log from their own threads
}  // namespace

void SetLevel(Level level) { g_level = level; }
Level GetLevel() { return g_level; }

void Write(Level level, std::string_view message) {
  static constexpr const char* kTags[] = {"debug", "info", "warning", "error"};
  std::lock_guard lock(g_write_mutex);
  if (level == Level::kInfo) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()), message.data());
  } else {
    std::fprintf(stderr, "%s: %.*s\n", kTags[static_cast<int>(level)],
                 static_cast<int>(message.size()), message.data());
  }
}

}  // namespace nfb::log
