#!/usr/bin/env bash
# Redis memory per event: a fresh redis-server (no persistence, so nothing but the data counts),
# bench/redis_memory applying EVENTS events for CUSTOMERS customers over DAYS days through the
# worker's apply path, then used_memory per event and per customer, and by kind of key.
#   bench/redis_memory.sh [EVENTS] [CUSTOMERS] [DAYS]     (defaults 1000000 20000 30)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
events=${1:-1000000}
customers=${2:-20000}
days=${3:-30}
./deploy/local/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target redis_memory >/dev/null
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# REDIS_ARGS: more redis-server options, e.g. "--stream-node-max-bytes 1024".
# shellcheck disable=SC2086
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --daemonize no ${REDIS_ARGS:-} >"$work/redis.log" 2>&1 &
redis_pid=$!
trap 'kill -TERM $redis_pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
deadline=$((SECONDS + 20))
until redis-cli -p "$port" ping >/dev/null 2>&1; do
  [ $SECONDS -lt $deadline ] || { echo "redis_memory.sh: redis-server did not start" >&2; cat "$work/redis.log" >&2; exit 1; }
  sleep 0.1
done
echo "machine: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(redis-server --version | cut -d' ' -f3), commit $(git rev-parse --short HEAD)"
build/release/bench/redis_memory 127.0.0.1 "$port" "$events" "$customers" "$days"
