# tests/hostile: hostile HTTP/2 peers (Python, raw frames; python3-h2 for HPACK) against
# tests/e2e's server, while a legitimate client says what it still gets (tests/hostile/README.md).
EXTRA_DIST += tests/hostile/README.md tests/hostile/hostile.py tests/hostile/attacks.py \
	tests/hostile/h2wire.py tests/hostile/run.sh tests/hostile/check_hostile.sh

if BUILD_EXAMPLES
if HAVE_CHECK
check_PROGRAMS += tests/hostile/legit_client
tests_hostile_legit_client_SOURCES = tests/hostile/legit_client.c
nodist_tests_hostile_legit_client_SOURCES = tests/e2e/e2e.pb-c.c tests/e2e/e2e.cgrpc.c
tests_hostile_legit_client_CPPFLAGS = $(E2E_CPPFLAGS)
tests_hostile_legit_client_CFLAGS = $(E2E_CFLAGS)
tests_hostile_legit_client_LDADD = $(CGRPC_USER_LIBS)
tests_hostile_legit_client_LDFLAGS = -no-install
$(tests_hostile_legit_client_OBJECTS): tests/e2e/e2e.stamp

# It measures latency, so it waits for the other tests of the run to finish before it starts
# (run.sh), rather than share the machine's two cores with them; included last in
# tests/local.mk, it is also the last test make starts.
TESTS += tests/hostile/check_hostile.sh
endif
endif
