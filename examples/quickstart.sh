#!/bin/sh
# Quick start, step 1: installs what is missing (Debian 12), builds cgrpc in
# _build/, and runs the helloworld demo (a server and a client in separate
# processes; the client prints the server's greeting; the server is stopped).
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
"$top/examples/helloworld/demo.sh" "$top/_build"
