# Shared set-up of the interop test scripts; sourced, not run.
#
# Environment (automake's AM_TESTS_ENVIRONMENT passes most of it; all optional):
#   abs_top_builddir    where the C programs were built (default: the current
#                       directory, which is where `make check` runs tests)
#   GRPC_PROTO_DIR      gRPC's official protos (default /usr/share/grpc-proto)
#   PROTOC              protoc (default: on PATH)
#   GRPC_PYTHON_PLUGIN  grpc_python_plugin (default: on PATH)
#   CGRPC_INTEROP_PYTHON  the Python with grpcio (default /usr/bin/python3)
#   CGRPC_REQUIRE_PEERS   when set, a missing peer fails the test instead of skipping it
#   CGRPC_INTEROP_CASES   cases to run (default: each script's own)
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

interop_tmpdir() {
  if test -z "$interop_tmp"; then
    interop_tmp=$(mktemp -d "${TMPDIR:-/tmp}/cgrpc-interop.XXXXXX") ||
      hard_error "mktemp failed"
  fi
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

# run_matrix SERVER_TEMPLATE CLIENT_TEMPLATE DEFAULT_CASES
run_matrix() {
  "$PY" "$interop_dir/run_matrix.py" --name "$interop_name" \
    --cases "${CGRPC_INTEROP_CASES:-$3}" \
    --ready-timeout "$ready_timeout" --case-timeout "$case_timeout" \
    --stop-timeout "$stop_timeout" \
    --server "$1" --client "$2"
}
