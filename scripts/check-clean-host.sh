#!/usr/bin/env bash
# Fails when a run or a test left nfbench objects on the host: network namespaces, cgroups, run
# directories or pinned BPF objects. Used after the test suite.
set -uo pipefail
left=()
while read -r ns _; do
  [[ $ns == nfb* ]] && left+=("network namespace $ns")
done < <(ip netns list 2>/dev/null)
for d in /sys/fs/cgroup/nfbench /sys/fs/cgroup/*/nfbench; do
  [[ -d $d ]] || continue
  while read -r sub; do left+=("cgroup $sub"); done < <(find "$d" -mindepth 1 -maxdepth 1 -type d)
done
if [[ -d /run/nfbench ]]; then
  while read -r run; do left+=("run directory $run"); done < <(find /run/nfbench -mindepth 1 -maxdepth 1)
fi
for pin in /sys/fs/bpf/nfb* /run/nfbench-bpf*; do
  [[ -e $pin ]] && left+=("pinned BPF object $pin")
done
if ((${#left[@]})); then
  printf 'left behind: %s\n' "${left[@]}" >&2
  exit 1
fi
echo "host is clean: no nfbench namespaces, cgroups, run directories or pins left" >&2
