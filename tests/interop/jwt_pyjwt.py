#!/usr/bin/python3
"""Cross-checks cgrpc's JWT code with PyJWT: tokens PyJWT mints (every algorithm, with and
without a kid) verify in ours; tokens ours mints verify in PyJWT; and every attack token is
refused by ours for the right reason.  Keys are made here, with python3-cryptography.

usage: jwt_pyjwt.py JWT_TOOL WORKDIR   (CGRPC_TEST_WRAPPER, if set, runs JWT_TOOL)"""
import base64
import hashlib
import hmac
import json
import os
import shlex
import subprocess
import sys
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa, utils

TOOL, WORK = sys.argv[1], sys.argv[2]
WRAPPER = shlex.split(os.environ.get("CGRPC_TEST_WRAPPER", ""))
ISS, AUD = "https://issuer.test", "cgrpc-test"
NOW = int(time.time())
failures = []


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def write(name, data):
    path = os.path.join(WORK, name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return path


def tool(args, lines):
    out = subprocess.run(WRAPPER + [TOOL] + args, input="".join(l + "\n" for l in lines),
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        sys.exit("jwt_tool %s failed (%d): %s" % (args[0], out.returncode, out.stderr))
    if out.stderr.strip():
        print(out.stderr, file=sys.stderr)
    return out.stdout.splitlines()


def claims(sub, **extra):
    c = {"sub": sub, "iss": ISS, "aud": AUD, "iat": NOW, "exp": NOW + 600}
    c.update(extra)
    return c


# ---- keys ---------------------------------------------------------------------------------

PEM, PKCS8, SPKI = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, \
    serialization.PublicFormat.SubjectPublicKeyInfo
NOENC = serialization.NoEncryption()
secret = os.urandom(64)
rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ec_key = ec.generate_private_key(ec.SECP256R1())
other_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
rsa_priv_pem = rsa_key.private_bytes(PEM, PKCS8, NOENC)
rsa_pub_pem = rsa_key.public_key().public_bytes(PEM, SPKI)
ec_priv_pem = ec_key.private_bytes(PEM, PKCS8, NOENC)
ec_pub_pem = ec_key.public_key().public_bytes(PEM, SPKI)
files = {
    "secret": write("secret.bin", secret),
    "rsa_priv": write("rsa.pem", rsa_priv_pem),
    "rsa_pub": write("rsa.pub", rsa_pub_pem),
    "rsa_priv_pkcs1": write("rsa1.pem", rsa_key.private_bytes(
        PEM, serialization.PrivateFormat.TraditionalOpenSSL, NOENC)),
    "rsa_pub_pkcs1": write("rsa1.pub", rsa_key.public_key().public_bytes(
        PEM, serialization.PublicFormat.PKCS1)),
    "ec_priv": write("ec.pem", ec_priv_pem),
    "ec_priv_sec1": write("ec1.pem", ec_key.private_bytes(
        PEM, serialization.PrivateFormat.TraditionalOpenSSL, NOENC)),
    "ec_pub": write("ec.pub", ec_pub_pem),
}
KIDS = {"HS": "hmac-1", "RS": "rsa-1", "ES": "ec-1"}
ec_numbers = ec_key.public_key().public_numbers()
jwks = {"keys": [
    dict(json.loads(jwt.algorithms.HMACAlgorithm.to_jwk(secret)), kid=KIDS["HS"]),
    dict(json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key())), kid=KIDS["RS"],
         use="sig"),
    # Coordinates in full, as RFC 7518 6.2.1.2 wants ...
    {"kty": "EC", "crv": "P-256", "kid": KIDS["ES"], "x": b64u(ec_numbers.x.to_bytes(32, "big")),
     "y": b64u(ec_numbers.y.to_bytes(32, "big"))},
    # ... and as PyJWT 2.6 writes them, without leading zero bytes (1 key in 128 has one).
    dict(json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key())), kid="ec-pyjwt"),
    dict(json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(other_rsa.public_key())), kid="rsa-2"),
]}
files["jwks"] = write("jwks.json", json.dumps(jwks, indent=1))

ALGS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256"]
SIGNING = {"HS": secret, "RS": rsa_priv_pem, "ES": ec_priv_pem}
VERIFYING = {"HS": secret, "RS": rsa_pub_pem, "ES": ec_pub_pem}
CONFIGS = {
    "HS": ["--secret", files["secret"]],
    "RS": ["--pem", files["rsa_pub"]],
    "RS-pkcs1": ["--pem", files["rsa_pub_pkcs1"]],
    "ES": ["--pem", files["ec_pub"]],
    "jwks": ["--jwks", files["jwks"]],
}

# ---- cases for our verifier: (config, name, token, expected) -------------------------------

cases = []


def expect(config, name, token, want):
    cases.append((config, name, token, want))


# PyJWT mints, ours verifies: each algorithm with the key itself, and by kid from the JWKS.
for alg in ALGS:
    fam = alg[:2]
    expect(fam, "pyjwt-" + alg, jwt.encode(claims("py-" + alg), SIGNING[fam], algorithm=alg),
           "ok py-" + alg)
    expect("jwks", "pyjwt-kid-" + alg,
           jwt.encode(claims("py-kid-" + alg), SIGNING[fam], algorithm=alg,
                      headers={"kid": KIDS[fam]}), "ok py-kid-" + alg)
expect("jwks", "pyjwt-kid-ES256-pyjwt-jwk",
       jwt.encode(claims("py-ec-jwk"), ec_priv_pem, algorithm="ES256",
                  headers={"kid": "ec-pyjwt"}), "ok py-ec-jwk")
expect("RS-pkcs1", "pyjwt-RS256-pkcs1-public-key",
       jwt.encode(claims("py-pkcs1"), rsa_priv_pem, algorithm="RS256"), "ok py-pkcs1")
expect("HS", "pyjwt-float-exp-and-array-aud",
       jwt.encode(claims("py-f", exp=NOW + 600.5, aud=["x", AUD]), secret, algorithm="HS256"),
       "ok py-f")


def forge(header, payload, sig):
    """A token from a header dict, a payload dict or bytes, and signature bytes."""
    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    p = b64u(payload if isinstance(payload, bytes) else
             json.dumps(payload, separators=(",", ":")).encode())
    return "%s.%s.%s" % (h, p, b64u(sig))


def hmac_forge(header, payload, key, digest=hashlib.sha256):
    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    p = b64u(payload if isinstance(payload, bytes) else
             json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(key, ("%s.%s" % (h, p)).encode(), digest).digest()
    return "%s.%s.%s" % (h, p, b64u(mac))


good_hs = jwt.encode(claims("x"), secret, algorithm="HS256")
good_rs = jwt.encode(claims("x"), rsa_priv_pem, algorithm="RS256")
good_es = jwt.encode(claims("x"), ec_priv_pem, algorithm="ES256")

# alg none, without and with a signature; PyJWT mints the first itself.
none_tok = jwt.encode(claims("none"), None, algorithm="none")
for cfg in ("HS", "RS", "ES", "jwks"):
    expect(cfg, "attack-alg-none-unsigned", none_tok, "reject ALG_NOT_ALLOWED")
    expect(cfg, "attack-alg-none-signed", none_tok + good_hs.rsplit(".", 1)[1],
           "reject ALG_NOT_ALLOWED")
expect("HS", "attack-alg-None", forge({"alg": "None"}, claims("n"), b""), "reject ALG_NOT_ALLOWED")

# Algorithm confusion: HS256 keyed with the RSA (and EC) public key's PEM text.
for digest, alg in ((hashlib.sha256, "HS256"), (hashlib.sha384, "HS384"), (hashlib.sha512, "HS512")):
    expect("RS", "attack-confusion-rsa-pem-" + alg,
           hmac_forge({"alg": alg, "typ": "JWT"}, claims("c"), rsa_pub_pem, digest),
           "reject ALG_NOT_ALLOWED")
expect("RS-pkcs1", "attack-confusion-rsa-pkcs1-pem",
       hmac_forge({"alg": "HS256"}, claims("c"), open(files["rsa_pub_pkcs1"], "rb").read()),
       "reject ALG_NOT_ALLOWED")
expect("ES", "attack-confusion-ec-pem", hmac_forge({"alg": "HS256"}, claims("c"), ec_pub_pem),
       "reject ALG_NOT_ALLOWED")
expect("jwks", "attack-confusion-rsa-kid",
       hmac_forge({"alg": "HS256", "kid": KIDS["RS"]}, claims("c"), rsa_pub_pem),
       "reject ALG_NOT_ALLOWED")
expect("jwks", "attack-confusion-rsa-jwk-n",
       hmac_forge({"alg": "HS256", "kid": KIDS["RS"]}, claims("c"),
                  unb64u(jwks["keys"][1]["n"])), "reject ALG_NOT_ALLOWED")
expect("jwks", "attack-rs256-with-ec-kid",
       jwt.encode(claims("c"), rsa_priv_pem, algorithm="RS256", headers={"kid": KIDS["ES"]}),
       "reject ALG_NOT_ALLOWED")


def flip(token, index):
    h, p, s = token.split(".")
    sig = bytearray(unb64u(s))
    sig[index] ^= 0x01
    return "%s.%s.%s" % (h, p, b64u(bytes(sig)))


for cfg, tok in (("HS", good_hs), ("RS", good_rs), ("ES", good_es)):
    for i in (0, 17, -1):
        expect(cfg, "attack-bit-flip-%s-%d" % (cfg, i), flip(tok, i), "reject BAD_SIGNATURE")
    h, p, s = tok.split(".")
    tampered = b64u(json.dumps(claims("admin")).encode())
    expect(cfg, "attack-payload-swapped-" + cfg, "%s.%s.%s" % (h, tampered, s),
           "reject BAD_SIGNATURE")
    expect(cfg, "attack-truncated-no-signature-" + cfg, "%s.%s" % (h, p), "reject MALFORMED")
    expect(cfg, "attack-truncated-empty-signature-" + cfg, "%s.%s." % (h, p),
           "reject BAD_SIGNATURE")
    expect(cfg, "attack-truncated-signature-" + cfg, tok[:-4 - (len(s) % 4)],
           "reject BAD_SIGNATURE")
    expect(cfg, "attack-padded-base64-" + cfg, tok + "=" * (-len(s) % 4 or 4), "reject MALFORMED")
    expect(cfg, "attack-standard-base64-" + cfg, "%s.%s.%s+" % (h, p, s[:-1]), "reject MALFORMED")

# ES256 signatures must be raw r || s, not DER as naive code would produce and accept.
h, p, s = good_es.split(".")
raw = unb64u(s)
der = utils.encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
expect("ES", "attack-es256-der-signature", "%s.%s.%s" % (h, p, b64u(der)), "reject BAD_SIGNATURE")

expect("HS", "attack-header-not-json",
       "%s.%s.%s" % (b64u(b"{alg:HS256}"), good_hs.split(".")[1], good_hs.split(".")[2]),
       "reject BAD_HEADER")
expect("HS", "attack-header-crit", hmac_forge({"alg": "HS256", "crit": ["x"], "x": 1},
                                              claims("c"), secret), "reject BAD_HEADER")
expect("HS", "attack-payload-not-json", hmac_forge({"alg": "HS256"}, b"{\"sub\":", secret),
       "reject BAD_PAYLOAD")
expect("HS", "attack-payload-array", hmac_forge({"alg": "HS256"}, b"[1]", secret),
       "reject BAD_PAYLOAD")
expect("HS", "attack-exp-nan", hmac_forge({"alg": "HS256"},
                                          b'{"iss":"%s","aud":"%s","exp":NaN}' %
                                          (ISS.encode(), AUD.encode()), secret),
       "reject BAD_PAYLOAD")
expect("HS", "attack-oversized",
       jwt.encode(claims("big", pad="x" * 9000), secret, algorithm="HS256"), "reject TOO_LARGE")

# Claims.
for cfg in ("HS", "RS", "ES"):
    key, alg = SIGNING[cfg[:2]], {"HS": "HS256", "RS": "RS256", "ES": "ES256"}[cfg]
    expect(cfg, "claims-expired-" + cfg, jwt.encode(claims("e", exp=NOW - 120), key, algorithm=alg),
           "reject EXPIRED")
    expect(cfg, "claims-expired-within-leeway-" + cfg,
           jwt.encode(claims("l", exp=NOW - 5), key, algorithm=alg), "ok l")
    expect(cfg, "claims-nbf-future-" + cfg,
           jwt.encode(claims("f", nbf=NOW + 600), key, algorithm=alg), "reject NOT_YET_VALID")
    expect(cfg, "claims-wrong-iss-" + cfg,
           jwt.encode(claims("i", iss="https://evil.test"), key, algorithm=alg), "reject BAD_ISSUER")
    expect(cfg, "claims-wrong-aud-" + cfg,
           jwt.encode(claims("a", aud=["web", "mobile"]), key, algorithm=alg),
           "reject BAD_AUDIENCE")
    no_exp = claims("m")
    del no_exp["exp"]
    expect(cfg, "claims-no-exp-" + cfg, jwt.encode(no_exp, key, algorithm=alg), "reject MISSING_EXP")

# Kids against the JWKS.
for alg in ("HS256", "RS256", "ES256"):
    expect("jwks", "kid-missing-" + alg, jwt.encode(claims("k"), SIGNING[alg[:2]], algorithm=alg),
           "reject NO_KEY")
    expect("jwks", "kid-unknown-" + alg, jwt.encode(claims("k"), SIGNING[alg[:2]], algorithm=alg,
                                                    headers={"kid": "nobody"}),
           "reject UNKNOWN_KID")
expect("jwks", "kid-of-another-rsa-key",
       jwt.encode(claims("k"), rsa_priv_pem, algorithm="RS256", headers={"kid": "rsa-2"}),
       "reject BAD_SIGNATURE")

# ---- run ours over them ---------------------------------------------------------------------

for cfg, args in CONFIGS.items():
    mine = [c for c in cases if c[0] == cfg]
    if not mine:
        continue
    out = tool(["verify"] + args + ["--iss", ISS, "--aud", AUD], ["%s %s" % (c[1], c[2]) for c in mine])
    got = dict(line.split(" ", 1) for line in out)
    for _, name, _, want in mine:
        if got.get(name) != want:
            failures.append("ours verifying %s [%s]: got %r, want %r" % (name, cfg, got.get(name), want))
        else:
            print("ok   %-48s %s" % (name, want))

# ---- ours mints, PyJWT verifies -------------------------------------------------------------

SIGN_KEYS = {"HS": files["secret"], "RS": files["rsa_priv"], "ES": files["ec_priv"]}
for alg in ALGS:
    fam = alg[:2]
    payloads = [claims("ours-" + alg), claims("ours-" + alg + "-2", roles=["a", "b"], n=1.5)]
    for kid, keyfile in ((None, SIGN_KEYS[fam]), (KIDS[fam], SIGN_KEYS[fam]),
                         (None, {"RS": files["rsa_priv_pkcs1"], "ES": files["ec_priv_sec1"]}.get(fam))):
        if keyfile is None:
            continue
        toks = tool(["sign", alg, keyfile] + ([kid] if kid else []),
                    [json.dumps(p, separators=(",", ":")) for p in payloads])
        for payload, tok in zip(payloads, toks):
            what = "pyjwt verifying ours %s (key %s, kid %s)" % (alg, os.path.basename(keyfile), kid)
            try:
                header = jwt.get_unverified_header(tok)
                decoded = jwt.decode(tok, VERIFYING[fam], algorithms=[alg], audience=AUD, issuer=ISS)
                if decoded != payload or header.get("alg") != alg or header.get("kid") != kid:
                    failures.append("%s: got %r / %r" % (what, header, decoded))
                else:
                    print("ok   %s" % what)
            except jwt.PyJWTError as e:
                failures.append("%s: %r" % (what, e))
        # The JWKS route too: PyJWT picks the key by our kid.
        if kid:
            jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
            key = jwt.PyJWK(jwk, algorithm=alg).key
            try:
                jwt.decode(toks[0], key, algorithms=[alg], audience=AUD, issuer=ISS)
                print("ok   pyjwt verifying ours %s with the JWK of kid %s" % (alg, kid))
            except jwt.PyJWTError as e:
                failures.append("pyjwt verifying ours %s with its JWK: %r" % (alg, e))

for f in failures:
    print("FAIL " + f)
print("%d cases for ours, %d failures" % (len(cases), len(failures)))
sys.exit(1 if failures else 0)
