#!/usr/bin/python3
"""Python grpcio (grpc C-core) peers and an HTTP/2 frame-counting proxy for
keepalive_vs_grpcio.sh.

  keepalive_grpcio.py GEN server
      Serves faulty.Faulty (tests/e2e/faulty.proto) at grpcio's default settings: Try
      sends nothing for sleep_ms, then answers attempt 1.  Prints "LISTENING <port>";
      stops on SIGTERM.
  keepalive_grpcio.py GEN client --target HOST:PORT [--permit 0|1] [--idle-ms N]
                                 [--sleep-ms N [--calls N]] [--max-pings N] [--timeout S]
      A channel with keepalive_time_ms 1000 (and keepalive_permit_without_calls as
      given; everything else grpcio's defaults, unless --max-pings sets
      grpc.http2.max_pings_without_data).  With --idle-ms: a quick Try, then the
      connection idles that long; with --sleep-ms: --calls (1) Try calls, one after the
      other, that the server keeps quiet that long.  Exit 0 when every call is OK.
  keepalive_grpcio.py - proxy --upstream PORT --log FILE
      Passes TCP connections through to 127.0.0.1:PORT and logs, one line each, the
      PING frames (c2s/s2c PING or PING-ACK), GOAWAY frames (code, debug data) and
      HEADERS, DATA and connection WINDOW_UPDATE frames of both directions.  Prints "LISTENING <port>"; stops on SIGTERM.

GEN is the directory with the generated faulty_pb2*.py (common.sh's faulty_pygen).
"""
import signal
import socket
import sys
import threading
import time


def arg(argv, name, default):
    return type(default)(argv[argv.index(name) + 1]) if name in argv else default


# ---- the proxy -------------------------------------------------------------------------

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PING, GOAWAY, WINDOW_UPDATE = 0, 1, 6, 7, 8


class FrameLog:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.f = open(path, "w", buffering=1)
        self.t0 = time.monotonic()

    def write(self, conn, direction, what):
        with self.lock:
            self.f.write("%.3f conn%d %s %s\n" % (time.monotonic() - self.t0, conn, direction, what))


def pump(src, dst, log, conn, direction):
    """Copies src to dst, logging the PING and GOAWAY frames that pass (before passing
    them on, so that an answer is always logged after what it answers)."""
    buf = bytearray()
    preface = direction == "c2s"
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            buf += data
            if preface and len(buf) >= len(PREFACE):
                del buf[:len(PREFACE)]
                preface = False
            while not preface and len(buf) >= 9:
                length = int.from_bytes(buf[0:3], "big")
                if len(buf) < 9 + length:
                    break
                ftype, flags, hd_stream = buf[3], buf[4], bytes(buf[5:9])
                payload = bytes(buf[9:9 + length])
                del buf[:9 + length]
                if ftype == PING:
                    log.write(conn, direction, "PING-ACK" if flags & 1 else "PING")
                elif ftype in (DATA, HEADERS) or \
                        (ftype == WINDOW_UPDATE and int.from_bytes(hd_stream, "big") == 0):
                    # What clears a grpc-core server's ping strikes when it sends it.
                    log.write(conn, direction, ("DATA", "HEADERS")[ftype] if ftype < 2
                              else "WINDOW_UPDATE-0")
                elif ftype == GOAWAY:
                    code = int.from_bytes(payload[4:8], "big")
                    debug = payload[8:].decode("ascii", "replace")
                    log.write(conn, direction, "GOAWAY %d %s" % (code, debug or "-"))
            dst.sendall(data)
    except OSError:
        pass
    for s in (dst, src):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def proxy(argv):
    upstream = arg(argv, "--upstream", 0)
    log = FrameLog(arg(argv, "--log", ""))
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("LISTENING %d" % lsock.getsockname()[1], flush=True)
    n = 0
    while True:
        client, _ = lsock.accept()
        server = socket.create_connection(("127.0.0.1", upstream))
        for s in (client, server):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        n += 1
        log.write(n, "---", "ACCEPT")
        for src, dst, d in ((client, server, "c2s"), (server, client, "s2c")):
            threading.Thread(target=pump, args=(src, dst, log, n, d), daemon=True).start()


# ---- the grpcio peers ------------------------------------------------------------------

def load_stubs(gen):
    sys.path.insert(0, gen)
    global grpc, faulty_pb2, faulty_pb2_grpc
    import grpc
    import faulty_pb2
    import faulty_pb2_grpc


def serve(argv):
    from concurrent import futures

    class Faulty(faulty_pb2_grpc.FaultyServicer):
        def Try(self, request, context):
            time.sleep(request.sleep_ms / 1000.0)
            return faulty_pb2.TryReply(attempt=1)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    faulty_pb2_grpc.add_FaultyServicer_to_server(Faulty(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print("LISTENING %d" % port, flush=True)
    done.wait()
    server.stop(1).wait()
    return 0


def client(argv):
    target = arg(argv, "--target", "")
    options = [("grpc.keepalive_time_ms", 1000),
               ("grpc.keepalive_permit_without_calls", arg(argv, "--permit", 0))]
    if "--max-pings" in argv:
        options.append(("grpc.http2.max_pings_without_data", arg(argv, "--max-pings", 2)))
    sleep_ms, idle_ms = arg(argv, "--sleep-ms", 0), arg(argv, "--idle-ms", 0)
    timeout = arg(argv, "--timeout", 30.0)
    status = 0
    with grpc.insecure_channel(target, options=options) as channel:
        # grpcio's synchronous API reads from the connection only while a call waits; a
        # connectivity watcher keeps a thread polling it (else an idle connection never
        # sees its pings acked, and pings no more).
        channel.subscribe(lambda state: None)
        stub = faulty_pb2_grpc.FaultyStub(channel)
        calls = []
        if idle_ms > 0:
            calls.append(("quick call, then %d ms idle" % idle_ms, 0, idle_ms))
        for i in range(arg(argv, "--calls", 1) if sleep_ms > 0 else 0):
            calls.append(("call %d quiet for %d ms" % (i + 1, sleep_ms), sleep_ms, 0))
        for what, sleep, idle in calls:
            try:
                stub.Try(faulty_pb2.TryRequest(id="ka", sleep_ms=sleep), timeout=timeout)
                print("OK %s" % what, flush=True)
            except grpc.RpcError as e:
                print("FAIL %s: %s %s" % (what, e.code(), e.details()), flush=True)
                status = 1
            time.sleep(idle / 1000.0)
    return status


if __name__ == "__main__":
    if sys.argv[2] == "proxy":
        sys.exit(proxy(sys.argv))
    load_stubs(sys.argv[1])
    sys.exit(serve(sys.argv) if sys.argv[2] == "server" else client(sys.argv))
