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

GEN is the directory with the generated faulty_pb2*.py (retry_vs_grpcio.sh makes it).
"""
import signal
import sys
import threading
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


if __name__ == "__main__":
    sys.exit(serve(sys.argv) if sys.argv[2] == "server" else dedup(sys.argv))
