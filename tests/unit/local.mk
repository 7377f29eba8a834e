# Unit tests of the runtime's internal modules: one Check program per module
# (tests/unit/check_<module>.c defines <module>_suite()), linked against
# runtime/libcgrpc-internal.la, where every internal symbol is visible.
# Needs, from elsewhere: CGRPC_RUNTIME_CPPFLAGS (runtime/local.mk), the
# CHECK_* and *_CFLAGS of configure, and VALGRIND_TESTS defined (with '=')
# before this file is included.  Every program runs clean under
# CK_FORK=no valgrind --error-exitcode=1 --leak-check=full.

if HAVE_CHECK
UNIT_TESTS = \
	tests/unit/check_frame \
	tests/unit/check_timeout \
	tests/unit/check_percent \
	tests/unit/check_b64 \
	tests/unit/check_status \
	tests/unit/check_metadata \
	tests/unit/check_arena \
	tests/unit/check_registry \
	tests/unit/check_headers \
	tests/unit/check_loop \
	tests/unit/check_workers \
	tests/unit/check_budget \
	tests/unit/check_metrics \
	tests/unit/check_traceparent \
	tests/unit/check_frame_watch \
	tests/unit/check_compress \
	tests/unit/check_retry \
	tests/unit/check_policy \
	tests/unit/check_service_config \
	tests/unit/check_jwt

check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
VALGRIND_TESTS += $(UNIT_TESTS)

UNIT_CPPFLAGS = $(CGRPC_RUNTIME_CPPFLAGS)
UNIT_CFLAGS = $(CHECK_CFLAGS) $(NGHTTP2_CFLAGS) $(PROTOBUF_C_CFLAGS) $(ZLIB_CFLAGS) $(WARN_CFLAGS) \
	$(PTHREAD_CFLAGS)
UNIT_LDADD = runtime/libcgrpc-internal.la $(CHECK_LIBS) $(PTHREAD_LIBS)

tests_unit_check_compress_SOURCES = tests/unit/check_compress.c tests/unit/unit_main.h
tests_unit_check_compress_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_check_compress_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_compress_LDADD = $(UNIT_LDADD) $(ZLIB_LIBS)

tests_unit_check_retry_SOURCES = tests/unit/check_retry.c tests/unit/unit_main.h
tests_unit_check_retry_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_check_retry_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_retry_LDADD = $(UNIT_LDADD)

tests_unit_check_policy_SOURCES = tests/unit/check_policy.c tests/unit/unit_main.h
tests_unit_check_policy_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_check_policy_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_policy_LDADD = $(UNIT_LDADD)

tests_unit_check_service_config_SOURCES = tests/unit/check_service_config.c tests/unit/unit_main.h
tests_unit_check_service_config_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_check_service_config_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_service_config_LDADD = $(UNIT_LDADD)

# The JWT verifier and signer; makes its RSA and EC keys with the openssl command.
tests_unit_check_jwt_SOURCES = tests/unit/check_jwt.c tests/unit/unit_main.h
tests_unit_check_jwt_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_check_jwt_CFLAGS = $(UNIT_CFLAGS) $(JSONC_CFLAGS)
tests_unit_check_jwt_LDADD = $(UNIT_LDADD) $(JSONC_LIBS) $(MBEDTLS_LIBS)

tests_unit_check_frame_SOURCES = tests/unit/check_frame.c tests/unit/unit_main.h
tests_unit_check_frame_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_check_frame_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_frame_LDADD = $(UNIT_LDADD)

tests_unit_check_timeout_SOURCES = tests/unit/check_timeout.c tests/unit/unit_main.h
tests_unit_check_timeout_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_check_timeout_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_timeout_LDADD = $(UNIT_LDADD)

tests_unit_check_percent_SOURCES = tests/unit/check_percent.c tests/unit/unit_main.h
tests_unit_check_percent_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_check_percent_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_percent_LDADD = $(UNIT_LDADD)

tests_unit_check_b64_SOURCES = tests/unit/check_b64.c tests/unit/unit_main.h
tests_unit_check_b64_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_check_b64_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_b64_LDADD = $(UNIT_LDADD)

tests_unit_check_status_SOURCES = tests/unit/check_status.c tests/unit/unit_main.h
tests_unit_check_status_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_check_status_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_status_LDADD = $(UNIT_LDADD)

tests_unit_check_metadata_SOURCES = tests/unit/check_metadata.c tests/unit/unit_main.h
tests_unit_check_metadata_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_check_metadata_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_metadata_LDADD = $(UNIT_LDADD)

tests_unit_check_arena_SOURCES = tests/unit/check_arena.c tests/unit/unit_main.h
tests_unit_check_arena_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_check_arena_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_arena_LDADD = $(UNIT_LDADD)

tests_unit_check_registry_SOURCES = tests/unit/check_registry.c tests/unit/unit_main.h
tests_unit_check_registry_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_check_registry_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_registry_LDADD = $(UNIT_LDADD)

tests_unit_check_headers_SOURCES = tests/unit/check_headers.c tests/unit/unit_main.h
tests_unit_check_headers_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_check_headers_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_headers_LDADD = $(UNIT_LDADD)

tests_unit_check_loop_SOURCES = tests/unit/check_loop.c tests/unit/unit_main.h
tests_unit_check_loop_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_check_loop_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_loop_LDADD = $(UNIT_LDADD)

tests_unit_check_budget_SOURCES = tests/unit/check_budget.c tests/unit/unit_main.h
tests_unit_check_budget_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_check_budget_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_budget_LDADD = $(UNIT_LDADD)

tests_unit_check_frame_watch_SOURCES = tests/unit/check_frame_watch.c tests/unit/unit_main.h
tests_unit_check_frame_watch_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_check_frame_watch_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_frame_watch_LDADD = $(UNIT_LDADD)

tests_unit_check_metrics_SOURCES = tests/unit/check_metrics.c tests/unit/unit_main.h
tests_unit_check_metrics_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_check_metrics_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_metrics_LDADD = $(UNIT_LDADD)

tests_unit_check_traceparent_SOURCES = tests/unit/check_traceparent.c tests/unit/unit_main.h
tests_unit_check_traceparent_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_check_traceparent_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_traceparent_LDADD = $(UNIT_LDADD)

tests_unit_check_workers_SOURCES = tests/unit/check_workers.c tests/unit/unit_main.h
tests_unit_check_workers_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_check_workers_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_workers_LDADD = $(UNIT_LDADD)
endif
