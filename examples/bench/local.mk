# examples/bench: grpc.testing.BenchmarkService servers and clients, cgrpc and grpc C++,
# and run.sh, which puts h2load against both servers (see examples/bench/README.md).
# Code is generated into the build tree: examples/bench/gen (C), examples/bench/gen-cxx (C++).

EXTRA_DIST += \
	examples/bench/README.md \
	examples/bench/run.sh \
	examples/bench/quick.test \
	examples/bench/bench_server.c \
	examples/bench/bench_client.c \
	examples/bench/grpcxx_server.cc \
	examples/bench/grpcxx_client.cc \
	examples/bench/idle_conns.c \
	examples/bench/idle_conns.sh \
	examples/bench/idle_quick.test

# The smoke test: run.sh --quick (tiny counts); skips (77) when nothing is built.
TESTS += examples/bench/quick.test
# And idle_conns.sh at 200 connections (the 10000 of the issue is a manual run).
TESTS += examples/bench/idle_quick.test

# --- cgrpc: bench_server, bench_client ------------------------------------------------

# grpc-proto's BenchmarkService, and the messages.proto it imports (the same files the
# C++ programs use).  protoc-gen-cgrpc writes nothing for messages.proto (it has no service).
BENCH_C_PROTOS = \
	$(GRPC_PROTO_DIR)/grpc/testing/messages.proto \
	$(GRPC_PROTO_DIR)/grpc/testing/benchmark_service.proto
BENCH_C_GEN = \
	examples/bench/gen/grpc/testing/messages.pb-c.c \
	examples/bench/gen/grpc/testing/messages.pb-c.h \
	examples/bench/gen/grpc/testing/benchmark_service.pb-c.c \
	examples/bench/gen/grpc/testing/benchmark_service.pb-c.h \
	examples/bench/gen/grpc/testing/benchmark_service.cgrpc.c \
	examples/bench/gen/grpc/testing/benchmark_service.cgrpc.h

# One protoc run writes all of them: the stamp is the target, the files depend on it
# (the automake manual's recipe for rules with several outputs).  It depends on this
# file too, so that a build tree made before the list above changed regenerates once,
# before anything compiles, rather than compiling against files it no longer makes.
examples/bench/gen-c.stamp: $(BENCH_C_PROTOS) $(CGRPC_PLUGIN) $(srcdir)/examples/bench/local.mk
	@rm -f $@.tmp
	@touch $@.tmp
	@$(MKDIR_P) examples/bench/gen
	$(AM_V_GEN)$(CGRPC_PROTOC) -I$(GRPC_PROTO_DIR) \
		--c_out=examples/bench/gen --cgrpc_out=examples/bench/gen $(BENCH_C_PROTOS)
	@mv -f $@.tmp $@
$(BENCH_C_GEN): examples/bench/gen-c.stamp
	@test -f $@ || rm -f examples/bench/gen-c.stamp
	@test -f $@ || $(MAKE) $(AM_MAKEFLAGS) examples/bench/gen-c.stamp

CLEANFILES += $(BENCH_C_GEN) examples/bench/gen-c.stamp examples/bench/gen-c.stamp.tmp

BENCH_C_CPPFLAGS = $(CGRPC_USER_CPPFLAGS) -I$(top_builddir)/examples/bench/gen
BENCH_C_CFLAGS = $(WARN_CFLAGS) $(CGRPC_USER_CFLAGS) $(PTHREAD_CFLAGS)
BENCH_C_LIBS = $(CGRPC_USER_LIBS) $(PTHREAD_LIBS)

if BUILD_EXAMPLES
if HAVE_GRPC_PROTO
noinst_PROGRAMS += examples/bench/bench_server examples/bench/bench_client
endif
endif

examples_bench_bench_server_SOURCES = examples/bench/bench_server.c
nodist_examples_bench_bench_server_SOURCES = $(BENCH_C_GEN)
examples_bench_bench_server_CPPFLAGS = $(BENCH_C_CPPFLAGS)
examples_bench_bench_server_CFLAGS = $(BENCH_C_CFLAGS)
examples_bench_bench_server_LDADD = $(BENCH_C_LIBS)
# A real executable rather than a libtool wrapper script, so that run.sh measures and
# pins the server itself.
examples_bench_bench_server_LDFLAGS = -no-install

examples_bench_bench_client_SOURCES = examples/bench/bench_client.c
nodist_examples_bench_bench_client_SOURCES = $(BENCH_C_GEN)
examples_bench_bench_client_CPPFLAGS = $(BENCH_C_CPPFLAGS)
examples_bench_bench_client_CFLAGS = $(BENCH_C_CFLAGS)
examples_bench_bench_client_LDADD = $(BENCH_C_LIBS)
examples_bench_bench_client_LDFLAGS = -no-install

# The hand-written sources include generated headers, which make must know about before
# the first compilation (dependency tracking only learns of them afterwards).
examples/bench/bench_server-bench_server.$(OBJEXT) \
examples/bench/bench_client-bench_client.$(OBJEXT): examples/bench/gen-c.stamp

# --- grpc C++: grpcxx_server, grpcxx_client ---------------------------------------------

BENCH_CXX_PROTOS = \
	$(GRPC_PROTO_DIR)/grpc/testing/messages.proto \
	$(GRPC_PROTO_DIR)/grpc/testing/benchmark_service.proto
BENCH_CXX_GEN_SOURCES = \
	examples/bench/gen-cxx/grpc/testing/messages.pb.cc \
	examples/bench/gen-cxx/grpc/testing/benchmark_service.pb.cc \
	examples/bench/gen-cxx/grpc/testing/benchmark_service.grpc.pb.cc
# grpc_cpp_plugin writes a (service-less) messages.grpc.pb.* too; nothing uses it.
BENCH_CXX_GEN = $(BENCH_CXX_GEN_SOURCES) \
	examples/bench/gen-cxx/grpc/testing/messages.pb.h \
	examples/bench/gen-cxx/grpc/testing/benchmark_service.pb.h \
	examples/bench/gen-cxx/grpc/testing/benchmark_service.grpc.pb.h \
	examples/bench/gen-cxx/grpc/testing/messages.grpc.pb.cc \
	examples/bench/gen-cxx/grpc/testing/messages.grpc.pb.h

examples/bench/gen-cxx.stamp: $(BENCH_CXX_PROTOS)
	@rm -f $@.tmp
	@touch $@.tmp
	@$(MKDIR_P) examples/bench/gen-cxx
	$(AM_V_GEN)$(PROTOC) -I$(GRPC_PROTO_DIR) --cpp_out=examples/bench/gen-cxx \
		--grpc_out=examples/bench/gen-cxx --plugin=protoc-gen-grpc=$(GRPC_CPP_PLUGIN) \
		$(BENCH_CXX_PROTOS)
	@mv -f $@.tmp $@
$(BENCH_CXX_GEN): examples/bench/gen-cxx.stamp
	@test -f $@ || rm -f examples/bench/gen-cxx.stamp
	@test -f $@ || $(MAKE) $(AM_MAKEFLAGS) examples/bench/gen-cxx.stamp

CLEANFILES += $(BENCH_CXX_GEN) examples/bench/gen-cxx.stamp examples/bench/gen-cxx.stamp.tmp

BENCH_CXX_CPPFLAGS = -I$(top_builddir)/examples/bench/gen-cxx
BENCH_CXX_CXXFLAGS = $(GRPCXX_CFLAGS) $(PTHREAD_CFLAGS)

if HAVE_GRPCXX
# The generated code, compiled once for both programs.
noinst_LTLIBRARIES += examples/bench/libbenchgrpcxx.la
noinst_PROGRAMS += examples/bench/grpcxx_server examples/bench/grpcxx_client
endif

nodist_examples_bench_libbenchgrpcxx_la_SOURCES = $(BENCH_CXX_GEN_SOURCES)
examples_bench_libbenchgrpcxx_la_CPPFLAGS = $(BENCH_CXX_CPPFLAGS)
examples_bench_libbenchgrpcxx_la_CXXFLAGS = $(BENCH_CXX_CXXFLAGS)

examples_bench_grpcxx_server_SOURCES = examples/bench/grpcxx_server.cc
examples_bench_grpcxx_server_CPPFLAGS = $(BENCH_CXX_CPPFLAGS)
examples_bench_grpcxx_server_CXXFLAGS = $(BENCH_CXX_CXXFLAGS)
examples_bench_grpcxx_server_LDADD = examples/bench/libbenchgrpcxx.la $(GRPCXX_LIBS) $(PTHREAD_LIBS)

examples_bench_grpcxx_client_SOURCES = examples/bench/grpcxx_client.cc
examples_bench_grpcxx_client_CPPFLAGS = $(BENCH_CXX_CPPFLAGS)
examples_bench_grpcxx_client_CXXFLAGS = $(BENCH_CXX_CXXFLAGS)
examples_bench_grpcxx_client_LDADD = examples/bench/libbenchgrpcxx.la $(GRPCXX_LIBS) $(PTHREAD_LIBS)

examples/bench/grpcxx_server-grpcxx_server.$(OBJEXT) \
examples/bench/grpcxx_client-grpcxx_client.$(OBJEXT): examples/bench/gen-cxx.stamp

# --- idle connections: idle_conns (a raw nghttp2 client, or one cgrpc channel with a
# connection pool) against both servers -----------------------------------------------------

if BUILD_EXAMPLES
if HAVE_GRPC_PROTO
noinst_PROGRAMS += examples/bench/idle_conns
endif
endif
examples_bench_idle_conns_SOURCES = examples/bench/idle_conns.c
nodist_examples_bench_idle_conns_SOURCES = $(BENCH_C_GEN)
examples_bench_idle_conns_CPPFLAGS = $(BENCH_C_CPPFLAGS)
examples_bench_idle_conns_CFLAGS = $(BENCH_C_CFLAGS) $(NGHTTP2_CFLAGS)
examples_bench_idle_conns_LDADD = $(BENCH_C_LIBS) $(NGHTTP2_LIBS)
# A real executable (not a libtool wrapper), as the servers: it measures itself.
examples_bench_idle_conns_LDFLAGS = -no-install
examples/bench/idle_conns-idle_conns.$(OBJEXT): examples/bench/gen-c.stamp
