# Shared set-up of the interop test scripts; sourced, not run.
#
# Environment (automake's AM_TESTS_ENVIRONMENT passes most of it; all optional):
#   abs_top_builddir    where the C programs were built (default: the current
#                       directory, which is where `make check` runs tests)
#   GRPC_PROTO_DIR      gRPC's official protos (default /usr/share/grpc-proto)
#   PROTOC              protoc (default: on PATH)
#   GRPC_PYTHON_PLUGIN  grpc_python_plugin (default: on PATH)
#   NODE, NPM           node and npm for the grpc-js peers (default: on PATH)
#   CGRPC_INTEROP_PYTHON  the Python with grpcio (default /usr/bin/python3)
#   CGRPC_REQUIRE_PEERS   when set, a missing peer fails the test instead of skipping it
#   CGRPC_INTEROP_CASES   cases to run (default: everything, see interop_cases.py)
#   CGRPC_TEST_WRAPPER    a command to run the C programs under (make check-valgrind
#                         sets it to valgrind; its errors and leaks then fail the test)
#   CGRPC_INTEROP_VALGRIND  when set (and CGRPC_TEST_WRAPPER is not), run the C
#                         programs under valgrind
#   CGRPC_TEST_SLOWDOWN   multiplies the timeouts (default 1; 10 under valgrind)

set -u

interop_dir=$(cd "$(dirname "$0")" && pwd)
interop_name=$(basename "$0" .sh)
abs_top_builddir=${abs_top_builddir:-$(pwd)}
PY=${CGRPC_INTEROP_PYTHON:-/usr/bin/python3}
GRPC_PROTO_DIR=${GRPC_PROTO_DIR:-/usr/share/grpc-proto}
export GRPC_PROTO_DIR
# The scripts live in the source tree, which may be read-only (distcheck).
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE

# What the C programs run under, if anything.
c_wrapper=${CGRPC_TEST_WRAPPER:-}
slowdown=${CGRPC_TEST_SLOWDOWN:-1}
if test -z "$c_wrapper" && test -n "${CGRPC_INTEROP_VALGRIND:-}"; then
  c_wrapper="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect"
  test "$slowdown" -gt 1 2>/dev/null || slowdown=10
fi
case $slowdown in
  '' | *[!0-9]*) slowdown=1 ;;
esac

# Timeouts for run_matrix.py, in seconds.
ready_timeout=$((10 * slowdown))
case_timeout=$((15 * slowdown))
stop_timeout=$((10 * slowdown))

# Makes its own scratch directory, removed on exit.
interop_tmp=
interop_cleanup() {
  if test -n "$interop_tmp"; then rm -rf "$interop_tmp"; fi
}
trap interop_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# A missing peer: skip (77), or fail when CGRPC_REQUIRE_PEERS is set.
missing_peer() {
  if test -n "${CGRPC_REQUIRE_PEERS:-}"; then
    echo "FAIL $interop_name: $* (and CGRPC_REQUIRE_PEERS is set)" >&2
    exit 1
  fi
  echo "SKIP $interop_name: $*" >&2
  exit 77
}

# Something of ours that must be there: a hard error (99).  Messages go to
# stderr, since these may run inside $(...).
hard_error() {
  echo "ERROR $interop_name: $*" >&2
  exit 99
}

# The driver needs Python but not grpcio.
require_python() {
  test -x "$PY" || missing_peer "no Python at $PY (set CGRPC_INTEROP_PYTHON)"
}

# Python with grpcio and protobuf, and the tools to make its stubs; then
# makes the stubs once for both peers ($CGRPC_INTEROP_PYGEN).
require_grpcio() {
  require_python
  "$PY" -c 'import grpc, google.protobuf' 2>/dev/null ||
    missing_peer "python3-grpcio (or python3-protobuf) is not installed for $PY"
  : "${PROTOC:=protoc}" "${GRPC_PYTHON_PLUGIN:=grpc_python_plugin}"
  PROTOC=$(command -v "$PROTOC") || missing_peer "protoc not found"
  GRPC_PYTHON_PLUGIN=$(command -v "$GRPC_PYTHON_PLUGIN") ||
    missing_peer "grpc_python_plugin not found (protobuf-compiler-grpc)"
  test -f "$GRPC_PROTO_DIR/grpc/testing/test.proto" ||
    missing_peer "no grpc/testing/test.proto in $GRPC_PROTO_DIR (grpc-proto)"
  export PROTOC GRPC_PYTHON_PLUGIN
  interop_tmpdir
  CGRPC_INTEROP_PYGEN=$interop_tmp/pygen
  export CGRPC_INTEROP_PYGEN
  "$PY" "$interop_dir/interop_pb.py" "$CGRPC_INTEROP_PYGEN" ||
    hard_error "cannot generate the Python stubs"
}

# Node.js and npm, then the grpc-js packages: installed with `npm ci` from
# our package-lock.json into tests/interop/node in the build tree (never the
# source tree) when missing or stale, under a lock since tests run in
# parallel.  Exports NODE_PATH for the peers.
require_grpcjs() {
  : "${NODE:=node}" "${NPM:=npm}"
  NODE=$(command -v "$NODE") || missing_peer "Node.js (node) not found (install-deps.sh installs it)"
  NPM=$(command -v "$NPM") || missing_peer "npm not found (install-deps.sh installs it)"
  test -f "$GRPC_PROTO_DIR/grpc/testing/test.proto" ||
    missing_peer "no grpc/testing/test.proto in $GRPC_PROTO_DIR (grpc-proto)"
  node_dir=$abs_top_builddir/tests/interop/node
  mkdir -p "$node_dir" || hard_error "cannot create $node_dir"
  if command -v flock >/dev/null 2>&1; then
    exec 8>"$node_dir/lock" || hard_error "cannot open $node_dir/lock"
    flock -w 600 8 || hard_error "waited 600 s for $node_dir/lock"
  fi
  if ! test -f "$node_dir/installed.stamp" ||
     ! cmp -s "$interop_dir/package.json" "$node_dir/package.json" ||
     ! cmp -s "$interop_dir/package-lock.json" "$node_dir/package-lock.json"; then
    rm -f "$node_dir/installed.stamp"
    cp "$interop_dir/package.json" "$interop_dir/package-lock.json" "$node_dir/" &&
      chmod u+w "$node_dir/package.json" "$node_dir/package-lock.json" ||
      hard_error "cannot copy package.json and package-lock.json to $node_dir"
    echo "$interop_name: npm ci in $node_dir" >&2
    if (cd "$node_dir" && "$NPM" ci --no-audit --no-fund --ignore-scripts --prefer-offline) \
         >"$node_dir/npm-ci.log" 2>&1; then
      touch "$node_dir/installed.stamp"
    else
      tail -n 20 "$node_dir/npm-ci.log" | sed 's/^/  | /' >&2
      missing_peer "npm ci failed in $node_dir (see npm-ci.log there)"
    fi
  fi
  exec 8>&-
  NODE_PATH=$node_dir/node_modules
  export NODE_PATH
  "$NODE" -e "require('@grpc/grpc-js'); require('@grpc/proto-loader')" >/dev/null 2>&1 ||
    missing_peer "$NODE cannot load @grpc/grpc-js from $NODE_PATH (Node.js too old?)"
}

interop_tmpdir() {
  if test -z "$interop_tmp"; then
    interop_tmp=$(mktemp -d "${TMPDIR:-/tmp}/cgrpc-interop.XXXXXX") ||
      hard_error "mktemp failed"
  fi
}

# Python stubs for tests/e2e/faulty.proto (and the cgrpc/options.proto it imports) in $1;
# after require_grpcio.
faulty_pygen() {
  mkdir -p "$1" || hard_error "cannot create $1"
  "$PROTOC" -I"$interop_dir/../e2e" -I"$interop_dir/../../runtime/proto" --python_out="$1" \
    --grpc_python_out="$1" --plugin=protoc-gen-grpc_python="$GRPC_PYTHON_PLUGIN" \
    "$interop_dir/../e2e/faulty.proto" "$interop_dir/../../runtime/proto/cgrpc/options.proto" ||
    hard_error "cannot generate the Python stubs of faulty.proto"
}

# Starts a server command in the background, waits for its "LISTENING <port>" line, and
# sets $server_pid and $port (its output goes to $interop_tmp/server.out).
start_listening_server() {
  interop_tmpdir
  : >"$interop_tmp/server.out"  # there before the loop below reads it
  "$@" >"$interop_tmp/server.out" 2>&1 &
  server_pid=$!
  port=
  for _ in $(seq $((ready_timeout * 10))); do
    port=$(sed -n 's/^LISTENING //p' "$interop_tmp/server.out")
    test -n "$port" && return 0
    sleep 0.1
  done
  cat "$interop_tmp/server.out" >&2
  kill "$server_pid"
  hard_error "the server ($1) did not start"
}

# Quotes one word for run_matrix.py's shell-like splitting.
q() {
  printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

py_server() {
  echo "$(q "$PY") $(q "$interop_dir/grpcio_server.py") --host {host} --port {port}"
}

py_client() {
  echo "$(q "$PY") $(q "$interop_dir/grpcio_client.py") --server_host {host} --server_port {port}"
}

js_server() {
  echo "$(q "$NODE") $(q "$interop_dir/grpcjs_server.js") --host {host} --port {port}"
}

js_client() {
  echo "$(q "$NODE") $(q "$interop_dir/grpcjs_client.js") --server_host {host} --server_port {port}"
}

# The command for one of our C programs (built by make check), under
# $c_wrapper if set.  The wrapper is a command line, split on blanks.
c_program() {
  prog=$abs_top_builddir/tests/interop/$1
  test -x "$prog" ||
    hard_error "$prog is not built (make check builds it; set abs_top_builddir for an out-of-tree build)"
  if test -n "$c_wrapper"; then
    printf '%s %s' "$c_wrapper" "$(q "$prog")"
  else
    q "$prog"
  fi
}

c_server() {
  prog=$(c_program interop_server) || exit $?
  echo "$prog --host {host} --port {port}"
}

c_client() {
  prog=$(c_program interop_client) || exit $?
  echo "$prog --server_host {host} --server_port {port}"
}

# run_matrix SERVER_TEMPLATE CLIENT_TEMPLATE: every case (or $CGRPC_INTEROP_CASES),
# all in one client process.
run_matrix() {
  "$PY" "$interop_dir/run_matrix.py" --name "$interop_name" \
    --cases "${CGRPC_INTEROP_CASES:-everything}" \
    --ready-timeout "$ready_timeout" --case-timeout "$case_timeout" \
    --stop-timeout "$stop_timeout" \
    --server "$1" --client "$2"
}

# ---- TLS (the tls_*.sh scripts) ----------------------------------------

# The test certificates, made now by tests/e2e/gen_certs.sh (openssl) in
# $tls_dir (the scratch directory): no key is ever committed.
tls_name=foo.test.example  # in server.pem's subjectAltName (so is localhost)
require_certs() {
  command -v openssl >/dev/null 2>&1 || missing_peer "openssl not found (it makes the test certificates)"
  interop_tmpdir
  tls_dir=$interop_tmp/certs
  sh "$interop_dir/../e2e/gen_certs.sh" "$tls_dir" >"$interop_tmp/gen_certs.log" 2>&1 || {
    cat "$interop_tmp/gen_certs.log" >&2
    hard_error "tests/e2e/gen_certs.sh failed"
  }
}

# A server's TLS flags (after require_certs): `tls_server_flags [mtls]`;
# with mtls it requires client certificates from ca.pem.
tls_server_flags() {
  printf ' --use_tls --tls_cert_file=%s --tls_key_file=%s' \
    "$(q "$tls_dir/server.pem")" "$(q "$tls_dir/server.key")"
  if test "${1:-}" = mtls; then
    printf ' --tls_client_ca_file=%s' "$(q "$tls_dir/ca.pem")"
  fi
}

# A client's TLS flags: `tls_client_flags [mtls|''] [CA]`: trusting ca.pem
# (or $tls_dir/CA), checking the server's name against $tls_name (which is
# also the :authority); with mtls it presents client.pem (CN=alice).
tls_client_flags() {
  printf ' --use_tls --ca_file=%s --server_host_override=%s' \
    "$(q "$tls_dir/${2:-ca.pem}")" "$tls_name"
  if test "${1:-}" = mtls; then
    printf ' --tls_client_cert_file=%s --tls_client_key_file=%s' \
      "$(q "$tls_dir/client.pem")" "$(q "$tls_dir/client.key")"
  fi
}

# A template of run_matrix.py's ({host}, {port}) with $2 for the port, as
# words quoted for eval, in $template_args (the templates are quoted with q,
# so eval splits them as run_matrix.py does).
template_argv() {
  eval "set -- $(printf '%s' "$1" | sed "s/{host}/127.0.0.1/g; s/{port}/$2/g")"
  template_args=$(for a in "$@"; do q "$a"; printf ' '; done)
}

# The server of a template, in the background: sets $server_pid and $port.
# (Killed on exit if still running; tls_stop_server stops it properly.)
tls_start_server() {
  template_argv "$1" 0
  trap 'if test -n "${server_pid:-}"; then kill "$server_pid" 2>/dev/null; fi; interop_cleanup' EXIT
  eval "start_listening_server $template_args"
}

# tls_client_must refused|pass WHAT CLIENT_TEMPLATE: one client run
# (empty_unary) against $port must fail with UNAVAILABLE, or pass.
tls_client_must() {
  template_argv "$3" "$port"
  out=$(eval "timeout $case_timeout $template_args --test_case=empty_unary" 2>&1)
  status=$?
  if test "$1" = refused; then
    if test "$status" -ne 0 && printf '%s\n' "$out" | grep -q '^FAIL empty_unary: .*UNAVAILABLE'; then
      echo "PASS $interop_name: $2: refused ($(printf '%s\n' "$out" | sed -n 's/^FAIL empty_unary: //p' | sed 's/, want OK$//' | head -n 1 | cut -c1-240))"
      return 0
    fi
    echo "FAIL $interop_name: $2: want FAIL empty_unary with UNAVAILABLE, got (status $status):"
  else
    if test "$status" -eq 0 && printf '%s\n' "$out" | grep -q '^PASS empty_unary$'; then
      echo "PASS $interop_name: $2"
      return 0
    fi
    echo "FAIL $interop_name: $2: want PASS empty_unary, got (status $status):"
  fi
  printf '%s\n' "$out" | sed 's/^/  | /'
  tls_failed=1
  return 1
}

# Stops the server of tls_start_server: SIGTERM, and it must exit 0 (a
# valgrind error or leak, or a crash, fails the test).
tls_stop_server() {
  kill -TERM "$server_pid" 2>/dev/null
  wait "$server_pid"
  server_status=$?
  server_pid=
  if test "$server_status" -ne 0; then
    echo "FAIL $interop_name: the server exited with status $server_status:"
    sed 's/^/  | /' "$interop_tmp/server.out"
    tls_failed=1
  fi
}
tls_failed=0
