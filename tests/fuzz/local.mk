# tests/fuzz: libFuzzer targets.  Built by `make fuzz` in a tree configured with
# --enable-fuzzing, never by make or make check; `make fuzz-run` runs each one briefly on a
# copy of its corpus (tests/fuzz/run.sh).  See tests/fuzz/README.md.
EXTRA_DIST += tests/fuzz/README.md tests/fuzz/run.sh tests/fuzz/make-corpus.py tests/fuzz/corpus \
	tests/fuzz/crashes

if FUZZING
FUZZ_TARGETS = \
	tests/fuzz/fuzz_server_conn \
	tests/fuzz/fuzz_client_conn \
	tests/fuzz/fuzz_frame_decoder \
	tests/fuzz/fuzz_metadata \
	tests/fuzz/fuzz_timeout \
	tests/fuzz/fuzz_service_config \
	tests/fuzz/fuzz_jwt \
	tests/fuzz/fuzz_dedup
if BUILD_PLUGIN
FUZZ_TARGETS += tests/fuzz/fuzz_plugin
endif
EXTRA_PROGRAMS = $(FUZZ_TARGETS)
CLEANFILES += $(FUZZ_TARGETS)

# The runtime's targets reach into its internals: libcgrpc-internal.la, every symbol visible.
FUZZ_CPPFLAGS = $(CGRPC_RUNTIME_CPPFLAGS)
FUZZ_CFLAGS = $(WARN_CFLAGS) $(PTHREAD_CFLAGS) $(NGHTTP2_CFLAGS) $(PROTOBUF_C_CFLAGS) \
	$(ZLIB_CFLAGS) $(JSONC_CFLAGS)
FUZZ_LDADD = runtime/libcgrpc-internal.la $(PTHREAD_LIBS)
FUZZ_COMMON = tests/fuzz/fuzz_common.c tests/fuzz/fuzz_common.h

tests_fuzz_fuzz_server_conn_SOURCES = tests/fuzz/fuzz_server_conn.c $(FUZZ_COMMON)
tests_fuzz_fuzz_server_conn_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_server_conn_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_server_conn_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_server_conn_LDFLAGS = $(FUZZ_LDFLAGS)

tests_fuzz_fuzz_client_conn_SOURCES = tests/fuzz/fuzz_client_conn.c $(FUZZ_COMMON)
tests_fuzz_fuzz_client_conn_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_client_conn_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_client_conn_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_client_conn_LDFLAGS = $(FUZZ_LDFLAGS)

tests_fuzz_fuzz_frame_decoder_SOURCES = tests/fuzz/fuzz_frame_decoder.c
tests_fuzz_fuzz_frame_decoder_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_frame_decoder_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_frame_decoder_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_frame_decoder_LDFLAGS = $(FUZZ_LDFLAGS)

tests_fuzz_fuzz_metadata_SOURCES = tests/fuzz/fuzz_metadata.c
tests_fuzz_fuzz_metadata_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_metadata_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_metadata_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_metadata_LDFLAGS = $(FUZZ_LDFLAGS)

tests_fuzz_fuzz_timeout_SOURCES = tests/fuzz/fuzz_timeout.c
tests_fuzz_fuzz_timeout_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_timeout_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_timeout_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_timeout_LDFLAGS = $(FUZZ_LDFLAGS)

tests_fuzz_fuzz_service_config_SOURCES = tests/fuzz/fuzz_service_config.c
tests_fuzz_fuzz_service_config_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_service_config_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_service_config_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_service_config_LDFLAGS = $(FUZZ_LDFLAGS)

tests_fuzz_fuzz_jwt_SOURCES = tests/fuzz/fuzz_jwt.c
tests_fuzz_fuzz_jwt_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_jwt_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_jwt_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_jwt_LDFLAGS = $(FUZZ_LDFLAGS)

tests_fuzz_fuzz_dedup_SOURCES = tests/fuzz/fuzz_dedup.c $(FUZZ_COMMON)
tests_fuzz_fuzz_dedup_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_dedup_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_dedup_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_dedup_LDFLAGS = $(FUZZ_LDFLAGS)

if BUILD_PLUGIN
# The plugin's own sources but its main, with the generated options and templates.
tests_fuzz_fuzz_plugin_SOURCES = tests/fuzz/fuzz_plugin.cc \
	$(plugin_protoc_gen_cgrpc_SOURCES:plugin/main.cc=)
nodist_tests_fuzz_fuzz_plugin_SOURCES = $(nodist_plugin_protoc_gen_cgrpc_SOURCES)
tests_fuzz_fuzz_plugin_CPPFLAGS = $(plugin_protoc_gen_cgrpc_CPPFLAGS)
tests_fuzz_fuzz_plugin_CXXFLAGS = $(plugin_protoc_gen_cgrpc_CXXFLAGS)
tests_fuzz_fuzz_plugin_LDADD = $(plugin_protoc_gen_cgrpc_LDADD)
tests_fuzz_fuzz_plugin_LDFLAGS = $(FUZZ_LDFLAGS)
$(tests_fuzz_fuzz_plugin_OBJECTS): $(CGRPC_PLUGIN_PROTO_GEN)
endif

fuzz: $(FUZZ_TARGETS)
# FUZZ_SECONDS: how long each target runs (run.sh's default: 10).
fuzz-run: fuzz
	FUZZ_BUILDDIR='$(abs_top_builddir)/tests/fuzz' $(SHELL) $(srcdir)/tests/fuzz/run.sh $(FUZZ_SECONDS)
else
fuzz fuzz-run:
	@echo "$@: the fuzz targets need ./configure --enable-fuzzing CC=clang-14 CXX=clang++-14" >&2
	@exit 1
endif
.PHONY: fuzz fuzz-run
