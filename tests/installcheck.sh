#!/bin/sh
# A user's build against the installed cgrpc, as the README describes it:
# protoc with the installed plugin and cgrpc/options.proto, the generated code
# compiled with $(pkg-config --cflags --libs cgrpc) and -Wall -Wextra -Werror,
# then a real call from the client to the server.
# Usage: installcheck.sh LIBDIR HELLOWORLD_SOURCE_DIR
set -e
libdir=$1
src=$2
export PKG_CONFIG_PATH="$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
tmp=$(mktemp -d)
pid=
trap 'test -n "$pid" && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
cp "$src/helloworld.proto" "$src/greeter_server.c" "$src/greeter_client.c" "$tmp/"
cd "$tmp"

protoc --plugin=protoc-gen-cgrpc="$(pkg-config --variable=plugin cgrpc)" \
  -I. -I"$(pkg-config --variable=protodir cgrpc)" \
  --c_out=. --cgrpc_out=. helloworld.proto
for prog in greeter_server greeter_client; do
  # shellcheck disable=SC2046
  ${CC:-cc} -std=c11 -Wall -Wextra -Werror -o "$prog" "$prog.c" helloworld.pb-c.c \
    helloworld.cgrpc.c $(pkg-config --cflags --libs cgrpc) -Wl,-rpath,"$libdir"
done

./greeter_server --address 127.0.0.1:0 >server.out &
pid=$!
for _ in $(seq 100); do
  grep -q LISTENING server.out && break
  sleep 0.05
done
port=$(awk '/LISTENING/ { print $2 }' server.out)
out=$(./greeter_client --target "127.0.0.1:$port" --name installcheck)
echo "$out"
test "$out" = "Greeter client received: Hello installcheck"
kill -TERM "$pid"
wait "$pid"
pid=
echo "installcheck: OK"
