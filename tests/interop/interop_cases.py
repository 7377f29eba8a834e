"""The interop test cases cgrpc runs, shared by grpcio_client.py and run_matrix.py.

Names and semantics follow gRPC's doc/interop-test-descriptions.md; where we
adapt or extend a case, grpcio_client.py says how (and interop_client.c and
grpcjs_client.js do the same: the three clients know exactly these cases, in
this order).  This module imports nothing outside the standard library, so
the driver can use it without grpcio.
"""

# The official cases that need neither cloud credentials nor compression:
# what `--test_case=all` runs.
OFFICIAL_CASES = (
    "empty_unary",
    "large_unary",
    "client_streaming",
    "server_streaming",
    "ping_pong",
    "empty_stream",
    "custom_metadata",
    "status_code_and_message",
    "special_status_message",
    "unimplemented_method",
    "unimplemented_service",
    "cancel_after_begin",
    "cancel_after_first_response",
    "timeout_on_sleeping_server",
)

# cgrpc's own cases, for server features no official case exercises:
# - half_duplex: HalfDuplexCall (the server answers only after the half-close);
# - server_streaming_with_interval: ResponseParameters.interval_us;
# - timeout_on_sleeping_server_unary: a unary call's deadline expiring while
#   the server really sleeps on it (request metadata x-cgrpc-test-sleep-ms,
#   our test servers' extension), then the server must go on serving.
EXTRA_CASES = (
    "half_duplex",
    "server_streaming_with_interval",
    "timeout_on_sleeping_server_unary",
)

# Named groups a --test_case (or the driver's --cases) may give.
GROUPS = {
    "all": OFFICIAL_CASES,
    "extra": EXTRA_CASES,
    "everything": OFFICIAL_CASES + EXTRA_CASES,
}


def expand(names):
    """Expands group names in an iterable of case names, keeping the order
    and dropping repeats.  Raises ValueError on an unknown name."""
    known = set(OFFICIAL_CASES) | set(EXTRA_CASES)
    out = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        for case in GROUPS.get(name, (name,)):
            if case not in known:
                raise ValueError("unknown test case %r" % case)
            if case not in out:
                out.append(case)
    return out
