#!/bin/sh
# Quick start, step 1: installs what is missing (Debian 12), builds cgrpc in _build/, and
# runs two demos, each a server and a client in separate processes that stop cleanly:
#   helloworld  the client prints the server's greeting;
#   payments    a server that fails attempts on purpose, a client that still completes every
#               charge exactly once -- the deadline, retries and idempotency key of Charge
#               come from examples/payments/payments.proto, the dedup helper on the server.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
./install-deps.sh
[ -x configure ] || ./bootstrap.sh
mkdir -p _build
cd _build
[ -f Makefile ] || ../configure --quiet
make -j"$(nproc)" >/dev/null
echo "quickstart: built in $top/_build"
echo
"$top/examples/helloworld/demo.sh" "$top/_build"
echo
"$top/examples/payments/demo.sh" "$top/_build"
