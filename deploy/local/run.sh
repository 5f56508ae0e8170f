#!/usr/bin/env bash
# The whole pipeline on this machine: installs what is missing, builds (release preset), starts
# redis-server (append-only file under .local/), the embedded Kafka broker, stripe-ingress and
# stripe-worker, then prints the webhook URL, the secret, a curl that sends a signed test event
# and the command that shows what the worker made of it.
# Ctrl-C stops everything it started.
#
# Settings (environment): STRIPE_WEBHOOK_SECRET (else one is generated and kept in
# .local/webhook-secret), INGRESS_PORT (8080), REDIS_PORT (6380: not the system Redis's 6379).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

./deploy/local/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release

bin=build/release
state=.local
mkdir -p "$state/redis" "$state/logs"
ingress_port=${INGRESS_PORT:-8080}
redis_port=${REDIS_PORT:-6380}

if [ -n "${STRIPE_WEBHOOK_SECRET:-}" ]; then
  secret=$STRIPE_WEBHOOK_SECRET
elif [ -s "$state/webhook-secret" ]; then
  secret=$(cat "$state/webhook-secret")
else
  secret="whsec_local_$(openssl rand -hex 24)"
  (umask 077 && printf '%s\n' "$secret" > "$state/webhook-secret")
fi

pids=()
stop_all() {
  trap - INT TERM EXIT
  trap '' PIPE  # with `run.sh | tee log`, Ctrl-C kills tee first: still stop everything
  echo "stopping..." >&2 || true
  # Reverse order: the ingress drains into the broker before the broker goes.
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
}
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

wait_for() {  # wait_for DESCRIPTION SECONDS COMMAND...
  local what=$1 secs=$2; shift 2
  local until=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $until ]; then echo "run.sh: $what did not come up; see $state/logs/" >&2; exit 1; fi
    sleep 0.2
  done
}

# Each child runs in its own session (setsid), so Ctrl-C reaches only this script, which then
# stops them in order: the ingress drains into the broker before the broker goes.
redis_cmd=(redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$root/$state/redis" \
  --appendonly yes --save "" --daemonize no)
setsid "${redis_cmd[@]}" >"$state/logs/redis.log" 2>&1 &
pids+=($!)
wait_for "redis-server" 20 redis-cli -p "$redis_port" ping

rm -f "$state/bootstrap"
setsid "$bin/worker/stripe-sync" broker --bootstrap-file "$state/bootstrap" >"$state/logs/broker.out" 2>"$state/logs/broker.log" &
pids+=($!)
wait_for "the embedded broker" 20 test -s "$state/bootstrap"
bootstrap=$(cat "$state/bootstrap")

STRIPE_WEBHOOK_SECRET="$secret" KAFKA_BROKERS="$bootstrap" REDIS_URL="redis://127.0.0.1:$redis_port/0" \
  INGRESS_LISTEN="127.0.0.1:$ingress_port" setsid "$bin/ingress/stripe-ingress" 2>"$state/logs/ingress.log" &
pids+=($!)
wait_for "stripe-ingress" 30 curl -sf "http://127.0.0.1:$ingress_port/readyz"

KAFKA_BROKERS="$bootstrap" REDIS_URL="redis://127.0.0.1:$redis_port/0" \
  setsid "$bin/worker/stripe-worker" 2>"$state/logs/worker.log" &
pids+=($!)
wait_for "stripe-worker" 30 grep -q '"partitions assigned"' "$state/logs/worker.log"

event=tests/fixtures/events/customer.created.json
cat <<TXT

stripe-sync is running (logs in $state/logs/):
  webhook URL     http://127.0.0.1:$ingress_port/webhooks/stripe
  webhook secret  $secret
  Kafka           $bootstrap (embedded, in memory)
  Redis           redis://127.0.0.1:$redis_port/0 (append-only file in $state/redis)
  metrics         http://127.0.0.1:$ingress_port/metrics

Send a signed test event (the signature is computed when you paste it):

curl -sS -X POST http://127.0.0.1:$ingress_port/webhooks/stripe \\
  -H 'Content-Type: application/json' \\
  -H "Stripe-Signature: \$($root/$bin/worker/stripe-sync sign --secret '$secret' < $root/$event)" \\
  --data-binary @$root/$event

Then see what the worker applied to Redis:

REDIS_URL=redis://127.0.0.1:$redis_port/0 $root/$bin/worker/stripe-sync state customer cus_Rx7Example001
REDIS_URL=redis://127.0.0.1:$redis_port/0 $root/$bin/worker/stripe-sync audit cus_Rx7Example001

Ctrl-C stops everything.
TXT

# If any process dies, stop the rest and say which.
set +e
wait -n "${pids[@]}"
status=$?
echo "run.sh: a process exited (status $status); see $state/logs/" >&2
exit "$status"
