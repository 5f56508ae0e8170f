#!/usr/bin/env bash
# The end-to-end benchmark: brings up the local stack from the release build (embedded broker,
# redis-server with AOF, stripe-ingress, stripe-worker) and measures, on this machine:
#   1. ingress: the most acknowledged webhooks/s (bench/loadgen, closed loop, 2 KB and 16 KB);
#      p50/p99 ack latency at 20%, 50% and 80% of that rate (open loop, no coordinated omission);
#   2. the ceiling: the same loadgen against nginx answering a static 200 (worker_processes =
#      INGRESS_THREADS, 1 by default), and our rate as a fraction of it. The client check: wrk
#      drives the same nginx with the same request in the same run, and loadgen must reach 95 %
#      of wrk's rate, or the ratio measures the client (the run says so, and the row is marked);
#   3. end to end: events/s from the first send to the last event applied in Redis, and p50/p99
#      from ingress-received-ms to applied (the worker's histogram), flat out and at 2,000/s;
#   4. the worker alone: bench/apply_bench.sh (apply rate beside redis-benchmark of the script);
#   5. peak RSS and CPU seconds per 100k events of ingress and worker;
#   6. CPU µs per acknowledged webhook of each process (ingress, broker, worker, redis-server), all
#      threads, over the end-to-end step.
# The rate steps send a pool of requests built and signed before the step (loadgen --pool), so
# the client costs about what wrk does; the end-to-end steps build and sign each one (every event
# id is new, so the worker applies each).
# It writes bench/results/e2e-<commit>.json (e2e-<commit>-2.json and so on for further runs of one
# commit) and appends the table to bench/README.md.
#   bench/e2e.sh [SECONDS]      (default 10: the length of each load step)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:-10}
# The issue's comparison: nginx with one worker process against the ingress with as many I/O
# threads. On these 2 cores one I/O thread is also the ingress's fastest setting (the loadgen,
# the broker and librdkafka's threads share the cores).
ingress_threads=${INGRESS_THREADS:-1}
worker_threads=${WORKER_THREADS:-2}
# Keep-alive connections of every load step (nginx gets the same): enough that the flat-out
# steps are bound by the server, not by the round trip of each connection.
conns=${CONNECTIONS:-128}

./deploy/local/install-deps.sh
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light wrk >/dev/null
fi
cmake --preset release >/dev/null
cmake --build --preset release >/dev/null
bin=build/release
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hwm_mib() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
metric_sum() {  # sum of the series whose name starts with $2 in the text at URL $1
  curl -s "$1" | awk -v n="$2" 'index($0, n) == 1 {s += $2} END {printf "%d", s}'
}
# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 50 ms; gives up (and the run fails) after
# SECONDS, so a lost event or a dead process cannot hang the benchmark.
wait_for() {
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || { echo "e2e.sh: gave up waiting for $what" >&2; exit 1; }
    sleep 0.05
  done
}
applied_at_least() { [ "$(metric_sum "$wm" stripe_worker_events_total)" -ge "$1" ]; }
hz=$(getconf CLK_TCK)

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --appendonly yes --appendfsync everysec \
  --save "" --daemonize no >"$work/redis.log" 2>&1 &
redis=$!
pids+=($redis)
wait_for 10 redis-server redis-cli -p "$redis_port" ping
# 24 partitions: the embedded broker keeps ~5 MB a partition (~120 MB in all), room for the
# worker's lag and for the ingress-alone steps, which nothing consumes.
"$bin/worker/stripe-sync" broker --partitions 24 --bootstrap-file "$work/bootstrap" >/dev/null 2>"$work/broker.log" &
broker=$!
pids+=($broker)
wait_for 10 "the broker" test -s "$work/bootstrap"
bootstrap=$(cat "$work/bootstrap")
ingress_port=$(free_port)
STRIPE_WEBHOOK_SECRET=whsec_bench KAFKA_BROKERS="$bootstrap" REDIS_URL="redis://127.0.0.1:$redis_port/0" \
  INGRESS_LISTEN="127.0.0.1:$ingress_port" INGRESS_THREADS=$ingress_threads LOG_LEVEL=warn \
  "$bin/ingress/stripe-ingress" 2>"$work/ingress.log" &
ingress=$!
pids+=($ingress)
wait_for 20 "ingress /readyz" curl -sf -o /dev/null "http://127.0.0.1:$ingress_port/readyz"
load() { "$bin/bench/loadgen" --port "$1" --seconds "$seconds" "${@:2}"; }
field() { /usr/bin/python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, d))" "$1" "$2"; }

echo "== end to end (worker running)" >&2
worker_port=$(free_port)
# The embedded broker holds an empty fetch for all of fetch.wait.max.ms (real Kafka answers as
# soon as data is there): run.sh's local setting.
KAFKA_BROKERS="$bootstrap" REDIS_URL="redis://127.0.0.1:$redis_port/0" WORKER_THREADS=$worker_threads LOG_LEVEL=warn \
  WORKER_FETCH_WAIT_MS=5 \
  WORKER_METRICS_LISTEN="127.0.0.1:$worker_port" "$bin/worker/stripe-worker" 2>"$work/worker.log" &
worker=$!
pids+=($worker)
wait_for 30 "worker /readyz" curl -sf -o /dev/null "http://127.0.0.1:$worker_port/readyz"
wm="http://127.0.0.1:$worker_port/metrics"
e2e_n=40000
i_t0=$(ticks "$ingress"); w_t0=$(ticks "$worker"); b_t0=$(ticks "$broker"); r_t0=$(ticks "$redis")
t_start=$(date +%s.%N)
e2e_load=$("$bin/bench/loadgen" --port "$ingress_port" --requests "$e2e_n" --seconds 600 --connections "$conns" --id-prefix evt_e2e_)
e2e_ok=$(field "$e2e_load" "status.get('200', 0)")
wait_for 300 "the worker to apply $e2e_ok events" applied_at_least "$e2e_ok"
t_end=$(date +%s.%N)
i_t1=$(ticks "$ingress"); w_t1=$(ticks "$worker"); b_t1=$(ticks "$broker"); r_t1=$(ticks "$redis")
us_per() { /usr/bin/python3 -c "print(round(($2 - $1) / $hz * 1e6 / $e2e_ok, 1))"; }
cpu_ingress=$(us_per "$i_t0" "$i_t1"); cpu_broker=$(us_per "$b_t0" "$b_t1")
cpu_worker=$(us_per "$w_t0" "$w_t1"); cpu_redis=$(us_per "$r_t0" "$r_t1")
{
  echo "CPU µs per acknowledged webhook, end to end ($e2e_ok events, all threads of each process):"
  echo "  ingress       $cpu_ingress"
  echo "  broker        $cpu_broker   (in production the broker runs elsewhere)"
  echo "  worker        $cpu_worker"
  echo "  redis-server  $cpu_redis"
} >&2
e2e_rate=$(/usr/bin/python3 -c "print(round($e2e_ok / ($t_end - $t_start)))")
buckets() { curl -s "$wm" | grep '^stripe_worker_end_to_end_seconds_bucket'; }
# p-th percentile (upper bucket bound, ms) of the histogram's growth between two snapshots.
hist_pct() {
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import re, sys
def parse(path):
    out = {}
    for line in open(path):
        m = re.search(r'le="([^"]+)"\} (\d+)', line)
        if m: out[m.group(1)] = int(m.group(2))
    return out
a, b, p = parse(sys.argv[1]), parse(sys.argv[2]), float(sys.argv[3])
les = sorted((k for k in b if k != "+Inf"), key=float)
total = b["+Inf"] - a.get("+Inf", 0)
for le in les:
    if b[le] - a.get(le, 0) >= p / 100 * total:
        print(round(float(le) * 1000, 2)); break
else:
    print("inf")
PY
}
: > "$work/h0"
buckets > "$work/h1"
e2e_p50=$(hist_pct "$work/h0" "$work/h1" 50); e2e_p99=$(hist_pct "$work/h0" "$work/h1" 99)
# The same at 2,000 events/s, open loop.
"$bin/bench/loadgen" --port "$ingress_port" --rate 2000 --seconds "$seconds" --connections "$conns" --id-prefix evt_r2k_ >"$work/r2k.json"
r2k_ok=$(field "$(cat "$work/r2k.json")" "status.get('200', 0)")
wait_for 120 "the worker to apply the 2,000/s events" applied_at_least $((e2e_ok + r2k_ok))
buckets > "$work/h2"
r2k_p50=$(hist_pct "$work/h1" "$work/h2" 50); r2k_p99=$(hist_pct "$work/h1" "$work/h2" 99)
worker_cpu=$(/usr/bin/python3 -c "print(round(($w_t1 - $w_t0) / $hz * 100000 / $e2e_ok, 2))")
worker_rss=$(hwm_mib "$worker")
kill -TERM "$worker"; wait "$worker" 2>/dev/null || true

echo "== ingress alone" >&2
i_a=$(ticks "$ingress")
max2k=$(load "$ingress_port" --connections "$conns" --size 2048 --pool 4096 --id-prefix evt_max_)
i_b=$(ticks "$ingress")
max16k=$(load "$ingress_port" --connections "$conns" --size 16384 --pool 1024 --id-prefix evt_max16_)
rate_max=$(field "$max2k" "round(ok_per_s)")
ingress_cpu=$(/usr/bin/python3 -c "print(round(($i_b - $i_a) / $hz * 100000 / $(field "$max2k" "status.get('200', 0)"), 2))")
declare -A at
for pct in 20 50 80; do
  r=$((rate_max * pct / 100))
  at[$pct]=$(load "$ingress_port" --rate "$r" --connections "$conns" --size 2048 --pool 4096 --id-prefix "evt_at${pct}_")
done
ingress_rss=$(hwm_mib "$ingress")

echo "== static responder (nginx)" >&2
nginx_port=$(free_port)
cat > "$work/nginx.conf" <<NGINX
worker_processes $ingress_threads;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_max_body_size 2m;
  client_body_buffer_size 64k;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { default_type application/json; return 200 '{"success":true}'; }
  }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work"
wait_for 10 nginx curl -s -o /dev/null "http://127.0.0.1:$nginx_port/"
# The client check: wrk with the same request, then loadgen, against the same nginx.
"$bin/bench/loadgen" --sample-body "$work/body.json" --size 2048
wrk_out=$(BODY_FILE="$work/body.json" wrk -t1 -c"$conns" -d"${seconds}s" -s bench/wrk_post.lua "http://127.0.0.1:$nginx_port/webhooks/stripe")
rate_wrk=$(echo "$wrk_out" | awk '/^Requests\/sec:/ {printf "%d", $2}')
static=$(load "$nginx_port" --connections "$conns" --size 2048 --pool 4096)
rate_static=$(field "$static" "round(ok_per_s)")
client_check=$(/usr/bin/python3 -c "print('pass' if $rate_static >= 0.95 * ${rate_wrk:-0} and ${rate_wrk:-0} > 0 else 'fail')")
if [ "$client_check" = pass ]; then
  echo "client check: loadgen drove nginx at $rate_static/s, wrk at $rate_wrk/s: pass" >&2
else
  echo "client check FAILED: loadgen drove nginx at $rate_static/s, wrk at $rate_wrk/s (under 95 %):" \
    "every ratio of this run measures the client, not the servers" >&2
fi
kill "$(cat "$work/nginx.pid")"; rm -f "$work/nginx.pid"

echo "== worker alone (bench/apply_bench.sh)" >&2
# Like for like: redis-benchmark's __rand_int__ makes every call a new customer, so the worker's
# run gives every event its own customer too.
apply=$(bench/apply_bench.sh 48000 48000 2 2>&1 | tail -6)
apply_worker=$(echo "$apply" | sed -n 's/.*: \([0-9]*\) events\/s.*/\1/p' | head -1)
apply_redis=$(echo "$apply" | sed -n 's/.*: \([0-9]*\) calls\/s.*/\1/p' | head -1)

commit=$(git rev-parse --short HEAD)
cpu_model=$(lscpu | sed -n 's/^Model name: *//p')
mkdir -p bench/results
result=bench/results/e2e-$commit.json
# A second run of the same commit keeps the first's file: e2e-<commit>-2.json, -3, ...
n=2
while [ -e "$result" ]; do result=bench/results/e2e-$commit-$n.json; n=$((n + 1)); done
/usr/bin/python3 - "$result" <<PY
import json, sys
d = {
  "commit": "$commit", "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "cores": $(nproc), "cpu": "$cpu_model",
  "connections": $conns, "ingress_threads": $ingress_threads, "worker_threads": $worker_threads, "seconds_per_step": $seconds,
  "ingress_max_2k": json.loads('''$max2k'''), "ingress_max_16k": json.loads('''$max16k'''),
  "ingress_at": {p: json.loads(v) for p, v in (("20", '''${at[20]}'''), ("50", '''${at[50]}'''), ("80", '''${at[80]}'''))},
  "static_nginx": json.loads('''$static'''), "wrk_nginx_per_s": ${rate_wrk:-0}, "client_check": "$client_check",
  "ratio_to_static": round($rate_max / max($rate_static, 1), 3),
  "e2e": {"events": $e2e_ok, "load": json.loads('''$e2e_load'''), "events_per_s": $e2e_rate, "p50_ms_le": "$e2e_p50", "p99_ms_le": "$e2e_p99",
          "at_2000_per_s": {"load": json.loads(open("$work/r2k.json").read()), "p50_ms_le": "$r2k_p50", "p99_ms_le": "$r2k_p99"}},
  "worker_alone": {"events_per_s": int("${apply_worker:-0}"), "redis_benchmark_calls_per_s": int("${apply_redis:-0}")},
  "rss_mib": {"ingress": $ingress_rss, "worker": $worker_rss},
  "cpu_s_per_100k": {"ingress": $ingress_cpu, "worker": $worker_cpu},
  "cpu_us_per_webhook_e2e": {"ingress": $cpu_ingress, "broker": $cpu_broker, "worker": $cpu_worker, "redis": $cpu_redis},
}
json.dump(d, open(sys.argv[1], "w"), indent=1)
PY
row=$(/usr/bin/python3 - "$result" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
a = d["ingress_at"]
w = d["worker_alone"]
c = d["cpu_us_per_webhook_e2e"]
ratio_w = round(w["events_per_s"] / w["redis_benchmark_calls_per_s"], 2) if w["redis_benchmark_calls_per_s"] else "-"
check = f"{d['static_nginx']['ok_per_s']:,.0f} / {d['wrk_nginx_per_s']:,} ({d['client_check']})"
print(f"| {d['date'][:10]} {d['commit']} | {check} | {d['ingress_max_2k']['ok_per_s']:,.0f} | {d['ingress_max_16k']['ok_per_s']:,.0f} | "
      f"{d['ratio_to_static']} | "
      + " / ".join(f"{a[p]['latency_ms']['p50']:.2f}, {a[p]['latency_ms']['p99']:.2f}" for p in ("20", "50", "80")) +
      f" | {d['e2e']['events_per_s']:,} (p50 ≤{d['e2e']['p50_ms_le']}, p99 ≤{d['e2e']['p99_ms_le']}) | "
      f"≤{d['e2e']['at_2000_per_s']['p50_ms_le']}, ≤{d['e2e']['at_2000_per_s']['p99_ms_le']} | "
      f"{w['events_per_s']:,} / {w['redis_benchmark_calls_per_s']:,} ({ratio_w}) | "
      f"{d['rss_mib']['ingress']} / {d['rss_mib']['worker']} | {c['ingress']} / {c['broker']} / {c['worker']} / {c['redis']} |")
PY
)
if ! grep -q '^## End to end (`bench/e2e.sh`)' bench/README.md; then
  cat >> bench/README.md <<'MD'

## End to end (`bench/e2e.sh`)

Columns: the client check (nginx's rate under loadgen / under wrk, same request, same run);
acknowledged webhooks/s flat out (2 KB, 16 KB bodies); our 2 KB rate as a fraction of nginx's
under loadgen; ack latency p50, p99 in ms at 20% / 50% / 80% of our 2 KB rate (open loop); end to
end, first send to last applied, with p50/p99 of ingress-received-ms to applied (upper bounds of
the worker's histogram buckets); the same latencies at 2,000 events/s; worker alone vs
`redis-benchmark` of the script; peak RSS in MiB of ingress / worker; CPU µs per acknowledged
webhook over the end-to-end step of ingress / broker / worker / redis-server (all threads). Each
row is one run of `bench/e2e.sh` on the machine named below it; the JSON of each run is in
`bench/results/`.

| run | client check: nginx under loadgen / wrk | ingress /s 2 KB | 16 KB | ratio to nginx | ack p50, p99 at 20/50/80% | e2e events/s | at 2,000/s p50, p99 | worker alone / redis-benchmark | RSS MiB | CPU µs/webhook ingress / broker / worker / redis |
|---|---|---|---|---|---|---|---|---|---|---|
MD
fi
# Insert the row after the table's last row.
/usr/bin/python3 - "$row" "$(nproc) cores, $cpu_model" <<'PY'
import sys
row, machine = sys.argv[1], sys.argv[2]
text = open("bench/README.md").read()
head = text.index("## End to end (`bench/e2e.sh`)")
lines = text[head:].split("\n")
last = max(i for i, l in enumerate(lines) if l.startswith("|"))
lines.insert(last + 1, row)
text = text[:head] + "\n".join(lines)
text = text.rstrip("\n") + "\n"
marker = "Machine of the latest row:"
if marker in text:
    text = text[:text.index(marker)].rstrip("\n") + "\n"
text += f"\n{marker} {machine}.\n"
open("bench/README.md", "w").write(text)
PY
echo "$row"
echo "result: $result"
