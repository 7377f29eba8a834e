#!/bin/sh
# Installs the Debian 12 packages cgrpc needs to build, test and benchmark,
# skipping the work when they are already there.  Needs root or sudo.
#   ./install-deps.sh         what the quick start and make check need
#   ./install-deps.sh fuzz    also clang and libFuzzer, for --enable-fuzzing (tests/fuzz)
set -e

PACKAGES="
  build-essential autoconf automake libtool pkg-config
  libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler libmbedtls-dev zlib1g-dev
  libjson-c-dev
  protobuf-compiler libprotobuf-dev libprotoc-dev
  check valgrind
  grpc-proto python3 python3-grpcio python3-protobuf protobuf-compiler-grpc
  libgrpc++-dev nghttp2-client
  nginx
  python3-jwt python3-cryptography
  python3-h2
  openssl ca-certificates
  libmicrohttpd-dev prometheus
"
# openssl: tests/e2e/gen_certs.sh makes the TLS test certificates at test time;
# ca-certificates: the system roots TLS channels trust by default.
# nginx: tests/interop/nginx_grpc_pass.sh runs its own, as the current user, in
# front of two cgrpc servers.  Debian's `nginx` (1.22) has the grpc and http2
# modules; nginx-light and nginx-core only add other modules to it.  Installing
# it also enables Debian's nginx service on port 80, which the test does not use.
# openssl also makes the RSA and EC keys of tests/unit/check_jwt at test time;
# python3-jwt (PyJWT) with python3-cryptography is the peer of tests/interop/jwt_pyjwt.sh.
# python3-h2 (with python3-hpack): the hostile HTTP/2 peers of tests/hostile decode the
# server's header blocks with its hpack.
# libmicrohttpd-dev: the /metrics endpoint (cgrpc/metrics.h); prometheus (the server and
# promtool): tests/metrics checks the exposition and scrapes it.

case "${1:-}" in
  "") ;;
  fuzz) PACKAGES="$PACKAGES clang-14 libfuzzer-14-dev" ;;
  *) echo "usage: $0 [fuzz]" >&2; exit 2 ;;
esac

# Node.js and npm for the grpc-js interop peers (tests/interop), unless some
# node and npm are there already (another packaging of Node.js will do).
command -v node >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs"
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES npm"

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
