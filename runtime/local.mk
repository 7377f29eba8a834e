# libcgrpc: the C runtime.
lib_LTLIBRARIES += runtime/libcgrpc.la

cgrpcincludedir = $(includedir)/cgrpc
cgrpcinclude_HEADERS = \
	runtime/include/cgrpc/cgrpc.h \
	runtime/include/cgrpc/common.h \
	runtime/include/cgrpc/metadata.h \
	runtime/include/cgrpc/status.h \
	runtime/include/cgrpc/method.h \
	runtime/include/cgrpc/channel.h \
	runtime/include/cgrpc/interceptor.h \
	runtime/include/cgrpc/server.h \
	runtime/include/cgrpc/dedup.h \
	runtime/include/cgrpc/tls.h \
	runtime/include/cgrpc/jwt.h \
	runtime/include/cgrpc/options.pb-c.h
nodist_cgrpcinclude_HEADERS = runtime/include/cgrpc/version.h

# Installed next to the headers, where protoc finds it with
# -I$(pkg-config --variable=protodir cgrpc).
cgrpcproto_DATA = runtime/proto/cgrpc/options.proto
cgrpcprotodir = $(includedir)/cgrpc
EXTRA_DIST += $(cgrpcproto_DATA)

pkgconfig_DATA = runtime/cgrpc.pc

CGRPC_RUNTIME_SOURCES = \
	runtime/src/alloc.c runtime/src/alloc.h \
	runtime/src/arena.c runtime/src/arena.h \
	runtime/src/error.c \
	runtime/src/clock.c \
	runtime/src/status.c runtime/src/status_map.h \
	runtime/src/metadata.c runtime/src/metadata_internal.h \
	runtime/src/percent.c runtime/src/percent.h \
	runtime/src/timeout.c runtime/src/timeout.h \
	runtime/src/b64.c runtime/src/b64.h \
	runtime/src/frame.c runtime/src/frame.h \
	runtime/src/loop.c runtime/src/loop.h \
	runtime/src/sock.c runtime/src/sock.h \
	runtime/src/transport.h runtime/src/list.h \
	runtime/src/conn.c runtime/src/conn.h runtime/src/keepalive.c runtime/src/keepalive.h \
	runtime/src/conn_age.c runtime/src/conn_age.h \
	runtime/src/headers.c runtime/src/headers.h \
	runtime/src/client_call.c runtime/src/client_call.h \
	runtime/src/client_attempt.c runtime/src/client_stream.c runtime/src/client_retry.c \
	runtime/src/retry.c runtime/src/retry.h runtime/src/call_links.c runtime/src/call_links.h \
	runtime/src/service_config.c runtime/src/service_config.h \
	runtime/src/pipe.c runtime/src/pipe.h \
	runtime/src/compress.c runtime/src/compress.h \
	runtime/src/server_call.c runtime/src/server_call.h runtime/src/server_handler.c \
	runtime/src/channel.c runtime/src/channel_internal.h \
	runtime/src/lb.c runtime/src/subchannel.c runtime/src/subchannel.h \
	runtime/src/tls.h runtime/src/tls_config.c runtime/src/tls_transport.c \
	runtime/src/call_options.c \
	runtime/src/server.c runtime/src/server_internal.h \
	runtime/src/workers.c runtime/src/workers.h \
	runtime/src/registry.c runtime/src/registry.h \
	runtime/src/dedup.c runtime/src/dedup_memory.c runtime/src/dedup_memory.h \
	runtime/src/jwt_internal.h runtime/src/jwt_codec.c runtime/src/jwt_keys.c runtime/src/jwt_jwks.c \
	runtime/src/jwt_verify.c runtime/src/jwt_claims.c runtime/src/jwt_sign.c runtime/src/jwt_interceptor.c

CGRPC_RUNTIME_CPPFLAGS = -I$(top_srcdir)/runtime/include -I$(top_builddir)/runtime/include \
	-I$(top_srcdir)/runtime/src -DCGRPC_BUILDING_LIBRARY -D_GNU_SOURCE
CGRPC_RUNTIME_CFLAGS = $(WARN_CFLAGS) $(VISIBILITY_CFLAGS) $(PTHREAD_CFLAGS) \
	$(NGHTTP2_CFLAGS) $(PROTOBUF_C_CFLAGS) $(ZLIB_CFLAGS) $(JSONC_CFLAGS)
CGRPC_RUNTIME_LIBS = $(NGHTTP2_LIBS) $(PROTOBUF_C_LIBS) $(ZLIB_LIBS) $(JSONC_LIBS) $(MBEDTLS_LIBS) \
	$(PTHREAD_LIBS)

runtime_libcgrpc_la_SOURCES = $(CGRPC_RUNTIME_SOURCES)
runtime_libcgrpc_la_CPPFLAGS = $(CGRPC_RUNTIME_CPPFLAGS)
runtime_libcgrpc_la_CFLAGS = $(CGRPC_RUNTIME_CFLAGS)
runtime_libcgrpc_la_LIBADD = $(CGRPC_RUNTIME_LIBS)
runtime_libcgrpc_la_LDFLAGS = -version-info 0:0:0 -no-undefined

# The same code with every symbol visible, for unit tests of internal modules.
check_LTLIBRARIES += runtime/libcgrpc-internal.la
runtime_libcgrpc_internal_la_SOURCES = $(CGRPC_RUNTIME_SOURCES)
runtime_libcgrpc_internal_la_CPPFLAGS = $(CGRPC_RUNTIME_CPPFLAGS)
runtime_libcgrpc_internal_la_CFLAGS = $(WARN_CFLAGS) $(PTHREAD_CFLAGS) $(NGHTTP2_CFLAGS) $(PROTOBUF_C_CFLAGS) \
	$(ZLIB_CFLAGS)
runtime_libcgrpc_internal_la_LIBADD = $(CGRPC_RUNTIME_LIBS)

# What programs built in this tree use to compile against the runtime.
CGRPC_USER_CPPFLAGS = -I$(top_srcdir)/runtime/include -I$(top_builddir)/runtime/include
CGRPC_USER_CFLAGS = $(PROTOBUF_C_CFLAGS)
CGRPC_USER_LIBS = runtime/libcgrpc.la $(PROTOBUF_C_LIBS)
