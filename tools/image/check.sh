#!/usr/bin/env bash
# Builds kubesub's container image from the Dockerfile and checks it as deploy/ runs it, on a
# machine with no Docker daemon and no reachable container registry (npm run image:check):
#
#   1. installs podman, buildah, runc and mmdebstrap with apt-get when missing (needs root);
#   2. makes a stand-in for the base image node:24-bookworm-slim (tools/image/stand-in-base.sh),
#      cached in ~/.cache/kubesub/image/;
#   3. builds the Dockerfile unchanged (buildah bud --pull=never, layers cached), tagged
#      kubesub:<version>; the host's CA bundle is mounted read-only into the build's RUN steps only,
#      for `npm ci` behind a TLS-intercepting proxy, and none of it reaches the image;
#   4. runs and checks it (tools/image/run-check.ts): non-root, read-only root filesystem,
#      probes, a subscription, SIGTERM;
#   5. prints the timings and the image's size. The check's container is always removed; the
#      stand-in base, the build cache and the image stay for the next run.
#
# It proves the Dockerfile's steps and the image's runtime behaviour, not the upstream base image.
set -euo pipefail
cd "$(dirname "$0")/../.."
source .ci/node-env.sh

started=$(date +%s)
phase_started=$started
timings=()
phase_done() { # name
  local now
  now=$(date +%s)
  timings+=("$1 $((now - phase_started)) s")
  phase_started=$now
}
log() { printf 'image: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

missing=()
for tool in podman buildah runc mmdebstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${missing[*]}; install them (apt-get install podman buildah runc mmdebstrap) or run as root"
  log "installing ${missing[*]} (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends \
    podman buildah runc mmdebstrap >/dev/null
fi
[ -d node_modules/@kubernetes/client-node ] || die "node_modules is missing: run npm ci first"
source tools/image/container-flags.sh
phase_done tools

bash tools/image/stand-in-base.sh || die "could not make the stand-in base image (see above)"
phase_done "stand-in base"

version="$(node -p 'require("./package.json").version')"
image="localhost/kubesub:$version"
previous="$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
build_dir="$(mktemp -d)"
trap 'rm -rf "$build_dir"' EXIT
# The build's `npm ci` uses this machine's registry, and its CA bundle when there is one.
printf 'registry=%s\nupdate-notifier=false\n' "$(npm config get registry)" >"$build_dir/npmrc"
build_mounts=(--volume "$build_dir/npmrc:/root/.npmrc:ro")
ca_bundle=/etc/ssl/certs/ca-certificates.crt
if [ -f "$ca_bundle" ]; then
  printf 'cafile=/run/kubesub-build/ca.crt\n' >>"$build_dir/npmrc"
  build_mounts+=(--volume "$ca_bundle:/run/kubesub-build/ca.crt:ro")
fi
log "building $image from the Dockerfile"
buildah bud --quiet --pull=never --layers --network host "${CONTAINER_FLAGS[@]}" "${build_mounts[@]}" \
  --tag "$image" --file Dockerfile . >/dev/null || die "buildah could not build the Dockerfile (see above)"
current="$(podman image inspect --format '{{.Id}}' "$image")"
# The image this build replaced is untagged now; the build's cached layers stay.
if [ -n "$previous" ] && [ "$previous" != "$current" ]; then podman rmi "$previous" >/dev/null 2>&1 || true; fi
phase_done build

KUBESUB_CONTAINER_FLAGS="${CONTAINER_FLAGS[*]}" node tools/image/run-check.ts "$image" || die "the image does not behave as deploy/ expects (see above)"
phase_done "run and check"

mib() { echo "$(($1 / 1024 / 1024)) MiB"; }
size="$(podman image inspect --format '{{.Size}}' "$image")"
base_size="$(podman image inspect --format '{{.Size}}' docker.io/library/node:24-bookworm-slim)"
log "$image: $(mib "$size") in storage, of which $(mib "$((size - base_size))") above the base (node_modules, package.json, src)"
log "timings: ${timings[*]/%/,} total $(($(date +%s) - started)) s"
log "OK: the image builds from the Dockerfile and runs as deploy/ runs it (on a stand-in base, not the upstream node:24-bookworm-slim)"
