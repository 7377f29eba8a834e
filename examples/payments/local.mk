# examples/payments: call policy from .proto options -- a deadline, retries with backoff and
# idempotency keys on Charge -- against a server that fails attempts on purpose, with the
# dedup helper making sure each charge runs once.  The quick start's demo.  The code is
# generated into the build tree next to the objects.
EXTRA_DIST += \
	examples/payments/payments.proto \
	examples/payments/demo.sh \
	examples/payments/demo-check.test

if BUILD_EXAMPLES
PAYMENTS_GEN = \
	examples/payments/payments.pb-c.c examples/payments/payments.pb-c.h \
	examples/payments/payments.cgrpc.c examples/payments/payments.cgrpc.h
BUILT_SOURCES += $(PAYMENTS_GEN)
CLEANFILES += $(PAYMENTS_GEN) examples/payments/payments.stamp

examples/payments/payments.stamp: $(srcdir)/examples/payments/payments.proto \
		$(srcdir)/runtime/proto/cgrpc/options.proto $(CGRPC_PLUGIN)
	$(AM_V_GEN)$(MKDIR_P) examples/payments && \
	$(CGRPC_PROTOC) -I$(srcdir)/examples/payments --c_out=examples/payments \
		--cgrpc_out=examples/payments $(srcdir)/examples/payments/payments.proto && \
	touch $@
$(PAYMENTS_GEN): examples/payments/payments.stamp

noinst_PROGRAMS += examples/payments/payments_server examples/payments/payments_client
PAYMENTS_CPPFLAGS = $(CGRPC_USER_CPPFLAGS) -Iexamples/payments
PAYMENTS_CFLAGS = $(WARN_CFLAGS) $(CGRPC_USER_CFLAGS) $(PTHREAD_CFLAGS)
PAYMENTS_LIBS = $(CGRPC_USER_LIBS) $(PTHREAD_LIBS)
PAYMENTS_NODIST = examples/payments/payments.pb-c.c examples/payments/payments.cgrpc.c

examples_payments_payments_server_SOURCES = examples/payments/payments_server.c
nodist_examples_payments_payments_server_SOURCES = $(PAYMENTS_NODIST)
examples_payments_payments_server_CPPFLAGS = $(PAYMENTS_CPPFLAGS)
examples_payments_payments_server_CFLAGS = $(PAYMENTS_CFLAGS)
examples_payments_payments_server_LDADD = $(PAYMENTS_LIBS)
# Real executables rather than libtool wrapper scripts, so that demo.sh's pid and
# valgrind see the programs themselves.
examples_payments_payments_server_LDFLAGS = -no-install

examples_payments_payments_client_SOURCES = examples/payments/payments_client.c
nodist_examples_payments_payments_client_SOURCES = $(PAYMENTS_NODIST)
examples_payments_payments_client_CPPFLAGS = $(PAYMENTS_CPPFLAGS)
examples_payments_payments_client_CFLAGS = $(PAYMENTS_CFLAGS)
examples_payments_payments_client_LDADD = $(PAYMENTS_LIBS)
examples_payments_payments_client_LDFLAGS = -no-install

$(examples_payments_payments_server_OBJECTS) $(examples_payments_payments_client_OBJECTS): \
	examples/payments/payments.stamp

# make check: demo.sh against the programs just built, checking the client's summary.
TESTS += examples/payments/demo-check.test
endif
