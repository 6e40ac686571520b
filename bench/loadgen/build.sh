#!/usr/bin/env bash
# Builds Brook's load generator (loadgen.c, on librdkafka) into .bench/loadgen at the repository
# root, unless it is newer than its source. Needs gcc and librdkafka's headers (Debian:
# librdkafka-dev, which .ci/install-system-packages.sh installs). Prints the binary's path.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${LOADGEN_OUT:-$ROOT/.bench}"
BINARY="$OUT/loadgen"
mkdir -p "$OUT"
if [ ! -x "$BINARY" ] || [ "$HERE/loadgen.c" -nt "$BINARY" ] || [ "$HERE/build.sh" -nt "$BINARY" ]; then
  pkg-config --exists rdkafka || {
    echo "loadgen: librdkafka's headers are missing (Debian: apt-get install librdkafka-dev)" >&2
    exit 1
  }
  # shellcheck disable=SC2046
  gcc -O2 -std=c11 -Wall -Wextra -Werror -o "$BINARY.tmp" "$HERE/loadgen.c" \
    $(pkg-config --cflags --libs rdkafka)
  mv "$BINARY.tmp" "$BINARY"
fi
echo "$BINARY"
