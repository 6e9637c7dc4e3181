#include "nfb/bpf/libbpf_support.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "nfb/core/error.h"
#include "nfb/core/log.h"

namespace nfb::bpf {
namespace {

int PrintToLog(enum libbpf_print_level level, const char* format, va_list args) {
  // Warnings carry what a user needs when a load fails (the verifier log); the rest is chatter
  // about probing and relocation that only helps when debugging the loader itself.
  const log::Level nfb_level = level == LIBBPF_WARN ? log::Level::kWarn : log::Level::kDebug;
  if (nfb_level == log::Level::kDebug && log::GetLevel() > log::Level::kDebug) return 0;
  va_list sizing;
  va_copy(sizing, args);
  const int length = std::vsnprintf(nullptr, 0, format, sizing);
  va_end(sizing);
  if (length <= 0) return length;
  std::string text(static_cast<size_t>(length) + 1, '\0');
  std::vsnprintf(text.data(), text.size(), format, args);
  text.resize(static_cast<size_t>(length));
  while (!text.empty() && text.back() == '\n') text.pop_back();
  log::Write(nfb_level, text);
  return length;
}

}  // namespace

void RouteLibbpfLog() {
  static std::once_flag once;
  std::call_once(once, [] { libbpf_set_print(PrintToLog); });
}

std::string LibbpfErrorString(int err) {
  char buffer[256] = {};
  if (libbpf_strerror(err, buffer, sizeof(buffer)) != 0 && buffer[0] == '\0') {
    return "unknown error " + std::to_string(err);
  }
  return buffer;
}

void ThrowLibbpfError(const std::string& what, int err) {
  const std::string message = what + ": " + LibbpfErrorString(err);
  if (std::abs(err) == EPERM) {
    throw PrerequisiteError(message + " (BPF needs root or CAP_BPF and CAP_NET_ADMIN)");
  }
  throw RunError(message);
}

}  // namespace nfb::bpf
