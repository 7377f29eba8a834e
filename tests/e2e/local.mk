# tests/e2e: our client against our server, in separate processes.
EXTRA_DIST += tests/e2e/e2e.proto tests/e2e/faulty.proto

if BUILD_EXAMPLES
if HAVE_CHECK
E2E_GEN = tests/e2e/e2e.pb-c.c tests/e2e/e2e.pb-c.h tests/e2e/e2e.cgrpc.c tests/e2e/e2e.cgrpc.h
BUILT_SOURCES += $(E2E_GEN)
CLEANFILES += $(E2E_GEN) tests/e2e/e2e.stamp

tests/e2e/e2e.stamp: $(srcdir)/tests/e2e/e2e.proto $(srcdir)/runtime/proto/cgrpc/options.proto \
		$(CGRPC_PLUGIN)
	$(AM_V_GEN)$(MKDIR_P) tests/e2e && \
	$(CGRPC_PROTOC) -I$(srcdir)/tests/e2e --c_out=tests/e2e --cgrpc_out=tests/e2e \
		$(srcdir)/tests/e2e/e2e.proto && touch $@
$(E2E_GEN): tests/e2e/e2e.stamp

E2E_CPPFLAGS = $(CGRPC_USER_CPPFLAGS) -Itests/e2e
E2E_CFLAGS = $(WARN_CFLAGS) $(CGRPC_USER_CFLAGS) $(PTHREAD_CFLAGS)

check_PROGRAMS += tests/e2e/e2e_server tests/e2e/check_e2e
tests_e2e_e2e_server_SOURCES = tests/e2e/e2e_server.c tests/e2e/counting_alloc.c \
	tests/e2e/counting_alloc.h
nodist_tests_e2e_e2e_server_SOURCES = tests/e2e/e2e.pb-c.c tests/e2e/e2e.cgrpc.c
tests_e2e_e2e_server_CPPFLAGS = $(E2E_CPPFLAGS)
tests_e2e_e2e_server_CFLAGS = $(E2E_CFLAGS)
tests_e2e_e2e_server_LDADD = $(CGRPC_USER_LIBS)
tests_e2e_e2e_server_LDFLAGS = -no-install

tests_e2e_check_e2e_SOURCES = tests/e2e/check_e2e.c tests/e2e/rawh2.c tests/e2e/rawh2.h \
	tests/e2e/harness.c tests/e2e/harness.h
nodist_tests_e2e_check_e2e_SOURCES = tests/e2e/e2e.pb-c.c tests/e2e/e2e.cgrpc.c
tests_e2e_check_e2e_CPPFLAGS = $(E2E_CPPFLAGS)
tests_e2e_check_e2e_CFLAGS = $(E2E_CFLAGS) $(CHECK_CFLAGS) $(NGHTTP2_CFLAGS)
tests_e2e_check_e2e_LDADD = $(CGRPC_USER_LIBS) $(CHECK_LIBS) $(NGHTTP2_LIBS) $(PTHREAD_LIBS)
tests_e2e_check_e2e_LDFLAGS = -no-install

check_PROGRAMS += tests/e2e/check_client_errors
tests_e2e_check_client_errors_SOURCES = tests/e2e/check_client_errors.c tests/e2e/fakeserver.c \
	tests/e2e/fakeserver.h
nodist_tests_e2e_check_client_errors_SOURCES = tests/e2e/e2e.pb-c.c tests/e2e/e2e.cgrpc.c
tests_e2e_check_client_errors_CPPFLAGS = $(E2E_CPPFLAGS)
tests_e2e_check_client_errors_CFLAGS = $(E2E_CFLAGS) $(CHECK_CFLAGS) $(NGHTTP2_CFLAGS) $(ZLIB_CFLAGS)
tests_e2e_check_client_errors_LDADD = $(CGRPC_USER_LIBS) $(CHECK_LIBS) $(NGHTTP2_LIBS) $(ZLIB_LIBS) \
	$(PTHREAD_LIBS)
tests_e2e_check_client_errors_LDFLAGS = -no-install

check_PROGRAMS += tests/e2e/check_stream
tests_e2e_check_stream_SOURCES = tests/e2e/check_stream.c tests/e2e/harness.c tests/e2e/harness.h
nodist_tests_e2e_check_stream_SOURCES = tests/e2e/e2e.pb-c.c tests/e2e/e2e.cgrpc.c
tests_e2e_check_stream_CPPFLAGS = $(E2E_CPPFLAGS)
tests_e2e_check_stream_CFLAGS = $(E2E_CFLAGS) $(CHECK_CFLAGS)
tests_e2e_check_stream_LDADD = $(CGRPC_USER_LIBS) $(CHECK_LIBS) $(PTHREAD_LIBS)
tests_e2e_check_stream_LDFLAGS = -no-install

# Not under valgrind: it measures memory, which valgrind's own swamps.
check_PROGRAMS += tests/e2e/check_flow
tests_e2e_check_flow_SOURCES = tests/e2e/check_flow.c tests/e2e/harness.c tests/e2e/harness.h
nodist_tests_e2e_check_flow_SOURCES = tests/e2e/e2e.pb-c.c tests/e2e/e2e.cgrpc.c
tests_e2e_check_flow_CPPFLAGS = $(E2E_CPPFLAGS)
tests_e2e_check_flow_CFLAGS = $(E2E_CFLAGS) $(CHECK_CFLAGS)
tests_e2e_check_flow_LDADD = $(CGRPC_USER_LIBS) $(CHECK_LIBS) $(PTHREAD_LIBS)
tests_e2e_check_flow_LDFLAGS = -no-install
TESTS += tests/e2e/check_flow

# Suites with an in-process server of every kind of method (kinds_server.c).
KINDS_SOURCES = tests/e2e/harness.c tests/e2e/harness.h tests/e2e/kinds_server.c \
	tests/e2e/kinds_server.h
check_PROGRAMS += tests/e2e/check_interceptors tests/e2e/check_headers tests/e2e/check_handlers
tests_e2e_check_interceptors_SOURCES = tests/e2e/check_interceptors.c $(KINDS_SOURCES)
nodist_tests_e2e_check_interceptors_SOURCES = tests/e2e/e2e.pb-c.c
tests_e2e_check_interceptors_CPPFLAGS = $(E2E_CPPFLAGS)
tests_e2e_check_interceptors_CFLAGS = $(E2E_CFLAGS) $(CHECK_CFLAGS)
tests_e2e_check_interceptors_LDADD = $(CGRPC_USER_LIBS) $(CHECK_LIBS) $(PTHREAD_LIBS)
tests_e2e_check_interceptors_LDFLAGS = -no-install
tests_e2e_check_headers_SOURCES = tests/e2e/check_headers.c $(KINDS_SOURCES)
nodist_tests_e2e_check_headers_SOURCES = tests/e2e/e2e.pb-c.c
tests_e2e_check_headers_CPPFLAGS = $(E2E_CPPFLAGS)
tests_e2e_check_headers_CFLAGS = $(E2E_CFLAGS) $(CHECK_CFLAGS)
tests_e2e_check_headers_LDADD = $(CGRPC_USER_LIBS) $(CHECK_LIBS) $(PTHREAD_LIBS)
tests_e2e_check_headers_LDFLAGS = -no-install
tests_e2e_check_handlers_SOURCES = tests/e2e/check_handlers.c $(KINDS_SOURCES) \
	tests/e2e/rawh2.c tests/e2e/rawh2.h
nodist_tests_e2e_check_handlers_SOURCES = tests/e2e/e2e.pb-c.c
tests_e2e_check_handlers_CPPFLAGS = $(E2E_CPPFLAGS)
tests_e2e_check_handlers_CFLAGS = $(E2E_CFLAGS) $(CHECK_CFLAGS) $(NGHTTP2_CFLAGS)
tests_e2e_check_handlers_LDADD = $(CGRPC_USER_LIBS) $(CHECK_LIBS) $(NGHTTP2_LIBS) $(PTHREAD_LIBS)
tests_e2e_check_handlers_LDFLAGS = -no-install
TESTS += tests/e2e/check_interceptors tests/e2e/check_headers tests/e2e/check_handlers
VALGRIND_TESTS += tests/e2e/check_interceptors tests/e2e/check_headers tests/e2e/check_handlers

# The call metrics: exact counts, promtool, the /metrics endpoint and a real Prometheus.
check_PROGRAMS += tests/e2e/check_metrics
tests_e2e_check_metrics_SOURCES = tests/e2e/check_metrics.c $(KINDS_SOURCES)
nodist_tests_e2e_check_metrics_SOURCES = tests/e2e/e2e.pb-c.c
tests_e2e_check_metrics_CPPFLAGS = $(E2E_CPPFLAGS)
tests_e2e_check_metrics_CFLAGS = $(E2E_CFLAGS) $(CHECK_CFLAGS) $(JSONC_CFLAGS)
tests_e2e_check_metrics_LDADD = $(CGRPC_USER_LIBS) $(CHECK_LIBS) $(JSONC_LIBS) $(PTHREAD_LIBS)
tests_e2e_check_metrics_LDFLAGS = -no-install
TESTS += tests/e2e/check_metrics
VALGRIND_TESTS += tests/e2e/check_metrics

# Access logs: the fields, levels, no secrets, logfmt, a slow sink.
check_PROGRAMS += tests/e2e/check_accesslog
tests_e2e_check_accesslog_SOURCES = tests/e2e/check_accesslog.c $(KINDS_SOURCES)
nodist_tests_e2e_check_accesslog_SOURCES = tests/e2e/e2e.pb-c.c
tests_e2e_check_accesslog_CPPFLAGS = $(E2E_CPPFLAGS)
tests_e2e_check_accesslog_CFLAGS = $(E2E_CFLAGS) $(CHECK_CFLAGS) $(JSONC_CFLAGS)
tests_e2e_check_accesslog_LDADD = $(CGRPC_USER_LIBS) $(CHECK_LIBS) $(JSONC_LIBS) $(PTHREAD_LIBS)
tests_e2e_check_accesslog_LDFLAGS = -no-install
TESTS += tests/e2e/check_accesslog
VALGRIND_TESTS += tests/e2e/check_accesslog

# Tracing: spans across two servers, traceparent in and out, OTLP/JSON.
check_PROGRAMS += tests/e2e/check_tracing
tests_e2e_check_tracing_SOURCES = tests/e2e/check_tracing.c $(KINDS_SOURCES)
nodist_tests_e2e_check_tracing_SOURCES = tests/e2e/e2e.pb-c.c
tests_e2e_check_tracing_CPPFLAGS = $(E2E_CPPFLAGS)
tests_e2e_check_tracing_CFLAGS = $(E2E_CFLAGS) $(CHECK_CFLAGS) $(JSONC_CFLAGS)
tests_e2e_check_tracing_LDADD = $(CGRPC_USER_LIBS) $(CHECK_LIBS) $(JSONC_LIBS) $(PTHREAD_LIBS)
tests_e2e_check_tracing_LDFLAGS = -no-install
TESTS += tests/e2e/check_tracing
VALGRIND_TESTS += tests/e2e/check_tracing

check_PROGRAMS += tests/e2e/check_leaks
tests_e2e_check_leaks_SOURCES = tests/e2e/check_leaks.c tests/e2e/harness.c tests/e2e/harness.h \
	tests/e2e/counting_alloc.c tests/e2e/counting_alloc.h
nodist_tests_e2e_check_leaks_SOURCES = tests/e2e/e2e.pb-c.c tests/e2e/e2e.cgrpc.c
tests_e2e_check_leaks_CPPFLAGS = $(E2E_CPPFLAGS)
tests_e2e_check_leaks_CFLAGS = $(E2E_CFLAGS) $(CHECK_CFLAGS)
tests_e2e_check_leaks_LDADD = $(CGRPC_USER_LIBS) $(CHECK_LIBS) $(PTHREAD_LIBS)
tests_e2e_check_leaks_LDFLAGS = -no-install

# Failing allocations swept through a call of each kind, server then client (not under
# valgrind: hundreds of runs; the ASan build runs it).
check_PROGRAMS += tests/e2e/check_failmalloc
tests_e2e_check_failmalloc_SOURCES = tests/e2e/check_failmalloc.c $(KINDS_SOURCES) \
	tests/e2e/counting_alloc.c tests/e2e/counting_alloc.h
nodist_tests_e2e_check_failmalloc_SOURCES = tests/e2e/e2e.pb-c.c
tests_e2e_check_failmalloc_CPPFLAGS = $(E2E_CPPFLAGS)
tests_e2e_check_failmalloc_CFLAGS = $(E2E_CFLAGS) $(CHECK_CFLAGS)
tests_e2e_check_failmalloc_LDADD = $(CGRPC_USER_LIBS) $(CHECK_LIBS) $(PTHREAD_LIBS)
tests_e2e_check_failmalloc_LDFLAGS = -no-install
TESTS += tests/e2e/check_failmalloc

# Not a test: prints memory figures for streaming 1 GiB to a slow reader.
check_PROGRAMS += tests/e2e/stream_memory
tests_e2e_stream_memory_SOURCES = tests/e2e/stream_memory.c
nodist_tests_e2e_stream_memory_SOURCES = tests/e2e/e2e.pb-c.c tests/e2e/e2e.cgrpc.c
tests_e2e_stream_memory_CPPFLAGS = $(E2E_CPPFLAGS)
tests_e2e_stream_memory_CFLAGS = $(E2E_CFLAGS)
tests_e2e_stream_memory_LDADD = $(CGRPC_USER_LIBS)
tests_e2e_stream_memory_LDFLAGS = -no-install
EXTRA_DIST += tests/e2e/stream_memory.sh

# Generated headers must exist before any of these compiles (dependency
# tracking only learns of them after a first build).
$(tests_e2e_e2e_server_OBJECTS) $(tests_e2e_check_e2e_OBJECTS) \
$(tests_e2e_check_client_errors_OBJECTS) $(tests_e2e_check_stream_OBJECTS) \
$(tests_e2e_check_leaks_OBJECTS) $(tests_e2e_stream_memory_OBJECTS) \
$(tests_e2e_check_flow_OBJECTS) $(tests_e2e_check_interceptors_OBJECTS) \
$(tests_e2e_check_headers_OBJECTS) $(tests_e2e_check_handlers_OBJECTS) \
$(tests_e2e_check_failmalloc_OBJECTS) $(tests_e2e_check_metrics_OBJECTS) \
$(tests_e2e_check_accesslog_OBJECTS) $(tests_e2e_check_tracing_OBJECTS): tests/e2e/e2e.stamp

TESTS += tests/e2e/check_e2e tests/e2e/check_client_errors tests/e2e/check_stream \
	tests/e2e/check_leaks
VALGRIND_TESTS += tests/e2e/check_e2e tests/e2e/check_client_errors tests/e2e/check_stream \
	tests/e2e/check_leaks

# Retries against a fault-injecting server in the test's own process (faulty.proto).
FAULTY_GEN = tests/e2e/faulty.pb-c.c tests/e2e/faulty.pb-c.h tests/e2e/faulty.cgrpc.c \
	tests/e2e/faulty.cgrpc.h
BUILT_SOURCES += $(FAULTY_GEN)
CLEANFILES += $(FAULTY_GEN) tests/e2e/faulty.stamp
tests/e2e/faulty.stamp: $(srcdir)/tests/e2e/faulty.proto \
		$(srcdir)/runtime/proto/cgrpc/options.proto $(CGRPC_PLUGIN)
	$(AM_V_GEN)$(MKDIR_P) tests/e2e && \
	$(CGRPC_PROTOC) -I$(srcdir)/tests/e2e --c_out=tests/e2e --cgrpc_out=tests/e2e \
		$(srcdir)/tests/e2e/faulty.proto && touch $@
$(FAULTY_GEN): tests/e2e/faulty.stamp

check_PROGRAMS += tests/e2e/check_retry
tests_e2e_check_retry_SOURCES = tests/e2e/check_retry.c tests/e2e/harness.c tests/e2e/harness.h
nodist_tests_e2e_check_retry_SOURCES = tests/e2e/faulty.pb-c.c tests/e2e/faulty.cgrpc.c
tests_e2e_check_retry_CPPFLAGS = $(E2E_CPPFLAGS)
tests_e2e_check_retry_CFLAGS = $(E2E_CFLAGS) $(CHECK_CFLAGS)
tests_e2e_check_retry_LDADD = $(CGRPC_USER_LIBS) $(CHECK_LIBS) $(PTHREAD_LIBS)
tests_e2e_check_retry_LDFLAGS = -no-install
$(tests_e2e_check_retry_OBJECTS): tests/e2e/faulty.stamp
TESTS += tests/e2e/check_retry
VALGRIND_TESTS += tests/e2e/check_retry

# Keepalive: a proxy that stops forwarding, raw HTTP/2 clients that ping too often.
check_PROGRAMS += tests/e2e/check_keepalive
tests_e2e_check_keepalive_SOURCES = tests/e2e/check_keepalive.c tests/e2e/harness.c \
	tests/e2e/harness.h tests/e2e/rawh2.c tests/e2e/rawh2.h
nodist_tests_e2e_check_keepalive_SOURCES = tests/e2e/faulty.pb-c.c tests/e2e/faulty.cgrpc.c
tests_e2e_check_keepalive_CPPFLAGS = $(E2E_CPPFLAGS)
tests_e2e_check_keepalive_CFLAGS = $(E2E_CFLAGS) $(CHECK_CFLAGS) $(NGHTTP2_CFLAGS)
tests_e2e_check_keepalive_LDADD = $(CGRPC_USER_LIBS) $(CHECK_LIBS) $(NGHTTP2_LIBS) $(PTHREAD_LIBS)
tests_e2e_check_keepalive_LDFLAGS = -no-install
$(tests_e2e_check_keepalive_OBJECTS): tests/e2e/faulty.stamp
TESTS += tests/e2e/check_keepalive
VALGRIND_TESTS += tests/e2e/check_keepalive

# Load balancing, pools, connectivity states, wait_for_ready: several servers in the test's process.
check_PROGRAMS += tests/e2e/check_lb
tests_e2e_check_lb_SOURCES = tests/e2e/check_lb.c tests/e2e/harness.c tests/e2e/harness.h
nodist_tests_e2e_check_lb_SOURCES = tests/e2e/faulty.pb-c.c tests/e2e/faulty.cgrpc.c
tests_e2e_check_lb_CPPFLAGS = $(E2E_CPPFLAGS)
tests_e2e_check_lb_CFLAGS = $(E2E_CFLAGS) $(CHECK_CFLAGS)
tests_e2e_check_lb_LDADD = $(CGRPC_USER_LIBS) $(CHECK_LIBS) $(PTHREAD_LIBS)
tests_e2e_check_lb_LDFLAGS = -no-install
$(tests_e2e_check_lb_OBJECTS): tests/e2e/faulty.stamp
TESTS += tests/e2e/check_lb
VALGRIND_TESTS += tests/e2e/check_lb

# TLS and mTLS: certificates made by gen_certs.sh (openssl) for each run.
check_PROGRAMS += tests/e2e/check_tls
tests_e2e_check_tls_SOURCES = tests/e2e/check_tls.c tests/e2e/harness.c tests/e2e/harness.h
nodist_tests_e2e_check_tls_SOURCES = tests/e2e/faulty.pb-c.c tests/e2e/faulty.cgrpc.c \
	tests/e2e/e2e.pb-c.c tests/e2e/e2e.cgrpc.c
tests_e2e_check_tls_CPPFLAGS = $(E2E_CPPFLAGS)
tests_e2e_check_tls_CFLAGS = $(E2E_CFLAGS) $(CHECK_CFLAGS)
tests_e2e_check_tls_LDADD = $(CGRPC_USER_LIBS) $(CHECK_LIBS) $(PTHREAD_LIBS)
tests_e2e_check_tls_LDFLAGS = -no-install
$(tests_e2e_check_tls_OBJECTS): tests/e2e/faulty.stamp tests/e2e/e2e.stamp
TESTS += tests/e2e/check_tls
VALGRIND_TESTS += tests/e2e/check_tls
EXTRA_DIST += tests/e2e/gen_certs.sh

# cgrpc_server_options_set_max_connections: raw HTTP/2 clients and channels against a
# server in the test's process that stops accepting at its limit.
check_PROGRAMS += tests/e2e/check_max_connections
tests_e2e_check_max_connections_SOURCES = tests/e2e/check_max_connections.c tests/e2e/harness.c \
	tests/e2e/harness.h tests/e2e/rawh2.c tests/e2e/rawh2.h
nodist_tests_e2e_check_max_connections_SOURCES = tests/e2e/faulty.pb-c.c tests/e2e/faulty.cgrpc.c
tests_e2e_check_max_connections_CPPFLAGS = $(E2E_CPPFLAGS)
tests_e2e_check_max_connections_CFLAGS = $(E2E_CFLAGS) $(CHECK_CFLAGS) $(NGHTTP2_CFLAGS)
tests_e2e_check_max_connections_LDADD = $(CGRPC_USER_LIBS) $(CHECK_LIBS) $(NGHTTP2_LIBS) \
	$(PTHREAD_LIBS)
tests_e2e_check_max_connections_LDFLAGS = -no-install
$(tests_e2e_check_max_connections_OBJECTS): tests/e2e/faulty.stamp
TESTS += tests/e2e/check_max_connections
VALGRIND_TESTS += tests/e2e/check_max_connections
endif
endif

# Server-side de-duplication by idempotency key: a server with the helper in the test process.
if BUILD_EXAMPLES
if HAVE_CHECK
check_PROGRAMS += tests/e2e/check_dedup
tests_e2e_check_dedup_SOURCES = tests/e2e/check_dedup.c tests/e2e/harness.c tests/e2e/harness.h
nodist_tests_e2e_check_dedup_SOURCES = tests/e2e/e2e.pb-c.c
tests_e2e_check_dedup_CPPFLAGS = $(E2E_CPPFLAGS)
tests_e2e_check_dedup_CFLAGS = $(E2E_CFLAGS) $(CHECK_CFLAGS)
tests_e2e_check_dedup_LDADD = $(CGRPC_USER_LIBS) $(CHECK_LIBS) $(PTHREAD_LIBS)
tests_e2e_check_dedup_LDFLAGS = -no-install
$(tests_e2e_check_dedup_OBJECTS): tests/e2e/e2e.stamp
TESTS += tests/e2e/check_dedup
VALGRIND_TESTS += tests/e2e/check_dedup
endif
endif

# The JWT interceptor: a server with per-method rules in the test process, our client with
# and without bearer tokens (faulty.proto).
if BUILD_EXAMPLES
if HAVE_CHECK
check_PROGRAMS += tests/e2e/check_jwt_auth
tests_e2e_check_jwt_auth_SOURCES = tests/e2e/check_jwt_auth.c tests/e2e/harness.c \
	tests/e2e/harness.h
nodist_tests_e2e_check_jwt_auth_SOURCES = tests/e2e/faulty.pb-c.c tests/e2e/faulty.cgrpc.c
tests_e2e_check_jwt_auth_CPPFLAGS = $(E2E_CPPFLAGS)
tests_e2e_check_jwt_auth_CFLAGS = $(E2E_CFLAGS) $(CHECK_CFLAGS)
tests_e2e_check_jwt_auth_LDADD = $(CGRPC_USER_LIBS) $(CHECK_LIBS) $(PTHREAD_LIBS)
tests_e2e_check_jwt_auth_LDFLAGS = -no-install
$(tests_e2e_check_jwt_auth_OBJECTS): tests/e2e/faulty.stamp
TESTS += tests/e2e/check_jwt_auth
VALGRIND_TESTS += tests/e2e/check_jwt_auth
endif
endif
