#!/bin/sh
# Runs every fuzz target for a while on a copy of its seed corpus, then prints what each did.
#   tests/fuzz/run.sh [SECONDS]     (default 10 seconds per target)
# Builds nothing: run `make fuzz` first (in a tree configured with --enable-fuzzing), then run
# this from the build directory, or set FUZZ_BUILDDIR to where the targets are
# (BUILDDIR/tests/fuzz).  Everything it writes goes to FUZZ_OUT (default ./fuzz-out): per
# target its log, its working corpus (the seeds plus what it found) and any crash, leak or
# timeout input.  Exits 1 if any target failed, 2 on bad usage.
set -u
seconds=${1:-10}
case $seconds in '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
bindir=${FUZZ_BUILDDIR:-tests/fuzz}
out=${FUZZ_OUT:-fuzz-out}
if [ ! -d "$bindir" ]; then
  echo "$0: no $bindir: run it from the build directory, or set FUZZ_BUILDDIR" >&2
  exit 2
fi
mkdir -p "$out" && out=$(cd "$out" && pwd) || exit 2

# Sanitizer reports with whole stacks; UBSan stops at the first error (-fno-sanitize-recover).
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS

failed=0
ran=0
table=$out/summary.txt
printf '%-20s %-8s %12s %10s %7s  %s\n' target result execs execs/s cov artifact >"$table"
for seeds in "$here"/corpus/*/; do
  t=$(basename "$seeds")
  bin=$bindir/$t
  if [ ! -x "$bin" ]; then
    printf '%-20s %-8s %12s %10s %7s  %s\n' "$t" "not built" - - - - >>"$table"
    continue
  fi
  # A fresh copy of the seeds: what the run finds is added to it, never to the tree.
  rm -rf "${out:?}/$t"
  mkdir -p "$out/$t/corpus" "$out/$t/artifacts"
  cp "$seeds"* "$out/$t/corpus/"
  log=$out/$t/log
  echo "== $t: ${seconds}s" >&2
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/$t/artifacts/" "$out/$t/corpus" >"$log" 2>&1
  rc=$?
  ran=$((ran + 1))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(sed -n 's/.*DONE *cov: \([0-9]*\).*/\1/p' "$log" | tail -1)
  artifact=$(ls "$out/$t/artifacts" | head -1)
  if [ "$rc" -eq 0 ]; then
    result=ok
  else
    failed=1
    result=FAILED
    grep -qs 'ERROR: libFuzzer: timeout' "$log" && result=timeout
    grep -qs 'ERROR: LeakSanitizer' "$log" && result=leak
    grep -qs 'out-of-memory' "$log" && result=oom
    grep -qs -e 'ERROR: AddressSanitizer' -e 'runtime error:' -e 'deadly signal' "$log" &&
      result=crash
    grep -m1 -e 'SUMMARY:' -e 'ERROR: libFuzzer' "$log" >&2
  fi
  printf '%-20s %-8s %12s %10s %7s  %s\n' "$t" "$result" "${execs:--}" "${rate:--}" \
    "${cov:--}" "${artifact:+$out/$t/artifacts/$artifact}" >>"$table"
done
cat "$table"
echo "logs, corpora and artifacts: $out" >&2
[ "$ran" -gt 0 ] || { echo "$0: no fuzz target found in $bindir (make fuzz?)" >&2; exit 2; }
exit "$failed"
