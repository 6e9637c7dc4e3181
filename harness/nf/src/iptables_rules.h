// iptables programs: rules appended in a host's network namespace (a guest's or dom0's) and
// removed again, with their packet counters read in between.
//
// Every rule is appended with a comment naming nfbench, the program and the rule's position
// (`-m comment --comment nfbench:<program>:<n>`). The counters are found by that comment in
// `iptables -L <chain> -v -n -x`, and `-D` with the same arguments deletes exactly the rule
// nfbench appended, never an identical one that was there before.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nfb/nf/install.h"

namespace nfb::nf {

struct IptablesRule {
  std::string text;               // as in the scenario: "INPUT -p udp --dport 9999 -j DROP"
  std::string table;              // from -t/--table in the rule, "filter" otherwise
  std::string chain;              // the rule's first word
  std::string comment;            // "nfbench:iptables_drop:1"
  std::vector<std::string> args;  // after `iptables -w -A` / `-D`: the rule, then the comment
};

// The program's rules split on whitespace, each with its comment. Throws InputError for a rule
// that does not start with a chain name or whose table option has no value.
std::vector<IptablesRule> PrepareIptablesRules(const scenario::ProgramSpec& program);

struct IptablesCounter {
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

// Finds the counters of the rule carrying `/* comment */` in the output of
// `iptables -L <chain> -v -n -x` (with or without --line-numbers). nullopt when no rule carries
// it; throws RunError when the line's counters are not numbers.
std::optional<IptablesCounter> FindIptablesCounter(std::string_view listing,
                                                   const std::string& comment);

// Appends the program's rules in `host`'s namespace (`iptables -w -A`, in order). Throws
// PrerequisiteError when iptables is missing and RunError when a rule is refused (the rules
// appended before it are removed again). The object removes the rules (-D, in reverse order)
// when destroyed, logging failures instead of throwing.
std::unique_ptr<InstalledFunction> InstallIptables(platform::Platform& platform,
                                                   const std::string& host, scenario::InstallAt at,
                                                   const scenario::ProgramSpec& program);

}  // namespace nfb::nf
