#!/usr/bin/env bash
# Installs dependencies (scripts/install-deps.sh) and builds the project into build/ (or
# $NFB_BUILD_DIR). Safe to run repeatedly: both steps do nothing when already up to date.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${NFB_BUILD_DIR:-$root/build}

"$root/scripts/install-deps.sh"
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"$(nproc)" >&2
