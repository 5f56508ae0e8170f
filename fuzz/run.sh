#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz`: clang 14, ASan + UBSan, coverage) and runs each
# for SECONDS on a seed corpus made from tests/fixtures/ (Stripe's own events and signature
# vectors), then prints one line a target: executions, seconds, corpus size, findings.
#   fuzz/run.sh [SECONDS] [TARGET]...     (defaults: 60, all five targets)
# A finding stops its target and leaves the input in build/fuzz/artifacts/<target>/; re-run one
# with build/fuzz/fuzz/<target> <file>.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_signature fuzz_envelope fuzz_event_extract fuzz_form_encoding fuzz_http_request)

./deploy/local/install-deps.sh
if ! command -v clang++-14 >/dev/null || ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "ok installed"; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang-14 libclang-rt-14-dev >/dev/null
fi
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "${targets[@]}"
work=build/fuzz/work
rm -rf "$work/seeds"
/usr/bin/python3 fuzz/make_corpus.py tests/fixtures "$work/seeds" >/dev/null
status=0
for t in "${targets[@]}"; do
  corpus="$work/corpus/$t"
  artifacts="build/fuzz/artifacts/$t/"
  mkdir -p "$corpus" "$artifacts"
  log="$work/$t.log"
  set +e
  "build/fuzz/fuzz/$t" "$corpus" "$work/seeds/$t" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$artifacts" -max_len=65536 -timeout=10 -rss_limit_mb=2048 >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  found=$(find "$artifacts" -type f | wc -l)
  echo "$t: ${runs:-?} executions in ${seconds} s, corpus $(ls "$corpus" | wc -l) inputs, findings $found (exit $rc)"
  if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then status=1; tail -30 "$log"; fi
done
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), commit $(git rev-parse --short HEAD)"
exit $status
