#!/usr/bin/env bash
# Installs the Debian packages nfbench needs to build, test and run. Idempotent: packages already
# present are not touched, and `apt-get update` runs only when something is missing.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config clang llvm git
  libbpf-dev bpftool linux-libc-dev libyaml-cpp-dev libpcap-dev libcli11-dev nlohmann-json3-dev
  libfmt-dev libssl-dev libgtest-dev libgmock-dev libbenchmark-dev
  # the offload system: vchan transport (libxenvchan), the libFuzzer build (clang's runtime)
  libxen-dev libclang-rt-14-dev
  # run: platform, workloads, capture, context
  iproute2 iputils-ping ethtool procps kmod tcpdump
  # iptables configurations of the flood experiments (Debian 12: the nf_tables variant)
  iptables
  # the flood experiments: the valid flow, and the attack where the kernel has no pktgen
  iperf3 netsniff-ng
  # the co-tenant CPU benchmark when no UnixBench is installed (sysbench is the default)
  sysbench stress-ng
  # plots (Debian's python3, not a pip environment)
  python3 python3-matplotlib python3-numpy python3-scipy
)

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: must run as root (installs Debian packages)" >&2
  exit 3
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
