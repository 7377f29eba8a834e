# examples/secure: the helloworld Greeter over TLS with JWT bearer tokens (doc/tls-and-auth.md).  Built from examples/helloworld's generated code (examples/local.mk).
EXTRA_DIST += examples/secure/demo-check.test

if BUILD_EXAMPLES
noinst_PROGRAMS += examples/secure/secure_server examples/secure/secure_client
SECURE_NODIST = examples/helloworld/helloworld.pb-c.c examples/helloworld/helloworld.cgrpc.c
SECURE_CFLAGS = $(WARN_CFLAGS) $(CGRPC_USER_CFLAGS) $(PTHREAD_CFLAGS)
SECURE_LIBS = $(CGRPC_USER_LIBS) $(PTHREAD_LIBS)

examples_secure_secure_server_SOURCES = examples/secure/secure_server.c
nodist_examples_secure_secure_server_SOURCES = $(SECURE_NODIST)
examples_secure_secure_server_CPPFLAGS = $(HELLOWORLD_CPPFLAGS)
examples_secure_secure_server_CFLAGS = $(SECURE_CFLAGS)
examples_secure_secure_server_LDADD = $(SECURE_LIBS)
# Real executables rather than libtool wrapper scripts, so that the test's pid and
# valgrind see the programs themselves.
examples_secure_secure_server_LDFLAGS = -no-install

examples_secure_secure_client_SOURCES = examples/secure/secure_client.c
nodist_examples_secure_secure_client_SOURCES = $(SECURE_NODIST)
examples_secure_secure_client_CPPFLAGS = $(HELLOWORLD_CPPFLAGS)
examples_secure_secure_client_CFLAGS = $(SECURE_CFLAGS)
examples_secure_secure_client_LDADD = $(SECURE_LIBS)
examples_secure_secure_client_LDFLAGS = -no-install

$(examples_secure_secure_server_OBJECTS) $(examples_secure_secure_client_OBJECTS): \
	examples/helloworld/helloworld.stamp

# make check: certificates and a secret made for the run; good, bad and refused calls.
TESTS += examples/secure/demo-check.test
endif
