#!/bin/sh
# cgrpc behind nginx: two interop_servers as an nginx upstream (grpc_pass),
# interop_client talking to nginx, all on 127.0.0.1 -- the scale-out recipe of
# README.md.  Checks that the official cases pass through nginx, that nginx
# spread the calls over both backends (its access log's $upstream_addr), and
# that once one backend is stopped 20 more calls succeed (a refused connect is
# retried on the other, grpc_next_upstream).  nginx runs as the current user
# with everything under the scratch directory, not under CGRPC_TEST_WRAPPER.
#   NGINX   the nginx binary (default: nginx on PATH, else /usr/sbin/nginx)
. "$(dirname "$0")/common.sh"

server=$abs_top_builddir/tests/interop/interop_server
client=$abs_top_builddir/tests/interop/interop_client
test -x "$server" || hard_error "$server is not built"
test -x "$client" || hard_error "$client is not built"
if test -n "${NGINX:-}"; then
  nginx_bin=$(command -v "$NGINX") || missing_peer "NGINX=$NGINX not found"
else
  # /usr/sbin is not on a Debian user's PATH.
  nginx_bin=$(command -v nginx || command -v /usr/sbin/nginx) ||
    missing_peer "nginx not found (install-deps.sh installs Debian's nginx)"
fi

interop_tmpdir
ngx=$interop_tmp/nginx
mkdir -p "$ngx/tmp" || hard_error "cannot create $ngx"
pid_a='' pid_b='' nginx_pid=''
nginx_cleanup() {
  for p in $pid_a $pid_b $nginx_pid; do kill -TERM "$p" 2>/dev/null; done
  for p in $pid_a $pid_b $nginx_pid; do wait "$p" 2>/dev/null; done
  interop_cleanup
}
trap nginx_cleanup EXIT

# stop PID NAME: SIGTERM, then the exit status (KILL after stop_timeout).  The
# watchdog gets SIGKILL: a subshell told TERM before it has reset the traps it
# inherited would run ours (exit 143, then nginx_cleanup).
stop() {
  kill -TERM "$1"
  (sleep "$stop_timeout" && kill -KILL "$1") >/dev/null 2>&1 &
  dog=$!
  wait "$1"
  st=$?
  kill -KILL "$dog" 2>/dev/null
  wait "$dog" 2>/dev/null
  test "$st" -eq 0 || echo "FAIL $interop_name: $2 exited with status $st" >&2
  return "$st"
}

# Two backends on free ports.  start_listening_server writes server.out; the
# rename keeps the running server's output going to the renamed file.
start_listening_server $c_wrapper "$server" --host 127.0.0.1 --port 0
pid_a=$server_pid port_a=$port
mv "$interop_tmp/server.out" "$interop_tmp/server_a.out"
start_listening_server $c_wrapper "$server" --host 127.0.0.1 --port 0
pid_b=$server_pid port_b=$port
mv "$interop_tmp/server.out" "$interop_tmp/server_b.out"
addr_a=127.0.0.1:$port_a addr_b=127.0.0.1:$port_b

# The access log: the :authority (which phase), status, every upstream tried.
write_conf() {
  user=
  test "$(id -u)" -ne 0 || user="user $(id -un) $(id -gn);"
  cat >"$ngx/nginx.conf" <<EOF
$user
worker_processes 1;
pid $ngx/nginx.pid;
error_log $ngx/error.log warn;
events { worker_connections 64; }
http {
  log_format cgrpc '\$host|\$status|\$upstream_status|\$upstream_addr|\$request_uri';
  access_log $ngx/access.log cgrpc;
  client_body_temp_path $ngx/tmp/body;
  proxy_temp_path $ngx/tmp/proxy;
  fastcgi_temp_path $ngx/tmp/fastcgi;
  uwsgi_temp_path $ngx/tmp/uwsgi;
  scgi_temp_path $ngx/tmp/scgi;
  upstream backends {
    server $addr_a max_fails=1 fail_timeout=10s;
    server $addr_b max_fails=1 fail_timeout=10s;
    keepalive 8;
  }
  server {
    listen 127.0.0.1:$nginx_port http2;
    client_max_body_size 0;
    location / {
      grpc_pass grpc://backends;
      grpc_next_upstream error timeout;
      grpc_next_upstream_tries 2;
      grpc_connect_timeout 2s;
    }
  }
}
EOF
}

# nginx cannot take port 0: a random port below Linux's ephemeral range, again
# if taken.  The pid file appears once the listening socket is bound.
for _ in 1 2 3 4 5; do
  nginx_port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000))
  write_conf
  rm -f "$ngx/nginx.pid" "$ngx/error.log"
  "$nginx_bin" -p "$ngx/" -c "$ngx/nginx.conf" -e "$ngx/error.log" -g 'daemon off;' \
    >"$ngx/stderr" 2>&1 &
  nginx_pid=$!
  for _ in $(seq $((ready_timeout * 10))); do
    test -s "$ngx/nginx.pid" && break
    kill -0 "$nginx_pid" 2>/dev/null || break
    sleep 0.1
  done
  test -s "$ngx/nginx.pid" && break
  kill -TERM "$nginx_pid" 2>/dev/null
  wait "$nginx_pid"
  nginx_pid=
  if grep -q 'Address already in use' "$ngx/error.log" 2>/dev/null; then
    echo "port $nginx_port is taken, another" >&2
    continue
  fi
  cat "$ngx/stderr" "$ngx/error.log" >&2 2>/dev/null
  if grep -q 'grpc_pass\|ngx_http_v2_module' "$ngx/stderr" "$ngx/error.log" 2>/dev/null; then
    missing_peer "$nginx_bin lacks the grpc or http2 module"
  fi
  hard_error "nginx did not start"
done
test -n "$nginx_pid" || hard_error "nginx found no free port in 5 tries"
echo "nginx :$nginx_port -> backends A $addr_a, B $addr_b"

# run_client TAG CASES: the cases through nginx, with :authority TAG.
status=0
run_client() {
  timeout -k 5 $((10 * slowdown)) $c_wrapper "$client" --server_host 127.0.0.1 \
    --server_port "$nginx_port" --server_host_override "$1" --test_case "$2" ||
    { echo "FAIL $interop_name: the client ($1: $2) exited with status $?" >&2; status=1; }
}
# The log lines of phase TAG.
log_of() {
  awk -F'|' -v tag="$1" '$1 == tag' "$ngx/access.log"
}

# 1. Every official case, both backends up: nginx's round robin must have
# given each backend a good share of the calls.
run_client before-stop all
n1=$(log_of before-stop | wc -l)
n1_a=$(log_of before-stop | awk -F'|' -v a="$addr_a" '$4 == a' | wc -l)
n1_b=$(log_of before-stop | awk -F'|' -v b="$addr_b" '$4 == b' | wc -l)
echo "before the stop: $n1 calls, $n1_a on A, $n1_b on B"
if test "$n1" -lt 14 || test "$n1_a" -lt $((n1 / 4)) || test "$n1_b" -lt $((n1 / 4)); then
  echo "FAIL $interop_name: calls not spread over both backends" >&2
  status=1
fi

# 2. Backend A stopped (gracefully: GOAWAY, exit 0); 4 x 5 calls of the four
# kinds must all succeed, every one answered by B, and nginx must have tried
# (and been refused by) A on the way -- the retry, not luck, kept them working.
stop "$pid_a" "backend A" || status=1
pid_a=
for round in 1 2 3 4; do
  run_client after-stop empty_unary,large_unary,client_streaming,server_streaming,ping_pong
done
n2=$(log_of after-stop | wc -l)
n2_b=$(log_of after-stop | awk -F'|' -v b="$addr_b" '$4 == b' | wc -l)
n2_retried=$(log_of after-stop | awk -F'|' -v r="$addr_a, $addr_b" '$4 == r' | wc -l)
echo "after stopping A: $n2 calls, $n2_b on B alone, $n2_retried tried A first then B"
if test "$n2" -lt 20 || test $((n2_b + n2_retried)) -ne "$n2" || test "$n2_retried" -lt 1; then
  echo "FAIL $interop_name: calls after the stop not all answered by B after a retry of A" >&2
  status=1
fi

stop "$pid_b" "backend B" || status=1
pid_b=
stop "$nginx_pid" nginx || status=1
nginx_pid=
if test "$status" -ne 0; then
  for f in "$interop_tmp/server_a.out" "$interop_tmp/server_b.out" "$ngx/error.log" "$ngx/access.log"; do
    echo "--- $f" >&2
    cat "$f" >&2
  done
fi
exit $status
