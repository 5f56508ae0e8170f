#!/usr/bin/env bash
# Installs what is missing, builds with the dev preset (warnings as errors) and runs every test,
# builds the release preset, then builds and runs the tests again under AddressSanitizer +
# UndefinedBehaviorSanitizer.
# STRIPE_SYNC_SKIP_ASAN=1 skips the second pass (a quicker local loop; CI never sets it).
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
fi
