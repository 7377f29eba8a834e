"""The interop test cases cgrpc runs, shared by grpcio_client.py and run_matrix.py.

Names and semantics follow gRPC's doc/interop-test-descriptions.md; where we
adapt or extend a case, grpcio_client.py says how (and interop_client.c does
the same).  This module imports nothing outside the standard library, so the
driver can use it without grpcio.
"""

# What `--test_case=all` runs and what the matrix runs: the unary cases.
UNARY_CASES = (
    "empty_unary",
    "large_unary",
    "status_code_and_message",
    "special_status_message",
    "custom_metadata",
    "unimplemented_method",
    "unimplemented_service",
    "timeout_on_sleeping_server",
)

# Streaming cases (next milestone): only the Python peers know them today.
# The two *_streaming names are the streaming halves of custom_metadata and
# status_code_and_message, which the official doc runs in the same case.
STREAMING_CASES = (
    "client_streaming",
    "server_streaming",
    "ping_pong",
    "empty_stream",
    "half_duplex",
    "cancel_after_begin",
    "cancel_after_first_response",
    "timeout_on_sleeping_server_streaming",
    "custom_metadata_streaming",
    "status_code_and_message_streaming",
)

# Named groups a --test_case (or the driver's --cases) may give.
GROUPS = {
    "all": UNARY_CASES,
    "all_streaming": STREAMING_CASES,
    "everything": UNARY_CASES + STREAMING_CASES,
}


def expand(names):
    """Expands group names in an iterable of case names, keeping the order
    and dropping repeats.  Raises ValueError on an unknown name."""
    known = set(UNARY_CASES) | set(STREAMING_CASES)
    out = []
    for name in names:
        for case in GROUPS.get(name, (name,)):
            if case not in known:
                raise ValueError("unknown test case %r" % case)
            if case not in out:
                out.append(case)
    return out
