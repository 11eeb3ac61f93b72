#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (make fuzz FUZZ_SECONDS=60), each from the committed seed
# corpus plus what earlier runs found (kept in BUILD/corpus, outside the tree). Extra arguments
# go to libFuzzer. Exits non-zero when any target found a crash, a leak or a timeout; the input
# is in BUILD/artifacts/ (add it to fuzz/corpus/<target>/ once fixed).
set -uo pipefail
build=${1:?usage: fuzz/run.sh BUILD_DIR SECONDS [libFuzzer args]}
seconds=${2:?usage: fuzz/run.sh BUILD_DIR SECONDS [libFuzzer args]}
shift 2
cd "$(dirname "$0")/.."
failed=()
for target in request_head response_head chunked_body yaml client_hello dns_query; do
  mkdir -p "$build/corpus/$target" "$build/artifacts"
  echo "fuzz: $target for ${seconds}s" >&2
  # -timeout: one input taking 10 s is a hang (a gateway reload must never hang).
  "$build/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" "$@" \
      "$build/corpus/$target" "fuzz/corpus/$target" 2>"$build/$target.log"
  rc=$?
  grep -E '^#[0-9]+[[:space:]]+DONE|^stat::number_of_executed_units|ERROR|check failed' "$build/$target.log" >&2
  [ $rc -eq 0 ] || failed+=("$target")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (logs: $build/<target>.log, inputs: $build/artifacts/)" >&2
  exit 1
fi
echo "fuzz: all targets ran ${seconds}s clean" >&2
