#!/usr/bin/env bash
# Stage 1 of xen_setup/lab/build: the dom0 root filesystem (Debian 12 minbase + dom0-packages.txt)
# as a directory tree. usage: rootfs.sh <new directory> [mirror]
# Runs debootstrap and apt inside a chroot with /proc, /sys and /dev mounted; those mounts are
# always removed before the script exits (also on error), so the tree can be deleted safely.
set -euo pipefail
dest=$1
mirror=${2:-http://deb.debian.org/debian}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
suite=bookworm

mapfile -t packages < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/dom0-packages.txt")

[[ ! -e $dest ]] || { echo "rootfs.sh: $dest exists" >&2; exit 2; }
mkdir -p "$dest"

mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -l "${mounted[i]}" 2>/dev/null || true
  done
}
trap cleanup EXIT
bind() { mount "$@"; mounted+=("${*: -1}"); }

echo "rootfs: debootstrap $suite from $mirror" >&2
debootstrap --variant=minbase "$suite" "$dest" "$mirror" >&2

cat >"$dest/etc/apt/sources.list" <<EOS
deb $mirror $suite main
deb $mirror $suite-updates main
deb http://deb.debian.org/debian-security $suite-security main
EOS
# No daemon may start inside the chroot while packages are configured.
printf '#!/bin/sh\nexit 101\n' >"$dest/usr/sbin/policy-rc.d"
chmod +x "$dest/usr/sbin/policy-rc.d"

bind -t proc proc "$dest/proc"
bind -t sysfs sys "$dest/sys"
bind --bind /dev "$dest/dev"

# The lab boots dom0 with its own small initramfs (build): skip Debian's, which the kernel's
# postinst and initramfs-tools' trigger would each generate (~1 min of gzip under load).
chroot "$dest" dpkg-divert --local --rename --add /usr/sbin/update-initramfs >&2
ln -s /bin/true "$dest/usr/sbin/update-initramfs"

echo "rootfs: apt-get install ${#packages[@]} packages" >&2
chroot "$dest" apt-get update -qq >&2
chroot "$dest" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "${packages[@]}" >&2
chroot "$dest" apt-get clean
cleanup
mounted=()
rm -f "$dest/usr/sbin/policy-rc.d" "$dest/usr/sbin/update-initramfs"
chroot "$dest" dpkg-divert --local --rename --remove /usr/sbin/update-initramfs >&2
rm -rf "$dest/var/lib/apt/lists/"*
# What was installed, for build.json and for debugging version questions.
chroot "$dest" dpkg-query -W -f='${Package} ${Version}\n' >"$dest/.nfblab-packages"
