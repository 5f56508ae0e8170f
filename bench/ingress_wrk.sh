#!/usr/bin/env bash
# Acknowledged webhooks/s of stripe-ingress (release build, signature check, acks=all produce to
# the embedded broker in another process), driven by wrk over keep-alive connections with one
# pre-signed 2.9 KB event (Stripe's customer.subscription.updated from tests/fixtures/), and the
# ingress's peak RSS and CPU seconds. A closed-loop first look; bench/e2e.sh (issue 7) does the
# open-loop load, the static-responder ceiling and end-to-end figures.
#   bench/ingress_wrk.sh [CONNECTIONS] [SECONDS]     (defaults 32 10)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
connections=${1:-32}
seconds=${2:-10}
command -v wrk >/dev/null || { echo "ingress_wrk.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
cmake --preset release >/dev/null
cmake --build --preset release >/dev/null
bin=build/release
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$bin/worker/stripe-sync" broker --bootstrap-file "$work/bootstrap" >/dev/null 2>"$work/broker.log" &
pids+=($!)
until [ -s "$work/bootstrap" ]; do sleep 0.1; done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
STRIPE_WEBHOOK_SECRET=whsec_bench KAFKA_BROKERS="$(cat "$work/bootstrap")" INGRESS_LISTEN="127.0.0.1:$port" \
  INGRESS_THREADS=2 LOG_LEVEL=warn "$bin/ingress/stripe-ingress" 2>"$work/ingress.log" &
ingress=$!
pids+=($ingress)
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.1; done

event=tests/fixtures/events/customer.subscription.updated.json
sig=$("$bin/worker/stripe-sync" sign --secret whsec_bench < "$event")
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Stripe-Signature"] = "$sig"
local f = io.open("$root/$event", "rb")
wrk.body = f:read("*a")
f:close()
LUA
ticks_before=$(awk '{print $14+$15}' "/proc/$ingress/stat")
wrk -t1 -c"$connections" -d"${seconds}s" --latency -s "$work/post.lua" "http://127.0.0.1:$port/webhooks/stripe"
ticks_after=$(awk '{print $14+$15}' "/proc/$ingress/stat")
accepted=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^stripe_ingress_webhooks_total\{outcome="accepted"/ {print $2}')
hz=$(getconf CLK_TCK)
echo "accepted (200, broker has it): $accepted"
grep VmHWM "/proc/$ingress/status" | awk '{printf "ingress peak RSS: %.1f MiB\n", $2/1024}'
awk -v t=$((ticks_after - ticks_before)) -v hz="$hz" -v n="$accepted" \
  'BEGIN {printf "ingress CPU: %.2f s, %.2f s per 100k webhooks\n", t/hz, t/hz*100000/n}'
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), commit $(git rev-parse --short HEAD)"
