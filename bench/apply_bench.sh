#!/usr/bin/env bash
# Worker apply throughput, draining a pre-filled topic into Redis, beside redis-benchmark running
# the same Lua script (EVALSHA, pipelined like the worker's batches) against the same server.
#   bench/apply_bench.sh [EVENTS] [CUSTOMERS] [THREADS]     (defaults 48000 1000 2)
# FILL_KIND=subscription fills customer.subscription.updated events instead of customer.updated.
# WORKER_BIN=path runs another build's stripe-worker (an A/B of two commits on one machine, with
# this tree's broker, topic and Redis).
# The embedded broker keeps ~5 MB a partition, so the topic gets 24 partitions (~2,000 events,
# ~3 MB each) and nothing pre-filled is dropped before the worker reads it.
# Prints both rates, their ratio, and the machine. Everything runs on this machine, on loopback.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
events=${1:-48000}
customers=${2:-1000}
threads=${3:-2}
batch=64

./deploy/local/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release >/dev/null
bin=build/release
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --daemonize no >"$work/redis.log" 2>&1 &
redis_pid=$!
pids+=($redis_pid)
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
"$bin/worker/stripe-sync" broker --brokers 1 --partitions 24 --bootstrap-file "$work/bootstrap" >/dev/null 2>"$work/broker.log" &
pids+=($!)
until [ -s "$work/bootstrap" ]; do sleep 0.1; done
bootstrap=$(cat "$work/bootstrap")

"$bin/bench/topic_fill" "$bootstrap" "$events" "$customers" "${FILL_KIND:-customer}"
cpu_s() { awk '{print ($14+$15)/100}' "/proc/$1/stat"; }
redis_cpu_before=$(cpu_s "$redis_pid")

# The worker drains the topic. The rate is taken between the first and the last audit entry
# (stream ids are Redis's own millisecond clock), so group join time is not counted.
# Progress is read from the worker's own counters, not from Redis: a scan of Redis while the
# worker runs would take Redis's time from the worker (it took 7 % of it), most from the slower side.
metrics_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
KAFKA_BROKERS="$bootstrap" REDIS_URL="redis://127.0.0.1:$port/0" WORKER_THREADS="$threads" \
  WORKER_BATCH="$batch" LOG_LEVEL=warn WORKER_METRICS_LISTEN="127.0.0.1:$metrics_port" \
  "${WORKER_BIN:-$bin/worker/stripe-worker}" 2>"$work/worker.log" &
worker=$!
pids+=($worker)
span_lua="local lo,hi=nil,nil for _,k in ipairs(redis.call('KEYS','stripe:*:audit')) do
  local f=redis.call('XRANGE',k,'-','+','COUNT',1)[1][1] local l=redis.call('XREVRANGE',k,'+','-','COUNT',1)[1][1]
  local a=tonumber(string.match(f,'^(%d+)')) local b=tonumber(string.match(l,'^(%d+)'))
  if lo==nil or a<lo then lo=a end if hi==nil or b>hi then hi=b end end return {lo,hi}"
deadline=$((SECONDS + 600))
outcomes() {
  curl -s "http://127.0.0.1:$metrics_port/metrics" |
    awk '/^stripe_worker_events_total\{/ && !/outcome="ignored"/ && !/outcome="dead_lettered"/ {n += $NF} END {print n + 0}'
}
until [ "$(outcomes)" -ge "$events" ]; do
  [ $SECONDS -lt $deadline ] || { echo "apply_bench: worker did not finish" >&2; exit 1; }
  sleep 0.5
done
worker_cpu=$(cpu_s "$worker")
redis_cpu=$(python3 -c "print(round($(cpu_s "$redis_pid") - $redis_cpu_before, 2))")
span=$(redis-cli -p "$port" EVAL "$span_lua" 0)
first=$(echo "$span" | sed -n 1p)
last=$(echo "$span" | sed -n 2p)
worker_rss=$(awk '/VmHWM/ {print $2/1024}' "/proc/$worker/status")
kill -TERM "$worker"; wait "$worker" || true
ms=$((last - first))
worker_rate=$(python3 -c "print(round($events / max($ms, 1) * 1000))")

# The same script, pipelined $batch deep over $threads connections, each call a new event id and
# a new customer (the same write path: the object is updated, the marker and audit entry added).
redis-cli -p "$port" FLUSHALL >/dev/null
sha=$(redis-cli -p "$port" SCRIPT LOAD "$(cat schemas/redis/apply_change.lua)")
rb=$(redis-benchmark -p "$port" -c "$threads" -P "$batch" -n "$events" -r 100000000 -q \
  EVALSHA "$sha" 5 "stripe:{cus___rand_int__}:customer" "stripe:{cus___rand_int__}:events:20789" \
  "stripe:{cus___rand_int__}:audit" "stripe:{cus___rand_int__}:customer" "stripe:{cus___rand_int__}:customer" \
  evt___rand_int__ customer.updated cus_x 17955000002 0 none 0 $(( $(date +%s) + 3024000 )) 1000 1795500000000 webhook 1 2026-10-28.endive \
  7 id cus_x email a@example.com name Jordan phone +1404 address '{}' default_payment_method pm_1 deleted 0 \
  1 email old@example.com 0 0 2>&1 | tr '\r' '\n' | grep 'requests per second' | tail -1)
rb_rate=$(echo "$rb" | grep -oE '[0-9.]+ requests per second' | awk '{print int($1)}')
ratio=$(python3 -c "print(round($worker_rate / $rb_rate, 2))")

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
echo "machine: $(nproc) x $cpu, $(redis-server --version | cut -d' ' -f3), commit $(git rev-parse --short HEAD)"
echo "worker: ${WORKER_BIN:-this build}, ${FILL_KIND:-customer} events: $events events, $customers customers, WORKER_THREADS=$threads, WORKER_BATCH=$batch: $worker_rate events/s (${ms} ms from first to last apply), CPU ${worker_cpu} s (redis-server ${redis_cpu} s; µs per event: worker $(python3 -c "print(round($worker_cpu * 1e6 / $events, 1))"), redis $(python3 -c "print(round($redis_cpu * 1e6 / $events, 1))")), peak RSS ${worker_rss} MiB"
echo "redis-benchmark: same script, -c $threads -P $batch: $rb_rate calls/s"
echo "ratio worker / redis-benchmark: $ratio"
