# examples/: helloworld here; bench, route_guide, payments and secure in their own local.mk.
EXTRA_DIST += examples/helloworld/helloworld.proto examples/helloworld/demo.sh \
	examples/helloworld/demo-check.test

if BUILD_EXAMPLES
HELLOWORLD_GEN = \
	examples/helloworld/helloworld.pb-c.c examples/helloworld/helloworld.pb-c.h \
	examples/helloworld/helloworld.cgrpc.c examples/helloworld/helloworld.cgrpc.h
BUILT_SOURCES += $(HELLOWORLD_GEN)
CLEANFILES += $(HELLOWORLD_GEN) examples/helloworld/helloworld.stamp

examples/helloworld/helloworld.stamp: $(srcdir)/examples/helloworld/helloworld.proto \
		$(srcdir)/runtime/proto/cgrpc/options.proto $(CGRPC_PLUGIN)
	$(AM_V_GEN)$(MKDIR_P) examples/helloworld && \
	$(CGRPC_PROTOC) -I$(srcdir)/examples/helloworld --c_out=examples/helloworld \
		--cgrpc_out=examples/helloworld $(srcdir)/examples/helloworld/helloworld.proto && \
	touch $@
$(HELLOWORLD_GEN): examples/helloworld/helloworld.stamp

noinst_PROGRAMS += examples/helloworld/greeter_server examples/helloworld/greeter_client
HELLOWORLD_CPPFLAGS = $(CGRPC_USER_CPPFLAGS) -Iexamples/helloworld
HELLOWORLD_CFLAGS = $(WARN_CFLAGS) $(CGRPC_USER_CFLAGS)

examples_helloworld_greeter_server_SOURCES = examples/helloworld/greeter_server.c
nodist_examples_helloworld_greeter_server_SOURCES = \
	examples/helloworld/helloworld.pb-c.c examples/helloworld/helloworld.cgrpc.c
examples_helloworld_greeter_server_CPPFLAGS = $(HELLOWORLD_CPPFLAGS)
examples_helloworld_greeter_server_CFLAGS = $(HELLOWORLD_CFLAGS)
examples_helloworld_greeter_server_LDADD = $(CGRPC_USER_LIBS)

examples_helloworld_greeter_client_SOURCES = examples/helloworld/greeter_client.c
nodist_examples_helloworld_greeter_client_SOURCES = \
	examples/helloworld/helloworld.pb-c.c examples/helloworld/helloworld.cgrpc.c
examples_helloworld_greeter_client_CPPFLAGS = $(HELLOWORLD_CPPFLAGS)
examples_helloworld_greeter_client_CFLAGS = $(HELLOWORLD_CFLAGS)
examples_helloworld_greeter_client_LDADD = $(CGRPC_USER_LIBS)
$(examples_helloworld_greeter_server_OBJECTS) $(examples_helloworld_greeter_client_OBJECTS): \
	examples/helloworld/helloworld.stamp
# The quick start's demo, as make check runs it.
TESTS += examples/helloworld/demo-check.test
endif

include examples/bench/local.mk
include examples/route_guide/local.mk
include examples/payments/local.mk
include examples/secure/local.mk
include examples/observability/local.mk
