#!/usr/bin/python3
"""Opens N keep-alive HTTP/1.1 connections, sends one GET on each, reads the whole response,
then holds every connection open and idle. Python standard library only.

    idle_clients.py ADDR PORT N [--host H] [--source ADDR] [--window W] [--expect-body TEXT]
                    [--timeout S] [--max-hold S]

At most --window connections are between connect and the end of their response at any time, so
a proxy needs only a few upstream connections for the whole run. Once all N are done (or
--timeout has passed) it prints one line on stdout and flushes it:

    ready ok=N failed=F seconds=T

then holds the connections idle. On SIGUSR1 it checks every held connection without reading
from it (recv MSG_PEEK|MSG_DONTWAIT: "would block" means still open, "" means the peer closed)
and prints

    check open=K closed=C reset=R data=D

and exits (closing them all): status 0 when every one of the N connections is still open. On
SIGTERM or SIGINT, or after --max-hold seconds, it exits without checking (status 3).

With --tls CAFILE every connection first completes a TLS 1.3 handshake (a new session each:
no resumption), verifying the server against CAFILE with --sni as name; --no-request then holds
it idle right after the handshake without sending anything (the check reads the socket through
TLS: session tickets are consumed, "would block" means open).
"""
import argparse
import errno
import resource
import selectors
import signal
import socket
import ssl
import sys
import time


def raise_nofile(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard == resource.RLIM_INFINITY else max(soft, hard)
    if needed > want:
        try:  # root may raise the hard limit too
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
            return needed
        except (ValueError, OSError):
            pass
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


class Conn:
    __slots__ = ("sock", "state", "buf", "need")  # state: connect, handshake, read, idle

    def __init__(self, sock):
        self.sock = sock
        self.state = "connect"
        self.buf = b""
        self.need = None  # bytes of head + body, once the head is in


def response_done(c):
    """True when c.buf holds a whole response; raises ValueError on a bad one."""
    if c.need is None:
        end = c.buf.find(b"\r\n\r\n")
        if end < 0:
            if len(c.buf) > 65536:
                raise ValueError("response head over 64 KiB")
            return False
        head = c.buf[:end].decode("latin-1").split("\r\n")
        parts = head[0].split(" ", 2)
        if len(parts) < 2 or parts[1] != "200":
            raise ValueError("status line %r" % head[0])
        length = None
        for line in head[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "transfer-encoding" and "chunked" in value.lower():
                length = -1
        if length is None:
            raise ValueError("response without Content-Length")
        c.need = (end + 4, length)
    start, length = c.need
    if length == -1:  # chunked: ends with the last chunk and an empty trailer
        return c.buf.endswith(b"0\r\n\r\n")
    if len(c.buf) > start + length:
        raise ValueError("more bytes than the response")
    return len(c.buf) == start + length


def body_of(c):
    start, length = c.need
    body = c.buf[start:]
    if length == -1:  # de-chunk
        out, rest = b"", body
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                return out
            out, rest = out + rest[:size], rest[size + 2:]
    return body


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("addr")
    ap.add_argument("port", type=int)
    ap.add_argument("n", type=int)
    ap.add_argument("--host", default="bench.example.com")
    ap.add_argument("--path", default="/")
    ap.add_argument("--source", default="", help="local address to bind (port chosen by the kernel)")
    ap.add_argument("--window", type=int, default=16)
    ap.add_argument("--expect-body", default=None, help="the body every response must carry")
    ap.add_argument("--timeout", type=float, default=120.0, help="for opening all N")
    ap.add_argument("--max-hold", type=float, default=900.0)
    ap.add_argument("--tls", default=None, metavar="CAFILE", help="TLS 1.3 to the server")
    ap.add_argument("--sni", default=None, help="TLS server name (default: --host)")
    ap.add_argument("--no-request", action="store_true", help="hold right after connecting "
                    "(with --tls: after the handshake)")
    a = ap.parse_args()
    tls_ctx = None
    if a.tls:
        tls_ctx = ssl.create_default_context(cafile=a.tls)
        tls_ctx.minimum_version = ssl.TLSVersion.TLSv1_3

    limit = raise_nofile(a.n + 64)
    if limit < a.n + 16:
        sys.exit("idle_clients: RLIMIT_NOFILE is %d, too low for %d connections" % (limit, a.n))
    # Signals are taken synchronously (sigtimedwait) while holding.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGTERM, signal.SIGINT})

    request = ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: causeway-memory-bench\r\n\r\n"
               % (a.path, a.host)).encode()
    expect = None if a.expect_body is None else a.expect_body.encode()
    sel = selectors.DefaultSelector()
    held, failed, errors = [], 0, {}
    started, in_flight = 0, 0
    t0 = time.monotonic()
    deadline = t0 + a.timeout

    def established(c):
        """TCP (and TLS) up: send the request, or hold the connection."""
        nonlocal in_flight
        if a.no_request:
            sel.unregister(c.sock)
            c.state = "idle"
            held.append(c.sock)
            in_flight -= 1
            return
        c.sock.send(request)  # a few dozen bytes: one send always takes them
        c.state = "read"
        sel.modify(c.sock, selectors.EVENT_READ, c)

    def fail(c, why):
        nonlocal failed, in_flight
        failed += 1
        in_flight -= 1
        errors[why] = errors.get(why, 0) + 1
        sel.unregister(c.sock)
        c.sock.close()

    while (started < a.n or in_flight) and time.monotonic() < deadline:
        while started < a.n and in_flight < a.window:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            if a.source:
                if hasattr(socket, "IP_BIND_ADDRESS_NO_PORT"):
                    s.setsockopt(socket.IPPROTO_IP, socket.IP_BIND_ADDRESS_NO_PORT, 1)
                s.bind((a.source, 0))
            rc = s.connect_ex((a.addr, a.port))
            c = Conn(s)
            started += 1
            in_flight += 1
            sel.register(s, selectors.EVENT_WRITE, c)
            if rc not in (0, errno.EINPROGRESS):
                fail(c, "connect: " + errno.errorcode.get(rc, str(rc)))
        for key, _ in sel.select(timeout=0.5):
            c = key.data
            try:
                if c.state == "connect":
                    err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        fail(c, "connect: " + errno.errorcode.get(err, str(err)))
                        continue
                    if tls_ctx is not None:
                        sel.unregister(c.sock)
                        c.sock = tls_ctx.wrap_socket(c.sock, server_hostname=a.sni or a.host,
                                                     do_handshake_on_connect=False)
                        sel.register(c.sock, selectors.EVENT_WRITE, c)
                        c.state = "handshake"
                    else:
                        established(c)
                        continue
                if c.state == "handshake":
                    try:
                        c.sock.do_handshake()
                    except ssl.SSLWantReadError:
                        sel.modify(c.sock, selectors.EVENT_READ, c)
                        continue
                    except ssl.SSLWantWriteError:
                        sel.modify(c.sock, selectors.EVENT_WRITE, c)
                        continue
                    established(c)
                    continue
                data = c.sock.recv(65536)
                if not data:
                    fail(c, "closed before the whole response")
                    continue
                c.buf += data
                if response_done(c):
                    if expect is not None and body_of(c).rstrip(b"\r\n") != expect.rstrip(b"\r\n"):
                        fail(c, "unexpected body")
                        continue
                    sel.unregister(c.sock)
                    c.buf, c.need, c.state = b"", None, "idle"
                    held.append(c.sock)
                    in_flight -= 1
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            except (OSError, ValueError) as e:
                fail(c, type(e).__name__ + ": " + str(e))
    # Whatever is still in flight at the deadline counts as failed.
    for key in list(sel.get_map().values()):
        fail(key.data, "timeout")
    failed += a.n - started
    seconds = time.monotonic() - t0
    print("ready ok=%d failed=%d seconds=%.2f" % (len(held), failed, seconds), flush=True)
    for why, count in sorted(errors.items()):
        print("error %d× %s" % (count, why), file=sys.stderr, flush=True)

    info = signal.sigtimedwait({signal.SIGUSR1, signal.SIGTERM, signal.SIGINT}, a.max_hold)
    if info is None or info.si_signo != signal.SIGUSR1:
        sys.exit(3)
    counts = {"open": 0, "closed": 0, "reset": 0, "data": 0}
    for s in held:
        try:
            if tls_ctx is not None:  # no MSG_PEEK through TLS; tickets are read and dropped
                s.setblocking(False)
                got = s.recv(1)
            else:
                got = s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            counts["data" if got else "closed"] += 1
        except (BlockingIOError, ssl.SSLWantReadError):
            counts["open"] += 1
        except OSError:
            counts["reset"] += 1
    print("check " + " ".join("%s=%d" % kv for kv in counts.items()), flush=True)
    sys.exit(0 if counts["open"] == a.n else 1)


if __name__ == "__main__":
    main()
