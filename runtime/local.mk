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
	runtime/include/cgrpc/metrics.h \
	runtime/include/cgrpc/accesslog.h \
	runtime/include/cgrpc/tracing.h \
	runtime/include/cgrpc/tls.h \
	runtime/include/cgrpc/jwt.h \
	runtime/include/cgrpc/extension.h \
	runtime/include/cgrpc/log.h \
	runtime/include/cgrpc/options.pb-c.h
nodist_cgrpcinclude_HEADERS = runtime/include/cgrpc/version.h

# Installed next to the headers, where protoc finds it with
# -I$(pkg-config --variable=protodir cgrpc).
cgrpcproto_DATA = runtime/proto/cgrpc/options.proto
cgrpcprotodir = $(includedir)/cgrpc
EXTRA_DIST += $(cgrpcproto_DATA)

pkgconfig_DATA = runtime/cgrpc.pc

CGRPC_RUNTIME_SOURCES = \
	runtime/src/base/alloc.c runtime/src/base/alloc.h runtime/src/base/arena.c \
	runtime/src/base/arena.h runtime/src/base/b64.c runtime/src/base/b64.h runtime/src/base/budget.c \
	runtime/src/base/budget.h runtime/src/base/bufq.c \
	runtime/src/base/bufq.h runtime/src/base/clock.c runtime/src/base/error.c \
	runtime/src/base/links.c runtime/src/base/links.h runtime/src/base/list.h runtime/src/base/log.c \
	runtime/src/base/log.h runtime/src/base/loop.c runtime/src/base/loop.h runtime/src/base/queue.h \
	runtime/src/base/rand.c runtime/src/base/rand.h runtime/src/base/rate.c runtime/src/base/rate.h \
	runtime/src/base/workers.c \
	runtime/src/base/workers.h runtime/src/wire/compress.c runtime/src/wire/compress.h \
	runtime/src/wire/frame.c runtime/src/wire/frame.h runtime/src/wire/headers.c \
	runtime/src/wire/headers.h runtime/src/wire/message.c runtime/src/wire/message.h \
	runtime/src/wire/metadata.c runtime/src/wire/metadata_internal.h runtime/src/wire/percent.c \
	runtime/src/wire/percent.h runtime/src/wire/status.c runtime/src/wire/status_map.h \
	runtime/src/wire/timeout.c runtime/src/wire/timeout.h runtime/src/transport/conn.c \
	runtime/src/transport/conn.h runtime/src/transport/conn_age.c runtime/src/transport/conn_age.h \
	runtime/src/transport/frame_watch.c runtime/src/transport/frame_watch.h \
	runtime/src/transport/keepalive.c runtime/src/transport/keepalive.h runtime/src/transport/sock.c \
	runtime/src/transport/sock.h runtime/src/transport/tls.h runtime/src/transport/tls_config.c \
	runtime/src/transport/tls_transport.c runtime/src/transport/transport.h \
	runtime/src/stream/pipe.c runtime/src/stream/pipe.h runtime/src/stream/stream.c \
	runtime/src/stream/stream.h runtime/src/client/attempt.c runtime/src/client/attempt.h \
	runtime/src/client/call.c runtime/src/client/call.h runtime/src/client/call_options.c \
	runtime/src/client/call_stream.c runtime/src/client/channel.c runtime/src/client/channel_core.h \
	runtime/src/client/channel_options.c runtime/src/client/idempotency.c \
	runtime/src/client/idempotency.h runtime/src/client/interceptor.c runtime/src/client/lb.c \
	runtime/src/client/lb.h runtime/src/client/options.h runtime/src/client/policy.c \
	runtime/src/client/policy.h runtime/src/client/retry.c runtime/src/client/retry.h \
	runtime/src/client/retry_policy.c runtime/src/client/retry_policy.h \
	runtime/src/client/service_config.c runtime/src/client/service_config.h \
	runtime/src/client/subchannel.c runtime/src/client/subchannel.h runtime/src/client/target.c \
	runtime/src/client/target.h runtime/src/client/throttle.c runtime/src/client/throttle.h \
	runtime/src/client/unary.c runtime/src/server/registry.c runtime/src/server/registry.h \
	runtime/src/server/server.c runtime/src/server/server_call.c runtime/src/server/server_call.h \
	runtime/src/server/server_core.h runtime/src/server/server_extension.c \
	runtime/src/server/server_handler.c runtime/src/server/server_options.c \
	runtime/src/server/server_peers.c runtime/src/server/server_peers.h runtime/src/ext/dedup.c \
	runtime/src/ext/dedup_memory.c runtime/src/ext/dedup_memory.h runtime/src/ext/jwt_claims.c \
	runtime/src/ext/jwt_codec.c runtime/src/ext/jwt_interceptor.c runtime/src/ext/jwt_internal.h \
	runtime/src/ext/jwt_jwks.c runtime/src/ext/jwt_keys.c runtime/src/ext/jwt_sign.c \
	runtime/src/ext/jwt_verify.c runtime/src/ext/metrics.c runtime/src/ext/metrics_grpc.c \
	runtime/src/ext/metrics_http.c runtime/src/ext/metrics_internal.h runtime/src/ext/metrics_text.c \
	runtime/src/ext/accesslog.c runtime/src/ext/accesslog_calls.c runtime/src/ext/accesslog_internal.h \
	runtime/src/ext/accesslog_line.c runtime/src/ext/tracing.c runtime/src/ext/tracing_internal.h \
	runtime/src/ext/tracing_otlp.c runtime/src/ext/traceparent.c runtime/src/ext/traceparent.h

CGRPC_RUNTIME_CPPFLAGS = -I$(top_srcdir)/runtime/include -I$(top_builddir)/runtime/include \
	-I$(top_srcdir)/runtime/src -DCGRPC_BUILDING_LIBRARY -D_GNU_SOURCE
CGRPC_RUNTIME_CFLAGS = $(WARN_CFLAGS) $(VISIBILITY_CFLAGS) $(PTHREAD_CFLAGS) \
	$(NGHTTP2_CFLAGS) $(PROTOBUF_C_CFLAGS) $(ZLIB_CFLAGS) $(JSONC_CFLAGS) $(MHD_CFLAGS)
CGRPC_RUNTIME_LIBS = $(NGHTTP2_LIBS) $(PROTOBUF_C_LIBS) $(ZLIB_LIBS) $(JSONC_LIBS) $(MBEDTLS_LIBS) \
	$(MHD_LIBS) $(PTHREAD_LIBS) -lm

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
