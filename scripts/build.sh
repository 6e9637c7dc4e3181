#!/usr/bin/env bash
# Installs dependencies (scripts/install-deps.sh) and builds the project into build/ (or
# $NFB_BUILD_DIR). Safe to run repeatedly: both steps do nothing when already up to date.
# The compiler's output goes to <build>/build.log and is shown only when the build fails.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${NFB_BUILD_DIR:-$root/build}

"$root/scripts/install-deps.sh"
mkdir -p "$build"
log=$build/build.log
if ! { [[ -f $build/CMakeCache.txt ]] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo; } >"$log" 2>&1 ||
   ! cmake --build "$build" -j"$(nproc)" >>"$log" 2>&1; then
  cat "$log" >&2
  echo "build failed (log: $log)" >&2
  exit 3
fi
