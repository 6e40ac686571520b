#!/usr/bin/env bash
# Runs one of Brook's librdkafka benchmark scenarios with kbench (../shared/tools/kbench.c),
# building kbench into .bench/ first if it is missing. Prints kbench's key=value lines, each
# prefixed with scenario=NAME, so the lead's report script can combine them with phys.sh.
#
#   bash bench/kbench.sh build
#   bash bench/kbench.sh SCENARIO HOST:PORT [-- extra kbench options]
#   bash bench/kbench.sh SCENARIO --mock    [-- extra kbench options]   (librdkafka's own ceiling)
#   bash bench/kbench.sh all HOST:PORT|--mock
#
# Scenarios (issue 3 §6):
#   produce-100b  N=${KBENCH_COUNT:-2000000} records of 100 B, acks=all
#   produce-1k    N=${KBENCH_COUNT:-500000} records of 1 KiB, acks=all
#   consume-100b  fills a topic with N records of 100 B (acks=all), then one consumer reads them
#   e2e-10k       producer at 10,000 msg/s with linger.ms=0 and a consumer in one process, 100 B,
#                 N=${KBENCH_COUNT:-100000}; end-to-end latency p50/p99/max
# Every run uses a fresh topic (auto-created by the broker with its default partition count, so
# the broker needs auto.create.topics.enable; set KBENCH_PARTITIONS for the mock) and a fresh
# group. KBENCH_TIMEOUT_S bounds each kbench run. e2e-10k needs kcat to create its topic first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${BROOK_SHARED_DIR:-$ROOT/../shared}"
KBENCH_DIR="$ROOT/.bench"
KBENCH="$KBENCH_DIR/kbench"
TIMEOUT_S="${KBENCH_TIMEOUT_S:-120}"

usage() {
  sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 1
}

build() {
  if [ -x "$KBENCH" ] && [ "$KBENCH" -nt "$SHARED/tools/kbench.c" ]; then return; fi
  [ -f "$SHARED/tools/build-kbench.sh" ] || {
    echo "kbench.sh: $SHARED/tools/build-kbench.sh not found (set BROOK_SHARED_DIR)" >&2
    exit 1
  }
  OUT="$KBENCH_DIR" bash "$SHARED/tools/build-kbench.sh" >&2
}

# Runs kbench and prefixes its summary lines with the scenario; its log goes to stderr.
kbench() {
  local scenario="$1"
  shift
  "$KBENCH" "$@" -T "$TIMEOUT_S" -q | sed "s/^/scenario=$scenario /"
  return "${PIPESTATUS[0]}"
}

run_scenario() {
  local scenario="$1" target="$2"
  shift 2
  local run_id="kbench-$scenario-$(date +%s%N)"
  local where=(-b "$target")
  if [ "$target" = "--mock" ]; then
    where=(-m)
    [ -n "${KBENCH_PARTITIONS:-}" ] && where+=(-p "$KBENCH_PARTITIONS")
  fi
  case "$scenario" in
    produce-100b)
      kbench "$scenario" produce "${where[@]}" -t "$run_id" -n "${KBENCH_COUNT:-2000000}" -s 100 -a -1 "$@"
      ;;
    produce-1k)
      kbench "$scenario" produce "${where[@]}" -t "$run_id" -n "${KBENCH_COUNT:-500000}" -s 1024 -a -1 "$@"
      ;;
    consume-100b)
      local count="${KBENCH_COUNT:-2000000}"
      if [ "$target" = "--mock" ]; then
        # In mock mode kbench fills the mock topic itself before it consumes.
        kbench "$scenario" consume "${where[@]}" -t "$run_id" -g "$run_id" -n "$count" -s 100 "$@"
      else
        kbench "$scenario-fill" produce "${where[@]}" -t "$run_id" -n "$count" -s 100 -a -1 >&2
        kbench "$scenario" consume "${where[@]}" -t "$run_id" -g "$run_id" -n "$count" "$@"
      fi
      ;;
    e2e-10k)
      # The consumer subscribes before anything is produced and librdkafka's consumer does not
      # auto-create topics: create it first with a Metadata request that may (kcat -L).
      if [ "$target" != "--mock" ]; then
        kcat -b "$target" -L -t "$run_id" -X allow.auto.create.topics=true -m 10 >/dev/null
      fi
      kbench "$scenario" e2e "${where[@]}" -t "$run_id" -g "$run_id" -n "${KBENCH_COUNT:-100000}" -s 100 \
        -r 10000 -l 0 -a -1 "$@"
      ;;
    *) usage ;;
  esac
}

[ $# -ge 1 ] || usage
scenario="$1"
shift
build
[ "$scenario" = build ] && { echo "kbench: $KBENCH" >&2; exit 0; }
[ $# -ge 1 ] || usage
target="$1"
shift
[ "${1:-}" = "--" ] && shift
if [ "$scenario" = all ]; then
  for each in produce-100b produce-1k consume-100b e2e-10k; do
    run_scenario "$each" "$target" "$@"
  done
else
  run_scenario "$scenario" "$target" "$@"
fi
