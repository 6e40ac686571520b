#!/usr/bin/env bash
# Installs @confluentinc/kafka-javascript into test/compat/ckjs/node_modules from its own lockfile.
# It is kept out of the root package.json because its install compiles the bundled librdkafka
# (about a minute on 2 cores) and, without CKJS_LINKING=dynamic and Debian's -dev packages, tries
# to download a prebuilt binary from outside the npm registry and fails. Idempotent: does nothing
# when the installed tree already matches the lockfile and the native module loads.
set -euo pipefail
cd "$(dirname "$0")/../test/compat/ckjs"

loads() {
  node -e "require('@confluentinc/kafka-javascript')" >/dev/null 2>&1
}
if [ node_modules/.package-lock.json -nt package-lock.json ] && loads; then
  echo "@confluentinc/kafka-javascript already installed in test/compat/ckjs"
  exit 0
fi

# node-gyp must build against the headers of the Node.js that runs the tests; point it at them so
# it never tries to download them (only the npm registry is reachable in CI).
node_prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$node_prefix/include/node/node_api.h" ]; then
  export npm_config_nodedir="$node_prefix"
fi

started=$(date +%s)
CKJS_LINKING=dynamic npm ci --no-audit --no-fund
loads || { echo "@confluentinc/kafka-javascript installed but does not load" >&2; exit 1; }
echo "installed @confluentinc/kafka-javascript in $(($(date +%s) - started)) s"
