#!/bin/bash
# cgrpc benchmark: h2load against the cgrpc and grpc C++ BenchmarkService servers side by
# side, each pinned to one core, then the two clients at one call in flight.  Builds
# nothing: run `make` first.  See examples/bench/README.md for what the numbers mean.
#
#   run.sh [--quick] [--long] [--strict] [BUILDDIR]
#
# BUILDDIR is the top build directory (default: the current directory if it holds the
# programs, else the source tree the script lives in).  --quick is the smoke test run by
# `make check`: tiny counts, every client against every server, exits non-zero when any
# part fails (a server that does not start or exit cleanly, an h2load error or non-200,
# a client error).  Numbers from --quick mean nothing.  --long runs 5 times longer.
# --strict also exits non-zero when a bar of the issue is missed.
#
# Environment (defaults in brackets):
#   BENCH_DURATION [5]      seconds of measured h2load load per server and round
#   BENCH_WARMUP [1]        seconds of h2load warm-up before each measurement
#   BENCH_ROUNDS [2]        rounds; servers and clients alternate within a round
#   BENCH_CALLS [10000]     measured calls per client and round (concurrency 1)
#   BENCH_CLIENT_WARMUP [1000]  warm-up calls before them
#   BENCH_SCALE [1]         multiplies durations and call counts (--long sets 5)
#   BENCH_CONNECTIONS [1], BENCH_STREAMS [100]   h2load -c and -m
#   BENCH_REQ_SIZE [32], BENCH_RESP_SIZE [32]    payload bytes in requests and responses
#   BENCH_SERVER_CPU [0], BENCH_CLIENT_CPU [1]   cores for servers and for load/clients
#   BENCH_GRPCXX_MODE [async]   grpcxx_server --mode (async, sync or callback)
#   BENCH_CGRPC_THREADS ["default 0"]  bench_server --threads settings to measure
#   BENCH_OBSERVE []        any of "metrics all all1": also measures each cgrpc server with
#                           the call metrics on (+metrics), with metrics, access log and
#                           tracing of every call (+all), or of 1 % of calls (+all1%)
#                           (bench_server --observe, --trace-ratio)
#   BENCH_KEEP [0]          1 keeps the work directory (h2load logs, server output)
#   BENCH_BASELINE []       another build directory (an earlier commit, say): its bench_server
#                           and bench_client run in the same rounds, labelled base, so that a
#                           change is measured against what it changes, side by side

set -u -o pipefail

usage() {
  sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2
  exit "${1:-2}"
}

QUICK=0
STRICT=0
BUILDDIR=""
SCALE=${BENCH_SCALE:-1}
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1 ;;
    --long) SCALE=5 ;;
    --strict) STRICT=1 ;;
    -h | --help) usage 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; usage 2 ;;
    *) BUILDDIR=$1 ;;
  esac
  shift
done

DURATION=$((${BENCH_DURATION:-5} * SCALE))
WARMUP_SECS=${BENCH_WARMUP:-1}
ROUNDS=${BENCH_ROUNDS:-2}
CALLS=$((${BENCH_CALLS:-10000} * SCALE))
CLIENT_WARMUP=${BENCH_CLIENT_WARMUP:-1000}
CONNS=${BENCH_CONNECTIONS:-1}
STREAMS=${BENCH_STREAMS:-100}
REQ_SIZE=${BENCH_REQ_SIZE:-32}
RESP_SIZE=${BENCH_RESP_SIZE:-32}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
GRPCXX_MODE=${BENCH_GRPCXX_MODE:-async}
CGRPC_THREADS=${BENCH_CGRPC_THREADS:-default 0}
OBSERVE=${BENCH_OBSERVE:-}
if [ "$QUICK" = 1 ]; then
  ROUNDS=1
  QUICK_REQUESTS=2000 # h2load -n, instead of a duration
  CALLS=200
  CLIENT_WARMUP=20
fi

# --- where things are --------------------------------------------------------------------

script_dir=$(cd "$(dirname "$0")" && pwd)
if [ -z "$BUILDDIR" ]; then
  if [ -d examples/bench ] && ls examples/bench/*_server >/dev/null 2>&1; then
    BUILDDIR=.
  else
    BUILDDIR=$script_dir/../..
  fi
fi
BIN=$(cd "$BUILDDIR" 2>/dev/null && pwd)/examples/bench
if [ ! -d "$BIN" ]; then
  echo "run.sh: no examples/bench in build directory $BUILDDIR" >&2
  exit 2
fi
program() { [ -x "$BIN/$1" ] && [ ! -d "$BIN/$1" ] && echo "$BIN/$1"; }
CGRPC_SERVER=$(program bench_server || true)
CGRPC_CLIENT=$(program bench_client || true)
GRPCXX_SERVER=$(program grpcxx_server || true)
GRPCXX_CLIENT=$(program grpcxx_client || true)

if [ -z "$CGRPC_SERVER$CGRPC_CLIENT$GRPCXX_SERVER$GRPCXX_CLIENT" ]; then
  echo "run.sh: no benchmark programs in $BIN (run make first)" >&2
  [ "$QUICK" = 1 ] && exit 77 # automake: SKIP
  exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cgrpc-bench.XXXXXX") || exit 1
SRV_PID=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  if [ -n "$SRV_PID" ]; then
    kill -KILL "$SRV_PID" 2>/dev/null
    wait "$SRV_PID" 2>/dev/null
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "run.sh: work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

FAILS=0
fail() {
  echo "FAIL: $*"
  FAILS=$((FAILS + 1))
}
note() { echo "note: $*"; }

# Pinning: servers on one core, the load (h2load, clients) on another.
PIN_SERVER=()
PIN_CLIENT=()
if ! command -v taskset >/dev/null; then
  note "taskset not found: nothing is pinned"
elif [ "$(nproc)" -lt 2 ]; then
  note "fewer than 2 usable cores: server and load share core $SERVER_CPU"
  PIN_SERVER=(taskset -c "$SERVER_CPU")
  PIN_CLIENT=(taskset -c "$SERVER_CPU")
else
  PIN_SERVER=(taskset -c "$SERVER_CPU")
  PIN_CLIENT=(taskset -c "$CLIENT_CPU")
fi
CLK_TCK=$(getconf CLK_TCK)
HAVE_H2LOAD=0
command -v h2load >/dev/null && HAVE_H2LOAD=1
HAVE_NGHTTP=0
command -v nghttp >/dev/null && HAVE_NGHTTP=1

# --- the request h2load sends --------------------------------------------------------------

# Hand-encoded, so that it needs no program: a gRPC frame (flag 0, 4-byte big-endian length)
# around SimpleRequest { response_size (2) = RESP_SIZE; payload (3) { body (2) = REQ_SIZE
# zero bytes } }, fields left out when zero, as protobuf encodes proto3.
varint_len() {
  local v=$1 n=1
  while [ "$v" -ge 128 ]; do v=$((v >> 7)); n=$((n + 1)); done
  echo $n
}
put_varint() {
  local v=$1
  while [ "$v" -ge 128 ]; do
    printf '%b' "\\x$(printf %02x $(((v & 127) | 128)))"
    v=$((v >> 7))
  done
  printf '%b' "\\x$(printf %02x "$v")"
}
put_be32() {
  local v=$1
  printf '%b' "\\x$(printf %02x $(((v >> 24) & 255)))\\x$(printf %02x $(((v >> 16) & 255)))"
  printf '%b' "\\x$(printf %02x $(((v >> 8) & 255)))\\x$(printf %02x $((v & 255)))"
}
write_request() {
  local req=$1 resp=$2 len=0 body_field=0
  [ "$resp" -gt 0 ] && len=$((1 + $(varint_len "$resp")))
  if [ "$req" -gt 0 ]; then
    body_field=$((1 + $(varint_len "$req") + req))
    len=$((len + 1 + $(varint_len $body_field) + body_field))
  fi
  printf '\x00'
  put_be32 $len
  if [ "$resp" -gt 0 ]; then printf '\x10'; put_varint "$resp"; fi
  if [ "$req" -gt 0 ]; then
    printf '\x1a'; put_varint $body_field
    printf '\x12'; put_varint "$req"
    head -c "$req" /dev/zero
  fi
}
# Bytes of DATA in the answer: the gRPC frame of SimpleResponse { payload (1) { body (2) } }.
response_bytes() {
  local resp=$1 body_field
  if [ "$resp" -eq 0 ]; then echo 5; return; fi
  body_field=$((1 + $(varint_len "$resp") + resp))
  echo $((5 + 1 + $(varint_len $body_field) + body_field))
}

REQUEST=$WORK/request.bin
write_request "$REQ_SIZE" "$RESP_SIZE" >"$REQUEST"
if [ -n "$GRPCXX_CLIENT" ]; then
  # Cross-check the hand encoding against protobuf's own.
  if "$GRPCXX_CLIENT" --req_size "$REQ_SIZE" --resp_size "$RESP_SIZE" \
      --write_request "$WORK/request.cxx.bin" && cmp -s "$REQUEST" "$WORK/request.cxx.bin"; then
    :
  else
    fail "the hand-encoded request differs from grpcxx_client --write_request"
  fi
fi

# --- servers -------------------------------------------------------------------------------

# The servers to measure: "label|command line".
SERVERS=()
if [ -n "$CGRPC_SERVER" ]; then
  for t in $CGRPC_THREADS; do
    if [ "$t" = default ]; then
      SERVERS+=("cgrpc|$CGRPC_SERVER")
      for o in $OBSERVE; do
        case $o in
          all1) SERVERS+=("cgrpc+all1%|$CGRPC_SERVER --observe all --trace-ratio 0.01") ;;
          *) SERVERS+=("cgrpc+$o|$CGRPC_SERVER --observe $o") ;;
        esac
      done
    else
      SERVERS+=("cgrpc-t$t|$CGRPC_SERVER --threads $t")
      for o in $OBSERVE; do
        case $o in
          all1) SERVERS+=("cgrpc-t$t+all1%|$CGRPC_SERVER --threads $t --observe all --trace-ratio 0.01") ;;
          *) SERVERS+=("cgrpc-t$t+$o|$CGRPC_SERVER --threads $t --observe $o") ;;
        esac
      done
    fi
  done
else
  note "bench_server not built (needs libcgrpc and protoc-gen-cgrpc): cgrpc server skipped"
fi
BASE_SERVER=""
BASE_CLIENT=""
if [ -n "${BENCH_BASELINE:-}" ]; then
  BASE_BIN=$(cd "$BENCH_BASELINE" 2>/dev/null && pwd)/examples/bench
  [ -x "$BASE_BIN/bench_server" ] && BASE_SERVER=$BASE_BIN/bench_server
  [ -x "$BASE_BIN/bench_client" ] && BASE_CLIENT=$BASE_BIN/bench_client
  [ -z "$BASE_SERVER$BASE_CLIENT" ] && fail "BENCH_BASELINE: no bench programs in $BASE_BIN"
  for t in $CGRPC_THREADS; do
    [ -z "$BASE_SERVER" ] && break
    if [ "$t" = default ]; then
      SERVERS+=("base|$BASE_SERVER")
    else
      SERVERS+=("base-t$t|$BASE_SERVER --threads $t")
    fi
  done
fi
if [ -n "$GRPCXX_SERVER" ]; then
  SERVERS+=("grpc++|$GRPCXX_SERVER --mode $GRPCXX_MODE")
else
  note "grpcxx_server not built (needs libgrpc++-dev): grpc C++ server skipped"
fi
# CI sets CGRPC_REQUIRE_PEERS: a missing side is then a failure, not a skip.
if [ -n "${CGRPC_REQUIRE_PEERS:-}" ] && { [ -z "$CGRPC_SERVER" ] || [ -z "$GRPCXX_SERVER" ]; }; then
  echo "run.sh: CGRPC_REQUIRE_PEERS is set but the cgrpc or grpc C++ programs are not built" >&2
  exit 1
fi

# start_server LABEL COMMAND...: starts it on the server core; sets SRV_PID and SRV_PORT.
start_server() {
  local label=$1 _
  shift
  SRV_OUT=$WORK/server.$label.out
  SRV_ERR=$WORK/server.$label.err
  SRV_PORT=""
  # Emptied here, not only by the redirection below: that one happens in the background
  # child, and the loop below could read an earlier run's LISTENING line first.
  : >"$SRV_OUT"
  "${PIN_SERVER[@]}" "$@" --port 0 >"$SRV_OUT" 2>"$SRV_ERR" &
  SRV_PID=$!
  for _ in $(seq 200); do
    SRV_PORT=$(awk '$1 == "LISTENING" { print $2; exit }' "$SRV_OUT")
    [ -n "$SRV_PORT" ] && return 0
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.05
  done
  fail "server $label did not start: $(tail -n 5 "$SRV_ERR" | tr '\n' ' ')"
  kill -KILL "$SRV_PID" 2>/dev/null
  wait "$SRV_PID" 2>/dev/null
  SRV_PID=""
  return 1
}

# stop_server LABEL MIN_SERVED: SIGTERM, expects exit 0 within 10 s and "SERVED n" with
# n >= MIN_SERVED (the calls the clients saw succeed: this is how h2load's requests are
# known to have reached the handler).
stop_server() {
  local label=$1 min_served=$2 rc served _
  kill -TERM "$SRV_PID" 2>/dev/null
  for _ in $(seq 200); do
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$SRV_PID" 2>/dev/null; then
    fail "server $label did not exit within 10 s of SIGTERM"
    kill -KILL "$SRV_PID" 2>/dev/null
  fi
  wait "$SRV_PID"
  rc=$?
  SRV_PID=""
  [ $rc -eq 0 ] || fail "server $label exited with status $rc: $(tail -n 5 "$SRV_ERR" | tr '\n' ' ')"
  served=$(awk '$1 == "SERVED" { print $2 }' "$SRV_OUT")
  if [ -z "$served" ]; then
    fail "server $label printed no SERVED line"
  elif [ "$served" -lt "$min_served" ]; then
    fail "server $label answered $served calls OK, clients saw $min_served succeed"
  fi
}

# CPU time (user + system, all threads, in clock ticks) of a process so far.
cpu_ticks() {
  local stat rest
  read -r stat <"/proc/$1/stat" || return 1
  rest=${stat##*) } # fields from 3 on; the command name may hold spaces
  # shellcheck disable=SC2086 # split into fields on purpose
  set -- $rest
  echo $((${12} + ${13}))
}
now_ns() { date +%s%N; }

URL_PATH=/grpc.testing.BenchmarkService/UnaryCall

# probe LABEL: one call with nghttp, checking what h2load cannot: grpc-status in the
# trailers and the size of the response.  Sets PROBED to the calls that succeeded (0 or 1).
probe() {
  local label=$1 out want got fails=$FAILS
  out=$WORK/probe.$label.out
  PROBED=0
  [ "$HAVE_NGHTTP" = 1 ] || return 0
  if ! timeout 20 nghttp -v -n -t 10 -d "$REQUEST" -H 'content-type: application/grpc' \
      -H 'te: trailers' "http://127.0.0.1:$SRV_PORT$URL_PATH" >"$out" 2>&1; then
    fail "nghttp probe of $label failed: $(tail -n 3 "$out" | tr '\n' ' ')"
    return 1
  fi
  want=$(response_bytes "$RESP_SIZE")
  got=$(sed -n 's/.*recv DATA frame <length=\([0-9]*\),.*/\1/p' "$out" | awk '{ s += $1 } END { print s + 0 }')
  grep -q ':status: 200' "$out" || fail "probe of $label: HTTP status is not 200"
  grep -q 'grpc-status: 0' "$out" || fail "probe of $label: grpc-status is not 0 ($(grep -o 'grpc-[a-z]*: .*' "$out" | tr '\n' ' '))"
  [ "$got" = "$want" ] || fail "probe of $label: $got bytes of response DATA, expected $want"
  [ "$FAILS" = "$fails" ] && PROBED=1
  return 0
}

# h2load_run LABEL LOG ARGS...: runs h2load on the client core; checks that every request
# got a 2xx; sets H2_OK (requests answered) and H2_QPS.
h2load_run() {
  local label=$1 log=$2 out rc total ndone ok failed errored timedout c2xx bad
  shift 2
  out=$log.out
  timeout $((DURATION * 3 + 120)) "${PIN_CLIENT[@]}" h2load "$@" -c "$CONNS" -m "$STREAMS" \
    --data "$REQUEST" -H 'content-type: application/grpc' -H 'te: trailers' \
    --log-file "$log" "http://127.0.0.1:$SRV_PORT$URL_PATH" >"$out" 2>&1
  rc=$?
  H2_OK=0
  H2_QPS=0
  read -r total ndone ok failed errored timedout < <(sed -n \
    's/^requests: \([0-9]*\) total, [0-9]* started, \([0-9]*\) done, \([0-9]*\) succeeded, \([0-9]*\) failed, \([0-9]*\) errored, \([0-9]*\) timeout.*/\1 \2 \3 \4 \5 \6/p' "$out")
  c2xx=$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' "$out")
  if [ $rc -ne 0 ] || [ -z "${total:-}" ] || [ -z "$c2xx" ]; then
    fail "h2load against $label: exit status $rc: $(grep -v '^progress' "$out" | tail -n 4 | tr '\n' ' ')"
    return 1
  fi
  bad=$(awk -F'\t' '$2 != 200' "$log" | wc -l)
  if [ "$failed" -ne 0 ] || [ "$errored" -ne 0 ] || [ "$timedout" -ne 0 ] ||
      [ "$c2xx" -ne "$ndone" ] || [ "$ok" -ne "$ndone" ] || [ "$bad" -ne 0 ] || [ "$ok" -eq 0 ]; then
    fail "h2load against $label: $ndone done, $ok succeeded, $c2xx with 2xx, $failed failed, $errored errored, $timedout timed out, $bad log lines not 200"
    return 1
  fi
  if [ -n "${QUICK_REQUESTS:-}" ] && [ "$ok" -ne "$total" ]; then
    fail "h2load against $label: $ok of $total requests succeeded"
    return 1
  fi
  H2_OK=$ok
  H2_QPS=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' "$out")
  return 0
}

# run_client LABEL PROGRAM CONCURRENCY: one client run against SRV_PORT on the client
# core; sets CL_RESULT (its RESULT line) and CL_OK (calls that succeeded).
run_client() {
  local label=$1 prog=$2 conc=$3 out=$WORK/client.out rc
  CL_RESULT=""
  CL_OK=0
  timeout $((CALLS / 20 + 300)) "${PIN_CLIENT[@]}" "$prog" --target "127.0.0.1:$SRV_PORT" \
    --calls "$CALLS" --concurrency "$conc" --req_size "$REQ_SIZE" --resp_size "$RESP_SIZE" \
    --warmup "$CLIENT_WARMUP" >"$out" 2>&1
  rc=$?
  CL_RESULT=$(grep '^RESULT ' "$out" | tail -n 1)
  if [ $rc -ne 0 ] || [ -z "$CL_RESULT" ] || [ "$(field errors "$CL_RESULT")" != 0 ]; then
    fail "$label: exit status $rc: $(tail -n 3 "$out" | tr '\n' ' ')"
    return 1
  fi
  CL_OK=$((CALLS + CLIENT_WARMUP))
}
# field KEY LINE: the value of KEY=value in a RESULT line.
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# --- part 1: h2load against each server ----------------------------------------------------

declare -A REQS SECS TICKS WALL_NS
if [ "$HAVE_H2LOAD" = 0 ]; then
  note "h2load not found (nghttp2-client): server comparison skipped"
elif [ ${#SERVERS[@]} -gt 0 ]; then
  if [ "$QUICK" = 1 ]; then
    echo "== h2load smoke run: $QUICK_REQUESTS requests per server =="
  else
    echo "== h2load: $CONNS connection(s) x $STREAMS streams, ${REQ_SIZE}-byte requests," \
      "${RESP_SIZE}-byte responses, $ROUNDS round(s) of ${DURATION} s per server =="
  fi
  for round in $(seq "$ROUNDS"); do
    for entry in "${SERVERS[@]}"; do
      label=${entry%%|*}
      # shellcheck disable=SC2086 # the command line is split on purpose
      start_server "$label" ${entry#*|} || continue
      probe "$label"
      served=$PROBED
      if [ "$QUICK" = 1 ]; then
        warm=(-n 200)
        measure=(-n "$QUICK_REQUESTS")
      else
        warm=(-D "$WARMUP_SECS")
        measure=(-D "$DURATION")
      fi
      if h2load_run "$label" "$WORK/h2load.$label.$round.warmup.log" "${warm[@]}"; then
        served=$((served + H2_OK))
        t0=$(cpu_ticks "$SRV_PID")
        w0=$(now_ns)
        if h2load_run "$label" "$WORK/h2load.$label.$round.log" "${measure[@]}"; then
          w1=$(now_ns)
          t1=$(cpu_ticks "$SRV_PID")
          served=$((served + H2_OK))
          REQS[$label]=$((${REQS[$label]:-0} + H2_OK))
          SECS[$label]=$(awk -v a="${SECS[$label]:-0}" -v n="$H2_OK" -v q="$H2_QPS" \
            'BEGIN { printf "%.6f", a + (q > 0 ? n / q : 0) }')
          TICKS[$label]=$((${TICKS[$label]:-0} + t1 - t0))
          WALL_NS[$label]=$((${WALL_NS[$label]:-0} + w1 - w0))
        fi
      fi
      stop_server "$label" "$served"
    done
  done

  # Latency percentiles over every measured request of every round (h2load's log: start
  # time, status, microseconds until the end of the response).
  percentiles() { # LABEL -> "p50_ms p99_ms"
    local r
    for r in $(seq "$ROUNDS"); do
      cat "$WORK/h2load.$1.$r.log" 2>/dev/null
    done | awk -F'\t' '$2 == 200 { print $3 }' |
      sort -n | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "- -"; exit }
        i50 = int(NR * 0.50); if (i50 < NR * 0.50) i50++; if (i50 < 1) i50 = 1
        i99 = int(NR * 0.99); if (i99 < NR * 0.99) i99++; if (i99 < 1) i99 = 1
        printf "%.2f %.2f\n", v[i50] / 1000, v[i99] / 1000 }'
  }
  ref_cpu=""
  ref_qps=""
  if [ -n "${REQS[grpc++]:-}" ]; then
    ref_cpu=$(awk -v t="${TICKS[grpc++]}" -v k="$CLK_TCK" -v n="${REQS[grpc++]}" 'BEGIN { print t * 1e6 / k / n }')
    ref_qps=$(awk -v n="${REQS[grpc++]}" -v s="${SECS[grpc++]}" 'BEGIN { print (s > 0 ? n / s : 0) }')
  fi
  printf '%-16s %10s %8s %8s %11s %9s %10s %10s\n' impl QPS 'p50 ms' 'p99 ms' 'CPU us/req' \
    'core busy' 'CPU ratio' 'QPS ratio'
  for entry in "${SERVERS[@]}"; do
    label=${entry%%|*}
    if [ -z "${REQS[$label]:-}" ]; then
      printf '%-16s %10s\n' "$label" '(failed)'
      continue
    fi
    read -r p50 p99 < <(percentiles "$label")
    awk -v label="$label" -v n="${REQS[$label]}" -v s="${SECS[$label]}" -v t="${TICKS[$label]}" \
      -v k="$CLK_TCK" -v w="${WALL_NS[$label]}" -v p50="$p50" -v p99="$p99" \
      -v rc="$ref_cpu" -v rq="$ref_qps" 'BEGIN {
        qps = s > 0 ? n / s : 0; cpu = t * 1e6 / k / n; busy = t / k / (w / 1e9) * 100
        cr = (rc != "" && rc > 0) ? sprintf("%.2f", cpu / rc) : "-"
        qr = (rq != "" && rq > 0) ? sprintf("%.2f", qps / rq) : "-"
        printf "%-16s %10.0f %8s %8s %11.1f %8.0f%% %10s %10s\n", label, qps, p50, p99, cpu, busy, cr, qr }'
  done
  echo "(CPU us/req: server user+system CPU over the measured runs / requests; CPU ratio:"
  echo " cgrpc / grpc++, lower is better; QPS ratio: higher is better; core busy below ~95%"
  echo " means the load generator, not the server, set the pace.  h2load sees HTTP status only;"
  echo " grpc-status was checked once per server with nghttp, and each server's count of OK calls.)"
  if [ "$QUICK" = 0 ] && [ -n "$ref_cpu" ]; then
    for entry in "${SERVERS[@]}"; do
      label=${entry%%|*}
      [ "$label" = grpc++ ] || [ -z "${REQS[$label]:-}" ] && continue
      verdict=$(awk -v t="${TICKS[$label]}" -v k="$CLK_TCK" -v n="${REQS[$label]}" -v rc="$ref_cpu" \
        'BEGIN { r = t * 1e6 / k / n / rc; printf "%s (ratio %.2f)", r <= 1 ? "PASS" : "MISS", r }')
      echo "bar: $label server CPU per request <= grpc++ at ${CONNS}x${STREAMS}: $verdict"
      case $verdict in MISS*) [ "$STRICT" = 1 ] && fail "bar missed: $label server CPU per request" ;; esac
    done
  fi
  echo
fi

# --- part 2: the clients -------------------------------------------------------------------

CLIENTS=()
[ -n "$CGRPC_CLIENT" ] && CLIENTS+=("cgrpc|$CGRPC_CLIENT")
[ -n "$GRPCXX_CLIENT" ] && CLIENTS+=("grpc++|$GRPCXX_CLIENT")
[ -n "$BASE_CLIENT" ] && CLIENTS+=("base|$BASE_CLIENT")
[ -z "$CGRPC_CLIENT" ] && note "bench_client not built: cgrpc client skipped"
[ -z "$GRPCXX_CLIENT" ] && note "grpcxx_client not built: grpc C++ client skipped"

if [ ${#CLIENTS[@]} -gt 0 ] && [ "$QUICK" = 1 ]; then
  # Every client against every server, one call and several in flight.
  echo "== clients smoke run: $CALLS calls, every client against every server =="
  for sentry in "${SERVERS[@]}"; do
    slabel=${sentry%%|*}
    # shellcheck disable=SC2086
    start_server "$slabel" ${sentry#*|} || continue
    served=0
    for centry in "${CLIENTS[@]}"; do
      clabel=${centry%%|*}
      for conc in 1 16; do
        if run_client "client $clabel -> server $slabel, concurrency $conc" "${centry#*|}" "$conc"; then
          served=$((served + CL_OK))
          echo "$clabel -> $slabel: $CL_RESULT"
        fi
      done
    done
    stop_server "$slabel" "$served"
  done
elif [ ${#CLIENTS[@]} -gt 0 ]; then
  # The comparison: both clients at concurrency 1 against the same (grpc C++) server.
  server_entry=""
  for entry in "${SERVERS[@]}"; do
    [ "${entry%%|*}" = grpc++ ] && server_entry=$entry
  done
  if [ -z "$server_entry" ] && [ ${#SERVERS[@]} -gt 0 ]; then
    server_entry=${SERVERS[0]}
    note "no grpc C++ server: the clients run against ${server_entry%%|*}"
  fi
  if [ -n "$server_entry" ]; then
    slabel=${server_entry%%|*}
    echo "== clients: concurrency 1 against the $slabel server, $ROUNDS round(s) of $CALLS calls =="
    declare -A P50 P99 CQPS NRUNS
    for round in $(seq "$ROUNDS"); do
      # shellcheck disable=SC2086
      start_server "$slabel" ${server_entry#*|} || break
      served=0
      for centry in "${CLIENTS[@]}"; do
        clabel=${centry%%|*}
        if run_client "client $clabel" "${centry#*|}" 1; then
          served=$((served + CL_OK))
          P50[$clabel]=$(awk -v a="${P50[$clabel]:-0}" -v b="$(field p50_us "$CL_RESULT")" 'BEGIN { print a + b }')
          P99[$clabel]=$(awk -v a="${P99[$clabel]:-0}" -v b="$(field p99_us "$CL_RESULT")" 'BEGIN { print a + b }')
          CQPS[$clabel]=$(awk -v a="${CQPS[$clabel]:-0}" -v b="$(field qps "$CL_RESULT")" 'BEGIN { print a + b }')
          NRUNS[$clabel]=$((${NRUNS[$clabel]:-0} + 1))
        fi
      done
      stop_server "$slabel" "$served"
    done
    ref_p50=""
    [ -n "${NRUNS[grpc++]:-}" ] && ref_p50=$(awk -v a="${P50[grpc++]}" -v n="${NRUNS[grpc++]}" 'BEGIN { print a / n }')
    printf '%-10s %10s %8s %8s %10s\n' client 'calls/s' 'p50 us' 'p99 us' 'p50 ratio'
    for centry in "${CLIENTS[@]}"; do
      clabel=${centry%%|*}
      if [ -z "${NRUNS[$clabel]:-}" ]; then
        printf '%-10s %10s\n' "$clabel" '(failed)'
        continue
      fi
      awk -v label="$clabel" -v n="${NRUNS[$clabel]}" -v p50="${P50[$clabel]}" -v p99="${P99[$clabel]}" \
        -v q="${CQPS[$clabel]}" -v ref="$ref_p50" 'BEGIN {
          r = (ref != "" && ref > 0) ? sprintf("%.2f", p50 / n / ref) : "-"
          printf "%-10s %10.0f %8.1f %8.1f %10s\n", label, q / n, p50 / n, p99 / n, r }'
    done
    echo "(per-call latency measured by each client; values are the mean over rounds;"
    echo " p50 ratio: cgrpc / grpc++, lower is better)"
    if [ -n "$ref_p50" ] && [ -n "${NRUNS[cgrpc]:-}" ]; then
      verdict=$(awk -v a="${P50[cgrpc]}" -v n="${NRUNS[cgrpc]}" -v ref="$ref_p50" \
        'BEGIN { r = a / n / ref; printf "%s (ratio %.2f)", r <= 1 ? "PASS" : "MISS", r }')
      echo "bar: cgrpc client p50 at 1 call in flight <= grpc++ client's: $verdict"
      case $verdict in MISS*) [ "$STRICT" = 1 ] && fail "bar missed: cgrpc client p50" ;; esac
    fi
  fi
fi

echo
if [ "$FAILS" -gt 0 ]; then
  echo "run.sh: $FAILS failure(s)"
  exit 1
fi
echo "run.sh: ok"
exit 0
