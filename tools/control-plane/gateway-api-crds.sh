#!/usr/bin/env bash
# Fetches (once) and caches the Gateway API CRDs, standard channel, that kubesub's end-to-end
# tests install to dry-run deploy/overlays/gateway-api on the real apiserver: the YAML files of
# config/crd/standard in the Go module sigs.k8s.io/gateway-api, through the Go module proxy
# (no release downloads), checked against the module hash pinned below.
#
#   tools/control-plane/gateway-api-crds.sh              fetch if needed; print the line below
#   tools/control-plane/gateway-api-crds.sh --print-path print the cached path; exit 1 if missing
#   tools/control-plane/gateway-api-crds.sh --force      fetch and copy again even if cached
#
# Progress goes to stderr; stdout carries only the line
#   KUBESUB_GATEWAY_API_CRDS=/dir   (the directory of *.yaml files)
# KUBESUB_GATEWAY_API_CRDS set to a directory in the environment is printed back, nothing fetched.
# build.sh runs this script, so `npm run control-plane:build` caches the CRDs with the binaries.
set -euo pipefail

GATEWAY_API_VERSION=v1.6.3
# `go mod download -json sigs.k8s.io/gateway-api@v1.6.3` .Sum (also in sum.golang.org).
GATEWAY_API_SUM='h1:lKpJa5bGlraC/QeACvCpsHLdmO6y0iKfzVl6gzaFEYc='

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/kubesub/control-plane"
crds_dir="$cache_root/gateway-api/$GATEWAY_API_VERSION"

log() { printf 'control-plane: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
emit() { printf 'KUBESUB_GATEWAY_API_CRDS=%s\n' "$1"; }

mode=fetch
force=0
for arg in "$@"; do
	case "$arg" in
	--print-path) mode=print ;;
	--force) force=1 ;;
	-h | --help)
		sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
		exit 0
		;;
	*) die "unknown argument: $arg (try --help)" ;;
	esac
done

# The file every use needs; the others come with it.
have_cached() { [[ -f "$crds_dir/gateway.networking.k8s.io_httproutes.yaml" ]]; }

if [[ -n "${KUBESUB_GATEWAY_API_CRDS:-}" ]]; then
	[[ -d "$KUBESUB_GATEWAY_API_CRDS" ]] || die "KUBESUB_GATEWAY_API_CRDS=$KUBESUB_GATEWAY_API_CRDS is not a directory"
	emit "$KUBESUB_GATEWAY_API_CRDS"
	exit 0
fi

if [[ $mode == print ]]; then
	if have_cached; then
		emit "$crds_dir"
		exit 0
	fi
	log "Gateway API CRDs not fetched yet: $crds_dir (run ${BASH_SOURCE[0]})"
	exit 1
fi

if [[ $force == 0 ]] && have_cached; then
	emit "$crds_dir"
	exit 0
fi

command -v go >/dev/null 2>&1 || die "go not found in PATH (it fetches the Gateway API CRDs; or set KUBESUB_GATEWAY_API_CRDS)"

mkdir -p "$cache_root/gateway-api"
exec 8>"$cache_root/gateway-api/.lock"
if command -v flock >/dev/null 2>&1; then
	flock 8
	rm -rf "$cache_root/gateway-api"/.fetch.*
fi
if [[ $force == 0 ]] && have_cached; then # fetched by someone else meanwhile
	emit "$crds_dir"
	exit 0
fi

tmp_dir="$(mktemp -d "$cache_root/gateway-api/.fetch.XXXXXX")"
trap 'rm -rf "$tmp_dir"' EXIT
trap 'exit 130' INT TERM

log "fetching sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION (Go module proxy) for its standard channel CRDs"
# Outside any module (the empty temp dir), so no go.mod or go.sum is read or touched.
json="$(cd "$tmp_dir" && GOTOOLCHAIN=local GOWORK=off GOFLAGS= go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION")" ||
	die "go mod download sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION failed: $json"
field() { sed -n 's/^[[:space:]]*"'"$1"'": "\(.*\)",*$/\1/p' <<<"$json"; }
sum="$(field Sum)"
module_dir="$(field Dir)"
[[ "$sum" == "$GATEWAY_API_SUM" ]] ||
	die "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION has hash ${sum:-none}, expected $GATEWAY_API_SUM"
source_dir="$module_dir/config/crd/standard"
[[ -f "$source_dir/gateway.networking.k8s.io_httproutes.yaml" ]] || die "no HTTPRoute CRD in $source_dir"

mkdir "$tmp_dir/crds"
cp "$source_dir"/*.yaml "$tmp_dir/crds/"
chmod 0644 "$tmp_dir/crds"/*.yaml
printf 'sigs.k8s.io/gateway-api %s %s config/crd/standard\n' "$GATEWAY_API_VERSION" "$sum" >"$tmp_dir/crds/SOURCE"
rm -rf "$crds_dir"
# Rename within the same filesystem: the directory appears whole or not at all.
mv -T "$tmp_dir/crds" "$crds_dir"
log "Gateway API $GATEWAY_API_VERSION standard CRDs ($(ls "$crds_dir"/*.yaml | wc -l) files) in $crds_dir"
emit "$crds_dir"
