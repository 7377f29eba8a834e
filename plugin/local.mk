# protoc-gen-cgrpc: the protoc plugin (C++, against libprotoc).

# The text of the generated code (see templates/common.tmpl), compiled into the plugin.
CGRPC_TEMPLATES = \
	templates/common.tmpl \
	templates/header.tmpl \
	templates/header_service.tmpl \
	templates/header_method.tmpl \
	templates/source.tmpl \
	templates/source_service.tmpl \
	templates/source_method.tmpl
EXTRA_DIST += $(CGRPC_TEMPLATES) templates/embed.sh

if BUILD_PLUGIN
bin_PROGRAMS += plugin/protoc-gen-cgrpc

plugin_protoc_gen_cgrpc_SOURCES = \
	plugin/main.cc \
	plugin/generator.cc plugin/generator.h \
	plugin/parameters.cc plugin/parameters.h \
	plugin/file_generator.cc plugin/file_generator.h \
	plugin/service_generator.cc plugin/service_generator.h \
	plugin/names.cc plugin/names.h \
	plugin/collisions.cc plugin/collisions.h \
	plugin/options.cc plugin/options.h \
	plugin/policy_comment.cc plugin/policy_comment.h \
	plugin/duration.cc plugin/duration.h \
	plugin/comments.cc plugin/comments.h \
	plugin/diagnostics.cc plugin/diagnostics.h \
	plugin/templates.cc plugin/templates.h

# Built here: the C++ of the options the plugin reads (protobuf-c's c_package, cgrpc's call
# policy), and the templates.
CGRPC_PLUGIN_PROTO_GEN = \
	plugin/gen/cgrpc/options.pb.cc plugin/gen/cgrpc/options.pb.h \
	plugin/gen/protobuf-c/protobuf-c.pb.cc plugin/gen/protobuf-c/protobuf-c.pb.h
nodist_plugin_protoc_gen_cgrpc_SOURCES = $(CGRPC_PLUGIN_PROTO_GEN) plugin/gen/templates.cc

plugin_protoc_gen_cgrpc_CPPFLAGS = -I$(top_builddir)/plugin/gen -I$(top_srcdir)/plugin
plugin_protoc_gen_cgrpc_CXXFLAGS = -Wall -Wextra $(PROTOBUF_CFLAGS)
plugin_protoc_gen_cgrpc_LDADD = $(PROTOC_LIBS) $(PROTOBUF_LIBS)

plugin/gen/templates.cc: $(CGRPC_TEMPLATES:%=$(top_srcdir)/%) $(top_srcdir)/templates/embed.sh
	$(AM_V_GEN)$(MKDIR_P) plugin/gen && \
	$(SHELL) $(top_srcdir)/templates/embed.sh $(CGRPC_TEMPLATES:%=$(top_srcdir)/%) >$@.tmp && \
	mv -f $@.tmp $@

# protoc writes a .pb.cc and its .pb.h together: one stamp stands for all four files.
plugin/gen/protos.stamp: $(top_srcdir)/runtime/proto/cgrpc/options.proto
	@$(MKDIR_P) plugin/gen && rm -f $@.tmp && touch $@.tmp
	$(AM_V_GEN)$(PROTOC) -I$(top_srcdir)/runtime/proto -I$(PROTOBUF_PROTO_DIR) --cpp_out=plugin/gen \
		cgrpc/options.proto && \
	$(PROTOC) -I$(PROTOBUF_C_PROTO_DIR) -I$(PROTOBUF_PROTO_DIR) --cpp_out=plugin/gen \
		protobuf-c/protobuf-c.proto
	@mv -f $@.tmp $@
$(CGRPC_PLUGIN_PROTO_GEN): plugin/gen/protos.stamp
	@test -f $@ || rm -f plugin/gen/protos.stamp
	@test -f $@ || $(MAKE) $(AM_MAKEFLAGS) plugin/gen/protos.stamp

# The plugin's sources include the generated headers (also when only the plugin is made).
$(plugin_protoc_gen_cgrpc_OBJECTS): $(CGRPC_PLUGIN_PROTO_GEN)
BUILT_SOURCES += $(CGRPC_PLUGIN_PROTO_GEN) plugin/gen/templates.cc
CLEANFILES += $(CGRPC_PLUGIN_PROTO_GEN) plugin/gen/templates.cc plugin/gen/protos.stamp

# For the rest of the tree: protoc with both plugins and the include paths of their
# options, e.g. $(CGRPC_PROTOC) -I$(srcdir)/x --c_out=DIR --cgrpc_out=DIR x/foo.proto
CGRPC_PLUGIN = plugin/protoc-gen-cgrpc$(EXEEXT)
CGRPC_PROTOC = $(PROTOC) --plugin=protoc-gen-cgrpc=$(top_builddir)/plugin/protoc-gen-cgrpc$(EXEEXT) \
	--plugin=protoc-gen-c=$(PROTOC_GEN_C) -I$(top_srcdir)/runtime/proto -I$(PROTOBUF_C_PROTO_DIR)
endif
