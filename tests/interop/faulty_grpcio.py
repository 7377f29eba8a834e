#!/usr/bin/python3
"""Python grpcio (grpc C-core) peer for the retry and de-duplication interop tests.

  faulty_grpcio.py GEN server [--port N]
      Serves faulty.Faulty (tests/e2e/faulty.proto): Try and Baked fail the first `fail`
      attempts of the call named `id` with `code`, then answer with the attempt's number.
      Every attempt of one id must carry the same idempotency-key (else FAILED_PRECONDITION:
      the client did not keep its key).  The id "report:X" answers how many attempts of X
      arrived, counting nothing.  Prints "LISTENING <port>"; stops on SIGTERM.
  faulty_grpcio.py GEN dedup --target HOST:PORT
      Sends Baked twice with one idempotency-key (as a client retrying after a lost answer
      would) and once with another: the first two must get the same answer from one run of
      the handler (attempt 1 both times), the third a run of its own.  Exit 0 on success.

  faulty_grpcio.py GEN trace --target HOST:PORT --server-log FILE
      Calls Relay on a cgrpc faulty_server (--relay-to this script's server, --trace 1) with
      a valid traceparent, with an invalid one, with an unsampled one and with none; this
      script's server (its output in FILE) prints the traceparent each relayed Try brought:
      the same trace with a new parent id and the flags kept, a new trace for the invalid
      one and for none.  Exit 0 on success.

GEN is the directory with the generated faulty_pb2*.py (retry_vs_grpcio.sh makes it).
"""
import re
import signal
import sys
import threading
import time
from concurrent import futures

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
import faulty_pb2  # noqa: E402
import faulty_pb2_grpc  # noqa: E402

CODES = {c.value[0]: c for c in grpc.StatusCode}


class Faulty(faulty_pb2_grpc.FaultyServicer):
    def __init__(self):
        self.lock = threading.Lock()
        self.seen = {}

    def Try(self, request, context):
        if request.id.startswith("trace:"):
            tp = dict(context.invocation_metadata()).get("traceparent", "-")
            print("TRACEPARENT %s %s" % (request.id, tp), flush=True)
            return faulty_pb2.TryReply(attempt=1)
        if request.id.startswith("report:"):
            with self.lock:
                rec = self.seen.get(request.id[len("report:"):], {"n": 0})
            return faulty_pb2.TryReply(attempt=rec["n"])
        key = dict(context.invocation_metadata()).get("idempotency-key", "")
        with self.lock:
            rec = self.seen.setdefault(request.id, {"n": 0, "key": key})
            rec["n"] += 1
            n = rec["n"]
            same_key = rec["key"] == key
        if not same_key:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                          "attempt %d of %s came with another idempotency-key" % (n, request.id))
        if n <= request.fail:
            context.abort(CODES[request.code], "attempt %d fails" % n)
        return faulty_pb2.TryReply(attempt=n)

    def Baked(self, request, context):
        # Idempotent in faulty.proto: a cgrpc client sends a key with every call.
        if not request.id.startswith("report:") and \
                not dict(context.invocation_metadata()).get("idempotency-key"):
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "Baked without an idempotency-key")
        return self.Try(request, context)


def serve(argv):
    port = int(argv[argv.index("--port") + 1]) if "--port" in argv else 0
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    faulty_pb2_grpc.add_FaultyServicer_to_server(Faulty(), server)
    port = server.add_insecure_port("127.0.0.1:%d" % port)
    server.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print("LISTENING %d" % port, flush=True)
    done.wait()
    server.stop(1).wait()
    return 0


def dedup(argv):
    target = argv[argv.index("--target") + 1]
    with grpc.insecure_channel(target) as channel:
        stub = faulty_pb2_grpc.FaultyStub(channel)
        req = faulty_pb2.TryRequest(id="dedup")
        first = stub.Baked(req, metadata=[("idempotency-key", "grpcio-key-1")], timeout=10)
        again = stub.Baked(req, metadata=[("idempotency-key", "grpcio-key-1")], timeout=10)
        other = stub.Baked(req, metadata=[("idempotency-key", "grpcio-key-2")], timeout=10)
    print("answers: %d %d %d" % (first.attempt, again.attempt, other.attempt))
    if (first.attempt, again.attempt, other.attempt) != (1, 1, 2):
        print("FAIL dedup: want attempts 1 1 2 (the repeated key replayed, the new key run)")
        return 1
    print("PASS dedup")
    return 0


TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def trace(argv):
    target = argv[argv.index("--target") + 1]
    log = argv[argv.index("--server-log") + 1]
    tid, pid = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    sent = {
        "trace:valid": "00-%s-%s-01" % (tid, pid),
        "trace:invalid": "00-%s-%s-01" % (tid.upper(), pid),
        "trace:unsampled": "00-%s-%s-00" % (tid, pid),
        "trace:none": None,
    }
    with grpc.insecure_channel(target) as channel:
        stub = faulty_pb2_grpc.FaultyStub(channel)
        for name, tp in sent.items():
            md = [("traceparent", tp)] if tp else []
            stub.Relay(faulty_pb2.TryRequest(id=name), metadata=md, timeout=10)
    got = {}
    for _ in range(50):
        with open(log) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[0] == "TRACEPARENT":
                    got[parts[1]] = parts[2]
        if len(got) == len(sent):
            break
        time.sleep(0.1)
    ok = True

    def check(cond, what):
        nonlocal ok
        print("%s %s" % ("PASS" if cond else "FAIL", what))
        ok = ok and cond

    fields = {name: TRACEPARENT.match(got.get(name, "")) for name in sent}
    for name in sent:
        check(fields[name] is not None,
              "%s: the grpcio server got a valid traceparent (%s)" % (name, got.get(name)))
    if not all(fields.values()):
        return 1
    v = fields["trace:valid"].groups()
    check(v[0] == tid and v[1] != pid and v[2] == "01",
          "valid: same trace id, a new parent id (cgrpc's span), sampled kept")
    i = fields["trace:invalid"].groups()
    check(i[0] != tid and i[0] != tid.upper().lower(), "invalid (upper case): a new trace")
    u = fields["trace:unsampled"].groups()
    check(u[0] == tid and u[2] == "00", "unsampled: same trace, flags 00 kept")
    n = fields["trace:none"].groups()
    check(n[0] not in (tid, i[0]), "none: a new trace of its own")
    return 0 if ok else 1


if __name__ == "__main__":
    mode = sys.argv[2]
    sys.exit(serve(sys.argv) if mode == "server" else trace(sys.argv) if mode == "trace"
             else dedup(sys.argv))
