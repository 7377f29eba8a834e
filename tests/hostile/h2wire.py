"""Raw HTTP/2 for the hostile-peer suite: frames built by hand (an attacker must be able to send
what a well-behaved library refuses to), a connection that records everything the server
answered, and the few gRPC and protobuf encodings the attacks need.

Only decoding the server's header blocks uses a library (hpack, from python3-h2): what we send
is encoded here, literally, so that each attack controls every byte of its header blocks."""

import collections
import errno
import gzip
import select
import socket
import struct
import time

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
END_STREAM = ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20

HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, \
    MAX_HEADER_LIST_SIZE = range(1, 7)

ERROR_NAMES = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
               "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL",
               "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY",
               "HTTP_1_1_REQUIRED"]
ERR = {name: code for code, name in enumerate(ERROR_NAMES)}


def error_name(code):
    return ERROR_NAMES[code] if 0 <= code < len(ERROR_NAMES) else "0x%x" % code


# ---- frames -------------------------------------------------------------------------------------

def frame(ftype, flags, stream, payload=b""):
    n = len(payload)
    return struct.pack(">BHBBI", n >> 16, n & 0xFFFF, ftype, flags, stream & 0x7FFFFFFF) + payload


def settings(pairs=(), ack=False):
    payload = b"".join(struct.pack(">HI", k, v) for k, v in pairs)
    return frame(SETTINGS, ACK if ack else 0, 0, payload)


def window_update(stream, increment):
    return frame(WINDOW_UPDATE, 0, stream, struct.pack(">I", increment & 0x7FFFFFFF))


def rst_stream(stream, code):
    return frame(RST_STREAM, 0, stream, struct.pack(">I", code))


def ping(opaque=b"hostile!", ack=False):
    return frame(PING, ACK if ack else 0, 0, opaque)


def data(stream, payload, end_stream=False):
    return frame(DATA, END_STREAM if end_stream else 0, stream, payload)


def headers(stream, block, end_stream=False, end_headers=True):
    return frame(HEADERS, (END_STREAM if end_stream else 0) | (END_HEADERS if end_headers else 0),
                 stream, block)


def continuation(stream, block, end_headers=False):
    return frame(CONTINUATION, END_HEADERS if end_headers else 0, stream, block)


# ---- HPACK, encoded by hand ---------------------------------------------------------------------

def hpack_int(value, prefix_bits, first):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append((value & 127) | 128)
        value >>= 7
    out.append(value)
    return bytes(out)


def _hstr(s):
    b = s if isinstance(s, bytes) else s.encode()
    return hpack_int(len(b), 7, 0) + b  # never Huffman: what we say is what it costs


def literal(name, value):
    """Literal without indexing, new name: touches no table, so a block can be sent again."""
    return b"\x00" + _hstr(name) + _hstr(value)


def literal_indexed(name, value):
    """Literal with incremental indexing: the server's decoder adds it to its dynamic table."""
    return b"\x40" + _hstr(name) + _hstr(value)


def indexed(index):
    return hpack_int(index, 7, 0x80)


FIRST_DYNAMIC_INDEX = 62


def request_block(path="/e2e.Echo/Echo", method="POST", content_type="application/grpc",
                  te="trailers", authority="127.0.0.1", timeout=None, encoding=None, extra=()):
    """A gRPC request's header block; None leaves a header out."""
    fields = [(":method", method), (":scheme", "http"), (":path", path), (":authority", authority)]
    fields += [("content-type", content_type), ("te", te), ("grpc-timeout", timeout),
               ("grpc-encoding", encoding)]
    fields += list(extra)
    return b"".join(literal(n, v) for n, v in fields if v is not None)


# ---- protobuf and gRPC messages -----------------------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb(*fields):
    """Fields (number, value): bytes/str length-delimited, int/bool varint; 0/empty omitted."""
    out = bytearray()
    for num, value in fields:
        if not value:
            continue
        if isinstance(value, (bytes, bytearray, str)):
            value = value.encode() if isinstance(value, str) else bytes(value)
            out += varint(num << 3 | 2) + varint(len(value)) + value
        else:
            out += varint(num << 3) + varint(int(value))
    return bytes(out)


def echo_request(payload=b"", response_size=0, status_code=0, sleep_ms=0):
    return pb((1, payload), (2, response_size), (3, status_code), (5, sleep_ms))


def download_request(count, size, sleep_ms=0, compression="", compress_all=False):
    return pb((1, count), (2, size), (3, sleep_ms), (5, compression), (6, compress_all))


def chunk(payload, seq=0):
    return pb((1, payload), (2, seq))


def grpc_message(msg, compressed=False, announce=None):
    """The 5-byte prefix and msg; announce overrides the length the prefix claims."""
    length = len(msg) if announce is None else announce
    return struct.pack(">BI", 1 if compressed else 0, length) + msg


def gzip_bytes(raw):
    return gzip.compress(raw, 9, mtime=0)


# ---- a connection that records what the server answers ------------------------------------------

class Stream:
    __slots__ = ("status", "grpc_status", "grpc_message", "rst", "data_bytes", "ended",
                 "header_blocks", "send_window", "tag", "opened", "body")

    def __init__(self, send_window, tag=None):
        self.status = self.grpc_status = self.grpc_message = self.rst = None
        self.data_bytes = 0
        self.ended = False
        self.header_blocks = 0
        self.send_window = send_window
        self.tag = tag
        self.opened = time.monotonic()
        self.body = None

    @property
    def over(self):
        return self.ended or self.rst is not None


class Conn:
    """One HTTP/2 connection to 127.0.0.1:port, non-blocking underneath.

    Records the server's answers in self.answers (a Counter shared with whoever passes one in):
    "GOAWAY <code>", "RST_STREAM <code>", "grpc-status N", "http N" (a :status other than 200),
    "closed" (EOF) or "reset" (ECONNRESET).  auto_ack answers SETTINGS and PING as a client must;
    auto_window gives back the window of every DATA frame received (a reader that keeps up);
    decode=False counts header blocks without decoding them, track=False keeps no state for
    streams it did not open with new_stream (both cheap, for floods that never look back).
    """

    def __init__(self, port, settings_pairs=((ENABLE_PUSH, 0),), answers=None, auto_ack=True,
                 auto_window=True, decode=True, track=True, rcvbuf=None, preface=True,
                 conn_window=0):
        self.answers = answers if answers is not None else collections.Counter()
        self.auto_ack = auto_ack
        self.auto_window = auto_window
        self.decode = decode
        self.track = track
        self.keep_data = False
        self.streams = {}
        self.next_id = 1
        self.inbuf = bytearray()
        self.outq = bytearray()
        self.blocks = {}  # stream id -> header block being received
        self.decoder = hpack.Decoder()
        self.decoder.max_header_list_size = 1 << 30
        self.decoder.max_allowed_table_size = 1 << 30
        self.closed = None
        self.goaway = None  # (code, last_stream_id, debug)
        self.server_settings = {}
        self.peer_initial_window = 65535  # what the server lets each stream send, until it says
        self.conn_send_window = 65535
        self.data_bytes = 0
        self.frames_in = collections.Counter()
        self.pings_acked = 0
        self.pending_window = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(5)
        self.sock.connect(("127.0.0.1", port))
        self.sock.setblocking(False)
        if preface:
            out = PREFACE + settings(settings_pairs)
            if conn_window > 0:
                out += window_update(0, conn_window)
            self.send(out, time.monotonic() + 5)

    def fileno(self):
        return self.sock.fileno()

    # ---- sending ----

    def new_stream(self, tag=None):
        sid = self.next_id
        self.next_id += 2
        self.streams[sid] = Stream(self.peer_initial_window, tag)
        return sid

    def send(self, buf, deadline=None, read=True):
        """Queues buf and writes what the socket takes; with a deadline, waits (reading, unless
        read is False) until all is written or the deadline passes.  Returns True when all of
        the queue went out."""
        if self.closed:
            return False
        self.outq += buf
        return self.flush(deadline, read)

    def flush(self, deadline=None, read=True):
        while self.outq and not self.closed:
            try:
                n = self.sock.send(self.outq)
                del self.outq[:n]
                continue
            except BlockingIOError:
                pass
            except OSError as e:
                self._lost(e)
                return False
            if deadline is None:
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.sock] if read else [], [self.sock], [], min(left, 0.1))
            if r:
                self.read_available()
        return not self.outq

    def send_data(self, sid, payload, end_stream=False):
        """DATA within the server's flow-control windows; returns the bytes it could send
        (0 when a window is shut)."""
        st = self.streams[sid]
        n = min(len(payload), st.send_window, self.conn_send_window, 16384)
        if n <= 0 and payload:
            return 0
        st.send_window -= n
        self.conn_send_window -= n
        self.send(data(sid, payload[:n], end_stream and n == len(payload)))
        return n

    # ---- receiving ----

    def pump(self, timeout=0.0):
        """Waits up to timeout for the socket to be readable, then reads all it has."""
        if self.closed:
            return
        if timeout > 0:
            r, _, _ = select.select([self.sock], [], [], timeout)
            if not r:
                self.flush()
                return
        self.read_available()

    def read_available(self):
        while not self.closed:
            try:
                chunk_ = self.sock.recv(1 << 20)
            except BlockingIOError:
                break
            except OSError as e:
                self._lost(e)
                break
            if not chunk_:
                self._lost(None)
                break
            self.inbuf += chunk_
            self._parse()
        if self.pending_window:
            self.outq += window_update(0, self.pending_window)
            self.pending_window = 0
        if self.outq and not self.closed:
            self.flush()

    def _lost(self, err):
        if self.closed:
            return
        self.closed = "closed" if err is None else (
            "reset" if getattr(err, "errno", None) in (errno.ECONNRESET, errno.EPIPE) else str(err))
        self.answers[self.closed] += 1
        try:
            self.sock.close()
        except OSError:
            pass

    def close(self):
        if not self.closed:
            self.closed = "closed by us"
            self.sock.close()

    def _parse(self):
        buf = self.inbuf
        off = 0
        while len(buf) - off >= 9:
            length = buf[off] << 16 | buf[off + 1] << 8 | buf[off + 2]
            if len(buf) - off - 9 < length:
                break
            ftype, flags = buf[off + 3], buf[off + 4]
            sid = struct.unpack_from(">I", buf, off + 5)[0] & 0x7FFFFFFF
            payload = bytes(buf[off + 9:off + 9 + length])
            off += 9 + length
            self._on_frame(ftype, flags, sid, payload)
        del buf[:off]

    def _stream(self, sid):
        st = self.streams.get(sid)
        if st is None:
            st = Stream(self.peer_initial_window)
            if self.track:
                self.streams[sid] = st
        return st

    def _on_frame(self, ftype, flags, sid, payload):
        self.frames_in[ftype] += 1
        if ftype == SETTINGS and not flags & ACK:
            for i in range(0, len(payload) - 5, 6):
                k, v = struct.unpack_from(">HI", payload, i)
                self.server_settings[k] = v
                if k == INITIAL_WINDOW_SIZE:
                    delta = v - self.peer_initial_window
                    self.peer_initial_window = v
                    for st in self.streams.values():
                        st.send_window += delta
            if self.auto_ack:
                self.outq += settings(ack=True)
        elif ftype == PING:
            if flags & ACK:
                self.pings_acked += 1
            elif self.auto_ack:
                self.outq += ping(payload, ack=True)
        elif ftype == GOAWAY:
            last, code = struct.unpack_from(">II", payload)
            self.goaway = (code, last & 0x7FFFFFFF, payload[8:])
            self.answers["GOAWAY " + error_name(code)] += 1
        elif ftype == RST_STREAM:
            code = struct.unpack_from(">I", payload)[0]
            st = self._stream(sid)
            if st.rst is None and not st.ended:
                self.answers["RST_STREAM " + error_name(code)] += 1
            st.rst = code
        elif ftype == WINDOW_UPDATE:
            inc = struct.unpack_from(">I", payload)[0] & 0x7FFFFFFF
            if sid == 0:
                self.conn_send_window += inc
            else:
                self._stream(sid).send_window += inc
        elif ftype in (HEADERS, CONTINUATION):
            if ftype == HEADERS:
                pad = payload[0] if flags & PADDED else 0
                start = (1 if flags & PADDED else 0) + (5 if flags & PRIORITY_FLAG else 0)
                self.blocks[sid] = [payload[start:len(payload) - pad], flags & END_STREAM]
            elif sid in self.blocks:
                self.blocks[sid][0] += payload
            if flags & END_HEADERS and sid in self.blocks:
                block, end = self.blocks.pop(sid)
                self._on_block(sid, block, end)
        elif ftype == DATA:
            st = self._stream(sid)
            n = len(payload)
            st.data_bytes += n
            self.data_bytes += n
            if self.keep_data:
                st.body = (st.body or b"") + payload
            if flags & END_STREAM:
                self._end(st)
            if self.auto_window and n > 0:
                self.pending_window += n
                if not st.over:
                    self.outq += window_update(sid, n)

    def _on_block(self, sid, block, end_stream):
        st = self._stream(sid)
        st.header_blocks += 1
        if self.decode:
            try:
                fields = dict(self.decoder.decode(block))
            except Exception:  # a block the library will not take: record it, carry on
                self.answers["undecodable headers"] += 1
                fields = {}
            if ":status" in fields:
                st.status = fields[":status"]
            if "grpc-status" in fields:
                st.grpc_status = int(fields["grpc-status"])
                st.grpc_message = fields.get("grpc-message", "")
        if end_stream:
            self._end(st)

    def _end(self, st):
        if st.ended:
            return
        st.ended = True
        if st.rst is not None:
            return
        if st.status not in (None, "200"):
            self.answers["http %s" % st.status] += 1
        elif st.grpc_status is not None:
            self.answers["grpc-status %d" % st.grpc_status] += 1
        elif self.decode:
            self.answers["ended without grpc-status"] += 1
        else:
            self.answers["ended"] += 1

    def barrier(self, timeout):
        """Sends a PING and waits for its ACK: the server has then read all we sent before.
        Returns True if the ACK came."""
        acked = self.pings_acked
        self.send(ping(b"barrier!"), time.monotonic() + timeout)
        deadline = time.monotonic() + timeout
        while not self.closed and self.pings_acked == acked and time.monotonic() < deadline:
            self.pump(0.05)
        return self.pings_acked > acked

    def open_streams(self):
        return [sid for sid, st in self.streams.items() if not st.over]


def unary(port, path, request, timeout=2.0):
    """A well-behaved unary call: (grpc-status, response message bytes), or (None, None)."""
    c = Conn(port)
    c.keep_data = True
    sid = c.new_stream()
    c.send(headers(sid, request_block(path=path)) + data(sid, grpc_message(request), True),
           time.monotonic() + timeout)
    end = time.monotonic() + timeout
    st = c.streams[sid]
    while not st.over and not c.closed and time.monotonic() < end:
        c.pump(0.05)
    c.close()
    if not st.ended:
        return None, None
    return st.grpc_status, (st.body or b"")[5:]


def pb_decode(buf):
    """A message's varint fields, {number: value} (others skipped)."""
    out, i = {}, 0
    while i < len(buf):
        key, i = _varint_at(buf, i)
        wire = key & 7
        if wire == 0:
            out[key >> 3], i = _varint_at(buf, i)
        elif wire == 2:
            n, i = _varint_at(buf, i)
            i += n
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            break
    return out


def _varint_at(buf, i):
    v = shift = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def pump_all(conns, timeout):
    """Reads what any of conns has, waiting up to timeout for the first."""
    live = [c for c in conns if not c.closed]
    if not live:
        time.sleep(timeout)
        return
    # select() takes at most FD_SETSIZE descriptors; poll() any number.
    p = select.poll()
    for c in live:
        p.register(c.sock, select.POLLIN)
    by_fd = {c.sock.fileno(): c for c in live}
    for fd, _ in p.poll(int(timeout * 1000)):
        by_fd[fd].read_available()
