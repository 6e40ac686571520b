#!/usr/bin/env bash
# Installs every real Kafka client the compatibility tests (test/compat) drive, on a fresh Debian
# machine with Node.js 20: the Debian packages (kcat, python3-confluent-kafka, python3-kafka and
# codecs, librdkafka-dev), @confluentinc/kafka-javascript in test/compat/ckjs, the benchmarks'
# load generator (bench/loadgen, C on librdkafka) in .bench/, and a Node.js 22 in .bench/node22 for
# the tests of several network threads (install-node22.sh).
# Needs root for apt. Idempotent. In CI (CI=true) the compat tests fail when a client is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

bash .ci/install-system-packages.sh
bash .ci/install-ckjs.sh
bash bench/loadgen/build.sh
bash .ci/install-node22.sh
