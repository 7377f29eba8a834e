/* cgrpc — JSON Web Tokens (RFC 7519): a verifier, a server interceptor that enforces it per
 * method, and a signer for clients and tests. */
#ifndef CGRPC_JWT_H
#define CGRPC_JWT_H

#include <stddef.h>
#include <stdint.h>

#include <cgrpc/common.h>
#include <cgrpc/server.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Use on a server:
 *
 *   cgrpc_jwt_verifier *v;
 *   cgrpc_jwt_verifier_new(&v, NULL);
 *   cgrpc_jwt_verifier_add_jwks_file(v, "/etc/myapp/jwks.json");
 *   cgrpc_jwt_verifier_set_issuer(v, "https://issuer.example");
 *   cgrpc_jwt_verifier_add_audience(v, "orders");
 *
 *   cgrpc_jwt_auth *auth;
 *   cgrpc_jwt_auth_new(&auth, v, NULL);
 *   cgrpc_jwt_auth_add_open(auth, "grpc.health.v1.Health");
 *   cgrpc_jwt_auth_add_required(auth, "/orders.Orders/Cancel", "scope", "orders.write");
 *   cgrpc_server_options_add_interceptor(opts, cgrpc_jwt_auth_interceptor, auth);
 *
 * and in a handler, cgrpc_jwt_claim(call, "sub").  The verifier must outlive the auth
 * object, and the auth object the server.
 *
 * Tokens are JWS compact serialisations signed with one of the algorithms below.  The
 * verifier never echoes a token, a claim or a key in what it returns.
 */

/* Signature algorithms, as bits: a key may be limited to a set of them.  A key only ever
 * verifies the algorithms of its own family -- HS* for secrets, RS* for RSA keys, ES256
 * for P-256 keys -- so a token cannot pick a family other than its key's ("algorithm
 * confusion"), and "none" is never accepted. */
typedef enum cgrpc_jwt_alg {
  CGRPC_JWT_HS256 = 0x01,
  CGRPC_JWT_HS384 = 0x02,
  CGRPC_JWT_HS512 = 0x04,
  CGRPC_JWT_RS256 = 0x08,
  CGRPC_JWT_RS384 = 0x10,
  CGRPC_JWT_RS512 = 0x20,
  CGRPC_JWT_ES256 = 0x40
} cgrpc_jwt_alg;

/* The JWS name of one algorithm ("HS256", ...), or NULL. */
CGRPC_EXTERN const char *cgrpc_jwt_alg_name(cgrpc_jwt_alg alg);

/*
 * Why a token was rejected: the positive values cgrpc_jwt_verify returns.  They are not
 * library errors (those are negative CGRPC_ERR_* values).
 */
typedef enum cgrpc_jwt_reject {
  CGRPC_JWT_TOO_LARGE = 1,    /* longer than the verifier's limit */
  CGRPC_JWT_MALFORMED,        /* not three base64url parts separated by dots */
  CGRPC_JWT_BAD_HEADER,       /* header not a JSON object with a string alg, or has crit */
  CGRPC_JWT_BAD_PAYLOAD,      /* payload not a JSON object, or a registered claim of a wrong type */
  CGRPC_JWT_ALG_NOT_ALLOWED,  /* "none", unknown, or not allowed for the key it names */
  CGRPC_JWT_UNKNOWN_KID,      /* no key has the token's kid */
  CGRPC_JWT_NO_KEY,           /* no kid, and every key that accepts the algorithm has one */
  CGRPC_JWT_BAD_SIGNATURE,    /* the signature does not verify */
  CGRPC_JWT_EXPIRED,          /* exp has passed (beyond the leeway) */
  CGRPC_JWT_NOT_YET_VALID,    /* nbf is in the future (beyond the leeway) */
  CGRPC_JWT_MISSING_EXP,      /* no exp, and the verifier requires one */
  CGRPC_JWT_BAD_ISSUER,       /* iss missing or not the configured issuer */
  CGRPC_JWT_BAD_AUDIENCE      /* aud missing, or none of its values accepted */
} cgrpc_jwt_reject;

/* A short English text for a cgrpc_jwt_reject, 0, or a negative CGRPC_ERR_* (as
 * cgrpc_strerror).  Never contains anything from a token. */
CGRPC_EXTERN const char *cgrpc_jwt_reason(int rv);

/* ---- verifier ---------------------------------------------------------------------------- */

typedef struct cgrpc_jwt_verifier cgrpc_jwt_verifier;
typedef struct cgrpc_jwt_claims cgrpc_jwt_claims;

/* A verifier with no keys, accepting tokens of up to 8 KiB whose exp has not passed, with
 * a leeway of 30 s, and no issuer or audience.  alloc may be NULL; it is copied.  Returns
 * 0 or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_jwt_verifier_new(cgrpc_jwt_verifier **out, const cgrpc_allocator *alloc);

/* NULL-safe.  Frees every key and setting. */
CGRPC_EXTERN void cgrpc_jwt_verifier_free(cgrpc_jwt_verifier *v);

/*
 * Adding keys.  kid may be NULL.  A key with a kid verifies only tokens whose header names
 * that kid; a key without one verifies any token of an algorithm it allows (with or without
 * a kid), so a verifier with one secret or one PEM key needs no kids at all.  algs is an OR
 * of cgrpc_jwt_alg bits the key may verify, all of its family; 0: every algorithm of its
 * family it is strong enough for.  Keys and settings are added before the verifier is
 * shared; cgrpc_jwt_verify may then run on any number of threads at once.
 */

/* An HMAC secret (HS256/384/512), copied.  RFC 7518 wants a secret at least as long as the
 * hash: 32 bytes for HS256, 48 for HS384, 64 for HS512.  Returns 0,
 * CGRPC_ERR_INVALID_ARGUMENT (too short for an algorithm in algs, or algs not HS*) or
 * CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_jwt_verifier_add_secret(cgrpc_jwt_verifier *v, const char *kid,
                                               const void *secret, size_t len, unsigned algs);

/* A public key in PEM ("PUBLIC KEY" or "RSA PUBLIC KEY") or DER: RSA of at least 2048 bits
 * (RS256/384/512) or EC P-256 (ES256).  The text need not be NUL-terminated.  Returns 0,
 * CGRPC_ERR_INVALID_ARGUMENT (unparsable, unsupported, too weak, or algs of another
 * family) or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_jwt_verifier_add_public_key(cgrpc_jwt_verifier *v, const char *kid,
                                                   const void *key, size_t len, unsigned algs);

/*
 * The keys of a JWK Set (RFC 7517: {"keys": [...]}, or one JWK): "oct" (k), "RSA" (n, e)
 * and "EC" P-256 (x, y), each with its kid if any, limited to its "alg" if it has one.
 * Keys for other uses ("use" other than "sig", or "key_ops" without "verify"), of other
 * types or curves, or with an algorithm not listed above are skipped.  Either every usable key is added or none.
 * Returns 0, CGRPC_ERR_INVALID_ARGUMENT (not JSON, a usable key malformed or too weak,
 * or no usable key at all) or CGRPC_ERR_NOMEM.
 */
CGRPC_EXTERN int cgrpc_jwt_verifier_add_jwks(cgrpc_jwt_verifier *v, const char *json,
                                             size_t len);
/* The same from a file (at most 1 MiB).  Also CGRPC_ERR_SYSTEM (errno set) or
 * CGRPC_ERR_TOO_LARGE. */
CGRPC_EXTERN int cgrpc_jwt_verifier_add_jwks_file(cgrpc_jwt_verifier *v, const char *path);

/* Tokens must carry exactly this iss.  Returns 0 or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_jwt_verifier_set_issuer(cgrpc_jwt_verifier *v, const char *issuer);

/* Accepts tokens whose aud (a string or an array of strings) holds this value; may be
 * called for several, any of which will do.  Without any, a token with an aud is rejected
 * (RFC 7519: a recipient that does not identify itself with the aud must reject it).
 * Returns 0 or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_jwt_verifier_add_audience(cgrpc_jwt_verifier *v, const char *audience);

/* Slack allowed on exp and nbf for clocks that disagree (default 30 s).  Returns 0 or
 * CGRPC_ERR_INVALID_ARGUMENT (negative or above a day). */
CGRPC_EXTERN int cgrpc_jwt_verifier_set_leeway(cgrpc_jwt_verifier *v, int64_t seconds);

/* Longest token accepted, in bytes (default 8192).  Returns 0 or
 * CGRPC_ERR_INVALID_ARGUMENT (0). */
CGRPC_EXTERN int cgrpc_jwt_verifier_set_max_token_size(cgrpc_jwt_verifier *v, size_t bytes);

/* Whether a token without exp is rejected (default: yes). */
CGRPC_EXTERN void cgrpc_jwt_verifier_set_require_exp(cgrpc_jwt_verifier *v, int require);

/*
 * Verifies token (len bytes, no NUL needed): its size, its form, its algorithm against the
 * keys that may verify it, the signature, then exp, nbf, iss and aud.  On success returns
 * 0 and, when claims is not NULL, the verified payload in *claims, which the caller frees
 * with cgrpc_jwt_claims_free.  Otherwise returns a cgrpc_jwt_reject (> 0), or
 * CGRPC_ERR_INVALID_ARGUMENT or CGRPC_ERR_NOMEM (< 0), and leaves *claims NULL.
 */
CGRPC_EXTERN int cgrpc_jwt_verify(const cgrpc_jwt_verifier *v, const char *token, size_t len,
                                  cgrpc_jwt_claims **claims);

/* ---- verified claims --------------------------------------------------------------------- */

/* NULL-safe. */
CGRPC_EXTERN void cgrpc_jwt_claims_free(cgrpc_jwt_claims *claims);

/* The payload as it was signed: JSON text, NUL-terminated, valid while claims is. */
CGRPC_EXTERN const char *cgrpc_jwt_claims_json(const cgrpc_jwt_claims *claims);

/* A string claim ("sub", "iss", ...), or NULL when it is absent, not a string, or holds a
 * NUL character.  Valid while claims is. */
CGRPC_EXTERN const char *cgrpc_jwt_claims_string(const cgrpc_jwt_claims *claims,
                                                 const char *name);

/* A numeric claim ("exp", "iat", ...), truncated to an integer.  Returns 0, or
 * CGRPC_ERR_NOT_FOUND when it is absent or not a number. */
CGRPC_EXTERN int cgrpc_jwt_claims_int(const cgrpc_jwt_claims *claims, const char *name,
                                      int64_t *value);

/* An array claim ("roles", "aud", ...): its length (0 when absent or not an array), and
 * its element i when that is a string (else NULL).  Valid while claims is. */
CGRPC_EXTERN size_t cgrpc_jwt_claims_array_size(const cgrpc_jwt_claims *claims,
                                                const char *name);
CGRPC_EXTERN const char *cgrpc_jwt_claims_array_string(const cgrpc_jwt_claims *claims,
                                                       const char *name, size_t i);

/* Nonzero when the claim holds value: it is that string, a string of space-separated
 * words one of which is value (OAuth's "scope"), or an array with that string (as
 * "roles" or "scp" often are). */
CGRPC_EXTERN int cgrpc_jwt_claims_has(const cgrpc_jwt_claims *claims, const char *name,
                                      const char *value);

/* ---- server interceptor and per-method policy -------------------------------------------- */

typedef struct cgrpc_jwt_auth cgrpc_jwt_auth;

/* Policy for cgrpc_jwt_auth_interceptor: by default every method needs a valid token.
 * verifier must outlive it.  alloc may be NULL; it is copied.  Returns 0,
 * CGRPC_ERR_INVALID_ARGUMENT or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_jwt_auth_new(cgrpc_jwt_auth **out, const cgrpc_jwt_verifier *verifier,
                                    const cgrpc_allocator *alloc);

/* NULL-safe.  After the server that uses it has been freed. */
CGRPC_EXTERN void cgrpc_jwt_auth_free(cgrpc_jwt_auth *auth);

/*
 * Rules name a method ("/pkg.Service/Method"), a service ("pkg.Service") or every method
 * ("*"); a call follows the most specific rule that names it (method, then service, then
 * "*", then the default: a token is required).  Rules are added before the server starts.
 *
 * add_open: methods need no token.  A token sent anyway is verified, and its claims are
 * given to the handler if it is valid; an invalid one is ignored.
 *
 * add_required: methods need a valid token and, when claim is not NULL, the claim must
 * hold (cgrpc_jwt_claims_has) every one of the space-separated values (e.g. claim
 * "scope", values "orders.read orders.write"); calling it again for the same rule adds
 * to what it requires.
 *
 * Both return 0, CGRPC_ERR_INVALID_ARGUMENT (a malformed rule or value list),
 * CGRPC_ERR_EXISTS (the rule is open and required at once) or CGRPC_ERR_NOMEM.
 */
CGRPC_EXTERN int cgrpc_jwt_auth_add_open(cgrpc_jwt_auth *auth, const char *rule);
CGRPC_EXTERN int cgrpc_jwt_auth_add_required(cgrpc_jwt_auth *auth, const char *rule,
                                             const char *claim, const char *values);

/*
 * The server interceptor: pass it to cgrpc_server_options_add_interceptor with the
 * cgrpc_jwt_auth as user_data.  It reads the token from "authorization: Bearer <token>",
 * and ends calls without a valid one with UNAUTHENTICATED, and calls whose token lacks a
 * required claim value with PERMISSION_DENIED; each with a message saying why, never
 * with the token (INTERNAL if verifying ran out of memory).  Calls it lets through carry
 * their claims (cgrpc_jwt_call_claims).  Verification runs where interceptors run: on a
 * handler thread, or on the I/O thread with 0 handler threads (about 0.1 ms for RS256 and
 * 1 ms for ES256 on a 2020s x86 core; HMAC far less).
 */
CGRPC_EXTERN void cgrpc_jwt_auth_interceptor(cgrpc_server_call *call, void *auth);

/* For handlers: the verified claims of the call, or NULL (an open method called without
 * a valid token).  Owned by the call, valid until it ends. */
CGRPC_EXTERN const cgrpc_jwt_claims *cgrpc_jwt_call_claims(const cgrpc_server_call *call);

/* cgrpc_jwt_claims_string of the call's claims, or NULL. */
CGRPC_EXTERN const char *cgrpc_jwt_claim(const cgrpc_server_call *call, const char *name);

/* ---- signer ------------------------------------------------------------------------------ */

typedef struct cgrpc_jwt_signer cgrpc_jwt_signer;

/*
 * A signer for one algorithm and key: for HS*, key is the secret (at least as long as the
 * hash); for RS* an RSA private key of at least 2048 bits, for ES256 an EC P-256 one, in
 * PEM (PKCS#1, SEC 1 or unencrypted PKCS#8) or DER.  The key is copied; randomness for
 * RSA blinding and ECDSA comes from a CTR-DRBG seeded from the system.  alloc may be NULL;
 * it is copied.  Returns 0, CGRPC_ERR_INVALID_ARGUMENT (the key does not suit alg),
 * CGRPC_ERR_SYSTEM (no entropy) or CGRPC_ERR_NOMEM.
 */
CGRPC_EXTERN int cgrpc_jwt_signer_new(cgrpc_jwt_signer **out, cgrpc_jwt_alg alg,
                                      const void *key, size_t key_len,
                                      const cgrpc_allocator *alloc);

/* NULL-safe. */
CGRPC_EXTERN void cgrpc_jwt_signer_free(cgrpc_jwt_signer *signer);

/* Puts kid (NULL: none) in the header of the tokens signed from now on.  Returns 0 or
 * CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_jwt_signer_set_kid(cgrpc_jwt_signer *signer, const char *kid);

/*
 * Signs claims_json, which must be a JSON object and is encoded as given, with a header
 * {"alg":...,"typ":"JWT"[,"kid":...]}.  Writes the token and a NUL into buf (size bytes)
 * and its length into *len.  When buf is too small, returns CGRPC_ERR_TOO_LARGE with the
 * size needed (NUL included) in *len.  Returns 0, CGRPC_ERR_TOO_LARGE,
 * CGRPC_ERR_INVALID_ARGUMENT (claims_json not a JSON object), CGRPC_ERR_SYSTEM (the
 * signature failed) or CGRPC_ERR_NOMEM.  Thread-safe.
 */
CGRPC_EXTERN int cgrpc_jwt_sign(cgrpc_jwt_signer *signer, const char *claims_json, char *buf,
                                size_t size, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
