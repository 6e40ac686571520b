#!/usr/bin/env bash
# Installs the Debian packages listed in .ci/debian-packages.txt (one a line, # comments) that
# are missing. Idempotent, so a developer can run it too.
set -euo pipefail
cd "$(dirname "$0")"
missing=()
while read -r package _; do
  case "$package" in ''|'#'*) continue ;; esac
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done < debian-packages.txt
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
