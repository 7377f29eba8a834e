#!/bin/sh
# Runs hostile-peer attacks (tests/hostile/README.md):
#   tests/hostile/run.sh NAME...     those attacks
#   tests/hostile/run.sh all         every one (what make check runs)
#   tests/hostile/run.sh list        what each does and the answer it must get
# Programs: $E2E_SERVER and $HOSTILE_CLIENT if set, else those of the build directory
# $abs_top_builddir (make check sets it) or $HOSTILE_BUILD (default: _build/hostile).
set -e
here=$(cd "$(dirname "$0")" && pwd)
build=${abs_top_builddir:-${HOSTILE_BUILD:-$here/../../_build/hostile}}
E2E_SERVER=${E2E_SERVER:-$build/tests/e2e/e2e_server}
HOSTILE_CLIENT=${HOSTILE_CLIENT:-$build/tests/hostile/legit_client}
export E2E_SERVER HOSTILE_CLIENT
python=/usr/bin/python3

# CGRPC_HOSTILE=skip: not in this run (tests/run-all.sh skips it in the sanitizer builds and
# distcheck: it measures latency and memory, which those distort).
if test "${CGRPC_HOSTILE:-}" = skip; then
  echo "hostile: skipped (CGRPC_HOSTILE=skip)"
  exit 77
fi

# The attackers speak HTTP/2 through python3-h2's HPACK; a missing one skips (77), or fails
# when CGRPC_REQUIRE_PEERS is set (as CI sets it).
if ! "$python" -c 'import h2, hpack' 2>/dev/null; then
  echo "hostile: $python cannot import h2 (apt-get install python3-h2)"
  test -n "${CGRPC_REQUIRE_PEERS:-}" && exit 1
  exit 77
fi

case "${1:-}" in
  "" ) sed -n '2,8p' "$0"; exit 2 ;;
  list ) exec "$python" "$here/hostile.py" list ;;
esac
for p in "$E2E_SERVER" "$HOSTILE_CLIENT"; do
  test -x "$p" || { echo "hostile: $p is not built (make check builds it)"; exit 1; }
done

# make check: wait for the other tests of this run to finish first, since this one measures
# latency on a two-core machine.  They are the test-driver processes of our process group but
# our own (make runs its jobs in its own group).
if test -n "${abs_top_builddir:-}"; then
  mine=$(ps -o ppid= -p $$ | tr -d ' ')
  pgid=$(ps -o pgid= -p $$ | tr -d ' ')
  waited=0
  while test $waited -lt 1800; do
    others=$(ps -eo pid=,pgid=,args= | awk -v g="$pgid" -v me="$mine" \
      '$2 == g && $1 != me && /build-aux\/test-driver/ && !/check_hostile/' | wc -l)
    test "$others" -eq 0 && break
    test $waited -eq 0 && echo "hostile: waiting for $others other tests to finish"
    sleep 2
    waited=$((waited + 2))
  done
fi
exec "$python" "$here/hostile.py" run "$@"
