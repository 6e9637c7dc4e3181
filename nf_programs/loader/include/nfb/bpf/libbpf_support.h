// Glue between libbpf and the harness: its diagnostics go to nfb::log and its error codes become
// nfb exceptions. Everything in nfb_bpf calls these; code that uses libbpf directly (a daemon
// loading ELF files) should too.
#pragma once

#include <string>

namespace nfb::bpf {

// Routes libbpf's print callback to nfb::log: warnings (including verifier logs of failed loads)
// at warn level, info and debug messages at debug level. Idempotent and thread-safe; replaces any
// callback installed before.
void RouteLibbpfLog();

// Human-readable text for a libbpf error code: a negative (or positive) errno or one of libbpf's
// own LIBBPF_ERRNO__* codes.
std::string LibbpfErrorString(int err);

// Throws "<what>: <LibbpfErrorString(err)>" as PrerequisiteError when err is EPERM (the process
// lacks CAP_BPF/CAP_NET_ADMIN) and as RunError otherwise.
[[noreturn]] void ThrowLibbpfError(const std::string& what, int err);

}  // namespace nfb::bpf
