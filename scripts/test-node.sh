#!/usr/bin/env bash
# Run the test suite on another Node major, from the npm registry's node binary packages (node-<os>-<arch>@N):
#   scripts/test-node.sh 22 [vitest args...]
# The checkout stays as it is: the suite runs in a copy (hard links) whose better-sqlite3 is a real copy rebuilt
# for that Node's ABI against the headers the package ships (no download: prebuild-install is skipped).
# Needs a built checkout (npm run build) with its dependencies installed (npm ci); a C++ toolchain and python3
# for node-gyp. KUBIYA_NODE_CACHE keeps the Node packages between runs (default: a temporary directory).
set -euo pipefail
major="${1:?usage: scripts/test-node.sh MAJOR [vitest args...]}"
shift
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/kubiya-node$major.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cache="${KUBIYA_NODE_CACHE:-$work/nodes}"
pkg="node-$(node -p 'process.platform + "-" + process.arch')"
prefix="$cache/$major"
if [ ! -x "$prefix/node_modules/$pkg/bin/node" ]; then
  echo "node$major: installing $pkg@$major from the npm registry"
  npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$prefix" "$pkg@$major" >/dev/null
fi
home="$prefix/node_modules/$pkg"
export PATH="$home/bin:$PATH"
echo "node$major: $(node --version)"

# the copy: hard links are enough for everything the tests only read; the native addon gets its own files
tree="$work/tree"
cp -al "$root" "$tree"
rm -rf "$tree/node_modules/better-sqlite3"
cp -a "$root/node_modules/better-sqlite3" "$tree/node_modules/better-sqlite3"
rm -rf "$tree/.bench" "$tree/coverage"
gyp="$(dirname "$(dirname "$(command -v npm)")")/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$gyp" ] || gyp="$(npm prefix -g)/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
echo "node$major: building better-sqlite3 for ABI $(node -p process.versions.modules)"
(cd "$tree/node_modules/better-sqlite3" && node "$gyp" rebuild --release --nodedir="$home" -j 2 >"$work/gyp.log" 2>&1) || {
  tail -30 "$work/gyp.log"
  exit 1
}
cd "$tree"
node -e 'new (require("better-sqlite3"))(":memory:").close()'
npx vitest run "$@"
