#!/usr/bin/env bash
# Builds (once) a minimal Debian bookworm tree that systemd-nspawn can boot, and prints its path.
# The tree is cached outside the repository so repeated test runs skip the ~2 min debootstrap.
# Usage: test/system/nspawn-tree.sh [CACHE_DIR]   (default /var/cache/machine-gateway-test)
set -euo pipefail
cache="${1:-${MGW_NSPAWN_CACHE:-/var/cache/machine-gateway-test}}"
root="$cache/bookworm"
mirror="${MGW_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [ -f "$root/.complete" ]; then echo "$root"; exit 0; fi

mkdir -p "$cache"
# A lock, so two test runs never debootstrap into the same directory at once.
exec 9>"$cache/.lock"
flock 9
if [ -f "$root/.complete" ]; then echo "$root"; exit 0; fi
rm -rf "$root.tmp"
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus bookworm "$root.tmp" "$mirror" >&2
# No login prompt on the console: the test drives the container with nsenter, and a getty
# would only add noise to the boot log.
rm -f "$root.tmp/etc/systemd/system/getty.target.wants/"* 2>/dev/null || true
echo machine-gateway-test > "$root.tmp/etc/hostname"
touch "$root.tmp/.complete"
rm -rf "$root"
mv "$root.tmp" "$root"
echo "$root"
