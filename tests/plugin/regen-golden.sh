#!/bin/sh
# regen-golden.sh PROTOC PLUGIN RUNTIME_PROTO_DIR PROTOBUF_C_PROTO_DIR TESTS_DIR
# Rewrites TESTS_DIR/golden from the protos in TESTS_DIR/protos with the plugin as built:
# run through `make regen-plugin-golden` after an intended change of the generated code,
# then review the difference (git diff tests/plugin/golden) before committing it.
set -e
protoc=$1 plugin=$2 runtime_proto=$3 protobuf_c_proto=$4 tests=$5
cd "$tests"
rm -rf golden
mkdir golden
protos=$(cd protos && find . -name '*.proto' | sed 's|^\./||' | LC_ALL=C sort)
"$protoc" --plugin=protoc-gen-cgrpc="$plugin" -Iprotos -I"$runtime_proto" -I"$protobuf_c_proto" \
  --cgrpc_out=golden $(for p in $protos; do printf 'protos/%s ' "$p"; done)
find golden -type f | LC_ALL=C sort
