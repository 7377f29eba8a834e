/* The JWT interceptor end to end: a server in this process (faulty.proto) with per-method rules,
 * our client with and without bearer tokens.  Rules: the service needs role "member"; Baked is
 * open; Relay needs scope "orders.write" instead.  Handlers echo the claims they see in the
 * trailers (x-sub, x-roles) so the client can tell what got through. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "faulty.cgrpc.h"
#include "harness.h"

static const char secret[] = "0123456789abcdef0123456789abcdef-e2e-secret";

static cgrpc_server *srv;
static cgrpc_jwt_verifier *verifier;
static cgrpc_jwt_auth *auth;
static int port;

static cgrpc_code echo_handler(cgrpc_server_call *call, const Faulty__TryRequest *req,
                               Faulty__TryReply *reply, void *ud)
{
  (void)req;
  (void)ud;
  const char *sub = cgrpc_jwt_claim(call, "sub");
  if (sub != NULL)
    cgrpc_server_call_add_trailing_metadata(call, "x-sub", sub, strlen(sub));
  const cgrpc_jwt_claims *c = cgrpc_jwt_call_claims(call);
  size_t n = cgrpc_jwt_claims_array_size(c, "roles");
  char roles[256] = "";
  for (size_t i = 0; i < n; i++) {
    const char *r = cgrpc_jwt_claims_array_string(c, "roles", i);
    snprintf(roles + strlen(roles), sizeof roles - strlen(roles), "%s%s", i ? "," : "",
             r != NULL ? r : "?");
  }
  if (c != NULL)
    cgrpc_server_call_add_trailing_metadata(call, "x-roles", roles, strlen(roles));
  reply->attempt = 1;
  return CGRPC_STATUS_OK;
}

static cgrpc_code stream_handler(Faulty__Faulty_TryStreamServerCall *call,
                                 const Faulty__TryRequest *req, void *ud)
{
  (void)req;
  (void)ud;
  Faulty__TryReply reply = FAULTY__TRY_REPLY__INIT;
  reply.attempt = 1;
  faulty__faulty_server__try_stream_send(call, &reply);
  return CGRPC_STATUS_OK;
}

static void server_up(void)
{
  ck_assert_int_eq(cgrpc_jwt_verifier_new(&verifier, NULL), 0);
  ck_assert_int_eq(cgrpc_jwt_verifier_add_secret(verifier, NULL, secret, strlen(secret), 0), 0);
  ck_assert_int_eq(cgrpc_jwt_verifier_set_issuer(verifier, "e2e-issuer"), 0);
  ck_assert_int_eq(cgrpc_jwt_auth_new(&auth, verifier, NULL), 0);
  ck_assert_int_eq(cgrpc_jwt_auth_add_required(auth, "faulty.Faulty", "roles", "member"), 0);
  ck_assert_int_eq(cgrpc_jwt_auth_add_open(auth, "/faulty.Faulty/Baked"), 0);
  ck_assert_int_eq(cgrpc_jwt_auth_add_required(auth, "/faulty.Faulty/Relay", "scope", "orders.write"),
                   0);
  cgrpc_server_options *o;
  ck_assert_int_eq(cgrpc_server_options_new(&o), 0);
  ck_assert_int_eq(cgrpc_server_options_add_interceptor(o, cgrpc_jwt_auth_interceptor, auth), 0);
  ck_assert_int_eq(cgrpc_server_new(&srv, o), 0);
  cgrpc_server_options_free(o);
  Faulty__Faulty_Server impl = FAULTY__FAULTY__SERVER_INIT;
  impl.try_ = echo_handler;
  impl.relay = echo_handler;
  impl.baked = echo_handler;
  impl.try_stream = stream_handler;
  ck_assert_int_eq(faulty__faulty_server__register(srv, &impl, NULL), 0);
  ck_assert_int_eq(cgrpc_server_add_listener(srv, "127.0.0.1:0", &port), 0);
  ck_assert_int_eq(cgrpc_server_start(srv), 0);
}

static void server_down(void)
{
  cgrpc_server_free(srv);
  cgrpc_jwt_auth_free(auth);
  cgrpc_jwt_verifier_free(verifier);
}

/* A token for claims (printf-style), signed with the server's secret or, with other_key, not. */
static char *token(int other_key, const char *fmt, ...) CGRPC_PRINTF(2, 3);
static char *token(int other_key, const char *fmt, ...)
{
  char claims[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(claims, sizeof claims, fmt, ap);
  va_end(ap);
  const char *key = other_key ? "a different secret of at least 32 bytes!" : secret;
  cgrpc_jwt_signer *s = NULL;
  ck_assert_int_eq(cgrpc_jwt_signer_new(&s, CGRPC_JWT_HS256, key, strlen(key), NULL), 0);
  char *tok = malloc(1024);
  size_t len;
  ck_assert_int_eq(cgrpc_jwt_sign(s, claims, tok, 1024, &len), 0);
  cgrpc_jwt_signer_free(s);
  return tok;
}

static long exp_in(long s)
{
  return (long)time(NULL) + s;
}

/* The result of one call of method with these authorization headers (NULL: none). */
typedef struct result {
  cgrpc_code code;
  char message[256];
  char sub[64];   /* the x-sub trailer, "" when none */
  char roles[64]; /* x-roles, "-" when the handler saw no claims */
} result;

static result call(int method, const char *auth1, const char *auth2)
{
  cgrpc_channel *ch = channel_to(port, NULL);
  cgrpc_call_options *o = timeout_opts(5000 * slowdown());
  if (auth1 != NULL)
    ck_assert_int_eq(cgrpc_call_options_add_metadata(o, "authorization", auth1, strlen(auth1)), 0);
  if (auth2 != NULL)
    ck_assert_int_eq(cgrpc_call_options_add_metadata(o, "authorization", auth2, strlen(auth2)), 0);
  Faulty__TryRequest req = FAULTY__TRY_REQUEST__INIT;
  req.id = "jwt";
  ProtobufCMessage *resp = NULL;
  cgrpc_status st = CGRPC_STATUS_INIT;
  result r;
  r.code = cgrpc_unary_call(ch, &faulty__faulty__cgrpc_service.methods[method], &req.base, &resp,
                            o, &st);
  snprintf(r.message, sizeof r.message, "%s", st.message != NULL ? st.message : "");
  const char *sub = cgrpc_metadata_get(st.trailing_metadata, "x-sub");
  const char *roles = cgrpc_metadata_get(st.trailing_metadata, "x-roles");
  snprintf(r.sub, sizeof r.sub, "%s", sub != NULL ? sub : "");
  snprintf(r.roles, sizeof r.roles, "%s", roles != NULL ? roles : "-");
  if (resp != NULL)
    protobuf_c_message_free_unpacked(resp, NULL);
  cgrpc_status_clear(&st);
  cgrpc_call_options_free(o);
  cgrpc_channel_free(ch);
  return r;
}

static char *bearer(const char *tok)
{
  char *h = malloc(strlen(tok) + 8);
  sprintf(h, "Bearer %s", tok);
  return h;
}

#define TRY FAULTY__FAULTY__METHOD_TRY
#define RELAY FAULTY__FAULTY__METHOD_RELAY
#define BAKED FAULTY__FAULTY__METHOD_BAKED

START_TEST(a_call_without_a_token_is_unauthenticated)
{
  result r = call(TRY, NULL, NULL);
  ck_assert_int_eq(r.code, CGRPC_STATUS_UNAUTHENTICATED);
  ck_assert_msg(strstr(r.message, "missing bearer token") != NULL, "%s", r.message);
  r = call(TRY, "Basic YWxpY2U6c2VjcmV0", NULL);
  ck_assert_int_eq(r.code, CGRPC_STATUS_UNAUTHENTICATED);
  ck_assert_str_eq(r.message, "authorization is not one bearer token");
  r = call(TRY, "Bearer ", NULL);
  ck_assert_int_eq(r.code, CGRPC_STATUS_UNAUTHENTICATED);
}
END_TEST

START_TEST(a_valid_token_gets_through_and_the_handler_sees_its_claims)
{
  char *tok = token(0, "{\"sub\":\"alice\",\"iss\":\"e2e-issuer\",\"exp\":%ld,\"roles\":[\"member\",\"ops\"]}",
                    exp_in(600));
  char *h = bearer(tok);
  result r = call(TRY, h, NULL);
  ck_assert_msg(r.code == CGRPC_STATUS_OK, "%d %s", r.code, r.message);
  ck_assert_str_eq(r.sub, "alice");
  ck_assert_str_eq(r.roles, "member,ops");
  /* the scheme is case-insensitive, and more than one space may follow it */
  char *h2 = malloc(strlen(tok) + 16);
  sprintf(h2, "bEARER   %s", tok);
  r = call(TRY, h2, NULL);
  ck_assert_int_eq(r.code, CGRPC_STATUS_OK);
  /* two authorization headers: which would count?  Neither. */
  r = call(TRY, h, h);
  ck_assert_int_eq(r.code, CGRPC_STATUS_UNAUTHENTICATED);
  free(h2);
  free(h);
  free(tok);
}
END_TEST

START_TEST(an_invalid_token_is_unauthenticated_with_the_reason_and_without_the_token)
{
  struct {
    char *tok;
    const char *why;
  } cases[] = {
      {token(0, "{\"sub\":\"a\",\"iss\":\"e2e-issuer\",\"exp\":%ld,\"roles\":[\"member\"]}", exp_in(-600)),
       "invalid token: token expired"},
      {token(1, "{\"sub\":\"a\",\"iss\":\"e2e-issuer\",\"exp\":%ld,\"roles\":[\"member\"]}", exp_in(600)),
       "invalid token: bad token signature"},
      {token(0, "{\"sub\":\"a\",\"iss\":\"evil\",\"exp\":%ld,\"roles\":[\"member\"]}", exp_in(600)),
       "invalid token: token issuer not accepted"},
      {token(0, "{\"sub\":\"a\",\"iss\":\"e2e-issuer\",\"exp\":%ld,\"nbf\":%ld}", exp_in(600), exp_in(300)),
       "invalid token: token not valid yet"},
      {strdup("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0."), "invalid token: token algorithm not accepted"},
      {strdup("not-a-jwt"), "invalid token: malformed token (not three base64url parts)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *h = bearer(cases[i].tok);
    result r = call(TRY, h, NULL);
    ck_assert_int_eq(r.code, CGRPC_STATUS_UNAUTHENTICATED);
    ck_assert_str_eq(r.message, cases[i].why);
    ck_assert_str_eq(r.roles, "-"); /* the handler never ran */
    free(h);
    free(cases[i].tok);
  }
}
END_TEST

START_TEST(an_open_method_needs_no_token_and_takes_a_valid_one)
{
  result r = call(BAKED, NULL, NULL);
  ck_assert_int_eq(r.code, CGRPC_STATUS_OK);
  ck_assert_str_eq(r.roles, "-");
  char *tok = token(0, "{\"sub\":\"bob\",\"iss\":\"e2e-issuer\",\"exp\":%ld}", exp_in(600));
  char *h = bearer(tok);
  r = call(BAKED, h, NULL); /* no role "member", but Baked's own rule says open */
  ck_assert_int_eq(r.code, CGRPC_STATUS_OK);
  ck_assert_str_eq(r.sub, "bob");
  free(h);
  free(tok);
  tok = token(1, "{\"sub\":\"mallory\",\"iss\":\"e2e-issuer\",\"exp\":%ld}", exp_in(600));
  h = bearer(tok);
  r = call(BAKED, h, NULL); /* a bad token on an open method is ignored, not trusted */
  ck_assert_int_eq(r.code, CGRPC_STATUS_OK);
  ck_assert_str_eq(r.sub, "");
  ck_assert_str_eq(r.roles, "-");
  free(h);
  free(tok);
}
END_TEST

START_TEST(a_token_without_the_required_scope_or_role_is_permission_denied)
{
  long e = exp_in(600);
  char *member = token(0, "{\"sub\":\"c\",\"iss\":\"e2e-issuer\",\"exp\":%ld,\"roles\":[\"member\"],"
                          "\"scope\":\"orders.read\"}", e);
  char *writer = token(0, "{\"sub\":\"d\",\"iss\":\"e2e-issuer\",\"exp\":%ld,"
                          "\"scope\":\"orders.read orders.write\"}", e);
  char *hm = bearer(member), *hw = bearer(writer);
  result r = call(RELAY, hm, NULL);
  ck_assert_int_eq(r.code, CGRPC_STATUS_PERMISSION_DENIED);
  ck_assert_str_eq(r.message, "token lacks \"orders.write\" in claim \"scope\"");
  ck_assert_str_eq(r.roles, "-");
  r = call(RELAY, hw, NULL); /* Relay's own rule replaces the service's "member" */
  ck_assert_int_eq(r.code, CGRPC_STATUS_OK);
  ck_assert_str_eq(r.sub, "d");
  r = call(TRY, hw, NULL); /* the service's rule: role "member" */
  ck_assert_int_eq(r.code, CGRPC_STATUS_PERMISSION_DENIED);
  ck_assert_str_eq(r.message, "token lacks \"member\" in claim \"roles\"");
  r = call(TRY, hm, NULL);
  ck_assert_int_eq(r.code, CGRPC_STATUS_OK);
  free(hm);
  free(hw);
  free(member);
  free(writer);
}
END_TEST

START_TEST(streaming_calls_are_checked_too)
{
  cgrpc_channel *ch = channel_to(port, NULL);
  Faulty__TryRequest req = FAULTY__TRY_REQUEST__INIT;
  const cgrpc_method_desc *m = &faulty__faulty__cgrpc_service.methods[FAULTY__FAULTY__METHOD_TRY_STREAM];
  for (int with_token = 0; with_token < 2; with_token++) {
    cgrpc_call_options *o = timeout_opts(5000 * slowdown());
    char *tok = token(0, "{\"iss\":\"e2e-issuer\",\"exp\":%ld,\"roles\":[\"member\"]}", exp_in(60));
    char *h = bearer(tok);
    if (with_token)
      ck_assert_int_eq(cgrpc_call_options_add_metadata(o, "authorization", h, strlen(h)), 0);
    cgrpc_call *c = NULL;
    ck_assert_int_eq(cgrpc_call_start_stream(ch, m, &req.base, o, &c), 0);
    ProtobufCMessage *msg = NULL;
    int got = 0;
    while (cgrpc_call_recv(c, &msg) == 1) {
      got++;
      protobuf_c_message_free_unpacked(msg, NULL);
    }
    cgrpc_code code = cgrpc_call_finish(c, NULL);
    ck_assert_int_eq(code, with_token ? CGRPC_STATUS_OK : CGRPC_STATUS_UNAUTHENTICATED);
    ck_assert_int_eq(got, with_token ? 1 : 0);
    cgrpc_call_free(c);
    cgrpc_call_options_free(o);
    free(h);
    free(tok);
  }
  cgrpc_channel_free(ch);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("jwt_auth");
  TCase *tc = tcase_create("jwt_auth");
  tcase_set_timeout(tc, 30 * slowdown());
  tcase_add_checked_fixture(tc, server_up, server_down);
  tcase_add_test(tc, a_call_without_a_token_is_unauthenticated);
  tcase_add_test(tc, a_valid_token_gets_through_and_the_handler_sees_its_claims);
  tcase_add_test(tc, an_invalid_token_is_unauthenticated_with_the_reason_and_without_the_token);
  tcase_add_test(tc, an_open_method_needs_no_token_and_takes_a_valid_one);
  tcase_add_test(tc, a_token_without_the_required_scope_or_role_is_permission_denied);
  tcase_add_test(tc, streaming_calls_are_checked_too);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
