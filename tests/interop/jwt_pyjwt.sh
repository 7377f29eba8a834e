#!/bin/sh
# cgrpc's JWT code against PyJWT (Debian's python3-jwt): tokens PyJWT mints for every
# algorithm verify in ours, ours verify in PyJWT, and every attack token is refused by ours
# for the right reason.  jwt_pyjwt.py drives jwt_tool (under CGRPC_TEST_WRAPPER if set); the
# keys are made at test time in a scratch directory.
. "$(dirname "$0")/common.sh"
tool=$abs_top_builddir/tests/interop/jwt_tool
test -x "$tool" || hard_error "$tool is not built"
require_python
"$PY" -c "import jwt, cryptography" >/dev/null 2>&1 ||
  missing_peer "$PY has no PyJWT or cryptography (Debian: python3-jwt python3-cryptography)"
interop_tmpdir
"$PY" "$interop_dir/jwt_pyjwt.py" "$tool" "$interop_tmp"
