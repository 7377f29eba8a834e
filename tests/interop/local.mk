# Interop tests against real gRPC peers (see tests/interop/*.sh and README.md):
# Python grpcio and Node grpc-js peers, cgrpc's C interop client and server,
# and run_matrix.py.  Needs, from elsewhere: CGRPC_PROTOC and CGRPC_PLUGIN
# (plugin/local.mk), CGRPC_USER_* (runtime/local.mk), GRPC_PROTO_DIR
# (configure), AM_TESTS_ENVIRONMENT (tests/local.mk, which exports
# abs_top_builddir, CGRPC_TEST_WRAPPER and CGRPC_TEST_SLOWDOWN) set with '='
# before this file is included, and CLEAN_LOCAL_TARGETS set at the top level
# with `clean-local: $(CLEAN_LOCAL_TARGETS)`.

INTEROP_PY = \
	tests/interop/grpcio_server.py \
	tests/interop/grpcio_client.py \
	tests/interop/run_matrix.py \
	tests/interop/interop_cases.py \
	tests/interop/interop_pb.py
# The grpc-js peers; common.sh installs the pinned packages (npm ci) into
# tests/interop/node in the build tree.
INTEROP_JS = \
	tests/interop/grpcjs_server.js \
	tests/interop/grpcjs_client.js \
	tests/interop/grpcjs_common.js \
	tests/interop/package.json \
	tests/interop/package-lock.json
# The peers against each other: sanity checks of the test programs themselves.
INTEROP_TESTS_PEERS = \
	tests/interop/grpcio_vs_grpcio.sh \
	tests/interop/grpcjs_vs_grpcjs.sh \
	tests/interop/grpcio_client_vs_grpcjs_server.sh \
	tests/interop/grpcjs_client_vs_grpcio_server.sh
# TLS and mTLS (--use_tls ...), with certificates made by tests/e2e/gen_certs.sh
# (openssl) at test time: every case, then refused clients (UNAVAILABLE).
INTEROP_TESTS_TLS = \
	tests/interop/tls_cgrpc_vs_cgrpc.sh \
	tests/interop/tls_cgrpc_client_vs_grpcio_server.sh \
	tests/interop/tls_grpcio_client_vs_cgrpc_server.sh \
	tests/interop/tls_cgrpc_client_vs_grpcio_server_mtls.sh \
	tests/interop/tls_grpcio_client_vs_cgrpc_server_mtls.sh \
	tests/interop/tls_cgrpc_client_vs_grpcjs_server.sh \
	tests/interop/tls_grpcjs_client_vs_cgrpc_server.sh
# Everything with a C program of ours in it (tests/local.mk also runs these
# under valgrind in check-valgrind).  nginx_grpc_pass.sh: ours behind nginx.
INTEROP_TESTS_CGRPC = \
	tests/interop/cgrpc_vs_cgrpc.sh \
	tests/interop/cgrpc_client_vs_grpcio_server.sh \
	tests/interop/cgrpc_client_vs_grpcjs_server.sh \
	tests/interop/grpcio_client_vs_cgrpc_server.sh \
	tests/interop/grpcjs_client_vs_cgrpc_server.sh \
	tests/interop/nginx_grpc_pass.sh \
	$(INTEROP_TESTS_TLS)

# Retries, idempotency keys, keepalive and trace context against grpcio (faulty.proto of
# tests/e2e).
INTEROP_TESTS_POLICY = tests/interop/retry_vs_grpcio.sh tests/interop/dedup_vs_grpcio.sh \
	tests/interop/keepalive_vs_grpcio.sh tests/interop/trace_vs_grpcio.sh

EXTRA_DIST += \
	$(INTEROP_TESTS_POLICY) \
	tests/interop/faulty_grpcio.py \
	tests/interop/keepalive_grpcio.py \
	tests/interop/faulty_client.c \
	tests/interop/faulty_server.c \
	$(INTEROP_PY) \
	$(INTEROP_JS) \
	$(INTEROP_TESTS_PEERS) \
	$(INTEROP_TESTS_CGRPC) \
	tests/interop/common.sh \
	tests/interop/README.md \
	tests/interop/interop_client.c \
	tests/interop/interop_server.c

AM_TESTS_ENVIRONMENT += GRPC_PROTO_DIR='$(GRPC_PROTO_DIR)'; export GRPC_PROTO_DIR;

if HAVE_GRPC_PROTO
TESTS += $(INTEROP_TESTS_PEERS)

if BUILD_EXAMPLES
TESTS += $(INTEROP_TESTS_CGRPC)
check_PROGRAMS += tests/interop/interop_client tests/interop/interop_server

# C code for gRPC's interop service, generated from the official protos in
# GRPC_PROTO_DIR: protoc-gen-c's messages and our stubs.
INTEROP_GEN_DIR = tests/interop/gen
INTEROP_GEN_STAMP = tests/interop/gen.stamp
INTEROP_GEN_C = \
	$(INTEROP_GEN_DIR)/grpc/testing/empty.pb-c.c \
	$(INTEROP_GEN_DIR)/grpc/testing/messages.pb-c.c \
	$(INTEROP_GEN_DIR)/grpc/testing/test.pb-c.c \
	$(INTEROP_GEN_DIR)/grpc/testing/test.cgrpc.c
INTEROP_GEN_H = \
	$(INTEROP_GEN_DIR)/grpc/testing/empty.pb-c.h \
	$(INTEROP_GEN_DIR)/grpc/testing/messages.pb-c.h \
	$(INTEROP_GEN_DIR)/grpc/testing/test.pb-c.h \
	$(INTEROP_GEN_DIR)/grpc/testing/test.cgrpc.h

# One protoc run writes every output, so a stamp stands for them all (the
# automake manual's recipe for rules with several outputs).
$(INTEROP_GEN_STAMP): $(CGRPC_PLUGIN) $(GRPC_PROTO_DIR)/grpc/testing/test.proto \
		$(GRPC_PROTO_DIR)/grpc/testing/messages.proto $(GRPC_PROTO_DIR)/grpc/testing/empty.proto
	@rm -f $@ $@.tmp
	@touch $@.tmp
	@$(MKDIR_P) $(INTEROP_GEN_DIR)
	$(AM_V_GEN)$(CGRPC_PROTOC) -I$(GRPC_PROTO_DIR) \
		--c_out=$(INTEROP_GEN_DIR) --cgrpc_out=$(INTEROP_GEN_DIR) \
		grpc/testing/empty.proto grpc/testing/messages.proto grpc/testing/test.proto
	@mv -f $@.tmp $@
$(INTEROP_GEN_C) $(INTEROP_GEN_H): $(INTEROP_GEN_STAMP)
	@if test -f $@; then :; else \
	  rm -f $(INTEROP_GEN_STAMP); \
	  $(MAKE) $(AM_MAKEFLAGS) $(INTEROP_GEN_STAMP); \
	fi

INTEROP_CPPFLAGS = $(CGRPC_USER_CPPFLAGS) -I$(top_builddir)/$(INTEROP_GEN_DIR)
INTEROP_CFLAGS = $(CGRPC_USER_CFLAGS) $(WARN_CFLAGS)

tests_interop_interop_client_SOURCES = tests/interop/interop_client.c
nodist_tests_interop_interop_client_SOURCES = $(INTEROP_GEN_C) $(INTEROP_GEN_H)
tests_interop_interop_client_CPPFLAGS = $(INTEROP_CPPFLAGS)
tests_interop_interop_client_CFLAGS = $(INTEROP_CFLAGS)
tests_interop_interop_client_LDADD = $(CGRPC_USER_LIBS)
tests_interop_interop_client_LDFLAGS = -no-install

tests_interop_interop_server_SOURCES = tests/interop/interop_server.c
nodist_tests_interop_interop_server_SOURCES = $(INTEROP_GEN_C) $(INTEROP_GEN_H)
tests_interop_interop_server_CPPFLAGS = $(INTEROP_CPPFLAGS)
tests_interop_interop_server_CFLAGS = $(INTEROP_CFLAGS)
tests_interop_interop_server_LDADD = $(CGRPC_USER_LIBS) $(PTHREAD_LIBS)
# Real executables rather than libtool wrapper scripts, so that a wrapper
# such as valgrind (CGRPC_TEST_WRAPPER) runs the program itself.
tests_interop_interop_server_LDFLAGS = -no-install

# Dependency tracking knows about the generated headers only after a first
# compile, so the objects wait for them explicitly.
$(tests_interop_interop_client_OBJECTS) $(tests_interop_interop_server_OBJECTS): $(INTEROP_GEN_STAMP)

CLEANFILES += $(INTEROP_GEN_STAMP) $(INTEROP_GEN_STAMP).tmp

# The retry pairing uses tests/e2e's faulty.proto code (made there, with Check).
if HAVE_CHECK
TESTS += $(INTEROP_TESTS_POLICY)
VALGRIND_TESTS += $(INTEROP_TESTS_POLICY)
check_PROGRAMS += tests/interop/faulty_client
tests_interop_faulty_client_SOURCES = tests/interop/faulty_client.c
nodist_tests_interop_faulty_client_SOURCES = tests/e2e/faulty.pb-c.c tests/e2e/faulty.cgrpc.c
tests_interop_faulty_client_CPPFLAGS = $(CGRPC_USER_CPPFLAGS) -I$(top_builddir)/tests/e2e
tests_interop_faulty_client_CFLAGS = $(INTEROP_CFLAGS)
tests_interop_faulty_client_LDADD = $(CGRPC_USER_LIBS)
tests_interop_faulty_client_LDFLAGS = -no-install
check_PROGRAMS += tests/interop/faulty_server
tests_interop_faulty_server_SOURCES = tests/interop/faulty_server.c
nodist_tests_interop_faulty_server_SOURCES = tests/e2e/faulty.pb-c.c tests/e2e/faulty.cgrpc.c
tests_interop_faulty_server_CPPFLAGS = $(tests_interop_faulty_client_CPPFLAGS)
tests_interop_faulty_server_CFLAGS = $(INTEROP_CFLAGS)
tests_interop_faulty_server_LDADD = $(CGRPC_USER_LIBS) $(PTHREAD_LIBS)
tests_interop_faulty_server_LDFLAGS = -no-install
$(tests_interop_faulty_client_OBJECTS) $(tests_interop_faulty_server_OBJECTS): tests/e2e/faulty.stamp
endif
endif
endif

# Also when BUILD_EXAMPLES is off: a previous configuration may have made
# them.  tests/interop/node holds the grpc-js packages common.sh installed.
CLEAN_LOCAL_TARGETS += clean-interop
clean-interop:
	-rm -rf tests/interop/gen tests/interop/gen.stamp tests/interop/gen.stamp.tmp \
		tests/interop/node
.PHONY: clean-interop

# JWT: cgrpc's verifier and signer against PyJWT (jwt_tool is cgrpc's side as a command).
EXTRA_DIST += tests/interop/jwt_pyjwt.sh tests/interop/jwt_pyjwt.py
check_PROGRAMS += tests/interop/jwt_tool
tests_interop_jwt_tool_SOURCES = tests/interop/jwt_tool.c
tests_interop_jwt_tool_CPPFLAGS = $(CGRPC_USER_CPPFLAGS)
tests_interop_jwt_tool_CFLAGS = $(CGRPC_USER_CFLAGS) $(WARN_CFLAGS)
tests_interop_jwt_tool_LDADD = $(CGRPC_USER_LIBS)
tests_interop_jwt_tool_LDFLAGS = -no-install
TESTS += tests/interop/jwt_pyjwt.sh
VALGRIND_TESTS += tests/interop/jwt_pyjwt.sh
