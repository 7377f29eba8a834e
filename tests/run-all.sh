#!/bin/sh
# Quick start, step 2 (and what CI runs): installs what is missing, builds
# from scratch with warnings as errors, and runs every test:
#   make check            unit, plugin goldens, end-to-end, interop with grpcio, bench smoke
#   make check-valgrind   end-to-end and interop again, our processes under valgrind
#   make installcheck     a program built against the installed library via pkg-config
#   make distcheck        the release tarball builds and passes out of tree
#   --disable-plugin      the runtime alone builds without a C++ compiler
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)
step() { printf '\n=== %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }
start=$(date +%s)

step "dependencies"
./install-deps.sh
# A missing peer must fail the interop tests, not skip them.
export CGRPC_REQUIRE_PEERS=1

step "bootstrap"
./bootstrap.sh >/dev/null 2>&1 || ./bootstrap.sh

step "configure + build (-Werror)"
rm -rf _build/ci
mkdir -p _build/ci
cd _build/ci
"$top/configure" --quiet --prefix="$top/_build/ci-prefix" \
  CFLAGS="-O2 -g -Werror" CXXFLAGS="-O2 -g -Werror"
make -j"$jobs" >/dev/null

step "make check"
make -j"$jobs" check || { cat test-suite.log; exit 1; }

step "make check-valgrind"
make -j"$jobs" check-valgrind || { cat test-suite-valgrind.log; exit 1; }

step "make install + installcheck"
make install >/dev/null
make installcheck

step "make distcheck"
make -j"$jobs" distcheck >/dev/null 2>distcheck.err || { tail -50 distcheck.err; exit 1; }

step "runtime only, no C++ compiler"
mkdir -p "$top/_build/ci-noplugin"
cd "$top/_build/ci-noplugin"
"$top/configure" --quiet --disable-plugin CXX=/nonexistent/c++ CFLAGS="-O2 -Werror" >/dev/null 2>&1
make -j"$jobs" >/dev/null
test -f runtime/.libs/libcgrpc.so && test -f runtime/.libs/libcgrpc.a

step "all passed"
