#!/usr/bin/env bash
# Fails when a run or a test left nfbench objects on the host: network namespaces, cgroups, run
# directories, pinned BPF objects or loaded nfbench BPF programs; prints one "left behind: ..."
# line each on stderr. Used after the test suite and by the integration tests.
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
# Programs only nfbench loads: a process of ours that outlived its run still holds them.
if command -v bpftool >/dev/null 2>&1; then
  while read -r prog; do left+=("BPF program $prog"); done < <(
    bpftool prog show 2>/dev/null | grep -oE 'name (icmp_echo_tc|icmp_echo_xdp|dispatcher_tc)\b' |
      awk '{print $2}')
fi
if ((${#left[@]})); then
  printf 'left behind: %s\n' "${left[@]}" >&2
  exit 1
fi
echo "host is clean: no nfbench namespaces, cgroups, run directories or pins left" >&2
