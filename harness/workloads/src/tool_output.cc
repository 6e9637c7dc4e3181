#include "tool_output.h"

#include <fstream>

namespace nfb::workloads::internal {

std::string ReadFile(const std::filesystem::path& path, size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::string text(limit, '\0');
  in.read(text.data(), static_cast<std::streamsize>(limit));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

std::string Tail(const std::filesystem::path& path) {
  std::string text = ReadFile(path, 1 << 16);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.size() > 600) text = "..." + text.substr(text.size() - 600);
  return text.empty() ? "(nothing on stderr)" : text;
}

}  // namespace nfb::workloads::internal
