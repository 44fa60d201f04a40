#!/usr/bin/env bash
# Installs machine-gateway as a systemd service from a source checkout.
#
#   sudo systemd/install.sh              build, install to /opt/machine-gateway, enable and start
#   sudo systemd/install.sh --no-start   same, but leave starting to you (or the next boot)
#   sudo systemd/install.sh --root DIR   install into an OS tree at DIR (an image, a container);
#                                        nothing is started, the unit is enabled inside DIR
#
# The build needs the dev dependencies (TypeScript), the installed copy does not: we build in the
# checkout (npm ci + npm run build), then copy dist/ and the lock file to /opt/machine-gateway
# and run `npm ci --omit=dev` there. Node.js 20 must be installed as /usr/bin/node (the unit
# runs that; on Raspberry Pi OS bookworm: the NodeSource or Debian package, arm64 or armhf).
set -euo pipefail

ROOT=""
START=1
SKIP_BUILD=0
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
    --no-start) START=0; shift ;;
    --skip-build) SKIP_BUILD=1; shift ;; # dist/ is already built (CI artefact, test runs)
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done
[ -n "$ROOT" ] && START=0

SRC="$(cd "$(dirname "$0")/.." && pwd)"
PREFIX=/opt/machine-gateway
USER_NAME=machine-gateway
die() { echo "install.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (sudo): it creates a system user and writes to /opt, /etc and /etc/systemd"
command -v npm >/dev/null || die "npm is not installed (it comes with Node.js 20)"
if [ -z "$ROOT" ]; then
  [ -x /usr/bin/node ] || die "/usr/bin/node is missing: install Node.js 20 first (the unit runs /usr/bin/node)"
  major="$(/usr/bin/node -p 'process.versions.node.split(".")[0]')"
  [ "$major" = 20 ] || die "/usr/bin/node is Node.js $major; machine-gateway needs Node.js 20 (uWebSockets.js binaries)"
else
  [ -x "$ROOT/usr/bin/node" ] || die "$ROOT/usr/bin/node is missing: put a Node.js 20 binary there first"
fi

# 1. Build in the checkout, with dev dependencies.
if [ "$SKIP_BUILD" = 0 ]; then
  echo "building in $SRC"
  (cd "$SRC" && npm ci --no-audit --no-fund && npm run build)
fi
[ -f "$SRC/dist/src/cli/main.js" ] || die "$SRC/dist is not built (run npm ci && npm run build, or drop --skip-build)"

# 2. The dedicated user, in dialout for the serial ports.
if [ -n "$ROOT" ]; then
  chroot_user() { useradd --root "$ROOT" "$@"; }
  has_user() { grep -q "^$USER_NAME:" "$ROOT/etc/passwd"; }
else
  chroot_user() { useradd "$@"; }
  has_user() { id "$USER_NAME" >/dev/null 2>&1; }
fi
if ! has_user; then
  chroot_user --system --user-group --groups dialout --home-dir /var/lib/machine-gateway --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
  echo "created system user $USER_NAME (groups: dialout)"
fi

# 3. The program: dist/ and runtime dependencies only, owned by root (the service cannot change it).
dest="$ROOT$PREFIX"
install -d -m 0755 "$dest"
rm -rf "$dest/dist.new"
cp -a "$SRC/dist" "$dest/dist.new"
rm -rf "$dest/dist" && mv "$dest/dist.new" "$dest/dist"
install -m 0644 "$SRC/package.json" "$SRC/package-lock.json" "$dest/"
[ -f "$SRC/README.md" ] && install -m 0644 "$SRC/README.md" "$dest/"
install -d -m 0755 "$dest/config"
cp -a "$SRC/config/." "$dest/config/"
# The HMI page: its HTML and CSS are served from src/hmi, its scripts from dist/hmi.
rm -rf "$dest/src" && install -d -m 0755 "$dest/src"
cp -a "$SRC/src/hmi" "$dest/src/hmi"
# The lock file pins every runtime dependency; a re-install with an unchanged lock keeps node_modules.
if ! cmp -s "$SRC/package-lock.json" "$dest/node_modules/.installed-lock" 2>/dev/null; then
  echo "installing runtime dependencies in $dest (npm ci --omit=dev)"
  (cd "$dest" && npm ci --omit=dev --no-audit --no-fund)
  cp "$SRC/package-lock.json" "$dest/node_modules/.installed-lock"
fi
chown -R root:root "$dest"

# 4. Configuration: the example on first install only; an existing file is never overwritten.
install -d -m 0750 -o root -g "$(grep "^$USER_NAME:" "$ROOT/etc/group" | cut -d: -f3)" "$ROOT/etc/machine-gateway"
if [ ! -f "$ROOT/etc/machine-gateway/gateway.yaml" ]; then
  install -m 0640 -o root -g "$(grep "^$USER_NAME:" "$ROOT/etc/group" | cut -d: -f3)" "$SRC/config/gateway.yaml" "$ROOT/etc/machine-gateway/gateway.yaml"
  echo "installed the default configuration: $ROOT/etc/machine-gateway/gateway.yaml (simulator devices; edit it)"
fi

# 5. Serial drivers at boot: the unit's DeviceAllow=char-ttyUSB/char-ttyACM match only majors
#    registered when it starts, so an adapter plugged in later must find them registered already.
install -d -m 0755 "$ROOT/etc/modules-load.d"
printf '# machine-gateway: register the ttyUSB and ttyACM majors before the service starts\nusbserial\ncdc_acm\n' > "$ROOT/etc/modules-load.d/machine-gateway.conf"

# 6. The unit, and a `mgw` command for technicians.
install -m 0644 "$SRC/systemd/machine-gateway.service" "$ROOT/etc/systemd/system/machine-gateway.service"
install -d -m 0755 "$ROOT/usr/local/bin"
printf '#!/bin/sh\nexec /usr/bin/node %s/dist/src/cli/main.js "$@"\n' "$PREFIX" > "$ROOT/usr/local/bin/mgw"
chmod 0755 "$ROOT/usr/local/bin/mgw"

# 7. Audit trail rotation (logrotate): the gateway only appends, so without this an SD card fills.
install -d -m 0755 "$ROOT/etc/logrotate.d"
install -m 0644 "$SRC/systemd/machine-gateway.logrotate" "$ROOT/etc/logrotate.d/machine-gateway"

if [ -n "$ROOT" ]; then
  systemctl --root="$ROOT" enable machine-gateway.service
else
  systemctl daemon-reload
  systemctl enable machine-gateway.service
  if [ "$START" = 1 ]; then
    systemctl restart machine-gateway.service
    systemctl --no-pager status machine-gateway.service | head -5
  fi
fi
echo "machine-gateway installed in $dest"
