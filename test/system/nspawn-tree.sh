#!/usr/bin/env bash
# Builds (once) a minimal Debian tree and prints its path as the only line on stdout; everything
# debootstrap says goes to stderr, so a caller can take stdout as the path on the first run too.
# The tree is cached outside the repository so repeated test runs skip the debootstrap.
#
# Usage: test/system/nspawn-tree.sh [CACHE_DIR] [SUITE] [ARCH]
#   CACHE_DIR  default /var/cache/machine-gateway-test
#   SUITE      bookworm (default; systemd-nspawn boots it) or trixie (a chroot for the runtime check)
#   ARCH       the host's (default), arm64 or armhf: debootstrap's first stage only (--foreign),
#              which unpacks the required packages (libc6, libstdc++6, dash, ...) without
#              configuring them: enough for Node and npm under qemu-user, and minutes faster than
#              a second stage run under emulation (over 20 min on a busy 2-core machine). A
#              trixie tree also gets Debian's nodejs and its libraries, unpacked the same way
#              (dpkg-deb, no maintainer scripts: nodejs has none that matter). binfmt_misc must
#              hand the tree's binaries to qemu (qemu-user-static; see test/setup.sh).
# Trees: CACHE_DIR/bookworm (booted), CACHE_DIR/trixie, CACHE_DIR/trixie-arm64-nodejs,
# CACHE_DIR/bookworm-arm64, CACHE_DIR/bookworm-armhf. (An older CACHE_DIR/trixie-arm64, without
# nodejs, is no longer built.)
set -euo pipefail
cache="${1:-${MGW_NSPAWN_CACHE:-/var/cache/machine-gateway-test}}"
suite="${2:-bookworm}"
host_arch="$(dpkg --print-architecture)"
arch="${3:-$host_arch}"
name="$suite"
[ "$arch" = "$host_arch" ] || name="$suite-$arch"
[ "$arch" = "$host_arch" ] || [ "$suite" != trixie ] || name="$suite-$arch-nodejs"
root="$cache/$name"
mirror="${MGW_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [ -f "$root/.complete" ]; then echo "$root"; exit 0; fi

mkdir -p "$cache"
# A lock per tree, so two test runs never debootstrap into the same directory at once.
exec 9>"$cache/.lock-$name"
flock 9
if [ -f "$root/.complete" ]; then echo "$root"; exit 0; fi
# An interrupted build may have left /proc or /sys mounted in its tree: never rm through them.
for m in $(awk -v t="$root.tmp/" 'index($2, t) == 1 { print $2 }' /proc/mounts | sort -r); do umount -l "$m"; done
rm -rf "$root.tmp"
if [ "$arch" != "$host_arch" ] && [ "$suite" = trixie ]; then
  include=ca-certificates,nodejs # Debian's Node.js and one from npm, under qemu-user
elif [ "$arch" = armhf ]; then
  include=ca-certificates,libatomic1 # Node.js for armv7 links libatomic, which is not required
elif [ "$arch" != "$host_arch" ]; then
  include=ca-certificates # runs a Node.js from npm under qemu-user
elif [ "$suite" = bookworm ]; then
  include=systemd,systemd-sysv,dbus # booted by systemd-nspawn
else
  include=ca-certificates,nodejs # runs Debian's Node.js and one from npm, nothing more
fi
if [ "$arch" = "$host_arch" ]; then
  debootstrap --variant=minbase --include="$include" "$suite" "$root.tmp" "$mirror" >&2
else
  # The second stage runs the tree's own (foreign) binaries: binfmt_misc must hand them to qemu.
  [ -e /proc/sys/fs/binfmt_misc/status ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc >&2
  qemu="qemu-$(case "$arch" in arm64) echo aarch64 ;; armhf) echo arm ;; *) echo "$arch" ;; esac)"
  [ -e "/proc/sys/fs/binfmt_misc/$qemu" ] || update-binfmts --enable "$qemu" >&2
  debootstrap --arch="$arch" --foreign --variant=minbase --include="$include" "$suite" "$root.tmp" "$mirror" >&2
  # The first stage links proc to the host's /proc for its own use; nspawn mounts a fresh one.
  if [ -L "$root.tmp/proc" ]; then rm "$root.tmp/proc" && install -d -m 0555 "$root.tmp/proc"; fi
  # Without the second stage these files are not made; npm needs a resolver and a home.
  cp /etc/resolv.conf "$root.tmp/etc/resolv.conf"
  [ -f "$root.tmp/etc/passwd" ] || printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root.tmp/etc/passwd"
  [ -f "$root.tmp/etc/group" ] || printf 'root:x:0:\n' > "$root.tmp/etc/group"
  install -d -m 0700 "$root.tmp/root"
  # The first stage unpacked only the required packages; the rest of --include (nodejs and its
  # libraries) lies downloaded beside them. Unpack those too, keeping what is there and the
  # merged-/usr links (/lib -> usr/lib).
  for deb in "$root.tmp/var/cache/apt/archives/"*.deb; do
    dpkg-deb --fsys-tarfile "$deb" | tar -C "$root.tmp" --skip-old-files --keep-directory-symlink -xf -
  done
fi
if [ "$suite" = bookworm ] && [ "$arch" = "$host_arch" ]; then
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
