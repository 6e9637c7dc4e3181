// What a run needs from the host, checked before anything is created, and `nfbench doctor`,
// which reports everything the host offers and why something is missing.
#pragma once

#include <string>
#include <vector>

#include "nfb/scenario/scenario.h"

namespace nfb::runner {

// Throws PrerequisiteError naming everything missing for this scenario on `platform_name` ("netns"
// or "xen"; not just the first). On xen that includes being dom0 of a Xen host with `xl`.
void CheckRunPrerequisites(const scenario::Scenario& scenario,
                           const std::string& platform_name = "netns");

// Full path of an executable found on PATH (or /usr/sbin, /sbin), or empty.
std::string FindExecutable(const std::string& name);

struct DoctorCheck {
  std::string name;
  bool ok = false;
  bool required = true;  // needed by the default (netns) platform
  std::string detail;
};

// Runs every check (creates and removes a scratch namespace for the network ones).
std::vector<DoctorCheck> RunDoctor();

}  // namespace nfb::runner
