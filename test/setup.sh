#!/usr/bin/env bash
# Installs everything the test suite talks to: real peers, not mocks.
# Debian 12 (bookworm). Idempotent; safe to run again. Needs root or sudo.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(
  socat             # PTY pairs for serial tests
  python3-pymodbus  # Modbus slave (TCP and RTU) written by someone else
  python3-serial-asyncio  # pymodbus's server imports serial even for TCP (only Recommended)
  libmodbus-dev     # libmodbus unit-test-server, built from its shipped example
  pkg-config gcc    # to build that server
  mbpoll            # Modbus master CLI, checks our endpoints from outside
  chromium          # real browser for the HMI tests (driven by playwright-core)
  udev              # udevadm: serialport's port listing
  tmux              # drives `mgw watch` in a real terminal
  zsh fish          # the shells `mgw completion` writes scripts for
  wrk               # HTTP load generator for the benchmarks
  util-linux        # taskset for the benchmarks
  openssl           # self-signed certificates for the TLS tests
  systemd           # systemd-analyze for the unit file checks
  systemd-container # systemd-nspawn: boots a real systemd for the unit tests
  debootstrap       # builds the minimal Debian trees that nspawn boots or runs (bookworm, trixie)
  qemu-user-static binfmt-support  # runs the arm64 and armhf trees on this x64 machine (runtime.test.ts)
  logrotate         # runs the shipped audit rotation snippet against a real gateway
  mosquitto         # MQTT broker for the northbound tests (started by the tests, not the service)
  mosquitto-clients # mosquitto_sub / mosquitto_pub: the README's checks
  python3-paho-mqtt # MQTT client of the independent Sparkplug host in the tests
  python3-protobuf  # runtime of the decoder protoc generates for that host
  protobuf-compiler # protoc: generates the host's decoder from sparkplug_b.proto at test time
  python3-jinja2    # renders the Home Assistant discovery templates as Home Assistant would
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  as_root apt-get update
  as_root apt-get install -y --no-install-recommends "${missing[@]}"
fi
# The tests start their own brokers on free ports; Debian's service would only hold port 1883.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled mosquitto >/dev/null 2>&1; then
  as_root systemctl disable --now mosquitto >/dev/null 2>&1 || true
fi
echo "test peers installed: ${packages[*]}"

# The Debian trees the system tests boot or run (test/system/nspawn-tree.sh: bookworm for the
# systemd test, trixie, trixie-arm64-nodejs, bookworm-arm64 and bookworm-armhf for the runtime
# checks) take minutes each to build on a
# fresh machine, mostly downloading. Start them now in the background so they overlap `npm ci`
# and the rest of the suite; a test that needs a tree waits for its lock, and builds it itself
# if this failed. Root only (debootstrap); MGW_PREFETCH_TREES=0 turns it off.
if [ "$(id -u)" = 0 ] && [ "${MGW_PREFETCH_TREES:-1}" = 1 ]; then
  cache="${MGW_NSPAWN_CACHE:-/var/cache/machine-gateway-test}"
  mkdir -p "$cache"
  for tree in bookworm trixie "trixie arm64" "bookworm arm64" "bookworm armhf"; do
    # shellcheck disable=SC2086 # "trixie arm64" is two arguments
    setsid bash "$(dirname "$0")/system/nspawn-tree.sh" "$cache" $tree > "$cache/prefetch-${tree/ /-}.log" 2>&1 < /dev/null &
  done
  echo "building the Debian test trees in the background (logs: $cache/prefetch-*.log)"
fi
