#!/usr/bin/python3
"""gRPC interop test server on grpcio (the grpc C-core): a reference peer for cgrpc.

Implements grpc.testing.TestService as gRPC's doc/interop-test-descriptions.md
describes the server features: EmptyCall, UnaryCall (response_size, payload,
response_type), CacheableUnaryCall, StreamingOutputCall (with interval_us),
StreamingInputCall, FullDuplexCall, HalfDuplexCall, Echo Status and Echo
Metadata on every method, and CompressedResponse: UnaryCall's
response_compressed (gzip by context.set_compression, or none), and in the
streaming methods ResponseParameters.compressed (true: the call compresses
with gzip from then on; false: context.disable_next_message_compression).
UnimplementedCall and grpc.testing.UnimplementedService are left
unimplemented on purpose.  Not implemented: CompressedRequest (grpcio does
not tell a handler whether a request arrived compressed -- nor shows it
grpc-encoding -- so expect_compressed is ignored), fill_username and
fill_oauth_scope (no auth here).

cgrpc test extension: request metadata `x-cgrpc-test-sleep-ms: N` makes every
method sleep N milliseconds (or until the call is cancelled or its deadline
passes) before doing anything else.  Our extra case
timeout_on_sleeping_server_unary uses it on UnaryCall.

Echo Status: UnaryCall, FullDuplexCall and HalfDuplexCall end the call with
a request's response_status (non-zero code) before answering that request;
StreamingOutputCall sends its responses first, then ends with it.

Usage: grpcio_server.py [--port N] [--host H]
                        [--use_tls[=true|false] --tls_cert_file F --tls_key_file F
                         [--tls_client_ca_file F]]
TLS as in interop_server.c: --use_tls (alone or =true) serves with the
certificate chain and key in --tls_cert_file and --tls_key_file
(grpc.ssl_server_credentials); --tls_client_ca_file F requires a client
certificate that chains to the roots in F (mTLS, require_client_auth).
Prints exactly one line `LISTENING <port>` on stdout once serving; stops
gracefully and exits 0 on SIGTERM or SIGINT.
"""

import argparse
import os
import signal
import sys
import threading
import time
from concurrent import futures

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

import interop_pb  # noqa: E402

empty_pb2, messages_pb2, test_pb2_grpc = interop_pb.load()

ECHO_INITIAL_KEY = "x-grpc-test-echo-initial"
ECHO_TRAILING_KEY = "x-grpc-test-echo-trailing-bin"
SLEEP_KEY = "x-cgrpc-test-sleep-ms"  # our extension, see the module docstring

_CODES = {code.value[0]: code for code in grpc.StatusCode}


def _metadata_value(context, key):
    for k, v in context.invocation_metadata():
        if k == key:
            return v
    return None


def _prologue(context, initial_metadata=()):
    """What every method does first: the sleep extension, then Echo Metadata
    (initial now, with initial_metadata; trailing when the call ends,
    whatever its status)."""
    sleep_ms = _metadata_value(context, SLEEP_KEY)
    if sleep_ms is not None:
        try:
            end = time.monotonic() + int(sleep_ms) / 1000.0
        except ValueError:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          "bad %s: %r" % (SLEEP_KEY, sleep_ms))
        while context.is_active():
            left = end - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(left, 0.01))
    initial = list(initial_metadata)
    echo = _metadata_value(context, ECHO_INITIAL_KEY)
    if echo is not None:
        initial.append((ECHO_INITIAL_KEY, echo))
    if initial:
        context.send_initial_metadata(tuple(initial))
    trailing = _metadata_value(context, ECHO_TRAILING_KEY)
    if trailing is not None:
        context.set_trailing_metadata(((ECHO_TRAILING_KEY, trailing),))


def _maybe_echo_status(request, context):
    """Echo Status: ends the call with the requested code and message."""
    if not request.HasField("response_status"):
        return
    status = request.response_status
    if status.code == 0:
        return
    code = _CODES.get(status.code)
    if code is None:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                      "response_status.code %d is not a status code" % status.code)
    context.abort(code, status.message)


def _check_response_type(request, context):
    if request.response_type != messages_pb2.COMPRESSABLE:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                      "unsupported response_type %d" % request.response_type)


def _payload(size, context):
    if size < 0:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "negative size %d" % size)
    return messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=bytes(size))


class TestService(test_pb2_grpc.TestServiceServicer):
    def EmptyCall(self, request, context):
        _prologue(context)
        return empty_pb2.Empty()

    def UnaryCall(self, request, context):
        _prologue(context)
        _maybe_echo_status(request, context)
        _check_response_type(request, context)
        if request.HasField("response_compressed"):
            context.set_compression(grpc.Compression.Gzip if request.response_compressed.value
                                    else grpc.Compression.NoCompression)
        response = messages_pb2.SimpleResponse()
        if request.response_size > 0:
            response.payload.CopyFrom(_payload(request.response_size, context))
        if request.fill_server_id:
            response.server_id = "grpcio-interop-server"
        return response

    def CacheableUnaryCall(self, request, context):
        _prologue(context, (("cache-control", "max-age=60"),))
        body = str(time.time_ns()).encode("ascii")
        return messages_pb2.SimpleResponse(
            payload=messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=body))

    def _responses(self, request, context):
        """One response per ResponseParameters, each after its interval_us."""
        _check_response_type(request, context)
        for params in request.response_parameters:
            if params.interval_us > 0:
                time.sleep(params.interval_us / 1e6)
            if params.HasField("compressed"):
                if params.compressed.value:
                    context.set_compression(grpc.Compression.Gzip)
                else:
                    context.disable_next_message_compression()
            yield messages_pb2.StreamingOutputCallResponse(payload=_payload(params.size, context))

    def StreamingOutputCall(self, request, context):
        _prologue(context)
        for response in self._responses(request, context):
            yield response
        _maybe_echo_status(request, context)

    def StreamingInputCall(self, request_iterator, context):
        _prologue(context)
        total = 0
        for request in request_iterator:
            total += len(request.payload.body)
        return messages_pb2.StreamingInputCallResponse(aggregated_payload_size=total)

    def FullDuplexCall(self, request_iterator, context):
        _prologue(context)
        for request in request_iterator:
            _maybe_echo_status(request, context)
            for response in self._responses(request, context):
                yield response

    def HalfDuplexCall(self, request_iterator, context):
        _prologue(context)
        requests = list(request_iterator)
        for request in requests:
            _maybe_echo_status(request, context)
            for response in self._responses(request, context):
                yield response


def parse_bool(text):
    """A flag's boolean value as grpc's programs take it; ValueError if none."""
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise ValueError(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--use_tls", nargs="?", const="true", default="false",
                        help="serve TLS (alone, or =true); default false")
    parser.add_argument("--tls_cert_file", default=None, help="certificate chain (PEM)")
    parser.add_argument("--tls_key_file", default=None, help="private key (PEM)")
    parser.add_argument("--tls_client_ca_file", default=None,
                        help="require client certificates chaining to these roots (mTLS)")
    args = parser.parse_args()
    try:
        use_tls = parse_bool(args.use_tls)
    except ValueError:
        parser.error("--use_tls=%s: want true or false" % args.use_tls)
    credentials = None
    if use_tls:
        if not args.tls_cert_file or not args.tls_key_file:
            parser.error("--use_tls needs --tls_cert_file and --tls_key_file")
        with open(args.tls_key_file, "rb") as f:
            key = f.read()
        with open(args.tls_cert_file, "rb") as f:
            chain = f.read()
        client_ca = None
        if args.tls_client_ca_file:
            with open(args.tls_client_ca_file, "rb") as f:
                client_ca = f.read()
        credentials = grpc.ssl_server_credentials(
            [(key, chain)], root_certificates=client_ca,
            require_client_auth=client_ca is not None)
    elif args.tls_cert_file or args.tls_key_file or args.tls_client_ca_file:
        parser.error("the --tls_*_file flags need --use_tls")

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    test_pb2_grpc.add_TestServiceServicer_to_server(TestService(), server)
    host = args.host
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host
    try:
        if credentials is None:
            port = server.add_insecure_port("%s:%d" % (host, args.port))
        else:
            port = server.add_secure_port("%s:%d" % (host, args.port), credentials)
    except RuntimeError as e:
        port = 0
        print("grpcio_server: %s" % e, file=sys.stderr)
    if port == 0:
        print("grpcio_server: cannot listen on %s:%d" % (host, args.port), file=sys.stderr)
        return 1
    server.start()
    print("LISTENING %d" % port, flush=True)
    while not stop.wait(1.0):
        pass
    server.stop(grace=1.0).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
