#!/usr/bin/env bash
# Fuzzes bpfd's request path (the protocol decoder and OffloadService::HandleRequest with the
# in-memory backend) with libFuzzer under AddressSanitizer and UBSan, for a bounded time.
#
#   scripts/fuzz.sh [SECONDS]     default 60; CI runs `scripts/fuzz.sh 30`
#
# Configures a clang build in build-fuzz/ (or $NFB_FUZZ_BUILD_DIR) with -DNFB_FUZZ=ON, builds
# only the fuzzer and its corpus generator, writes the seed corpus, and runs the fuzzer with
# -max_len set from the protocol's frame limit. New inputs collect in <build>/fuzz-corpus (kept
# between runs), crashes in <build>/fuzz-artifacts/. Exits non-zero when the fuzzer finds a crash,
# a leak, undefined behaviour or a broken invariant (offload/fuzz/src/request_fuzz.cc), 3 when
# clang or its libFuzzer runtime (Debian: libclang-rt-14-dev) is missing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-60}
build=${NFB_FUZZ_BUILD_DIR:-$root/build-fuzz}

if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "usage: scripts/fuzz.sh [SECONDS]" >&2
  exit 2
fi
cc=$(command -v clang || true)
cxx=$(command -v clang++ || true)
if [[ -z $cc || -z $cxx ]]; then
  echo "fuzz: clang and clang++ are needed (Debian: clang)" >&2
  exit 3
fi
runtime=$("$cxx" -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null || true)
if [[ ! -f $runtime ]]; then
  runtime=$(find "$("$cxx" -print-resource-dir)" -name 'libclang_rt.fuzzer*.a' 2>/dev/null | head -1)
fi
if [[ -z $runtime ]]; then
  echo "fuzz: clang's libFuzzer runtime is missing (Debian: apt-get install libclang-rt-14-dev)" >&2
  exit 3
fi

# UBSan stays recoverable so its suppression list works; halt_on_error below makes every
# unsuppressed finding fatal all the same.
sanitize="-fsanitize=fuzzer-no-link,address,undefined"
mkdir -p "$build"
log=$build/fuzz-build.log
start=$(date +%s)
if ! {
  cmake -S "$root" -B "$build" -DNFB_FUZZ=ON -DBUILD_TESTING=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_C_FLAGS="$sanitize" -DCMAKE_CXX_FLAGS="$sanitize" &&
    cmake --build "$build" -j"$(nproc)" --target xenbpf_request_fuzzer xenbpf_fuzz_corpus
} >"$log" 2>&1; then
  cat "$log" >&2
  echo "fuzz: build failed (log: $log)" >&2
  exit 3
fi
built=$(date +%s)
echo "fuzz: built in $((built - start)) s ($build)" >&2

fuzzer=$build/offload/fuzz/xenbpf_request_fuzzer
seeds=$build/fuzz-seeds
corpus=$build/fuzz-corpus
artifacts=$build/fuzz-artifacts
mkdir -p "$seeds" "$corpus" "$artifacts"
"$build/offload/fuzz/xenbpf_fuzz_corpus" "$seeds"
max_len=$("$build/offload/fuzz/xenbpf_fuzz_corpus" --max-len)

# halt_on_error makes UBSan findings crashes (offload/fuzz/ubsan.supp lists known, reported bugs);
# libFuzzer checks for leaks after inputs that allocate.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:suppressions=$root/offload/fuzz/ubsan.supp}
status=0
"$fuzzer" "$corpus" "$seeds" \
  -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
  -dict="$root/offload/fuzz/request.dict" -artifact_prefix="$artifacts/" \
  -print_final_stats=1 -print_pcs=0 || status=$?
echo "fuzz: ran ${seconds} s after a $((built - start)) s build; corpus $(ls "$corpus" | wc -l) inputs" >&2
if ((status != 0)); then
  echo "fuzz: FAILED (exit $status); reproduce with: $fuzzer $artifacts/<crash-file>" >&2
fi
exit "$status"
