// BPF programs at a remote host's own interface (a Xen guest reached over SSH), where the
// harness cannot enter the namespace and attach in-process as direct_bpf.h does: the guest runs
// nfb-nf-attach (harness/nf/tools), which loads the program with the same loaders, attaches it
// at tc ingress and holds it until its stdin closes. Its counters are read through that session.
#pragma once

#include <filesystem>
#include <memory>

#include "direct_bpf.h"
#include "nfb/nf/install.h"
#include "objects.h"

namespace nfb::nf {

// Starts nfb-nf-attach on `host` for `object` configured from `program` (parameters already
// checked) and waits until it reports the program attached. Its logs go to `log_dir`. Throws
// RunError (with the tool's stderr) with nothing left attached.
std::unique_ptr<InstalledFunction> InstallRemoteBpf(platform::Platform& platform,
                                                    const std::string& host,
                                                    const scenario::ProgramSpec& program,
                                                    const ObjectSpec& object,
                                                    const DirectTarget& target,
                                                    const std::filesystem::path& log_dir);

}  // namespace nfb::nf
