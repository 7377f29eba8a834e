#!/bin/sh
# make check's entry for the hostile-peer suite: every attack (tests/hostile/README.md).
exec "${SHELL:-/bin/sh}" "$(dirname "$0")/run.sh" all
