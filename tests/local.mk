# tests/: every suite adds itself to TESTS; those clean under valgrind also to VALGRIND_TESTS.
VALGRIND_TESTS =

include tests/unit/local.mk
include tests/e2e/local.mk
include tests/plugin/local.mk
include tests/layers/local.mk
include tests/fuzz/local.mk

# What each test gets in its environment.  check-valgrind overrides the
# CGRPC_TEST_* variables.
CGRPC_TEST_WRAPPER =
CGRPC_TEST_SLOWDOWN = 1
CGRPC_CK_FORK = yes
AM_TESTS_ENVIRONMENT = \
	E2E_SERVER='$(abs_top_builddir)/tests/e2e/e2e_server'; export E2E_SERVER; \
	CGRPC_TEST_WRAPPER='$(CGRPC_TEST_WRAPPER)'; export CGRPC_TEST_WRAPPER; \
	CGRPC_TEST_SLOWDOWN='$(CGRPC_TEST_SLOWDOWN)'; export CGRPC_TEST_SLOWDOWN; \
	CK_FORK='$(CGRPC_CK_FORK)'; export CK_FORK; \
	top_srcdir='$(top_srcdir)'; export top_srcdir; \
	abs_top_srcdir='$(abs_top_srcdir)'; export abs_top_srcdir; \
	abs_top_builddir='$(abs_top_builddir)'; export abs_top_builddir;

include tests/interop/local.mk
VALGRIND_TESTS += $(INTEROP_TESTS_CGRPC)
# The payments demo: retries, idempotency keys and de-duplication, server and client; the
# secure one: TLS, JWT, certificate reload.
if BUILD_EXAMPLES
VALGRIND_TESTS += examples/payments/demo-check.test
VALGRIND_TESTS += examples/secure/demo-check.test
endif

# make check-valgrind: the suites in VALGRIND_TESTS, and the servers they
# start, under valgrind; any error or definite leak fails the run.
VALGRIND_CMD = $(VALGRIND) --quiet --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
	--track-fds=no --num-callers=30
check-valgrind:
	@test -n "$(VALGRIND)" || { echo "valgrind not found (install it and re-run configure)"; exit 1; }
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(VALGRIND_TESTS)' LOG_COMPILER='$(VALGRIND_CMD)' \
		CGRPC_TEST_WRAPPER='$(VALGRIND_CMD)' CGRPC_TEST_SLOWDOWN=10 CGRPC_CK_FORK=no \
		TEST_SUITE_LOG=test-suite-valgrind.log
.PHONY: check-valgrind

# make installcheck: build and run a program against the installed library.
EXTRA_DIST += tests/installcheck.sh tests/run-all.sh
if BUILD_EXAMPLES
installcheck-local:
	$(SHELL) $(srcdir)/tests/installcheck.sh '$(DESTDIR)$(libdir)' '$(srcdir)/examples/helloworld'
endif

include tests/hostile/local.mk
