// Whether a run's host was emulated, read back from its context.json, and the caveat that goes
// with it. Under QEMU/TCG (the Xen lab, xen_setup/) every instruction is translated, so absolute
// times are far from hardware's while the ratios between configurations still mean something.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace nfb::report {

// "QEMU/TCG" when the context says the host ran under QEMU's TCG: the Xen context's verdict
// (context["xen"]["emulation"]: accelerator "tcg", or a summary naming TCG), or, for runs
// recorded before that verdict existed, the CPU model QEMU gives its TCG CPU
// (context["host"]["cpu_model"] "QEMU TCG CPU ..."). nullopt otherwise, also for a context of
// unexpected shape: the context may come from another version or machine.
std::optional<std::string> EmulatedUnder(const nlohmann::json& context);

// "Xen ran under QEMU/TCG; absolute times are not comparable with hardware, compare the ratios"
// ("the host ran ..." on other platforms); empty when the host was not emulated.
std::string EmulationCaveat(const nlohmann::json& context);

// The caveat as a line for comparison.txt: "note: <caveat>\n", or empty.
std::string EmulationNote(const nlohmann::json& context);

}  // namespace nfb::report
