#!/usr/bin/env bash
# A/B of two stripe-ingress builds, alternating, against one embedded broker: for each round, each
# binary in turn is started (1 I/O thread), warmed for 2 s and driven for SECONDS by bench/loadgen
# (128 connections, 2 KB, a pool of 4,096 pre-signed requests; closed loop, or open loop at RATE
# requests/s), and the line printed gives its rate, ack latency and the CPU µs per acknowledged
# webhook of the ingress and of the broker (/proc/<pid>/stat, all threads).
#   bench/ingress_ab.sh SECONDS BIN_A BIN_B [ROUNDS]      (RATE=N for open loop)
# PARTITIONS=N sets the topic's partitions (24 by default, as in e2e.sh).
# A binary may be a wrapper script that sets the environment and execs the real one.
# Build the "before" binary from a worktree: git worktree add /tmp/before <commit>, then
# cmake --preset release && cmake --build --preset release --target stripe-ingress there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=$1 a=$2 b=$3 rounds=${4:-3}
lg=$root/build/release/bench/loadgen
sync=$root/build/release/worker/stripe-sync
[ -x "$lg" ] && [ -x "$sync" ] || { echo "ingress_ab.sh: build the release preset first" >&2; exit 1; }
work=$(mktemp -d)
hz=$(getconf CLK_TCK)
ip=
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
"$sync" broker --partitions "${PARTITIONS:-24}" --bootstrap-file "$work/bootstrap" >/dev/null 2>"$work/broker.log" &
bpid=$!
trap 'kill $bpid $ip 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
deadline=$((SECONDS + 20))
until [ -s "$work/bootstrap" ]; do [ $SECONDS -lt $deadline ] || exit 1; sleep 0.1; done
run() {
  local bin=$1 port out t0 t1 b0 b1
  port=$(free_port)
  STRIPE_WEBHOOK_SECRET=whsec_bench KAFKA_BROKERS="$(cat "$work/bootstrap")" INGRESS_LISTEN="127.0.0.1:$port" \
    INGRESS_THREADS=1 LOG_LEVEL=warn "$bin" 2>"$work/ingress.log" &
  ip=$!
  deadline=$((SECONDS + 20))
  until curl -sf -o /dev/null "http://127.0.0.1:$port/readyz"; do [ $SECONDS -lt $deadline ] || exit 1; sleep 0.05; done
  "$lg" --port "$port" --seconds 2 --connections 128 --size 2048 --pool 4096 >/dev/null
  t0=$(ticks $ip); b0=$(ticks $bpid)
  out=$("$lg" --port "$port" --seconds "$secs" --connections 128 --size 2048 --pool 4096 ${RATE:+--rate "$RATE"})
  t1=$(ticks $ip); b1=$(ticks $bpid)
  kill -TERM $ip; wait $ip 2>/dev/null || true
  ip=
  /usr/bin/python3 - "$out" "$bin" "$t1" "$t0" "$b1" "$b0" "$hz" <<'PY'
import json, sys
d = json.loads(sys.argv[1]); n = d["status"].get("200", 0)
t1, t0, b1, b0, hz = map(int, sys.argv[3:8])
lat = d["latency_ms"]
print(f"{sys.argv[2][-40:]:>40} {d['ok_per_s']:>9.0f}/s  p50 {lat['p50']:.2f} p99 {lat['p99']:.2f} ms"
      f"  ingress {(t1 - t0) / hz * 1e6 / n:6.1f} µs  broker {(b1 - b0) / hz * 1e6 / n:6.1f} µs")
PY
}
for _ in $(seq "$rounds"); do run "$a"; run "$b"; done
