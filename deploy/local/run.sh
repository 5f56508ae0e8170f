#!/usr/bin/env bash
# The whole pipeline on this machine: installs what is missing, builds (release preset), starts
# redis-server (append-only file under .local/), the embedded Kafka broker, stripe-ingress and
# stripe-worker, then prints the webhook URL, the secret, a curl that sends a signed test event
# and the command that shows what the worker made of it.
# Ctrl-C stops everything it started.
#
# Settings (environment): STRIPE_WEBHOOK_SECRET (else one is generated and kept in
# .local/webhook-secret), INGRESS_PORT (8080), REDIS_PORT (6380: not the system Redis's 6379), WORKER_STATUS_PORT (9091).
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

# The portal API: local keys and return secret, generated once; Stripe's key comes from you.
if [ ! -s "$state/portal-app-key" ]; then
  (umask 077
   printf 'app_%s\n' "$(openssl rand -hex 16)" > "$state/portal-app-key"
   printf 'admin_%s\n' "$(openssl rand -hex 16)" > "$state/portal-admin-key"
   printf '%s\n' "$(openssl rand -hex 32)" > "$state/portal-return-secret")
fi
app_key=$(cat "$state/portal-app-key")
admin_key=$(cat "$state/portal-admin-key")
{
  printf '%s app local-app\n' "$(printf '%s' "$app_key" | sha256sum | cut -d' ' -f1)"
  printf '%s admin local-admin\n' "$(printf '%s' "$admin_key" | sha256sum | cut -d' ' -f1)"
} > "$state/api-keys"

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
  --appendonly yes --save "" --stream-node-max-bytes 8192 --daemonize no)
setsid "${redis_cmd[@]}" >"$state/logs/redis.log" 2>&1 &
pids+=($!)
wait_for "redis-server" 20 redis-cli -p "$redis_port" ping

rm -f "$state/bootstrap"
setsid "$bin/worker/stripe-sync" broker --bootstrap-file "$state/bootstrap" >"$state/logs/broker.out" 2>"$state/logs/broker.log" &
pids+=($!)
wait_for "the embedded broker" 20 test -s "$state/bootstrap"
bootstrap=$(cat "$state/bootstrap")

STRIPE_WEBHOOK_SECRET="$secret" KAFKA_BROKERS="$bootstrap" REDIS_URL="redis://127.0.0.1:$redis_port/0" \
  INGRESS_LISTEN="127.0.0.1:$ingress_port" STRIPE_API_KEY="${STRIPE_API_KEY:-}" \
  API_KEYS_FILE="$root/$state/api-keys" PORTAL_RETURN_SECRET="$(cat "$state/portal-return-secret")" \
  PORTAL_PUBLIC_BASE_URL="${PORTAL_PUBLIC_BASE_URL:-http://127.0.0.1:3000}" \
  setsid "$bin/ingress/stripe-ingress" 2>"$state/logs/ingress.log" &
pids+=($!)
wait_for "stripe-ingress" 30 curl -sf "http://127.0.0.1:$ingress_port/readyz"

worker_status_port="${WORKER_STATUS_PORT:-9091}"
KAFKA_BROKERS="$bootstrap" REDIS_URL="redis://127.0.0.1:$redis_port/0" \
  WORKER_METRICS_LISTEN="127.0.0.1:$worker_status_port" WORKER_FETCH_WAIT_MS="${WORKER_FETCH_WAIT_MS:-5}" \
  setsid "$bin/worker/stripe-worker" 2>"$state/logs/worker.log" &
pids+=($!)
wait_for "stripe-worker" 30 curl -sf "http://127.0.0.1:$worker_status_port/readyz"

event=tests/fixtures/events/customer.created.json
cat <<TXT

stripe-sync is running (logs in $state/logs/):
  webhook URL     http://127.0.0.1:$ingress_port/webhooks/stripe
  webhook secret  $secret
  Kafka           $bootstrap (embedded, in memory)
  Redis           redis://127.0.0.1:$redis_port/0 (append-only file in $state/redis)
  metrics         http://127.0.0.1:$ingress_port/metrics (ingress), http://127.0.0.1:$worker_status_port/metrics (worker)
  alerts          $root/deploy/prometheus/alerts.yml (rules; runbook: deploy/README.md#alerts)
  dashboard       $root/deploy/grafana/stripe-sync.json (Grafana: Dashboards, Import)

Send a signed test event (the signature is computed when you paste it):

curl -sS -X POST http://127.0.0.1:$ingress_port/webhooks/stripe \\
  -H 'Content-Type: application/json' \\
  -H "Stripe-Signature: \$($root/$bin/worker/stripe-sync sign --secret '$secret' < $root/$event)" \\
  --data-binary @$root/$event

Check the stack as a deployment would be checked (add STRIPE_API_KEY and WEBHOOK_URL for Stripe):

KAFKA_BROKERS=$bootstrap REDIS_URL=redis://127.0.0.1:$redis_port/0 STRIPE_WEBHOOK_SECRET=\$(cat $root/$state/webhook-secret) $root/$bin/worker/stripe-sync doctor

Then see what the worker applied to Redis:

REDIS_URL=redis://127.0.0.1:$redis_port/0 $root/$bin/worker/stripe-sync state customer cus_Rx7Example001
REDIS_URL=redis://127.0.0.1:$redis_port/0 $root/$bin/worker/stripe-sync audit cus_Rx7Example001

TXT
if [ -n "${STRIPE_API_KEY:-}" ]; then
  cat <<TXT
Portal API (app key in $state/portal-app-key):

curl -sS -X POST http://127.0.0.1:$ingress_port/api/payment/portal/session \\
  -H "Authorization: Bearer $app_key" -H 'Content-Type: application/json' \\
  -d '{"customer_id":"cus_...","workflow_type":"payment_update"}'

TXT
else
  echo "Portal API: off. It calls Stripe, so it needs STRIPE_API_KEY=sk_test_... in the environment of run.sh."
  echo
fi
echo "Ctrl-C stops everything."

# If any process dies, stop the rest and say which.
set +e
wait -n "${pids[@]}"
status=$?
echo "run.sh: a process exited (status $status); see $state/logs/" >&2
exit "$status"
