#!/usr/bin/python3
"""gRPC interop test client on grpcio (the grpc C-core): a reference peer for cgrpc.

Runs the cases of gRPC's doc/interop-test-descriptions.md against a server
of grpc.testing.TestService, in the order given: `--test_case=all` runs the
official cases that need no cloud credentials, `compression` the four
compression cases among them, `extra` our own cases, `everything` all of
them (see interop_cases.py).  interop_client.c and grpcjs_client.js run the
same cases the same way.  Where we go beyond the official descriptions, or
fall short of them:

- status_code_and_message: besides "test status message", both parts (the
  UnaryCall and the FullDuplexCall one) also send the special_status_message
  text and a message full of '%' signs, which catch percent-encoding bugs
  (and printf-style misuse).
- timeout_on_sleeping_server: as described (FullDuplexCall, 1 ms deadline).
- client_compressed_unary: as described, probe included; compression= on
  each call says how the request goes (Gzip or NoCompression).
- client_compressed_streaming: not possible -- grpcio's client cannot send
  one message of a compressed stream uncompressed; the case fails saying so
  (run_matrix.py skips it for this client).
- server_compressed_unary, server_compressed_streaming: grpcio does not tell
  whether a response arrived compressed, so only the responses are checked
  (a server that compresses badly still fails: they must decode).
- extra cases: half_duplex (HalfDuplexCall: four requests, half-close, four
  responses), server_streaming_with_interval (three responses 100 ms apart:
  the server must observe interval_us), timeout_on_sleeping_server_unary
  (UnaryCall with request metadata `x-cgrpc-test-sleep-ms: 2000`, our test
  servers' extension, and a 100 ms deadline: DEADLINE_EXCEEDED within
  bounds, then the server must still answer).

TLS as in interop_client.c: --use_tls (alone or =true) with the roots in
--ca_file (default: grpcio's), --server_host_override as the name the
server's certificate must carry (grpc.ssl_target_name_override, which grpcio
also sends as the :authority), and for mTLS the client's certificate chain
and key in --tls_client_cert_file and --tls_client_key_file
(grpc.ssl_channel_credentials).

Prints one line per case, `PASS <case>` or `FAIL <case>: <why>`, and exits 0
only if every case passed (2 on bad usage).
"""

import argparse
import os
import queue
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

import interop_cases  # noqa: E402
import interop_pb  # noqa: E402

empty_pb2, messages_pb2, test_pb2_grpc = interop_pb.load()

ECHO_INITIAL_KEY = "x-grpc-test-echo-initial"
ECHO_INITIAL_VALUE = "test_initial_metadata_value"
ECHO_TRAILING_KEY = "x-grpc-test-echo-trailing-bin"
ECHO_TRAILING_VALUE = b"\xab\xab\xab"
SLEEP_KEY = "x-cgrpc-test-sleep-ms"

STATUS_MESSAGE = "test status message"
SPECIAL_STATUS_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"
PERCENT_STATUS_MESSAGE = "100% sure: %25 stays %25, %s %d %n %% and %zz are literal, as is a final %"

# Bounds for timeout_on_sleeping_server_unary (deadline 100 ms, server sleeps 2 s).
SLEEP_DEADLINE_S = 0.1
SLEEP_MIN_S = 0.05
SLEEP_MAX_S = 1.5

# server_streaming_with_interval: interval_us of each response, and how much
# earlier than (i + 1) intervals response i may arrive (clock granularity).
INTERVAL_US = 100000
INTERVAL_SLACK_S = 0.005


class Failure(Exception):
    pass


def expect(cond, why, *args):
    if not cond:
        raise Failure(why % args if args else why)


def zeros(n):
    return messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=bytes(n))


def check_payload(payload, size, what="response"):
    expect(payload.type == messages_pb2.COMPRESSABLE, "%s payload type %d", what, payload.type)
    expect(len(payload.body) == size, "%s payload is %d bytes, want %d", what,
           len(payload.body), size)
    expect(payload.body.count(0) == size, "%s payload is not all zero bytes", what)


def find_metadata(metadata, key):
    for k, v in metadata or ():
        if k == key:
            return v
    return None


def check_echoed_metadata(call):
    initial = find_metadata(call.initial_metadata(), ECHO_INITIAL_KEY)
    expect(initial == ECHO_INITIAL_VALUE, "initial metadata %s is %r, want %r",
           ECHO_INITIAL_KEY, initial, ECHO_INITIAL_VALUE)
    trailing = find_metadata(call.trailing_metadata(), ECHO_TRAILING_KEY)
    expect(trailing == ECHO_TRAILING_VALUE, "trailing metadata %s is %r, want %r",
           ECHO_TRAILING_KEY, trailing, ECHO_TRAILING_VALUE)


def expect_error(fn, code, message=None):
    """Runs fn(); it must fail with code (and message, if not None)."""
    try:
        fn()
    except grpc.RpcError as e:
        expect(e.code() == code, "status %s (%r), want %s", e.code().name, e.details(), code.name)
        if message is not None:
            expect(e.details() == message, "status message %r, want %r", e.details(), message)
        return e
    raise Failure("call succeeded, want %s" % code.name)


class Pipe:
    """A request iterator fed one message at a time (for ping-pong calls)."""
    _END = object()

    def __init__(self):
        self._q = queue.Queue()

    def __iter__(self):
        return self

    def __next__(self):
        item = self._q.get()
        if item is self._END:
            raise StopIteration
        return item

    def add(self, request):
        self._q.put(request)

    def close(self):
        self._q.put(self._END)


def large_request():
    return messages_pb2.SimpleRequest(response_type=messages_pb2.COMPRESSABLE,
                                      response_size=314159, payload=zeros(271828))


def output_request(response_sizes, request_size=0, interval_us=0, status=None):
    """A StreamingOutputCallRequest asking for responses of response_sizes."""
    request = messages_pb2.StreamingOutputCallRequest(
        response_type=messages_pb2.COMPRESSABLE,
        response_parameters=[messages_pb2.ResponseParameters(size=n, interval_us=interval_us)
                             for n in response_sizes])
    if request_size:
        request.payload.CopyFrom(zeros(request_size))
    if status is not None:
        request.response_status.CopyFrom(messages_pb2.EchoStatus(code=status[0],
                                                                 message=status[1]))
    return request


ECHO_METADATA = ((ECHO_INITIAL_KEY, ECHO_INITIAL_VALUE), (ECHO_TRAILING_KEY, ECHO_TRAILING_VALUE))
STATUS_MESSAGES = (STATUS_MESSAGE, SPECIAL_STATUS_MESSAGE, PERCENT_STATUS_MESSAGE)


class Cases:
    def __init__(self, channel):
        self.stub = test_pb2_grpc.TestServiceStub(channel)
        self.unimplemented = test_pb2_grpc.UnimplementedServiceStub(channel)

    def _check_responses(self, responses, sizes):
        expect(len(responses) == len(sizes), "%d responses, want %d", len(responses), len(sizes))
        for i, (response, size) in enumerate(zip(responses, sizes)):
            check_payload(response.payload, size, "response %d" % i)

    def _ping_pong(self, call, pipe, exchanges):
        for i, (request_size, response_size) in enumerate(exchanges):
            pipe.add(output_request((response_size,), request_size))
            response = next(call, None)
            expect(response is not None, "stream ended before response %d", i)
            check_payload(response.payload, response_size, "response %d" % i)

    # ---- the official cases -------------------------------------------------

    def empty_unary(self):
        response = self.stub.EmptyCall(empty_pb2.Empty())
        expect(isinstance(response, empty_pb2.Empty), "response is %r", type(response))

    def large_unary(self):
        response = self.stub.UnaryCall(large_request())
        check_payload(response.payload, 314159)

    def client_streaming(self):
        requests = (messages_pb2.StreamingInputCallRequest(payload=zeros(n))
                    for n in (27182, 8, 1828, 45904))
        response = self.stub.StreamingInputCall(requests)
        expect(response.aggregated_payload_size == 74922, "aggregated_payload_size %d, want 74922",
               response.aggregated_payload_size)

    def server_streaming(self):
        sizes = (31415, 9, 2653, 58979)
        responses = list(self.stub.StreamingOutputCall(output_request(sizes)))
        self._check_responses(responses, sizes)

    def ping_pong(self):
        pipe = Pipe()
        call = self.stub.FullDuplexCall(pipe)
        try:
            self._ping_pong(call, pipe, ((27182, 31415), (8, 9), (1828, 2653), (45904, 58979)))
            pipe.close()
            extra = list(call)
            expect(not extra, "%d responses more than expected", len(extra))
            expect(call.code() == grpc.StatusCode.OK, "status %s", call.code())
        finally:
            pipe.close()
            call.cancel()

    def empty_stream(self):
        call = self.stub.FullDuplexCall(iter(()))
        responses = list(call)
        expect(not responses, "%d responses, want 0", len(responses))
        expect(call.code() == grpc.StatusCode.OK, "status %s", call.code())

    def custom_metadata(self):
        # UnaryCall
        response, call = self.stub.UnaryCall.with_call(large_request(), metadata=ECHO_METADATA)
        check_payload(response.payload, 314159)
        try:
            check_echoed_metadata(call)
        except Failure as e:
            raise Failure("UnaryCall: %s" % e)
        # FullDuplexCall
        call = self.stub.FullDuplexCall(iter((output_request((314159,), 271828),)),
                                        metadata=ECHO_METADATA)
        responses = list(call)
        self._check_responses(responses, (314159,))
        try:
            check_echoed_metadata(call)
        except Failure as e:
            raise Failure("FullDuplexCall: %s" % e)

    def _echo_status_unary(self, message):
        request = messages_pb2.SimpleRequest(
            response_status=messages_pb2.EchoStatus(code=2, message=message))
        expect_error(lambda: self.stub.UnaryCall(request), grpc.StatusCode.UNKNOWN, message)

    def _echo_status_full_duplex(self, message):
        request = output_request((), status=(2, message))
        try:
            expect_error(lambda: list(self.stub.FullDuplexCall(iter((request,)))),
                         grpc.StatusCode.UNKNOWN, message)
        except Failure as e:
            raise Failure("FullDuplexCall: %s" % e)

    def status_code_and_message(self):
        for message in STATUS_MESSAGES:
            self._echo_status_unary(message)
        for message in STATUS_MESSAGES:
            self._echo_status_full_duplex(message)

    def special_status_message(self):
        self._echo_status_unary(SPECIAL_STATUS_MESSAGE)

    def unimplemented_method(self):
        expect_error(lambda: self.stub.UnimplementedCall(empty_pb2.Empty()),
                     grpc.StatusCode.UNIMPLEMENTED)

    def unimplemented_service(self):
        expect_error(lambda: self.unimplemented.UnimplementedCall(empty_pb2.Empty()),
                     grpc.StatusCode.UNIMPLEMENTED)

    def cancel_after_begin(self):
        pipe = Pipe()
        future = self.stub.StreamingInputCall.future(pipe)
        try:
            future.cancel()
            expect(future.cancelled(), "call not cancelled")
            expect(future.code() == grpc.StatusCode.CANCELLED, "status %s, want CANCELLED",
                   future.code())
        finally:
            pipe.close()

    def cancel_after_first_response(self):
        pipe = Pipe()
        call = self.stub.FullDuplexCall(pipe)
        try:
            self._ping_pong(call, pipe, ((27182, 31415),))
            call.cancel()
            expect_error(lambda: next(call), grpc.StatusCode.CANCELLED)
        finally:
            pipe.close()

    def timeout_on_sleeping_server(self):
        pipe = Pipe()
        pipe.add(messages_pb2.StreamingOutputCallRequest(payload=zeros(27182)))
        call = self.stub.FullDuplexCall(pipe, timeout=0.001)
        try:
            expect_error(lambda: next(call), grpc.StatusCode.DEADLINE_EXCEEDED)
        finally:
            pipe.close()
            call.cancel()

    # ---- the compression cases ----------------------------------------------

    def _compressed_unary(self, compression, response_code=grpc.StatusCode.OK, **fields):
        request = large_request()
        for name, value in fields.items():
            getattr(request, name).CopyFrom(messages_pb2.BoolValue(value=value))
        if response_code != grpc.StatusCode.OK:
            expect_error(lambda: self.stub.UnaryCall(request, compression=compression),
                         response_code)
            return
        response = self.stub.UnaryCall(request, compression=compression)
        check_payload(response.payload, 314159)

    def client_compressed_unary(self):
        steps = (
            # The probe: a server that cannot tell how a request came fails here.
            ("probe (uncompressed, expect_compressed true)", grpc.Compression.NoCompression,
             True, grpc.StatusCode.INVALID_ARGUMENT),
            ("gzip request, expect_compressed true", grpc.Compression.Gzip, True,
             grpc.StatusCode.OK),
            ("uncompressed request, expect_compressed false", grpc.Compression.NoCompression,
             False, grpc.StatusCode.OK),
        )
        for what, compression, expected, code in steps:
            try:
                self._compressed_unary(compression, code, expect_compressed=expected)
            except Failure as e:
                raise Failure("%s: %s" % (what, e))
            except grpc.RpcError as e:
                raise Failure("%s: status %s (%r)" % (what, e.code().name, e.details()))

    def server_compressed_unary(self):
        for value in (True, False):
            try:
                self._compressed_unary(grpc.Compression.NoCompression,
                                       response_compressed=value)
            except Failure as e:
                raise Failure("response_compressed %s: %s" % (value, e))

    def client_compressed_streaming(self):
        raise Failure("grpcio's client cannot send one message of a compressed stream "
                      "uncompressed (no per-message flag)")

    def server_compressed_streaming(self):
        sizes = (31415, 92653)
        request = messages_pb2.StreamingOutputCallRequest(
            response_type=messages_pb2.COMPRESSABLE,
            response_parameters=[
                messages_pb2.ResponseParameters(size=31415,
                                                compressed=messages_pb2.BoolValue(value=True)),
                messages_pb2.ResponseParameters(size=92653,
                                                compressed=messages_pb2.BoolValue(value=False)),
            ])
        responses = list(self.stub.StreamingOutputCall(request))
        self._check_responses(responses, sizes)

    # ---- our extra cases -----------------------------------------------------

    def half_duplex(self):
        sizes = (31415, 9, 2653, 58979)
        requests = [output_request((n,), 100) for n in sizes]
        responses = list(self.stub.HalfDuplexCall(iter(requests)))
        self._check_responses(responses, sizes)

    def server_streaming_with_interval(self):
        sizes = (31415, 9, 2653)
        start = time.monotonic()
        times = []
        responses = []
        for response in self.stub.StreamingOutputCall(
                output_request(sizes, interval_us=INTERVAL_US)):
            times.append(time.monotonic() - start)
            responses.append(response)
        self._check_responses(responses, sizes)
        for i, t in enumerate(times):
            want = (i + 1) * INTERVAL_US / 1e6 - INTERVAL_SLACK_S
            expect(t >= want, "response %d after %.3f s, want at least %.3f s", i, t, want)

    def timeout_on_sleeping_server_unary(self):
        start = time.monotonic()
        expect_error(lambda: self.stub.UnaryCall(messages_pb2.SimpleRequest(),
                                                 timeout=SLEEP_DEADLINE_S,
                                                 metadata=((SLEEP_KEY, "2000"),)),
                     grpc.StatusCode.DEADLINE_EXCEEDED)
        elapsed = time.monotonic() - start
        expect(SLEEP_MIN_S <= elapsed < SLEEP_MAX_S,
               "DEADLINE_EXCEEDED after %.3f s, want %.2f to %.2f s with a %.2f s deadline",
               elapsed, SLEEP_MIN_S, SLEEP_MAX_S, SLEEP_DEADLINE_S)
        # The server is still sleeping on the abandoned call; it must go on serving.
        try:
            self.stub.EmptyCall(empty_pb2.Empty(), timeout=5)
        except grpc.RpcError as e:
            raise Failure("EmptyCall after the timeout: status %s: %r" % (e.code().name,
                                                                           e.details()))


def one_line(text):
    return " ".join(str(text).splitlines()) or "(no detail)"


def run_case(cases, name):
    try:
        getattr(cases, name)()
    except Failure as e:
        return "FAIL %s: %s" % (name, one_line(e))
    except grpc.RpcError as e:
        return "FAIL %s: unexpected status %s: %r" % (name, e.code().name, e.details())
    except Exception as e:  # report any bug in the case as its failure
        return "FAIL %s: %s: %s" % (name, type(e).__name__, one_line(e))
    return "PASS %s" % name


def parse_bool(text):
    """A flag's boolean value as grpc's programs take it; ValueError if none."""
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise ValueError(text)


def read_file(path):
    """The bytes of path, or None when path is None."""
    if path is None:
        return None
    with open(path, "rb") as f:
        return f.read()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server_host", default="127.0.0.1")
    parser.add_argument("--server_port", type=int, required=True)
    parser.add_argument("--server_host_override", default=None,
                        help="the :authority to send (default: host:port)")
    parser.add_argument("--test_case", default="all",
                        help="a case, or a comma-separated list; groups: %s"
                        % ", ".join(sorted(interop_cases.GROUPS)))
    parser.add_argument("--use_tls", nargs="?", const="true", default="false",
                        help="TLS (alone, or =true); default false")
    parser.add_argument("--use_test_ca", nargs="?", const="true", default="false",
                        help="accepted; there is no built-in test CA, so true needs --ca_file")
    parser.add_argument("--ca_file", default=None,
                        help="roots the server's certificate must chain to (PEM)")
    parser.add_argument("--tls_client_cert_file", default=None,
                        help="mTLS: the client's certificate chain (PEM)")
    parser.add_argument("--tls_client_key_file", default=None,
                        help="mTLS: the client's private key (PEM)")
    args = parser.parse_args()
    try:
        use_tls = parse_bool(args.use_tls)
        use_test_ca = parse_bool(args.use_test_ca)
    except ValueError as e:
        parser.error("bad boolean %s: want true or false" % e)
    if not use_tls and (args.ca_file or args.tls_client_cert_file or args.tls_client_key_file):
        parser.error("--ca_file and --tls_client_*_file need --use_tls")
    if bool(args.tls_client_cert_file) != bool(args.tls_client_key_file):
        parser.error("--tls_client_cert_file and --tls_client_key_file go together")
    if use_tls and use_test_ca and not args.ca_file:
        parser.error("--use_test_ca: there is no built-in test CA; give --ca_file")
    try:
        names = interop_cases.expand(args.test_case.split(","))
    except ValueError as e:
        parser.error(str(e))

    host = args.server_host
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host
    options = []
    if args.server_host_override:
        options.append(("grpc.default_authority", args.server_host_override))
        if use_tls:
            options.append(("grpc.ssl_target_name_override", args.server_host_override))
    target = "%s:%d" % (host, args.server_port)
    if use_tls:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=read_file(args.ca_file),
            private_key=read_file(args.tls_client_key_file),
            certificate_chain=read_file(args.tls_client_cert_file))
        channel = grpc.secure_channel(target, credentials, options=options)
    else:
        channel = grpc.insecure_channel(target, options=options)
    ok = True
    with channel:
        cases = Cases(channel)
        for name in names:
            line = run_case(cases, name)
            ok = ok and line.startswith("PASS ")
            print(line, flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
