/* cgrpc's JWT code as a command for jwt_pyjwt.py (the PyJWT cross-check):
 *   jwt_tool sign ALG KEYFILE [KID]   claims JSON on stdin, one object per line -> a token per line
 *   jwt_tool verify [--secret FILE | --pem FILE] [--kid KID] ... [--jwks FILE] [--iss ISS]
 *                   [--aud AUD] [--max-size N]
 *                                     "NAME TOKEN" lines on stdin -> "NAME ok SUB" or
 *                                     "NAME reject REASON" (REASON as in cgrpc_jwt_reject)
 * --kid applies to the --secret or --pem that follows it.  Exit status 0 unless something
 * other than a token failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrpc/cgrpc.h>

static const char *const reasons[] = {
    "OK",          "TOO_LARGE",     "MALFORMED",      "BAD_HEADER",   "BAD_PAYLOAD",
    "ALG_NOT_ALLOWED", "UNKNOWN_KID", "NO_KEY",       "BAD_SIGNATURE", "EXPIRED",
    "NOT_YET_VALID", "MISSING_EXP",   "BAD_ISSUER",     "BAD_AUDIENCE",
};

static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    perror(path);
    exit(2);
  }
  char *buf = malloc(1 << 20);
  *len = fread(buf, 1, (1 << 20) - 1, f);
  buf[*len] = '\0';
  fclose(f);
  return buf;
}

static int die(const char *what, int rv)
{
  fprintf(stderr, "jwt_tool: %s: %s\n", what, cgrpc_jwt_reason(rv));
  return 2;
}

static cgrpc_jwt_alg alg_named(const char *name)
{
  for (unsigned bit = 1; bit <= CGRPC_JWT_ES256; bit <<= 1)
    if (strcmp(cgrpc_jwt_alg_name((cgrpc_jwt_alg)bit), name) == 0)
      return (cgrpc_jwt_alg)bit;
  return (cgrpc_jwt_alg)0;
}

static int sign_main(int argc, char **argv)
{
  if (argc < 4)
    return 2;
  size_t klen;
  char *key = slurp(argv[3], &klen);
  cgrpc_jwt_signer *s = NULL;
  int rv = cgrpc_jwt_signer_new(&s, alg_named(argv[2]), key, klen, NULL);
  free(key);
  if (rv != 0)
    return die("signer", rv);
  if (argc > 4)
    rv = cgrpc_jwt_signer_set_kid(s, argv[4]);
  static char line[16384], tok[32768];
  while (rv == 0 && fgets(line, sizeof line, stdin) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    size_t len;
    if ((rv = cgrpc_jwt_sign(s, line, tok, sizeof tok, &len)) == 0)
      printf("%s\n", tok);
  }
  cgrpc_jwt_signer_free(s);
  return rv != 0 ? die("sign", rv) : 0;
}

static int verify_setup(cgrpc_jwt_verifier *v, int argc, char **argv)
{
  const char *kid = NULL;
  for (int i = 2; i + 1 < argc; i += 2) {
    const char *opt = argv[i], *arg = argv[i + 1];
    int rv = 0;
    size_t len;
    char *data = NULL;
    if (strcmp(opt, "--kid") == 0) {
      kid = arg;
      continue;
    }
    if (strcmp(opt, "--secret") == 0) {
      data = slurp(arg, &len);
      rv = cgrpc_jwt_verifier_add_secret(v, kid, data, len, 0);
    } else if (strcmp(opt, "--pem") == 0) {
      data = slurp(arg, &len);
      rv = cgrpc_jwt_verifier_add_public_key(v, kid, data, len, 0);
    } else if (strcmp(opt, "--jwks") == 0) {
      rv = cgrpc_jwt_verifier_add_jwks_file(v, arg);
    } else if (strcmp(opt, "--iss") == 0) {
      rv = cgrpc_jwt_verifier_set_issuer(v, arg);
    } else if (strcmp(opt, "--aud") == 0) {
      rv = cgrpc_jwt_verifier_add_audience(v, arg);
    } else if (strcmp(opt, "--max-size") == 0) {
      rv = cgrpc_jwt_verifier_set_max_token_size(v, (size_t)atol(arg));
    } else {
      fprintf(stderr, "jwt_tool: unknown option %s\n", opt);
      return 2;
    }
    free(data);
    kid = NULL;
    if (rv != 0)
      return die(opt, rv);
  }
  return 0;
}

static int verify_main(int argc, char **argv)
{
  cgrpc_jwt_verifier *v = NULL;
  int rv = cgrpc_jwt_verifier_new(&v, NULL);
  if (rv != 0 || (rv = verify_setup(v, argc, argv)) != 0) {
    cgrpc_jwt_verifier_free(v);
    return rv != 0 ? rv : 2;
  }
  static char line[1 << 17];
  while (fgets(line, sizeof line, stdin) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    char *tok = strchr(line, ' ');
    if (tok == NULL)
      continue;
    *tok++ = '\0';
    cgrpc_jwt_claims *c = NULL;
    rv = cgrpc_jwt_verify(v, tok, strlen(tok), &c);
    if (rv == 0) {
      const char *sub = cgrpc_jwt_claims_string(c, "sub");
      printf("%s ok %s\n", line, sub != NULL ? sub : "-");
    } else if (rv > 0 && (size_t)rv < sizeof reasons / sizeof reasons[0]) {
      printf("%s reject %s\n", line, reasons[rv]);
    } else {
      printf("%s error %d\n", line, rv);
    }
    cgrpc_jwt_claims_free(c);
  }
  cgrpc_jwt_verifier_free(v);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc >= 2 && strcmp(argv[1], "sign") == 0)
    return sign_main(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "verify") == 0)
    return verify_main(argc, argv);
  fprintf(stderr, "usage: jwt_tool sign ALG KEYFILE [KID] | jwt_tool verify OPTIONS\n");
  return 2;
}
