"""The interop test cases cgrpc runs, shared by grpcio_client.py and run_matrix.py.

Names and semantics follow gRPC's doc/interop-test-descriptions.md; where we
adapt or extend a case, grpcio_client.py says how (and interop_client.c and
grpcjs_client.js do the same: the three clients know exactly these cases, in
this order).  This module imports nothing outside the standard library, so
the driver can use it without grpcio.
"""

# The official cases that need no cloud credentials: what `--test_case=all`
# runs.  The compression cases come last (COMPRESSION_CASES).
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
    "client_compressed_unary",
    "server_compressed_unary",
    "client_compressed_streaming",
    "server_compressed_streaming",
)
COMPRESSION_CASES = OFFICIAL_CASES[-4:]

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
    "compression": COMPRESSION_CASES,
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


# ---- who can run the compression cases -------------------------------------
#
# The compression cases need features not every implementation's API offers,
# on either side.  A pairing runs a case only when both sides have what it
# needs; otherwise run_matrix.py skips it, saying why.  The implementations
# are named as run_matrix.py names them: "cgrpc", "grpcio", "grpcjs".

# What a client can do.
CLIENT_FEATURES = {
    # Call options compress a call's requests (gzip); cgrpc_call_send_flags
    # sends one message of it plain; cgrpc_call_response_compressed tells how
    # each response arrived.
    "cgrpc": {"compress_requests", "compress_one_message", "see_response_compression"},
    # compression= on a call; no per-message flag on the client side, and no
    # way to see how a response arrived.
    "grpcio": {"compress_requests"},
    # The channel option grpc.default_compression_algorithm, and write flag
    # NoCompress for one message of a stream; no way to see how a response
    # arrived.
    "grpcjs": {"compress_requests", "compress_one_message"},
}

# What a server can do.
SERVER_FEATURES = {
    # cgrpc_server_call_request_compressed per message;
    # cgrpc_server_call_set_compression and CGRPC_SEND_NO_COMPRESS.
    "cgrpc": {"see_request_compression", "compress_responses"},
    # context.set_compression and context.disable_next_message_compression,
    # but a handler cannot tell how a request arrived.
    "grpcio": {"compress_responses"},
    # grpc-js 1.14 never compresses a response (its server writes the flag
    # as 0) and hides how a request arrived.
    "grpcjs": set(),
}

# What each case needs: (of the client, of the server).
CASE_NEEDS = {
    "client_compressed_unary": ({"compress_requests"}, {"see_request_compression"}),
    "client_compressed_streaming": ({"compress_requests", "compress_one_message"},
                                    {"see_request_compression"}),
    "server_compressed_unary": (set(), {"compress_responses"}),
    "server_compressed_streaming": (set(), {"compress_responses"}),
}

# The client checks a case only in part without this feature.
CASE_WANTS = {
    "server_compressed_unary": "see_response_compression",
    "server_compressed_streaming": "see_response_compression",
}

_LACKS = {
    "compress_requests": "cannot compress requests",
    "compress_one_message": "cannot send one message of a compressed stream uncompressed",
    "see_response_compression": "cannot see whether a response arrived compressed",
    "see_request_compression": "cannot tell whether a request arrived compressed, so it cannot "
                               "refuse the uncompressed expect_compressed probe",
    "compress_responses": "cannot compress responses",
}

_PARTLY = {
    "see_response_compression": "the client cannot see the compressed flag, so it checks "
                                "only that the responses decode",
}


def plan(case, client, server):
    """(skip, note) for case between a client and a server implementation
    (None for one not in the tables: then nothing is skipped).  skip is why
    the case cannot run, or None; note says what the client cannot check
    when the case runs, or None."""
    needs_client, needs_server = CASE_NEEDS.get(case, (set(), set()))
    why = []
    for side, name, table, needs in (("client", client, CLIENT_FEATURES, needs_client),
                                     ("server", server, SERVER_FEATURES, needs_server)):
        if name in table:
            why += ["the %s %s %s" % (name, side, _LACKS[feature])
                    for feature in sorted(needs - table[name])]
    if why:
        return "; ".join(why), None
    wants = CASE_WANTS.get(case)
    if wants is not None and client in CLIENT_FEATURES and wants not in CLIENT_FEATURES[client]:
        return None, "%s: %s" % (client, _PARTLY[wants])
    return None, None
