# tests/plugin: protoc-gen-cgrpc against golden files, a compile test of its output, and
# the errors it reports.  See tests/plugin/check_plugin.c.
EXTRA_DIST += tests/plugin/protos tests/plugin/golden tests/plugin/cases \
	tests/plugin/regen-golden.sh tests/plugin/typed_api.c

if BUILD_PLUGIN
if HAVE_CHECK
if HAVE_PROTOC_GEN_C
check_PROGRAMS += tests/plugin/check_plugin
TESTS += tests/plugin/check_plugin
tests_plugin_check_plugin_SOURCES = tests/plugin/check_plugin.c
tests_plugin_check_plugin_CPPFLAGS = \
	-DCGRPC_TEST_PROTOC='"$(PROTOC)"' \
	-DCGRPC_TEST_PLUGIN='"$(abs_top_builddir)/$(CGRPC_PLUGIN)"' \
	-DCGRPC_TEST_PROTOC_GEN_C='"$(PROTOC_GEN_C)"' \
	-DCGRPC_TEST_DIR='"$(abs_top_srcdir)/tests/plugin"' \
	-DCGRPC_TEST_RUNTIME_PROTO_DIR='"$(abs_top_srcdir)/runtime/proto"' \
	-DCGRPC_TEST_PROTOBUF_C_PROTO_DIR='"$(PROTOBUF_C_PROTO_DIR)"' \
	-DCGRPC_TEST_CC='"$(CC)"' \
	-DCGRPC_TEST_CXX='"$(CXX)"' \
	-DCGRPC_TEST_GENERATED_CFLAGS='"-I$(abs_top_srcdir)/runtime/include -I$(abs_top_builddir)/runtime/include $(PROTOBUF_C_CFLAGS)"'
if HAVE_GRPC_PROTO
tests_plugin_check_plugin_CPPFLAGS += -DCGRPC_TEST_GRPC_PROTO_DIR='"$(GRPC_PROTO_DIR)"'
endif
tests_plugin_check_plugin_CFLAGS = $(WARN_CFLAGS) $(CHECK_CFLAGS)
tests_plugin_check_plugin_LDADD = $(CHECK_LIBS)
# It runs the plugin.
EXTRA_tests_plugin_check_plugin_DEPENDENCIES = $(CGRPC_PLUGIN)
endif
endif

# After an intended change of the generated code: `make regen-plugin-golden` in the build
# directory rewrites tests/plugin/golden in the source tree; review and commit the result.
regen-plugin-golden: $(CGRPC_PLUGIN)
	$(SHELL) $(top_srcdir)/tests/plugin/regen-golden.sh '$(PROTOC)' \
		'$(abs_top_builddir)/$(CGRPC_PLUGIN)' '$(abs_top_srcdir)/runtime/proto' \
		'$(PROTOBUF_C_PROTO_DIR)' '$(top_srcdir)/tests/plugin'
endif
.PHONY: regen-plugin-golden
