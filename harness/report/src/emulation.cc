#include "nfb/report/emulation.h"

#include <fmt/format.h>

#include "json_at.h"

namespace nfb::report {

using nlohmann::json;

namespace {

bool Contains(const std::string& text, const char* part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

std::optional<std::string> EmulatedUnder(const json& context) {
  const bool tcg = StringAt(context, {"xen", "emulation", "accelerator"}) == "tcg" ||
                   Contains(StringAt(context, {"xen", "emulation", "summary"}), "TCG") ||
                   Contains(StringAt(context, {"host", "cpu_model"}), "QEMU TCG CPU");
  if (tcg) return "QEMU/TCG";
  return std::nullopt;
}

std::string EmulationCaveat(const json& context) {
  std::optional<std::string> under = EmulatedUnder(context);
  if (!under) return {};
  const bool xen = StringAt(context, {"platform", "name"}) == "xen";
  return fmt::format(
      "{} ran under {}; absolute times are not comparable with hardware, compare the ratios",
      xen ? "Xen" : "the host", *under);
}

std::string EmulationNote(const json& context) {
  std::string caveat = EmulationCaveat(context);
  return caveat.empty() ? std::string() : "note: " + caveat + "\n";
}

}  // namespace nfb::report
