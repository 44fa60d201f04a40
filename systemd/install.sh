#!/usr/bin/env bash
# Installs machine-gateway as a systemd service from a source checkout, and upgrades, rolls back
# and removes it.
#
#   sudo systemd/install.sh              build, install as a new release, switch to it, restart
#   sudo systemd/install.sh --no-start   same, but leave (re)starting to you (or the next boot)
#   sudo systemd/install.sh --rollback   switch back to the release before the current one, restart
#   sudo systemd/install.sh --ports      rewrite the serial-port allow list from the config, restart
#   sudo systemd/install.sh --uninstall  remove the service and /opt/machine-gateway; keep the
#                                        config (/etc/machine-gateway), the state
#                                        (/var/lib/machine-gateway) and the user
#   sudo systemd/install.sh --uninstall --purge   remove those too
#   --root DIR                           act on an OS tree at DIR (an image, a container); nothing
#                                        is started there
#
# Layout: each version lives in /opt/machine-gateway/releases/<version>-<build id> with its own
# runtime dependencies (npm ci --omit=dev, owned by root); /opt/machine-gateway/current points
# at the one the unit runs and `previous` at the one before. The link is switched atomically
# (rename) only after the new release installed and passed a config check, so a failed upgrade
# leaves the running service and its files untouched; the running process keeps its own release
# directory until it restarts. The build needs the dev dependencies (TypeScript) and runs in the
# checkout (npm ci + npm run build). A supported Node.js must be /usr/bin/node (README
# "Supported platforms"): the new release refuses to install when its uWS build cannot load.
set -euo pipefail

ROOT=""
START=1
SKIP_BUILD=0
ACTION=install
PURGE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
    --no-start) START=0; shift ;;
    --skip-build) SKIP_BUILD=1; shift ;; # dist/ is already built (CI artefact, test runs)
    --rollback) ACTION=rollback; shift ;;
    --ports) ACTION=ports; shift ;;
    --uninstall) ACTION=uninstall; shift ;;
    --purge) PURGE=1; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done
[ -n "$ROOT" ] && START=0
[ "$PURGE" = 0 ] || [ "$ACTION" = uninstall ] || { echo "install.sh: --purge goes with --uninstall" >&2; exit 64; }

SRC="$(cd "$(dirname "$0")/.." && pwd)"
PREFIX=/opt/machine-gateway
USER_NAME=machine-gateway
CONFIG=/etc/machine-gateway/gateway.yaml
UNIT=machine-gateway.service
DROPIN_DIR=/etc/systemd/system/$UNIT.d
# What the package puts outside PREFIX, /etc/machine-gateway and /var/lib/machine-gateway:
# --uninstall removes exactly these (add a new system file here too).
SYSTEM_FILES=(
  /etc/systemd/system/$UNIT
  "$DROPIN_DIR/ports.conf"
  /etc/modules-load.d/machine-gateway.conf
  /usr/local/bin/mgw
  /etc/logrotate.d/machine-gateway
)
die() { echo "install.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (sudo): it creates a system user and writes to /opt, /etc and /etc/systemd"
dest="$ROOT$PREFIX"

# Runs a command as the target system would: inside --root's tree (same architecture) or here.
in_target() { if [ -n "$ROOT" ]; then chroot "$ROOT" "$@"; else "$@"; fi; }
systemctl_target() { if [ -n "$ROOT" ]; then systemctl --root="$ROOT" "$@"; else systemctl "$@"; fi; }
restart_service() {
  [ -z "$ROOT" ] || return 0
  systemctl daemon-reload
  if [ "$START" = 1 ]; then
    systemctl restart "$UNIT"
    systemctl --no-pager status "$UNIT" | head -5
  fi
}
# Points `current` at releases/$1 (and `previous` at what current was) with a rename each.
switch_to() {
  local old
  old="$(readlink "$dest/current" 2>/dev/null || true)"
  if [ -n "$old" ] && [ "$old" != "releases/$1" ]; then
    ln -sfn "$old" "$dest/previous.new" && mv -T "$dest/previous.new" "$dest/previous"
  fi
  ln -sfn "releases/$1" "$dest/current.new" && mv -T "$dest/current.new" "$dest/current"
  echo "current release: $1${old:+ (was ${old#releases/})}"
}
# The serial ports the config names, as a DeviceAllow drop-in (see src/platform/device-allow.ts).
write_port_rules() {
  [ -f "$ROOT$CONFIG" ] || return 0
  install -d -m 0755 "$ROOT$DROPIN_DIR"
  in_target /usr/bin/node "$PREFIX/current/dist/src/platform/device-allow.js" "$CONFIG" > "$ROOT$DROPIN_DIR/ports.conf.new" \
    || die "cannot list the serial ports of $ROOT$CONFIG (see above)"
  mv "$ROOT$DROPIN_DIR/ports.conf.new" "$ROOT$DROPIN_DIR/ports.conf"
}

case "$ACTION" in
  rollback)
    prev="$(readlink "$dest/previous" 2>/dev/null || true)"
    [ -n "$prev" ] && [ -d "$dest/$prev" ] || die "no previous release to roll back to in $dest"
    switch_to "${prev#releases/}"
    write_port_rules
    restart_service
    exit 0
    ;;
  ports)
    [ -e "$dest/current" ] || die "machine-gateway is not installed in $dest"
    write_port_rules
    echo "serial ports allowed: $(grep -c '^DeviceAllow=' "$ROOT$DROPIN_DIR/ports.conf" 2>/dev/null || echo 0) (from $ROOT$CONFIG)"
    restart_service
    exit 0
    ;;
  uninstall)
    if [ -n "$ROOT" ]; then
      systemctl --root="$ROOT" disable "$UNIT" 2>/dev/null || true
    elif systemctl cat "$UNIT" >/dev/null 2>&1; then
      systemctl disable --now "$UNIT" || true
    fi
    for f in "${SYSTEM_FILES[@]}"; do rm -f "$ROOT$f"; done
    rmdir "$ROOT$DROPIN_DIR" 2>/dev/null || true
    rm -rf "$dest"
    if [ "$PURGE" = 1 ]; then
      rm -rf "$ROOT/etc/machine-gateway" "$ROOT/var/lib/machine-gateway"
      if grep -q "^$USER_NAME:" "$ROOT/etc/passwd"; then userdel ${ROOT:+--root "$ROOT"} "$USER_NAME"; fi
      echo "machine-gateway removed, with its configuration, state and user"
    else
      echo "machine-gateway removed; kept $ROOT/etc/machine-gateway, $ROOT/var/lib/machine-gateway and user $USER_NAME (--uninstall --purge removes them)"
    fi
    [ -n "$ROOT" ] || systemctl daemon-reload
    exit 0
    ;;
esac

command -v npm >/dev/null || die "npm is not installed (it comes with Node.js)"
[ -x "$ROOT/usr/bin/node" ] || die "$ROOT/usr/bin/node is missing: install a supported Node.js first (README \"Supported platforms\"; the unit runs /usr/bin/node)"

# 1. Build in the checkout, with dev dependencies, as the checkout's owner: a build as root
#    would leave root-owned node_modules and dist in someone's working copy.
if [ "$SKIP_BUILD" = 0 ]; then
  owner="$(stat -c %U "$SRC")"
  echo "building in $SRC (as $owner)"
  build='npm ci --no-audit --no-fund && npm run build'
  if [ "$owner" = root ]; then
    (cd "$SRC" && sh -c "$build")
  else
    (cd "$SRC" && runuser -u "$owner" -- env HOME="$(getent passwd "$owner" | cut -d: -f6)" sh -c "$build")
  fi
fi
[ -f "$SRC/dist/src/cli/main.js" ] || die "$SRC/dist is not built (run npm ci && npm run build, or drop --skip-build)"

# 2. The dedicated user, in dialout for the serial ports.
if ! grep -q "^$USER_NAME:" "$ROOT/etc/passwd"; then
  useradd ${ROOT:+--root "$ROOT"} --system --user-group --groups dialout --home-dir /var/lib/machine-gateway --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
  echo "created system user $USER_NAME (groups: dialout)"
fi
gid="$(grep "^$USER_NAME:" "$ROOT/etc/group" | cut -d: -f3)"

# 3. The release: dist/, the HMI page's sources, config examples, and runtime dependencies only,
#    owned by root (the service cannot change it). Its name is the version and a hash of what
#    it runs, so reinstalling the same build reuses it and a rebuild gets a new one.
version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$SRC/package.json")"
build_id="$(cd "$SRC" && { find dist src/hmi src/northbound/sparkplug_b.proto -type f -print0 | sort -z | xargs -0 sha256sum; sha256sum package-lock.json; } | sha256sum | cut -c1-8)"
release="$version-$build_id"
rel="$dest/releases/$release"
install -d -m 0755 "$dest" "$dest/releases"
if [ ! -f "$rel/.complete" ]; then
  rm -rf "$rel.new" && install -d -m 0755 "$rel.new" "$rel.new/src"
  cp -a "$SRC/dist" "$rel.new/dist"
  cp -a "$SRC/src/hmi" "$rel.new/src/hmi" # the HMI's HTML and CSS; its scripts are in dist/hmi
  # The Sparkplug B schema, read by protobufjs at run time (northbound MQTT).
  install -d -m 0755 "$rel.new/src/northbound"
  install -m 0644 "$SRC/src/northbound/sparkplug_b.proto" "$rel.new/src/northbound/"
  install -m 0644 "$SRC/package.json" "$SRC/package-lock.json" "$rel.new/"
  [ -f "$SRC/README.md" ] && install -m 0644 "$SRC/README.md" "$rel.new/"
  cp -a "$SRC/config" "$rel.new/config"
  # The same lock as the running release: its node_modules, hard-linked (nothing writes to them).
  cur="$dest/current"
  if [ -d "$cur/node_modules" ] && cmp -s "$SRC/package-lock.json" "$cur/package-lock.json"; then
    cp -al "$(readlink -f "$cur")/node_modules" "$rel.new/node_modules"
  else
    echo "installing runtime dependencies in $rel (npm ci --omit=dev)"
    (cd "$rel.new" && npm ci --omit=dev --no-audit --no-fund)
  fi
  chown -R root:root "$rel.new"
  touch "$rel.new/.complete"
  rm -rf "$rel" && mv "$rel.new" "$rel"
fi

# 4. Configuration: the example on first install only; an existing file is never overwritten.
install -d -m 0750 -o root -g "$gid" "$ROOT/etc/machine-gateway"
if [ ! -f "$ROOT$CONFIG" ]; then
  install -m 0640 -o root -g "$gid" "$SRC/config/gateway.yaml" "$ROOT$CONFIG"
  echo "installed the default configuration: $ROOT$CONFIG (simulator devices; edit it)"
fi

# 5. Check the new release on this system before switching to it: its uWS build loads with this
#    Node.js and glibc, and it accepts the configuration.
in_target /usr/bin/node --input-type=module -e "await import('$PREFIX/releases/$release/dist/src/server/uws.js').then((m) => m.uws())" \
  || die "release $release cannot run on this system (above); still on $(readlink "$dest/current" 2>/dev/null || echo 'nothing')"
in_target /usr/bin/node "$PREFIX/releases/$release/dist/src/cli/main.js" config check "$CONFIG" >/dev/null \
  || die "release $release refuses $ROOT$CONFIG (above); fix it or roll the config back, then run install.sh again"

# 6. Switch, then the files outside the release that point into `current`.
switch_to "$release"
# An install from before releases/ existed: its files are superseded by the release.
rm -rf "$dest/dist" "$dest/node_modules" "$dest/src" "$dest/config" "$dest/package.json" "$dest/package-lock.json" "$dest/README.md"

# 7. Serial drivers at boot: the unit's DeviceAllow=char-ttyUSB/char-ttyACM match only majors
#    registered when it starts, so an adapter plugged in later must find them registered already.
install -d -m 0755 "$ROOT/etc/modules-load.d"
printf '# machine-gateway: register the ttyUSB and ttyACM majors before the service starts\nusbserial\ncdc_acm\n' > "$ROOT/etc/modules-load.d/machine-gateway.conf"

# 8. The unit, the ports its config names, and a `mgw` command for technicians.
install -m 0644 "$SRC/systemd/$UNIT" "$ROOT/etc/systemd/system/$UNIT"
write_port_rules
install -d -m 0755 "$ROOT/usr/local/bin"
printf '#!/bin/sh\nexec /usr/bin/node %s/current/dist/src/cli/main.js "$@"\n' "$PREFIX" > "$ROOT/usr/local/bin/mgw"
chmod 0755 "$ROOT/usr/local/bin/mgw"

# 9. Audit trail rotation (logrotate): the gateway only appends, so without this an SD card fills.
install -d -m 0755 "$ROOT/etc/logrotate.d"
install -m 0644 "$SRC/systemd/machine-gateway.logrotate" "$ROOT/etc/logrotate.d/machine-gateway"

# 10. Enable, restart onto the new release, and keep two releases besides it for --rollback.
systemctl_target enable "$UNIT"
restart_service
keep=("$(readlink "$dest/current")" "$(readlink "$dest/previous" 2>/dev/null || true)")
for old in $(ls -1t "$dest/releases" | grep -v '\.new$' | tail -n +4); do
  case " ${keep[*]} " in *" releases/$old "*) continue ;; esac
  rm -rf "${dest:?}/releases/$old"
done
echo "machine-gateway $release installed in $dest"
