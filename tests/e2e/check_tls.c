/* TLS and mTLS end to end: a server in this process with certificates gen_certs.sh made for
 * this run; what a client sees when the CA is unknown, the name does not match, the peer is
 * plaintext or does not do ALPN h2; client certificates and the peer identity handlers see;
 * a certificate reloaded without a restart. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "e2e.cgrpc.h"
#include "faulty.cgrpc.h"
#include "harness.h"

static char certs[256]; /* the directory gen_certs.sh filled */

static const char *cert(const char *name)
{
  static char paths[8][300];
  static int next;
  char *p = paths[next++ % 8];
  snprintf(p, sizeof paths[0], "%s/%s", certs, name);
  return p;
}

/* ---- the server ---------------------------------------------------------------------------- */

static cgrpc_server *srv;
static int port;
static char seen_subject[256]; /* what the last call's handler saw */
static char seen_san[256];
static char seen_auth[256];
static int handled; /* atomic: calls the handler ran */

static cgrpc_code try_handler(cgrpc_server_call *call, const Faulty__TryRequest *req,
                              Faulty__TryReply *reply, void *ud)
{
  (void)req;
  (void)ud;
  const char *s = cgrpc_server_call_peer_subject(call);
  const char *san = cgrpc_server_call_peer_san(call, 0);
  snprintf(seen_subject, sizeof seen_subject, "%s", s != NULL ? s : "(none)");
  snprintf(seen_san, sizeof seen_san, "%s", san != NULL ? san : "(none)");
  const char *auth = cgrpc_metadata_get(cgrpc_server_call_metadata(call), "authorization");
  snprintf(seen_auth, sizeof seen_auth, "%s", auth != NULL ? auth : "(none)");
  __atomic_add_fetch(&handled, 1, __ATOMIC_RELAXED);
  reply->attempt = 1;
  return CGRPC_STATUS_OK;
}

static uint8_t big[600 * 1024];

static cgrpc_code echo_handler(cgrpc_server_call *call, const E2e__EchoRequest *req,
                               E2e__EchoReply *reply, void *ud)
{
  (void)call;
  (void)ud;
  reply->payload.data = big;
  reply->payload.len = req->response_size > 0 && req->response_size <= (int64_t)sizeof big
                           ? (size_t)req->response_size
                           : 0;
  return CGRPC_STATUS_OK;
}

/* A server with cert/key (NULL: plaintext); with client_ca, it requires client certs. */
static void server_up(const char *crt, const char *key, const char *client_ca)
{
  ck_assert_int_eq(cgrpc_server_new(&srv, NULL), 0);
  Faulty__Faulty_Server impl = FAULTY__FAULTY__SERVER_INIT;
  impl.try_ = try_handler;
  ck_assert_int_eq(faulty__faulty_server__register(srv, &impl, NULL), 0);
  E2e__Echo_Server echo = E2E__ECHO__SERVER_INIT;
  echo.echo = echo_handler;
  ck_assert_int_eq(e2e__echo_server__register(srv, &echo, NULL), 0);
  if (crt == NULL) {
    ck_assert_int_eq(cgrpc_server_add_listener(srv, "127.0.0.1:0", &port), 0);
  } else {
    cgrpc_tls_options *t;
    ck_assert_int_eq(cgrpc_tls_options_new(&t), 0);
    ck_assert_int_eq(cgrpc_tls_options_set_cert_key_files(t, crt, key), 0);
    if (client_ca != NULL) {
      ck_assert_int_eq(cgrpc_tls_options_set_ca_file(t, client_ca), 0);
      cgrpc_tls_options_require_client_cert(t, 1);
    }
    char err[256];
    int rv = cgrpc_server_add_tls_listener(srv, "127.0.0.1:0", t, &port, err, sizeof err);
    ck_assert_msg(rv == 0, "%s", err);
    cgrpc_tls_options_free(t);
  }
  ck_assert_int_eq(cgrpc_server_start(srv), 0);
}

static void server_down(void)
{
  cgrpc_server_shutdown(srv, 0);
  cgrpc_server_free(srv);
  srv = NULL;
}

/* ---- clients ------------------------------------------------------------------------------- */

/* Per-call credentials for the next call_with: a token that changes every call. */
static cgrpc_call_credentials_fn next_creds;
static int next_creds_insecure;
static int tokens_given;

static int fresh_token(const char *path, cgrpc_metadata *md, void *ud)
{
  (void)ud;
  char token[64];
  snprintf(token, sizeof token, "Bearer t%d-%s", ++tokens_given, strrchr(path, '/') + 1);
  return cgrpc_metadata_add_str(md, "authorization", token);
}

static int no_token(const char *path, cgrpc_metadata *md, void *ud)
{
  (void)path;
  (void)md;
  (void)ud;
  return -1; /* e.g. the token service is down */
}

/* A call over a channel trusting ca (NULL: plaintext), checking name, with a client cert
 * (NULL: none).  The status goes to st. */
static cgrpc_code call_with(const char *ca, const char *name, const char *crt, const char *key,
                            cgrpc_status *st)
{
  cgrpc_channel_options *co;
  ck_assert_int_eq(cgrpc_channel_options_new(&co), 0);
  cgrpc_channel_options_set_call_credentials(co, next_creds, NULL, next_creds_insecure);
  next_creds = NULL;
  next_creds_insecure = 0;
  if (ca != NULL) {
    cgrpc_tls_options *t;
    ck_assert_int_eq(cgrpc_tls_options_new(&t), 0);
    ck_assert_int_eq(cgrpc_tls_options_set_ca_file(t, ca), 0);
    if (name != NULL)
      ck_assert_int_eq(cgrpc_tls_options_set_server_name_override(t, name), 0);
    if (crt != NULL)
      ck_assert_int_eq(cgrpc_tls_options_set_cert_key_files(t, crt, key), 0);
    char err[256];
    int rv = cgrpc_channel_options_set_tls(co, t, err, sizeof err);
    ck_assert_msg(rv == 0, "%s", err);
    cgrpc_tls_options_free(t);
  }
  cgrpc_channel *ch = channel_to(port, co);
  cgrpc_channel_options_free(co);
  Faulty__TryRequest req = FAULTY__TRY_REQUEST__INIT;
  req.id = "tls";
  cgrpc_call_options *o = timeout_opts(5000 * slowdown());
  ProtobufCMessage *resp = NULL;
  cgrpc_code code = cgrpc_unary_call(
      ch, &faulty__faulty__cgrpc_service.methods[FAULTY__FAULTY__METHOD_TRY], &req.base, &resp,
      o, st);
  if (resp != NULL)
    protobuf_c_message_free_unpacked(resp, NULL);
  cgrpc_call_options_free(o);
  cgrpc_channel_free(ch);
  return code;
}

/* The call fails UNAVAILABLE with a message containing want. */
static void expect_unavailable(const char *ca, const char *name, const char *crt,
                               const char *key, const char *want)
{
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(call_with(ca, name, crt, key, &st), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_msg(st.message != NULL && strstr(st.message, want) != NULL, "message \"%s\", want \"%s\"",
                st.message != NULL ? st.message : "", want);
  cgrpc_status_clear(&st);
}

static void expect_ok(const char *ca, const char *name, const char *crt, const char *key)
{
  cgrpc_status st = CGRPC_STATUS_INIT;
  cgrpc_code code = call_with(ca, name, crt, key, &st);
  ck_assert_msg(code == CGRPC_STATUS_OK, "%d: %s", code, st.message != NULL ? st.message : "");
  cgrpc_status_clear(&st);
}

/* ---- tests --------------------------------------------------------------------------------- */

START_TEST(a_call_over_tls_works_and_is_checked)
{
  server_up(cert("server.pem"), cert("server.key"), NULL);
  expect_ok(cert("ca.pem"), "foo.test.example", NULL, NULL);
  ck_assert_str_eq(seen_subject, "(none)"); /* no client certificate */
  /* The target's own host name (127.0.0.1) is not in the certificate. */
  expect_unavailable(cert("ca.pem"), NULL, NULL, NULL, "name mismatch");
  expect_unavailable(cert("ca.pem"), "evil.example", NULL, NULL, "name mismatch");
  /* A CA that did not sign it. */
  expect_unavailable(cert("other-ca.pem"), "foo.test.example", NULL, NULL, "unknown CA");
  /* A plaintext client on the TLS port. */
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(call_with(NULL, NULL, NULL, NULL, &st), CGRPC_STATUS_UNAVAILABLE);
  cgrpc_status_clear(&st);
  server_down();
  /* An RSA certificate works too. */
  server_up(cert("rsa-server.pem"), cert("rsa-server.key"), NULL);
  expect_ok(cert("ca.pem"), "localhost", NULL, NULL);
  server_down();
}
END_TEST

START_TEST(a_tls_client_finds_a_plaintext_server)
{
  server_up(NULL, NULL, NULL);
  expect_unavailable(cert("ca.pem"), "foo.test.example", NULL, NULL, "speaks plaintext");
  server_down();
}
END_TEST

START_TEST(bad_credentials_are_refused_with_a_reason)
{
  cgrpc_tls_options *t;
  ck_assert_int_eq(cgrpc_tls_options_new(&t), 0);
  char err[256];
  cgrpc_server *s;
  ck_assert_int_eq(cgrpc_server_new(&s, NULL), 0);
  /* No certificate for a server. */
  ck_assert_int_eq(cgrpc_server_add_tls_listener(s, "127.0.0.1:0", t, NULL, err, sizeof err),
                   CGRPC_ERR_TLS);
  ck_assert_msg(strstr(err, "needs a certificate") != NULL, "%s", err);
  /* A missing file. */
  ck_assert_int_eq(cgrpc_tls_options_set_cert_key_files(t, cert("nope.pem"), cert("server.key")), 0);
  ck_assert_int_eq(cgrpc_server_add_tls_listener(s, "127.0.0.1:0", t, NULL, err, sizeof err),
                   CGRPC_ERR_TLS);
  ck_assert_msg(strstr(err, "nope.pem") != NULL, "%s", err);
  /* A key that is not the certificate's. */
  ck_assert_int_eq(cgrpc_tls_options_set_cert_key_files(t, cert("server.pem"), cert("client.key")), 0);
  ck_assert_int_eq(cgrpc_server_add_tls_listener(s, "127.0.0.1:0", t, NULL, err, sizeof err),
                   CGRPC_ERR_TLS);
  ck_assert_msg(strstr(err, "does not match") != NULL, "%s", err);
  /* Client certificates without a CA to check them. */
  ck_assert_int_eq(cgrpc_tls_options_set_cert_key_files(t, cert("server.pem"), cert("server.key")), 0);
  cgrpc_tls_options_require_client_cert(t, 1);
  ck_assert_int_eq(cgrpc_server_add_tls_listener(s, "127.0.0.1:0", t, NULL, err, sizeof err),
                   CGRPC_ERR_TLS);
  ck_assert_msg(strstr(err, "needs a CA") != NULL, "%s", err);
  cgrpc_server_free(s);
  /* A client CA file that is not PEM. */
  cgrpc_channel_options *co;
  ck_assert_int_eq(cgrpc_channel_options_new(&co), 0);
  ck_assert_int_eq(cgrpc_tls_options_set_ca_file(t, cert("server.key")), 0);
  ck_assert_int_eq(cgrpc_channel_options_set_tls(co, t, err, sizeof err), CGRPC_ERR_TLS);
  ck_assert_msg(strstr(err, "CA certificates") != NULL, "%s", err);
  /* No secret in the messages: the key file's bytes never show. */
  ck_assert_ptr_null(strstr(err, "PRIVATE"));
  cgrpc_channel_options_free(co);
  cgrpc_tls_options_free(t);
}
END_TEST

START_TEST(mtls_requires_a_client_certificate_and_shows_who_it_is)
{
  server_up(cert("server.pem"), cert("server.key"), cert("ca.pem"));
  expect_ok(cert("ca.pem"), "foo.test.example", cert("client.pem"), cert("client.key"));
  ck_assert_str_eq(seen_subject, "O=cgrpc tests, CN=alice");
  ck_assert_str_eq(seen_san, "URI:spiffe://example.org/alice");
  /* Without a certificate, or with one from another CA: refused. */
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(call_with(cert("ca.pem"), "foo.test.example", NULL, NULL, &st),
                   CGRPC_STATUS_UNAVAILABLE);
  ck_assert_msg(strstr(st.message, "TLS") != NULL || strstr(st.message, "closed") != NULL, "%s",
                st.message);
  cgrpc_status_clear(&st);
  ck_assert_int_eq(call_with(cert("ca.pem"), "foo.test.example", cert("other-server.pem"),
                             cert("other-server.key"), &st),
                   CGRPC_STATUS_UNAVAILABLE);
  cgrpc_status_clear(&st);
  server_down();
}
END_TEST

static void copy_file(const char *from, const char *to)
{
  FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
  ck_assert(in != NULL && out != NULL);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0)
    ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
  fclose(in);
  fclose(out);
}

START_TEST(a_certificate_is_reloaded_without_a_restart)
{
  copy_file(cert("server.pem"), cert("live.pem"));
  copy_file(cert("server.key"), cert("live.key"));
  server_up(cert("live.pem"), cert("live.key"), NULL);
  expect_ok(cert("ca.pem"), "foo.test.example", NULL, NULL);
  expect_unavailable(cert("other-ca.pem"), "foo.test.example", NULL, NULL, "unknown CA");
  /* The certificate is renewed, by another CA: the files change, then a reload. */
  copy_file(cert("other-server.pem"), cert("live.pem"));
  copy_file(cert("other-server.key"), cert("live.key"));
  char err[256];
  ck_assert_int_eq(cgrpc_server_reload_tls(srv, err, sizeof err), 0);
  expect_ok(cert("other-ca.pem"), "foo.test.example", NULL, NULL);
  expect_unavailable(cert("ca.pem"), "foo.test.example", NULL, NULL, "unknown CA");
  /* A broken file does not replace what works. */
  FILE *f = fopen(cert("live.pem"), "w");
  ck_assert_ptr_nonnull(f);
  fputs("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n", f);
  fclose(f);
  ck_assert_int_eq(cgrpc_server_reload_tls(srv, err, sizeof err), CGRPC_ERR_TLS);
  ck_assert_msg(strstr(err, "live.pem") != NULL, "%s", err);
  expect_ok(cert("other-ca.pem"), "foo.test.example", NULL, NULL);
  server_down();
}
END_TEST

START_TEST(call_credentials_go_only_over_tls_unless_allowed)
{
  server_up(cert("server.pem"), cert("server.key"), NULL);
  tokens_given = 0;
  next_creds = fresh_token;
  expect_ok(cert("ca.pem"), "foo.test.example", NULL, NULL);
  ck_assert_str_eq(seen_auth, "Bearer t1-Try");
  next_creds = fresh_token; /* a new token for each call */
  expect_ok(cert("ca.pem"), "foo.test.example", NULL, NULL);
  ck_assert_str_eq(seen_auth, "Bearer t2-Try");
  /* The token source fails: the call fails, and never reaches the server. */
  int before = __atomic_load_n(&handled, __ATOMIC_RELAXED);
  next_creds = no_token;
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(call_with(cert("ca.pem"), "foo.test.example", NULL, NULL, &st),
                   CGRPC_STATUS_UNAUTHENTICATED);
  cgrpc_status_clear(&st);
  ck_assert_int_eq(__atomic_load_n(&handled, __ATOMIC_RELAXED), before);
  server_down();
  /* Plaintext: no token leaves the process unless allowed. */
  server_up(NULL, NULL, NULL);
  next_creds = fresh_token;
  ck_assert_int_eq(call_with(NULL, NULL, NULL, NULL, &st), CGRPC_STATUS_UNAUTHENTICATED);
  ck_assert_msg(strstr(st.message, "TLS") != NULL, "%s", st.message);
  cgrpc_status_clear(&st);
  ck_assert_int_eq(__atomic_load_n(&handled, __ATOMIC_RELAXED), before);
  ck_assert_int_eq(tokens_given, 2); /* not even asked for one */
  next_creds = fresh_token;
  next_creds_insecure = 1;
  expect_ok(NULL, NULL, NULL, NULL);
  ck_assert_str_eq(seen_auth, "Bearer t3-Try");
  server_down();
}
END_TEST

/* A read round takes at most 16 x 32 KiB; over TLS the rest of a record may then wait,
 * decrypted, inside mbedTLS with no event to announce it.  These sizes ended a response
 * exactly so (each call hung until its deadline before the transport said so). */
START_TEST(large_responses_over_tls_do_not_stall)
{
  server_up(cert("server.pem"), cert("server.key"), NULL);
  cgrpc_channel_options *co;
  ck_assert_int_eq(cgrpc_channel_options_new(&co), 0);
  cgrpc_tls_options *t;
  ck_assert_int_eq(cgrpc_tls_options_new(&t), 0);
  ck_assert_int_eq(cgrpc_tls_options_set_ca_file(t, cert("ca.pem")), 0);
  ck_assert_int_eq(cgrpc_tls_options_set_server_name_override(t, "localhost"), 0);
  ck_assert_int_eq(cgrpc_channel_options_set_tls(co, t, NULL, 0), 0);
  cgrpc_tls_options_free(t);
  cgrpc_channel *ch = channel_to(port, co);
  cgrpc_channel_options_free(co);
  static const int sizes[] = {523975, 524053, 524092, 1000, 300000};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
    req.response_size = sizes[i];
    cgrpc_call_options *o = timeout_opts(3000 * slowdown());
    cgrpc_status st = CGRPC_STATUS_INIT;
    ProtobufCMessage *resp = NULL;
    cgrpc_code code = cgrpc_unary_call(ch, &e2e__echo__cgrpc_service.methods[E2E__ECHO__METHOD_ECHO],
                                       &req.base, &resp, o, &st);
    ck_assert_msg(code == CGRPC_STATUS_OK, "size %d: %d %s", sizes[i], code,
                  st.message != NULL ? st.message : "");
    ck_assert_uint_eq(((E2e__EchoReply *)resp)->payload.len, (size_t)sizes[i]);
    protobuf_c_message_free_unpacked(resp, NULL);
    cgrpc_status_clear(&st);
    cgrpc_call_options_free(o);
  }
  cgrpc_channel_free(ch);
  server_down();
}
END_TEST

/* openssl s_server: TLS without ALPN h2. */
START_TEST(a_server_without_alpn_h2_is_refused)
{
  int p = free_local_port();
  char portarg[16];
  snprintf(portarg, sizeof portarg, "%d", p);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execlp("openssl", "openssl", "s_server", "-accept", portarg, "-cert", cert("server.pem"),
           "-key", cert("server.key"), "-quiet", "-naccept", "1", (char *)NULL);
    _exit(127);
  }
  port = p;
  cgrpc_status st = CGRPC_STATUS_INIT;
  cgrpc_code code = CGRPC_STATUS_UNAVAILABLE;
  for (int i = 0; i < 100; i++) { /* until it listens */
    code = call_with(cert("ca.pem"), "foo.test.example", NULL, NULL, &st);
    if (st.message != NULL && strstr(st.message, "refused") == NULL)
      break;
    cgrpc_status_clear(&st);
    sleep_ms(50);
  }
  ck_assert_int_eq(code, CGRPC_STATUS_UNAVAILABLE);
  ck_assert_msg(strstr(st.message, "ALPN") != NULL, "%s", st.message);
  cgrpc_status_clear(&st);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}
END_TEST

static void make_certs(void)
{
  const char *src = getenv("abs_top_srcdir");
  snprintf(certs, sizeof certs, "/tmp/cgrpc-tls.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(certs));
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "sh '%s/tests/e2e/gen_certs.sh' '%s'", src != NULL ? src : ".", certs);
  ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

static void remove_certs(void)
{
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", certs);
  if (system(cmd) != 0)
    fprintf(stderr, "cannot remove %s\n", certs);
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  Suite *s = suite_create("tls");
  TCase *tc = tcase_create("tls");
  tcase_set_timeout(tc, 30 * slowdown());
  tcase_add_unchecked_fixture(tc, make_certs, remove_certs);
  tcase_add_test(tc, a_call_over_tls_works_and_is_checked);
  tcase_add_test(tc, a_tls_client_finds_a_plaintext_server);
  tcase_add_test(tc, bad_credentials_are_refused_with_a_reason);
  tcase_add_test(tc, mtls_requires_a_client_certificate_and_shows_who_it_is);
  tcase_add_test(tc, a_certificate_is_reloaded_without_a_restart);
  tcase_add_test(tc, a_server_without_alpn_h2_is_refused);
  tcase_add_test(tc, call_credentials_go_only_over_tls_unless_allowed);
  tcase_add_test(tc, large_responses_over_tls_do_not_stall);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
