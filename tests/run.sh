#!/usr/bin/env bash
# Installs what is missing, builds with the dev preset (warnings as errors) and runs every test
# (unit, integration, e2e, the hostile matrix, the short chaos seed), builds the release preset,
# builds and runs the tests again under AddressSanitizer + UndefinedBehaviorSanitizer, then runs
# the tests that hold the worker pool, the ingress and librdkafka in one process under
# ThreadSanitizer.
# STRIPE_SYNC_SKIP_ASAN=1 skips the sanitizer passes (a quicker local loop; CI never sets it).
set -euo pipefail
cd "$(dirname "$0")/.."

./deploy/local/install-deps.sh
cmake --preset dev
cmake --build --preset dev
ctest --preset dev -j "$(nproc)"

# The release build is what ./deploy/local/run.sh and the benchmarks use: GCC warns differently
# at -O3, so it must build here too.
cmake --preset release
cmake --build --preset release

if [ "${STRIPE_SYNC_SKIP_ASAN:-0}" != "1" ]; then
  cmake --preset asan
  cmake --build --preset asan
  ctest --preset asan -j "$(nproc)"

  # ThreadSanitizer: the in-process tests of the worker pool (rebalances, Redis outage, scrapes),
  # the partition scheduler, the ingress with its producer, the consumer, and readiness (ingress
  # and worker together). librdkafka's C11 threads are routed through
  # common/kafka/tsan_c11_threads.cpp; tests/tsan.supp says what is not ours.
  tsan_tests=(integration_worker_tests integration_ingress_tests integration_readiness_tests unit_worker_tests)
  cmake --preset tsan
  cmake --build --preset tsan --target "${tsan_tests[@]}"
  ctest --preset tsan -j "$(nproc)" -R '^(WorkerPool|IngressKafka|KafkaProducer|KafkaConsumer|Readiness|PartitionSchedulerTest)\.'
fi
