# examples/route_guide: gRPC's route_guide, one method of each kind (unary, server-streaming,
# client-streaming, bidi).  The code is generated into the build tree next to the objects.
EXTRA_DIST += \
	examples/route_guide/README.md \
	examples/route_guide/route_guide.proto \
	examples/route_guide/demo.sh \
	examples/route_guide/demo-check.test

if BUILD_EXAMPLES
ROUTE_GUIDE_GEN = \
	examples/route_guide/route_guide.pb-c.c examples/route_guide/route_guide.pb-c.h \
	examples/route_guide/route_guide.cgrpc.c examples/route_guide/route_guide.cgrpc.h
BUILT_SOURCES += $(ROUTE_GUIDE_GEN)
CLEANFILES += $(ROUTE_GUIDE_GEN) examples/route_guide/route_guide.stamp

examples/route_guide/route_guide.stamp: $(srcdir)/examples/route_guide/route_guide.proto \
		$(srcdir)/runtime/proto/cgrpc/options.proto $(CGRPC_PLUGIN)
	$(AM_V_GEN)$(MKDIR_P) examples/route_guide && \
	$(CGRPC_PROTOC) -I$(srcdir)/examples/route_guide --c_out=examples/route_guide \
		--cgrpc_out=examples/route_guide $(srcdir)/examples/route_guide/route_guide.proto && \
	touch $@
$(ROUTE_GUIDE_GEN): examples/route_guide/route_guide.stamp

noinst_PROGRAMS += examples/route_guide/route_guide_server examples/route_guide/route_guide_client
ROUTE_GUIDE_CPPFLAGS = $(CGRPC_USER_CPPFLAGS) -Iexamples/route_guide
ROUTE_GUIDE_CFLAGS = $(WARN_CFLAGS) $(CGRPC_USER_CFLAGS) $(PTHREAD_CFLAGS)
ROUTE_GUIDE_LIBS = $(CGRPC_USER_LIBS) $(PTHREAD_LIBS)
ROUTE_GUIDE_NODIST = \
	examples/route_guide/route_guide.pb-c.c examples/route_guide/route_guide.cgrpc.c

examples_route_guide_route_guide_server_SOURCES = examples/route_guide/route_guide_server.c
nodist_examples_route_guide_route_guide_server_SOURCES = $(ROUTE_GUIDE_NODIST)
examples_route_guide_route_guide_server_CPPFLAGS = $(ROUTE_GUIDE_CPPFLAGS)
examples_route_guide_route_guide_server_CFLAGS = $(ROUTE_GUIDE_CFLAGS)
examples_route_guide_route_guide_server_LDADD = $(ROUTE_GUIDE_LIBS) -lm
# Real executables rather than libtool wrapper scripts, so that demo.sh's pid and
# valgrind see the programs themselves.
examples_route_guide_route_guide_server_LDFLAGS = -no-install

examples_route_guide_route_guide_client_SOURCES = examples/route_guide/route_guide_client.c
nodist_examples_route_guide_route_guide_client_SOURCES = $(ROUTE_GUIDE_NODIST)
examples_route_guide_route_guide_client_CPPFLAGS = $(ROUTE_GUIDE_CPPFLAGS)
examples_route_guide_route_guide_client_CFLAGS = $(ROUTE_GUIDE_CFLAGS)
examples_route_guide_route_guide_client_LDADD = $(ROUTE_GUIDE_LIBS)
examples_route_guide_route_guide_client_LDFLAGS = -no-install

$(examples_route_guide_route_guide_server_OBJECTS) $(examples_route_guide_route_guide_client_OBJECTS): \
	examples/route_guide/route_guide.stamp

# make check: demo.sh against the programs just built.  Not named demo.test: its log,
# demo.log, would be made from demo.sh by the .sh rule.
TESTS += examples/route_guide/demo-check.test
endif
