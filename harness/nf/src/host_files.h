// Project binaries and files on the host where a network function is installed. Local hosts (the
// netns platform's namespaces, dom0) see the build tree; remote ones (Xen guests over SSH) do
// not: their image carries the project's tools on PATH (the lab's guest ramdisk, see
// xen_setup/lab/README.md), and data files such as BPF objects are copied when needed.
#pragma once

#include <filesystem>
#include <string>

#include "nfb/platform/platform.h"

namespace nfb::nf {

// How to name the project binary built at `local_path` on `host`: that path on local hosts, its
// file name (found on PATH) on remote ones.
std::string ToolOnHost(const platform::HostInfo& host, const std::filesystem::path& local_path);

// A path on `host` holding the contents of `local`: `local` itself on local hosts; on remote ones
// a copy at <remote_dir>/<file name>, written through Platform::Command. Throws RunError.
std::string FileOnHost(const platform::Platform& platform, const std::string& host,
                       const std::filesystem::path& local, const std::string& remote_dir);

}  // namespace nfb::nf
