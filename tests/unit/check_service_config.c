/* The gRPC service config reader: methodConfig names and their precedence, durations,
 * retry policies, retryThrottling, and the reasons it gives for what it refuses. */
#include <string.h>

#include <check.h>

#include "base/alloc.h"
#include "client/service_config.h"
#include "unit_main.h"

Suite *service_config_suite(void);

static cgrpc_allocator def;

/* Parses json, which must be valid, into *sc. */
static void parse_ok(cgrpc_service_config *sc, const char *json)
{
  char err[256];
  cgrpc_alloc_init(&def, NULL);
  int rv = cgrpc_service_config_parse(sc, &def, json, err, sizeof err);
  ck_assert_msg(rv == 0, "refused: %s", err);
}

/* json must be refused with a reason containing want. */
static void parse_bad(const char *json, const char *want)
{
  char err[256];
  cgrpc_service_config sc;
  cgrpc_alloc_init(&def, NULL);
  ck_assert_int_eq(cgrpc_service_config_parse(&sc, &def, json, err, sizeof err), CGRPC_ERR_PROTO);
  ck_assert_msg(strstr(err, want) != NULL, "%s: reason \"%s\", want \"%s\"", json, err, want);
  ck_assert_ptr_null(sc.entries);
}

START_TEST(the_exact_method_wins_over_its_service_and_the_default)
{
  cgrpc_service_config sc;
  parse_ok(&sc, "{\"methodConfig\": ["
                " {\"name\": [{}], \"timeout\": \"9s\"},"
                " {\"name\": [{\"service\": \"a.S\"}], \"timeout\": \"2s\"},"
                " {\"name\": [{\"service\": \"a.S\", \"method\": \"M\"},"
                "            {\"service\": \"b.T\", \"method\": \"N\"}], \"timeout\": \"0.25s\"}]}");
  ck_assert_uint_eq(sc.n, 4);
  ck_assert_int_eq(cgrpc_service_config_find(&sc, "/a.S/M")->timeout_ms, 250);
  ck_assert_int_eq(cgrpc_service_config_find(&sc, "/b.T/N")->timeout_ms, 250);
  ck_assert_int_eq(cgrpc_service_config_find(&sc, "/a.S/Other")->timeout_ms, 2000);
  ck_assert_int_eq(cgrpc_service_config_find(&sc, "/b.T/Other")->timeout_ms, 9000);
  ck_assert_int_eq(cgrpc_service_config_find(&sc, "/a.SS/M")->timeout_ms, 9000);
  ck_assert_ptr_null(cgrpc_service_config_find(&sc, "no-slash"));
  cgrpc_service_config_clear(&sc, &def);

  parse_ok(&sc, "{\"methodConfig\": [{\"name\": [{\"service\": \"a.S\"}], \"timeout\": \"1s\"}]}");
  ck_assert_ptr_null(cgrpc_service_config_find(&sc, "/b.T/M")); /* no default entry */
  cgrpc_service_config_clear(&sc, &def);
}
END_TEST

START_TEST(a_retry_policy_reads_as_a6_defines_it)
{
  cgrpc_service_config sc;
  parse_ok(&sc, "{\"methodConfig\": [{\"name\": [{\"service\": \"a.S\"}],"
                " \"retryPolicy\": {\"maxAttempts\": 9, \"initialBackoff\": \"0.1s\","
                " \"maxBackoff\": \"1.000000001s\", \"backoffMultiplier\": 1.5,"
                " \"retryableStatusCodes\": [\"UNAVAILABLE\", \"aborted\", 8]}}],"
                " \"retryThrottling\": {\"maxTokens\": 10, \"tokenRatio\": 0.1}}");
  const cgrpc_method_config *m = cgrpc_service_config_find(&sc, "/a.S/M");
  ck_assert(m->has_retry && !m->has_timeout);
  ck_assert_int_eq(m->retry.max_attempts, 5); /* capped */
  ck_assert_int_eq(m->retry.initial_backoff_ms, 100);
  ck_assert_int_eq(m->retry.max_backoff_ms, 1001); /* rounded up */
  ck_assert(m->retry.backoff_multiplier == 1.5);
  ck_assert(m->retry.jitter == 1.0);
  ck_assert_uint_eq(m->retry.retryable_codes, (1u << 14) | (1u << 10) | (1u << 8));
  ck_assert_int_eq(sc.throttle_max_tokens, 10);
  ck_assert(sc.throttle_token_ratio == 0.1);
  cgrpc_service_config_clear(&sc, &def);

  /* maxAttempts 1: no retries, and nothing else needed. */
  parse_ok(&sc, "{\"methodConfig\": [{\"name\": [{}], \"retryPolicy\": {\"maxAttempts\": 1}}]}");
  ck_assert_int_eq(cgrpc_service_config_find(&sc, "/x.Y/Z")->retry.max_attempts, 1);
  cgrpc_service_config_clear(&sc, &def);
}
END_TEST

START_TEST(malformed_configs_are_refused_with_a_reason)
{
  parse_bad("{", "not JSON");
  parse_bad("[]", "want a JSON object");
  parse_bad("{\"methodConfig\": {}}", "methodConfig: want an array");
  parse_bad("{\"methodConfig\": [{\"timeout\": \"1s\"}]}", "needs a non-empty \"name\"");
  parse_bad("{\"methodConfig\": [{\"name\": [{\"method\": \"M\"}]}]}", "a method needs its service");
  parse_bad("{\"methodConfig\": [{\"name\": [{}], \"timeout\": \"1\"}]}", "duration");
  parse_bad("{\"methodConfig\": [{\"name\": [{}], \"timeout\": \"1.0000000001s\"}]}", "duration");
  parse_bad("{\"methodConfig\": [{\"name\": [{}], \"timeout\": 5}]}", "duration");
  parse_bad("{\"methodConfig\": [{\"name\": [{}], \"retryPolicy\": {\"maxAttempts\": 0}}]}",
            "maxAttempts");
  parse_bad("{\"methodConfig\": [{\"name\": [{}], \"retryPolicy\": {\"maxAttempts\": 2}}]}",
            "initialBackoff is required");
  parse_bad("{\"methodConfig\": [{\"name\": [{}], \"retryPolicy\": {\"maxAttempts\": 2,"
            " \"initialBackoff\": \"0s\", \"maxBackoff\": \"1s\", \"backoffMultiplier\": 2,"
            " \"retryableStatusCodes\": [\"UNAVAILABLE\"]}}]}",
            "above 0");
  parse_bad("{\"methodConfig\": [{\"name\": [{}], \"retryPolicy\": {\"maxAttempts\": 2,"
            " \"initialBackoff\": \"1s\", \"maxBackoff\": \"1s\", \"backoffMultiplier\": 2,"
            " \"retryableStatusCodes\": [\"OK\"]}}]}",
            "\"OK\"");
  parse_bad("{\"methodConfig\": [{\"name\": [{}], \"retryPolicy\": {\"maxAttempts\": 2,"
            " \"initialBackoff\": \"1s\", \"maxBackoff\": \"1s\", \"backoffMultiplier\": 2,"
            " \"retryableStatusCodes\": []}}]}",
            "non-empty array");
  parse_bad("{\"retryThrottling\": {\"maxTokens\": 1001, \"tokenRatio\": 1}}", "maxTokens");
  parse_bad("{\"retryThrottling\": {\"maxTokens\": 10, \"tokenRatio\": 0}}", "tokenRatio");
}
END_TEST

START_TEST(unknown_fields_are_ignored)
{
  cgrpc_service_config sc;
  parse_ok(&sc, "{\"healthCheckConfig\": {\"serviceName\": \"x\"}, \"methodConfig\": [{\"name\":"
                " [{}], \"maxRequestMessageBytes\": 5, \"timeout\": \"3s\"}]}");
  ck_assert_int_eq(cgrpc_service_config_find(&sc, "/a.B/C")->timeout_ms, 3000);
  ck_assert_int_eq(cgrpc_service_config_find(&sc, "/a.B/C")->wait_for_ready, -1);
  ck_assert_ptr_null(sc.lb_policy);
  cgrpc_service_config_clear(&sc, &def);
}
END_TEST

START_TEST(wait_for_ready_and_the_lb_policy_are_read)
{
  cgrpc_service_config sc;
  /* The first policy we know wins; an unknown one before it is skipped. */
  parse_ok(&sc, "{\"loadBalancingConfig\": [{\"grpclb\": {}}, {\"round_robin\": {}},"
                " {\"pick_first\": {}}], \"methodConfig\": [{\"name\": [{}],"
                " \"waitForReady\": true}, {\"name\": [{\"service\": \"a.B\"}],"
                " \"waitForReady\": false}]}");
  ck_assert_str_eq(sc.lb_policy, "round_robin");
  ck_assert_int_eq(cgrpc_service_config_find(&sc, "/x.Y/Z")->wait_for_ready, 1);
  ck_assert_int_eq(cgrpc_service_config_find(&sc, "/a.B/C")->wait_for_ready, 0);
  cgrpc_service_config_clear(&sc, &def);
  parse_ok(&sc, "{\"loadBalancingPolicy\": \"ROUND_ROBIN\"}");
  ck_assert_str_eq(sc.lb_policy, "round_robin");
  cgrpc_service_config_clear(&sc, &def);
  parse_bad("{\"loadBalancingPolicy\": \"weighted\"}", "loadBalancingPolicy");
  parse_bad("{\"loadBalancingConfig\": [{\"grpclb\": {}}]}", "no policy we support");
  parse_bad("{\"loadBalancingConfig\": {}}", "want an array");
  parse_bad("{\"methodConfig\": [{\"name\": [{}], \"waitForReady\": 1}]}", "waitForReady");
}
END_TEST

Suite *service_config_suite(void)
{
  Suite *s = suite_create("service_config");
  TCase *tc = tcase_create("service config");
  tcase_add_test(tc, the_exact_method_wins_over_its_service_and_the_default);
  tcase_add_test(tc, a_retry_policy_reads_as_a6_defines_it);
  tcase_add_test(tc, malformed_configs_are_refused_with_a_reason);
  tcase_add_test(tc, unknown_fields_are_ignored);
  tcase_add_test(tc, wait_for_ready_and_the_lb_policy_are_read);
  suite_add_tcase(s, tc);
  return s;
}

UNIT_MAIN(service_config_suite)
