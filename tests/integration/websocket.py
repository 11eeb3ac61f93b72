"""A small RFC 6455 WebSocket server and client for the tests of WebSocket through the gateway
(test_websocket.py). Standard library only: socket, hashlib, base64, struct, threading, os.

The server (`WebSocketServer`, a backends._ThreadServer) answers the opening handshake only when
the request really asks for it: GET, `Upgrade: websocket`, `Connection` listing `upgrade`,
`Sec-WebSocket-Version: 13` and a `Sec-WebSocket-Key` of 16 base64 bytes; otherwise it answers
`400 Bad Request` naming what is missing (keep-alive, Content-Length body), so a gateway that
strips the Upgrade or Connection header makes the handshake fail with a readable reason. A
request without any WebSocket header is plain HTTP: 200 "plain <path>". After the 101 it checks
every client frame (masked, RSV bits clear, control frames short and unfragmented) and echoes each
message unmasked with its opcode; it answers pings, and a close with a close, then half-closes and
waits for the client's EOF. Modes:
  "echo"   the above;
  "refuse" every upgrade request gets the 400 (the request is still recorded in `heads`);
  "drop"   after the 101 and one echoed message the connection ends without a close frame:
           reset (SO_LINGER 0) when `drop_how` is "reset", a plain close (FIN) when "fin".
`greeting` is a text message sent in the same write as the 101 head; `push_after` seconds after
the 101 the server sends `push_text` without being asked.

The client (`WebSocketClient`) sends the handshake, checks nothing itself (`handshake()` returns
the response so a test can say what was wrong; `open()` asserts a correct 101), masks every frame,
and refuses masked server frames.

Every socket has a timeout; every server thread ends when the server is stopped.
"""
import base64
import collections
import hashlib
import os
import socket
import struct
import threading
import time

from backends import Response, _ThreadServer

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
CONTROL = (OP_CLOSE, OP_PING, OP_PONG)

Frame = collections.namedtuple("Frame", "fin rsv opcode masked payload")


def accept_key(key):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2)."""
    if isinstance(key, bytes):
        key = key.decode("ascii")
    return base64.b64encode(hashlib.sha1((key + GUID).encode("ascii")).digest()).decode("ascii")


def new_key():
    return base64.b64encode(os.urandom(16)).decode("ascii")


def mask_bytes(key, data):
    """XORs data with the 4-byte masking key (its own inverse)."""
    n = len(data)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def encode_frame(opcode, payload=b"", fin=True, mask_key=None, rsv=0):
    """One frame; masked with mask_key (4 bytes) when given."""
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    mbit = 0x80 if mask_key is not None else 0
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask_key is not None:
        return head + mask_key + mask_bytes(mask_key, payload)
    return head + payload


def close_payload(code, reason=""):
    return struct.pack("!H", code) + reason.encode()


def parse_close(payload):
    """(code, reason) of a close frame's payload; (None, "") when it has none."""
    if len(payload) < 2:
        return None, ""
    return struct.unpack("!H", payload[:2])[0], payload[2:].decode("utf-8", "replace")


def header_tokens(value):
    return [t.strip().lower() for t in (value or "").split(",") if t.strip()]


def handshake_request(path="/chat", host="ws.example.com", key=None, protocols=("chat", "superchat"),
                      connection="Upgrade", upgrade="websocket", version="13", extra=()):
    """The bytes of a client's opening handshake; a header given as None is left out."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}"]
    for name, value in (("Upgrade", upgrade), ("Connection", connection),
                        ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", version)):
        if value is not None:
            lines.append(f"{name}: {value}")
    if protocols:
        lines.append("Sec-WebSocket-Protocol: " + ", ".join(protocols))
    lines += [f"{k}: {v}" for k, v in extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def parse_head(head):
    """(first line, [(name, value)]) of a head without its final CRLFCRLF."""
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if line:
            k, _, v = line.partition(":")
            headers.append((k.strip(), v.strip()))
    return lines[0], headers


def header(headers, name):
    """The values of `name`, joined with ", " as repeated headers are (None when absent)."""
    vals = [v for k, v in headers if k.lower() == name.lower()]
    return ", ".join(vals) if vals else None


class ProtocolError(Exception):
    pass


class Peer:
    """One side of a WebSocket connection: a socket with a read buffer and a send lock."""

    def __init__(self, sock, masks):
        self.sock, self.masks = sock, masks
        self.buf = b""
        self.send_lock = threading.Lock()

    def _fill(self):
        d = self.sock.recv(262144)
        if not d:
            return False
        self.buf += d
        return True

    def exact(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise EOFError(f"connection closed with {n - len(self.buf)} of {n} bytes missing")
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_head(self):
        """One HTTP head (without its CRLFCRLF); None on EOF before its first byte."""
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise ProtocolError("head over 64 KiB")
            if not self._fill():
                if self.buf:
                    raise EOFError(f"connection closed mid-head: {self.buf[:200]!r}")
                return None
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head

    def read_frame(self):
        """The next frame, unmasked; None on EOF at a frame boundary."""
        if not self.buf and not self._fill():
            return None
        b0, b1 = self.exact(2)
        fin, rsv, opcode = bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F
        masked, n = bool(b1 & 0x80), b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.exact(8))[0]
            if n >> 63:
                raise ProtocolError("64-bit length with its top bit set")
        key = self.exact(4) if masked else None
        payload = self.exact(n)
        if key is not None:
            payload = mask_bytes(key, payload)
        return Frame(fin, rsv, opcode, masked, payload)

    def check_frame(self, f):
        """RFC 6455 §5: what this side must refuse in a frame from its peer."""
        if f.rsv:
            raise ProtocolError(f"RSV bits {f.rsv:#x} set without an extension")
        if f.masked != (not self.masks):
            raise ProtocolError("client frame not masked" if not self.masks
                                else "server frame masked")
        if f.opcode in CONTROL and (not f.fin or len(f.payload) > 125):
            raise ProtocolError(f"control frame {f.opcode:#x} fragmented or over 125 bytes")
        if f.opcode not in (OP_CONT, OP_TEXT, OP_BINARY) + CONTROL:
            raise ProtocolError(f"reserved opcode {f.opcode:#x}")

    def send_frame(self, opcode, payload=b"", fin=True):
        data = encode_frame(opcode, payload, fin, os.urandom(4) if self.masks else None)
        with self.send_lock:
            self.sock.sendall(data)

    def read_message(self, on_control):
        """The next whole data message as (opcode, payload, frames); control frames in between go
        to on_control(frame), which returns a value to end the read with (a close) or None.
        None on EOF at a frame boundary."""
        opcode, parts, frames = None, [], 0
        while True:
            f = self.read_frame()
            if f is None:
                if opcode is not None:
                    raise EOFError("connection closed in the middle of a fragmented message")
                return None
            self.check_frame(f)
            if f.opcode in CONTROL:
                r = on_control(f)
                if r is not None:
                    return r
                continue
            if f.opcode == OP_CONT:
                if opcode is None:
                    raise ProtocolError("continuation frame without a message to continue")
            elif opcode is not None:
                raise ProtocolError("new data frame in the middle of a fragmented message")
            else:
                opcode = f.opcode
            parts.append(f.payload)
            frames += 1
            if f.fin:
                payload = b"".join(parts)
                if opcode == OP_TEXT:
                    payload.decode("utf-8")  # raises on invalid UTF-8, as RFC 6455 §8.1 wants
                return opcode, payload, frames


# --------------------------------------------------------------------------------------------
# server
# --------------------------------------------------------------------------------------------

def handshake_problems(method, headers):
    """What keeps a request from being a valid opening handshake (RFC 6455 §4.2.1), [] if none."""
    problems = []
    if method != "GET":
        problems.append(f"method {method}, not GET")
    if "websocket" not in header_tokens(header(headers, "Upgrade")):
        problems.append(f"no Upgrade: websocket (got {header(headers, 'Upgrade')!r})")
    if "upgrade" not in header_tokens(header(headers, "Connection")):
        problems.append(f"no upgrade in Connection (got {header(headers, 'Connection')!r})")
    if header(headers, "Sec-WebSocket-Version") != "13":
        problems.append(f"Sec-WebSocket-Version {header(headers, 'Sec-WebSocket-Version')!r}, not 13")
    key = header(headers, "Sec-WebSocket-Key")
    try:
        ok = key is not None and len(base64.b64decode(key, validate=True)) == 16
    except ValueError:
        ok = False
    if not ok:
        problems.append(f"Sec-WebSocket-Key {key!r} is not 16 base64 bytes")
    return problems


def http_answer(status, body, extra=()):
    lines = [f"HTTP/1.1 {status}", "Content-Type: text/plain", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class WebSocketServer(_ThreadServer):
    """See the module docstring. What it saw, for the tests to check:
    heads         every request head received (raw bytes)
    handshakes    101s sent
    messages      every data message received, as (opcode, payload, frames)
    closes        close codes received from clients
    clean_closes  connections that ended with a complete close handshake and the client's EOF
    eofs          connections that ended with EOF or a reset from the peer without a close frame
    errors        protocol errors found in what the client sent (a test wants this empty)
    """

    def __init__(self, addr, port, mode="echo", greeting=None, push_after=None,
                 push_text="pushed by the server", protocols=("chat",), drop_how="reset"):
        super().__init__(addr, port)
        assert mode in ("echo", "refuse", "drop"), mode
        assert drop_how in ("reset", "fin"), drop_how
        self.drop_how = drop_how
        self.mode, self.greeting = mode, greeting
        self.push_after, self.push_text = push_after, push_text
        self.protocols = protocols
        self.lock = threading.Lock()
        self.heads, self.messages, self.closes, self.errors = [], [], [], []
        self.handshakes = self.clean_closes = self.eofs = 0
        self.changed = threading.Condition(self.lock)

    def _note(self, fn):
        with self.lock:
            fn()
            self.changed.notify_all()

    def wait_for(self, cond, timeout, what):
        """Waits (bounded) until cond() holds, checked under the server's lock."""
        end = time.monotonic() + timeout
        with self.lock:
            while not cond():
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout}s waiting for the server: {what}"
                                         f" (errors {self.errors}, eofs {self.eofs}, "
                                         f"clean closes {self.clean_closes})")
                self.changed.wait(left)

    def serve(self, c):
        try:
            self._serve(c)
        finally:
            c.close()

    def _serve(self, c):
        c.settimeout(10)
        peer = Peer(c, masks=False)
        while not self.stopping.is_set():
            head = peer.read_head()
            if head is None:
                return
            self._note(lambda: self.heads.append(head))
            first, headers = parse_head(head)
            method, path = (first.split(" ") + ["", ""])[:2]
            length = int(header(headers, "Content-Length") or 0)
            if length:
                peer.exact(length)
            ws_headers = [k for k, _ in headers if k.lower() in ("upgrade", "sec-websocket-key")]
            if not ws_headers:
                c.sendall(http_answer("200 OK", f"plain {path}\n".encode()))
                continue
            problems = handshake_problems(method, headers)
            if self.mode == "refuse":
                problems = ["this server refuses upgrades"] + problems
            if problems:
                body = ("no websocket: " + "; ".join(problems) + "\n").encode()
                c.sendall(http_answer("400 Bad Request", body, [("Sec-WebSocket-Version", "13")]))
                continue
            self._session(c, peer, headers)
            return

    def _session(self, c, peer, headers):
        extra = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                 ("Sec-WebSocket-Accept", accept_key(header(headers, "Sec-WebSocket-Key")))]
        offered = header_tokens(header(headers, "Sec-WebSocket-Protocol"))
        chosen = next((p for p in offered if p in self.protocols), None)
        if chosen:
            extra.append(("Sec-WebSocket-Protocol", chosen))
        out = ("HTTP/1.1 101 Switching Protocols\r\n" +
               "".join(f"{k}: {v}\r\n" for k, v in extra) + "\r\n").encode()
        if self.greeting is not None:
            out += encode_frame(OP_TEXT, self.greeting.encode())
        self._note(lambda: setattr(self, "handshakes", self.handshakes + 1))  # before the client
        with peer.send_lock:                                                  # can see the 101
            c.sendall(out)
        if self.push_after is not None:
            t = threading.Thread(target=self._push, args=(peer,), daemon=True)
            self.threads.append(t)
            t.start()
        closed = []

        def on_control(f):
            if f.opcode == OP_PING:
                peer.send_frame(OP_PONG, f.payload)
            elif f.opcode == OP_CLOSE:
                closed.append(f.payload)
                return "close"
            return None

        try:
            while not self.stopping.is_set():
                m = peer.read_message(on_control)
                if m is None:
                    self._note(lambda: setattr(self, "eofs", self.eofs + 1))
                    return
                if m == "close":
                    self._close_handshake(c, peer, closed[0])
                    return
                self._note(lambda: self.messages.append(m))
                peer.send_frame(m[0], m[1])
                if self.mode == "drop":
                    if self.drop_how == "reset":
                        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    c.close()
                    return
        except ProtocolError as e:
            self._note(lambda: self.errors.append(str(e)))
            try:
                peer.send_frame(OP_CLOSE, close_payload(1002, str(e)[:100]))
            except OSError:
                pass
        except (EOFError, ConnectionResetError):
            self._note(lambda: setattr(self, "eofs", self.eofs + 1))
        except UnicodeDecodeError as e:
            self._note(lambda: self.errors.append(f"text message not UTF-8: {e}"))

    def _close_handshake(self, c, peer, payload):
        code, _ = parse_close(payload)
        self._note(lambda: self.closes.append(code))
        # Echo the code (RFC 6455 §5.5.1), then half-close: the client sees EOF after the close
        # frame, and closes its side, which this server then reads as EOF.
        peer.send_frame(OP_CLOSE, payload[:2])
        c.shutdown(socket.SHUT_WR)
        c.settimeout(5)
        try:
            while peer._fill():
                pass
            ok = True
        except ConnectionResetError:
            ok = False
        if ok and not peer.buf:
            self._note(lambda: setattr(self, "clean_closes", self.clean_closes + 1))
        else:
            self._note(lambda: self.errors.append(f"after the close: {peer.buf[:100]!r}, reset "
                                                  f"{not ok}"))

    def _push(self, peer):
        if self.stopping.wait(self.push_after):
            return
        try:
            peer.send_frame(OP_TEXT, self.push_text.encode())
        except OSError:
            pass


# --------------------------------------------------------------------------------------------
# client
# --------------------------------------------------------------------------------------------

class WebSocketClient(Peer):
    """A client connection: `handshake()` / `open()`, then send_* and recv_message()."""

    def __init__(self, addr, port, host="ws.example.com", path="/chat", timeout=5.0,
                 protocols=("chat", "superchat"), connection="Upgrade", upgrade="websocket"):
        super().__init__(socket.create_connection((addr, port), timeout=timeout), masks=True)
        self.host, self.path, self.protocols = host, path, protocols
        self.connection, self.upgrade = connection, upgrade
        self.key = new_key()
        self.pongs = []

    def handshake(self):
        """Sends the opening handshake; returns the Response (for a non-101, with its body)."""
        self.sock.sendall(handshake_request(self.path, self.host, self.key, self.protocols,
                                            self.connection, self.upgrade))
        head = self.read_head()
        if head is None:
            raise EOFError("connection closed before the handshake response")
        first, headers = parse_head(head)
        version, status, reason = (first.split(" ", 2) + [""])[:3]
        status = int(status)
        body = b""
        if status != 101 and header(headers, "Content-Length"):
            body = self.exact(int(header(headers, "Content-Length")))
        return Response(version, status, reason, headers, body)

    def accept_problems(self, r):
        """What is wrong with r as the answer to this client's handshake ([] if nothing)."""
        p = []
        if r.status != 101:
            p.append(f"status {r.status} {r.reason}, not 101 ({r.body.decode(errors='replace').strip()})")
        if "websocket" not in header_tokens(r.header("Upgrade")):
            p.append(f"Upgrade {r.header('Upgrade')!r}")
        if "upgrade" not in header_tokens(r.header("Connection")):
            p.append(f"Connection {r.header('Connection')!r}")
        if r.header("Sec-WebSocket-Accept") != accept_key(self.key):
            p.append(f"Sec-WebSocket-Accept {r.header('Sec-WebSocket-Accept')!r}, "
                     f"want {accept_key(self.key)!r}")
        return p

    def open(self):
        r = self.handshake()
        p = self.accept_problems(r)
        assert not p, f"bad handshake response: {'; '.join(p)}\n{r!r}"
        return r

    def send_text(self, text):
        self.send_frame(OP_TEXT, text.encode())

    def send_binary(self, data, fragment=None):
        """Sends data as one binary message, in frames of `fragment` bytes when given."""
        if not fragment or len(data) <= fragment:
            self.send_frame(OP_BINARY, data)
            return
        pieces = [data[i:i + fragment] for i in range(0, len(data), fragment)]
        for i, piece in enumerate(pieces):
            self.send_frame(OP_BINARY if i == 0 else OP_CONT, piece, fin=i == len(pieces) - 1)

    def _on_control(self, f):
        if f.opcode == OP_PING:
            self.send_frame(OP_PONG, f.payload)
        elif f.opcode == OP_PONG:
            self.pongs.append(f.payload)
        elif f.opcode == OP_CLOSE:
            return (OP_CLOSE, f.payload, 1)
        return None

    def recv_message(self, timeout=5.0):
        """(opcode, payload) of the next message (a close is (OP_CLOSE, payload)); raises EOFError
        when the connection ends first, socket.timeout after `timeout` seconds of silence."""
        self.sock.settimeout(timeout)
        m = self.read_message(self._on_control)
        if m is None:
            raise EOFError("connection closed before the next message")
        return m[0], m[1]

    def recv_text(self, timeout=5.0):
        op, payload = self.recv_message(timeout)
        assert op == OP_TEXT, f"expected a text message, got opcode {op:#x}: {payload[:100]!r}"
        return payload.decode()

    def close_handshake(self, code=1000, reason="bye", timeout=5.0):
        """Sends a close frame; returns the code of the close frame that answers it."""
        self.send_frame(OP_CLOSE, close_payload(code, reason))
        op, payload = self.recv_message(timeout)
        assert op == OP_CLOSE, f"expected a close frame, got opcode {op:#x}: {payload[:100]!r}"
        return parse_close(payload)[0]

    def wait_end(self, timeout=5.0):
        """How the connection ends within `timeout`: "eof" or "reset"; None when it is still open
        then. Bytes arriving instead are a failure."""
        self.sock.settimeout(timeout)
        if self.buf:
            raise AssertionError(f"unexpected bytes instead of the end: {self.buf[:100]!r}")
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            return None
        except ConnectionResetError:
            return "reset"
        if d:
            raise AssertionError(f"unexpected bytes instead of the end: {d[:100]!r}")
        return "eof"

    def close(self):
        self.sock.close()


def tcp_states(addr, port):
    """States (names) of every IPv4 TCP socket with addr:port at either end, from /proc/net/tcp."""
    names = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
             "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
             "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"}
    want = "%08X:%04X" % (int.from_bytes(socket.inet_aton(addr), "little"), port)
    out = []
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            if want in (parts[1], parts[2]):
                out.append(names.get(parts[3], parts[3]))
    return out


def socket_fds(pid):
    """How many sockets process `pid` holds open."""
    d = f"/proc/{pid}/fd"
    n = 0
    for name in os.listdir(d):
        try:
            if os.readlink(f"{d}/{name}").startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n
