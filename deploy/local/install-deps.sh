#!/usr/bin/env bash
# Installs the Debian 12 packages stripe-sync needs to build, test and run locally, and only
# those that are missing. Shared by ./deploy/local/run.sh and ./tests/run.sh.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config make
  libboost1.81-dev       # Beast, Asio, Boost.JSON, Boost.URL (header-only + compiled once by us)
  libsimdjson-dev librdkafka-dev libhiredis-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server redis-tools
  prometheus             # tests: promtool checks the alert rules and the dashboard's expressions
  python3 python3-jsonschema python3-yaml   # tests: responses validated against schemas/openapi.yaml
  docker-compose systemd                     # tests: deploy/compose.yaml and the units validated
  ca-certificates curl openssl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
