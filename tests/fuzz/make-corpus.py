#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus: inputs that reach deep into each target.

    python3 tests/fuzz/make-corpus.py BUILDDIR/tests/fuzz [CORPUSDIR]

BUILDDIR/tests/fuzz holds the built fuzz targets (configure --enable-fuzzing, make fuzz):
the connection seeds are real bytes, captured from them (FUZZ_RECORD).  fuzz_client_conn,
given a server's SETTINGS, records the requests of its three calls: those are the server's
seeds, and variants of them whose messages make the handlers answer in other ways.
fuzz_server_conn, given each of those, records its answers: the client's seeds.  The
plugin's seeds are protoc's own CodeGeneratorRequests for tests/plugin/protos, with the
files they import dropped (they would not fit 4 KiB).  The rest is built here by hand.
The JWT seeds signed with RSA and EC keys are kept as they are: the private halves of the
keys in fuzz_jwt.c were thrown away once they had signed them.
"""
import base64
import gzip
import hashlib
import hmac
import json
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
MAX_SEED = 4096

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0, 1, 3, 4, 6, 7, 8
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream) + payload


def hpack_int(n, prefix=7):
    if n < (1 << prefix) - 1:
        return bytes([n])
    out = [(1 << prefix) - 1]
    n -= (1 << prefix) - 1
    while n >= 128:
        out.append(n % 128 + 128)
        n //= 128
    return bytes(out + [n])


def hpack(headers):
    """A header block of literals without indexing, no Huffman: what every decoder takes."""
    block = b""
    for name, value in headers:
        name = name.encode() if isinstance(name, str) else name
        value = value.encode() if isinstance(value, str) else value
        block += b"\x00" + hpack_int(len(name)) + name + hpack_int(len(value)) + value
    return block


def grpc_message(payload, compressed=False):
    return bytes([1 if compressed else 0]) + struct.pack(">I", len(payload)) + payload


def pb_varint(n):
    out = b""
    while n > 0x7f:
        out += bytes([n & 0x7f | 0x80])
        n >>= 7
    return out + bytes([n])


def pb_field(num, payload):
    """A length-delimited protobuf field."""
    return pb_varint(num << 3 | 2) + pb_varint(len(payload)) + payload


def pb_fields(buf):
    """The top-level fields of a message: (number, raw bytes, payload of a length-delimited)."""
    i = 0
    while i < len(buf):
        start = i
        key, i = pb_read_varint(buf, i)
        payload = b""
        if key & 7 == 0:
            _, i = pb_read_varint(buf, i)
        elif key & 7 == 2:
            n, i = pb_read_varint(buf, i)
            payload = buf[i:i + n]
            i += n
        elif key & 7 in (1, 5):
            i += 8 if key & 7 == 1 else 4
        else:
            raise ValueError("wire type %d" % (key & 7))
        yield key >> 3, buf[start:i], payload


def pb_read_varint(buf, i):
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7f) << shift
        shift += 7
        if b < 128:
            return n, i


def msg(data):
    """fuzz.Msg{data}."""
    return pb_field(1, data)


def request_headers(path, extra=()):
    return [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "fuzz"),
            ("content-type", "application/grpc"), ("te", "trailers")] + list(extra)


class Corpus:
    def __init__(self, root):
        self.root = root
        self.count = 0

    def put(self, target, name, data):
        if len(data) > MAX_SEED:
            raise SystemExit("seed %s/%s is %d bytes (over %d)" % (target, name, len(data),
                                                                   MAX_SEED))
        d = os.path.join(self.root, target)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        self.count += 1


def record(binary, data):
    """Runs a fuzz target on data with FUZZ_RECORD set; returns what it recorded."""
    with tempfile.TemporaryDirectory() as tmp:
        seed, out = os.path.join(tmp, "in"), os.path.join(tmp, "out")
        with open(seed, "wb") as f:
            f.write(data)
        env = dict(os.environ, FUZZ_RECORD=out)
        subprocess.run([binary, "-runs=1", seed], env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with open(out, "rb") as f:
            return f.read()


def conn_seeds(c, bindir):
    server_settings = frame(SETTINGS, 0, 0) + frame(SETTINGS, ACK, 0)
    requests = record(os.path.join(bindir, "fuzz_client_conn"), server_settings)
    if not requests.startswith(PREFACE):
        raise SystemExit("fuzz_client_conn recorded no requests")
    # The client's three calls send fuzz.Msg{data: "ping"}; the handlers read the first
    # bytes (see fuzz_server_conn.c).
    variants = {
        "calls": b"ping",
        "calls-error": b"eoop",      # unary: an error with a message
        "calls-metadata": b"m\x00\xffz",  # unary: metadata, -bin and not; a stream of 1
        "calls-gzip": b"zing",       # unary: a gzip answer; server stream: 2 messages
        "calls-deflate": b"zdng",
        "calls-headers": b"hing",    # unary: headers before the answer
        "calls-pushback": b"p\x05ng",  # unary: UNAVAILABLE with grpc-retry-pushback-ms
        "calls-defer": b"ding",      # unary: deferred, finished before returning
        "calls-stream-error": b"\x03eng",  # server stream: 3 messages, then ABORTED
        "calls-bidi-ends": b"xing",  # bidi: ends while the client still sends
    }
    for name, data in variants.items():
        seed = requests.replace(b"\x0a\x04ping", b"\x0a\x04" + data)
        c.put("fuzz_server_conn", name, seed)
        answers = record(os.path.join(bindir, "fuzz_server_conn"), seed)
        c.put("fuzz_client_conn", name, answers)

    # Requests the client harness does not make.
    settings = PREFACE + frame(SETTINGS, 0, 0) + frame(SETTINGS, ACK, 0)
    two = grpc_message(msg(b"one")) + \
        grpc_message(gzip.compress(msg(b"two" * 20), mtime=0), True)
    c.put("fuzz_server_conn", "client-stream-gzip", settings +
          frame(HEADERS, END_HEADERS, 1, hpack(request_headers(
              "/fuzz.Fuzz/ClientStream",
              [("grpc-encoding", "gzip"), ("grpc-accept-encoding", "gzip,deflate"),
               ("grpc-timeout", "10S"), ("x-trace-bin", base64.b64encode(b"\x00\x01\xfe")),
               ("x-user", "alice"), ("grpc-previous-rpc-attempts", "2")]))) +
          frame(DATA, 0, 1, two[:7]) + frame(DATA, 0, 1, two[7:]) +
          frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 65535)) +
          frame(DATA, END_STREAM, 1, b"") + frame(PING, 0, 0, b"12345678"))
    c.put("fuzz_server_conn", "deadline-now", settings +
          frame(HEADERS, END_HEADERS, 1, hpack(request_headers(
              "/fuzz.Fuzz/Bidi", [("grpc-timeout", "1n")]))) +
          frame(DATA, 0, 1, grpc_message(msg(b"late"))) + frame(PING, 0, 0, b"\0" * 8) +
          frame(DATA, END_STREAM, 1, grpc_message(msg(b"later"))))
    c.put("fuzz_server_conn", "refused", settings +
          frame(HEADERS, END_HEADERS | END_STREAM, 1, hpack(
              [(":method", "GET"), (":scheme", "http"), (":path", "/fuzz.Fuzz/Unary"),
               (":authority", "fuzz"), ("content-type", "text/plain")])) +
          frame(HEADERS, END_HEADERS, 3, hpack(request_headers(
              "/no.Such/Method", [("grpc-timeout", "12345678901H")]))) +
          frame(DATA, END_STREAM, 3, grpc_message(b"\x0a\x7fshort")) +
          frame(HEADERS, END_HEADERS, 5, hpack(request_headers(
              "/fuzz.Fuzz/Unary", [("grpc-encoding", "br"), ("x-bad-bin", "@@@")]))) +
          frame(RST_STREAM, 0, 5, struct.pack(">I", 8)) +
          frame(GOAWAY, 0, 0, struct.pack(">II", 5, 0) + b"bye"))
    # Messages that inflate past what a stream holds unread, and past max_recv (256 KiB).
    bomb = grpc_message(gzip.compress(msg(b"\0" * 100000), mtime=0), True)
    huge = grpc_message(gzip.compress(msg(b"\0" * 300000), mtime=0), True)
    c.put("fuzz_server_conn", "inflate", settings +
          frame(HEADERS, END_HEADERS, 1, hpack(request_headers(
              "/fuzz.Fuzz/Bidi", [("grpc-encoding", "gzip")]))) +
          frame(DATA, 0, 1, bomb) + frame(DATA, 0, 1, bomb) + frame(PING, 0, 0, b"\0" * 8) +
          frame(HEADERS, END_HEADERS, 3, hpack(request_headers(
              "/fuzz.Fuzz/ClientStream", [("grpc-encoding", "gzip")]))) +
          frame(DATA, 0, 3, bomb) + frame(DATA, END_STREAM, 3, huge) +
          frame(DATA, END_STREAM, 1, b""))
    c.put("fuzz_server_conn", "split", settings +
          frame(HEADERS, END_HEADERS, 1, hpack(request_headers("/fuzz.Fuzz/Unary"))) +
          frame(DATA, END_STREAM, 1, grpc_message(msg(b"x" * 1100))) +
          frame(HEADERS, END_HEADERS, 3, hpack(request_headers("/fuzz.Fuzz/ServerStream"))) +
          frame(DATA, 0, 3, grpc_message(msg(b"\x02one"))[:6]) +
          frame(DATA, END_STREAM, 3, grpc_message(msg(b"\x02one"))[6:] + b"\x00\x00"))

    # Answers a server may give that ours does not.
    ok = [(":status", "200"), ("content-type", "application/grpc")]
    c.put("fuzz_client_conn", "trailers-only", frame(SETTINGS, 0, 0) +
          frame(HEADERS, END_HEADERS | END_STREAM, 1, hpack(
              ok + [("grpc-status", "14"), ("grpc-message", "try%20again%E2%9C%93"),
                    ("grpc-retry-pushback-ms", "10"), ("x-why-bin", "AAEC")])) +
          frame(HEADERS, END_HEADERS | END_STREAM, 3, hpack(
              [(":status", "503"), ("content-type", "text/html")])) +
          frame(RST_STREAM, 0, 5, struct.pack(">I", 7)))
    # A retryable status with pushback 0: the unary call is tried again at once, on stream 7.
    c.put("fuzz_client_conn", "retry", frame(SETTINGS, 0, 0) +
          frame(HEADERS, END_HEADERS | END_STREAM, 1, hpack(
              ok + [("grpc-status", "14"), ("grpc-retry-pushback-ms", "0")])) +
          frame(HEADERS, END_HEADERS, 7, hpack(ok + [("x-attempt", "2")])) +
          frame(DATA, 0, 7, grpc_message(msg(b"second"))) +
          frame(HEADERS, END_HEADERS | END_STREAM, 7, hpack([("grpc-status", "0")])) +
          frame(RST_STREAM, 0, 3, struct.pack(">I", 7)))
    c.put("fuzz_client_conn", "gzip-stream", frame(SETTINGS, 0, 0) + frame(SETTINGS, ACK, 0) +
          frame(HEADERS, END_HEADERS, 3, hpack(ok + [("grpc-encoding", "gzip"), ("x-a", "b")])) +
          frame(DATA, 0, 3, grpc_message(gzip.compress(msg(b"zipped" * 10), mtime=0), True)) +
          frame(DATA, 0, 3, grpc_message(msg(b"plain"))) +
          frame(HEADERS, END_HEADERS | END_STREAM, 3, hpack(
              [("grpc-status", "0"), ("grpc-status-details-bin", "CAMSBGJhZCE")])) +
          frame(GOAWAY, 0, 0, struct.pack(">II", 3, 0)) +
          frame(HEADERS, END_HEADERS | END_STREAM, 1, hpack(ok + [("grpc-status", "0")])))
    c.put("fuzz_client_conn", "pings", frame(SETTINGS, 0, 0, struct.pack(">HI", 3, 1)) +
          frame(PING, 0, 0, b"abcdefgh") + frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 100)) +
          frame(GOAWAY, 0, 0, struct.pack(">II", 0, 11) + b"too_many_pings"))


def small_seeds(c):
    # frame decoder: [nsplit] [max_len / 8] [pause every] splits... stream
    stream = grpc_message(b"hello") + grpc_message(b"") + grpc_message(b"x" * 40, True) + \
        grpc_message(b"tail")[:7]
    c.put("fuzz_frame_decoder", "messages", bytes([3, 0, 2]) + b"\x00\x03\x00\x09\x00\x30" +
          stream)
    c.put("fuzz_frame_decoder", "too-large", bytes([1, 4, 0]) + b"\x00\x02" +
          grpc_message(b"ok") + grpc_message(b"y" * 40))
    c.put("fuzz_frame_decoder", "bad-flag", bytes([2, 0, 1]) + b"\x00\x01\x00\x04" +
          grpc_message(b"a") + b"\x02\x00\x00\x00\x01b")

    # metadata: [name length] [value length: 2] name value, repeated
    def headers(pairs):
        out = b""
        for name, value in pairs:
            name = name.encode() if isinstance(name, str) else name
            value = value.encode() if isinstance(value, str) else value
            out += bytes([len(name)]) + struct.pack(">H", len(value)) + name + value
        return out
    c.put("fuzz_metadata", "request", headers([
        (":path", "/fuzz.Fuzz/Unary"), ("content-type", "application/grpc+proto"),
        ("te", "trailers"), ("grpc-timeout", "100m"), ("user-agent", "grpc-go/1.50"),
        ("x-trace-bin", "AAECAw=="), ("x-plain", "value with spaces")]))
    c.put("fuzz_metadata", "status", headers([
        ("grpc-status", "13"), ("grpc-message", "bad %E2%9C%93 %zz %4"),
        ("x-details-bin", "CAMSBGJhZCE"), ("x-odd-bin", "AB=C"), ("grpc-retry-pushback-ms", "5")]))
    c.put("fuzz_metadata", "utf8-cut", headers([("m", "\u00e9\u4e2d\U0001f600" * 40)]))

    # grpc-timeout values
    for name, value in [("ms", b"100m"), ("hours", b"99999999H"), ("nanos", b"1n"),
                        ("seconds", b"00000030S"), ("micros", b"250u"), ("minutes", b"5M")]:
        c.put("fuzz_timeout", name, value)

    # service configs
    configs = {
        "retry": {"methodConfig": [{"name": [{"service": "fuzz.Fuzz", "method": "Unary"},
                                             {"service": "fuzz.Fuzz"}],
                                    "timeout": "1.5s", "waitForReady": True,
                                    "retryPolicy": {"maxAttempts": 9, "initialBackoff": "0.1s",
                                                    "maxBackoff": "30s",
                                                    "backoffMultiplier": 2.5,
                                                    "retryableStatusCodes": ["UNAVAILABLE",
                                                                             14, "ABORTED"]}}],
                  "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}},
        "default": {"methodConfig": [{"name": [{}], "timeout": "0.000000001s"}],
                    "loadBalancingConfig": [{"weird": {}}, {"round_robin": {}}]},
        "policy": {"loadBalancingPolicy": "ROUND_ROBIN",
                   "methodConfig": [{"name": [{"service": "a"}],
                                     "retryPolicy": {"maxAttempts": 2,
                                                     "initialBackoff": "315576000000s",
                                                     "maxBackoff": "1e3s",
                                                     "backoffMultiplier": 1e308,
                                                     "retryableStatusCodes": [2]}}]},
    }
    for name, conf in configs.items():
        c.put("fuzz_service_config", name, json.dumps(conf).encode())


def pem_of(name):
    """A PEM key as fuzz_jwt.c embeds it."""
    with open(os.path.join(HERE, "fuzz_jwt.c")) as f:
        src = f.read()
    start = src.index("static const char %s[]" % name)
    return "".join(line.strip()[1:-1].replace("\\n", "\n")
                   for line in src[start:src.index(";", start)].splitlines()[1:])


def der_of(pem):
    return base64.b64decode("".join(line for line in pem.splitlines() if "-----" not in line))


def der_item(buf, i):
    """(tag, start of the contents, their length) of the DER item at i."""
    n = buf[i + 1]
    if n < 0x80:
        return buf[i], i + 2, n
    k = n & 0x7f
    return buf[i], i + 2 + k, int.from_bytes(buf[i + 2:i + 2 + k], "big")


def rsa_numbers(spki):
    """n and e of an RSA SubjectPublicKeyInfo."""
    _, i, _ = der_item(spki, 0)          # SEQUENCE
    _, j, n = der_item(spki, i)          # AlgorithmIdentifier
    _, k, _ = der_item(spki, j + n)      # BIT STRING, then its unused-bits byte
    _, i, _ = der_item(spki, k + 1)      # RSAPublicKey
    _, j, n = der_item(spki, i)          # modulus
    _, k, m = der_item(spki, j + n)      # exponent
    return spki[j:j + n].lstrip(b"\0"), spki[k:k + m]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def jwt_seeds(c):
    # The secrets fuzz_jwt.c verifies with, and its signer's (HS256, no kid).
    hs256 = b"fuzz-hs256-secret-of-32-bytes!!!"
    hs512 = b"fuzz-hs512-secret-with-a-kid-that-is-64-bytes-long-0123456789abc"
    claims = {"iss": "https://issuer.example", "aud": ["other", "fuzz"], "sub": "alice",
              "exp": 4102444800, "nbf": 1000000000, "scope": "read write", "roles": ["admin"]}

    def token(header, payload, key, digest):
        signing = b64url(json.dumps(header).encode()) + b"." + \
            b64url(json.dumps(payload).encode())
        return signing + b"." + b64url(hmac.new(key, signing, digest).digest())
    c.put("fuzz_jwt", "hs256", b"\x00" + token({"alg": "HS256", "typ": "JWT"}, claims, hs256,
                                               hashlib.sha256))
    c.put("fuzz_jwt", "hs512-kid", b"\x00" + token({"alg": "HS512", "kid": "hs"},
                                                   dict(claims, aud="fuzz"), hs512,
                                                   hashlib.sha512))
    c.put("fuzz_jwt", "expired", b"\x00" + token({"alg": "HS256"}, dict(claims, exp=1), hs256,
                                                 hashlib.sha256))
    c.put("fuzz_jwt", "none", b"\x00" + b64url(b'{"alg":"none"}') + b"." +
          b64url(json.dumps(claims).encode()) + b".")
    c.put("fuzz_jwt", "sign", b"\x01" + json.dumps(claims).encode())
    ec_pem, rsa_pem = pem_of("ec_pem"), pem_of("rsa_pem")
    ec = der_of(ec_pem)  # SubjectPublicKeyInfo, ending in the point 04 || x || y
    n, e = rsa_numbers(der_of(rsa_pem))
    c.put("fuzz_jwt", "jwks", b"\x02" + json.dumps({"keys": [
        {"kty": "oct", "kid": "k", "alg": "HS256", "k": b64url(hs256).decode()},
        {"kty": "EC", "crv": "P-256", "use": "sig", "kid": "ec",
         "x": b64url(ec[-64:-32]).decode(), "y": b64url(ec[-32:]).decode()},
        {"kty": "RSA", "key_ops": ["verify"], "alg": "RS256", "e": b64url(e).decode(),
         "n": b64url(n).decode()}]}).encode())
    c.put("fuzz_jwt", "pem-ec", b"\x03" + ec_pem.encode())
    c.put("fuzz_jwt", "b64url", b"\x04" + b64url(b"\xff\xfe\x00 any bytes"))


def dedup_seeds(c):
    def u32(n):
        return struct.pack(">I", n)

    def stored(code, message, initial, trailing, response):
        out = b"cgd1" + u32(code) + u32(len(message)) + message
        for md in (initial, trailing):
            out += u32(len(md))
            for k, v in md:
                out += u32(len(k)) + k + u32(len(v)) + v
        return out + u32(len(response)) + response
    c.put("fuzz_dedup", "replay-ok", b"\x00" + stored(
        0, b"", [(b"x-a", b"1"), (b"x-b-bin", b"\x00\xff")],
        [(b"x-t", b"2"), (b"grpc-retry-pushback-ms", b"5")], msg(b"stored answer")))
    c.put("fuzz_dedup", "replay-error", b"\x00" + stored(5, b"not here \xe2\x9c\x93", [], [
        (b"BAD KEY", b"v")], b""))
    c.put("fuzz_dedup", "replay-corrupt", b"\x00" + stored(0, b"", [], [], b"\x0a\x7f")[:-1])
    # round trip: [code] [message length] message, metadata, metadata, response
    c.put("fuzz_dedup", "round-trip-ok", b"\x01" + b"\x00\x00" +
          b"\x02\x03abc\x02hi\x83def\x03\x00\x01\x02" + b"\x01\x01t\x01z" + b"response")
    c.put("fuzz_dedup", "round-trip-error", b"\x01" + b"\x06\x05taken" + b"\x00" +
          b"\x01\x02id\x03123")
    c.put("fuzz_dedup", "round-trip-unstored", b"\x01" + b"\x0e\x04busy\x00\x00")
    # store: [max entries] [max bytes / 8] then [op | key << 2] (complete: [length] value)
    c.put("fuzz_dedup", "store", b"\x02" + b"\x02\x40" +
          b"\x00\x01\x05hello\x00\x04\x05\x03abc\x04\x09\x03xyz\x08\x03\x0a\x0c\x03")


def plugin_seeds(c):
    """protoc's CodeGeneratorRequests, through a plugin that keeps them."""
    dropped = {b"google/protobuf/descriptor.proto", b"cgrpc/options.proto",
               b"protobuf-c/protobuf-c.proto"}
    protoc_c = subprocess.run(["pkg-config", "--variable=includedir", "libprotobuf-c"],
                              capture_output=True, text=True).stdout.strip() or "/usr/include"
    with tempfile.TemporaryDirectory() as tmp:
        plugin = os.path.join(tmp, "protoc-gen-keep")
        with open(plugin, "w") as f:
            f.write('#!/bin/sh\ncat > "$KEEP"\n')
        os.chmod(plugin, 0o755)
        protos = os.path.join(TOP, "tests", "plugin", "protos")
        for name in ["streams.proto", "retries.proto", "timeouts.proto", "nopkg.proto",
                     "a/b/c/shop.proto", "cpkg/renamed.proto"]:
            keep = os.path.join(tmp, "req")
            subprocess.run(["protoc", "--plugin=protoc-gen-keep=" + plugin, "--keep_out=" + tmp,
                            "-I" + protos, "-I" + os.path.join(TOP, "runtime", "proto"),
                            "-I" + protoc_c, name], check=True, env=dict(os.environ, KEEP=keep))
            with open(keep, "rb") as f:
                req = f.read()
            out = b""
            for num, raw, payload in pb_fields(req):
                if num != 15:
                    out += raw
                    continue
                names = [p for n, _, p in pb_fields(payload) if n == 1]
                if names and names[0] in dropped:
                    continue
                # The file without the imports dropped (their options stay, as extensions).
                out += pb_field(15, b"".join(raw2 for n, raw2, p in pb_fields(payload)
                                             if not (n == 3 and p in dropped)))
            c.put("fuzz_plugin", os.path.basename(name).replace(".proto", ""), out)


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    bindir = sys.argv[1]
    c = Corpus(sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "corpus"))
    conn_seeds(c, bindir)
    small_seeds(c)
    jwt_seeds(c)
    dedup_seeds(c)
    plugin_seeds(c)
    print("%d seeds in %s" % (c.count, c.root))


if __name__ == "__main__":
    main()
