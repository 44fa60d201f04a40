#!/usr/bin/env bash
# Builds (once) a minimal Debian tree and prints its path as the only line on stdout; everything
# debootstrap says goes to stderr, so a caller can take stdout as the path on the first run too.
# The tree is cached outside the repository so repeated test runs skip the debootstrap.
#
# Usage: test/system/nspawn-tree.sh [CACHE_DIR] [SUITE] [ARCH]
#   CACHE_DIR  default /var/cache/machine-gateway-test
#   SUITE      bookworm (default; systemd-nspawn boots it) or trixie (a chroot for the runtime check)
#   ARCH       the host's (default) or arm64: built with --foreign and finished under qemu-user
#              (qemu-user-static registers itself with binfmt_misc; see test/setup.sh)
# Trees: CACHE_DIR/bookworm, CACHE_DIR/trixie, CACHE_DIR/trixie-arm64.
set -euo pipefail
cache="${1:-${MGW_NSPAWN_CACHE:-/var/cache/machine-gateway-test}}"
suite="${2:-bookworm}"
host_arch="$(dpkg --print-architecture)"
arch="${3:-$host_arch}"
name="$suite"
[ "$arch" = "$host_arch" ] || name="$suite-$arch"
root="$cache/$name"
mirror="${MGW_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [ -f "$root/.complete" ]; then echo "$root"; exit 0; fi

mkdir -p "$cache"
# A lock per tree, so two test runs never debootstrap into the same directory at once.
exec 9>"$cache/.lock-$name"
flock 9
if [ -f "$root/.complete" ]; then echo "$root"; exit 0; fi
rm -rf "$root.tmp"
if [ "$suite" = bookworm ]; then
  include=systemd,systemd-sysv,dbus # booted by systemd-nspawn
elif [ "$arch" = "$host_arch" ]; then
  include=ca-certificates,nodejs # runs Debian's Node.js and one from npm, nothing more
else
  include=ca-certificates # runs a Node.js from npm under qemu-user
fi
if [ "$arch" = "$host_arch" ]; then
  debootstrap --variant=minbase --include="$include" "$suite" "$root.tmp" "$mirror" >&2
else
  # The second stage runs the tree's own (foreign) binaries: binfmt_misc must hand them to qemu.
  [ -e /proc/sys/fs/binfmt_misc/status ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc >&2
  qemu="qemu-$(case "$arch" in arm64) echo aarch64 ;; armhf) echo arm ;; *) echo "$arch" ;; esac)"
  [ -e "/proc/sys/fs/binfmt_misc/$qemu" ] || update-binfmts --enable "$qemu" >&2
  debootstrap --arch="$arch" --foreign --variant=minbase --include="$include" "$suite" "$root.tmp" "$mirror" >&2
  chroot "$root.tmp" /debootstrap/debootstrap --second-stage >&2
fi
if [ "$suite" = bookworm ]; then
  # No login prompt on the console: the test drives the container with nsenter, and a getty
  # would only add noise to the boot log.
  rm -f "$root.tmp/etc/systemd/system/getty.target.wants/"* 2>/dev/null || true
fi
echo machine-gateway-test > "$root.tmp/etc/hostname"
rm -rf "$root.tmp/var/cache/apt/archives/"*.deb
touch "$root.tmp/.complete"
rm -rf "$root"
mv "$root.tmp" "$root"
echo "$root"
