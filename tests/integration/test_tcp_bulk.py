"""TCP tunnels moving bulk data: a direction whose 32 KiB read buffer fills up goes "bulk" and
from then on moves its bytes through a kernel pipe with splice(2) (src/proxy/tcp_proxy.c,
src/proxy/splice_pipe.c); small exchanges keep going through the buffers.

Every byte must arrive exactly and in order (sha256 of deterministic pseudo-random streams, and
exact byte counts in the access log), backpressure must hold with a stalled client (bounded RSS,
the upstream stops being read), half-close and an upstream reset must pass through a spliced
direction, and a chatty tunnel must not go bulk until it moves bulk data.

A bulk direction holds a pipe open until the tunnel ends: the pipe descriptors of the gateway
(/proc/PID/fd) show which directions went bulk, and that no pipe is left behind.

Ports: gateway listeners 36001-36049 on 127.0.0.90, python backends 36051-36099 on DALLAS.
"""
import functools
import hashlib
import os
import random
import signal
import socket
import struct
import threading
import time

import pytest

from backends import (DALLAS, GW, RssSampler, _ThreadServer, base_manifests, external_service,
                      join, tcp_route, vm_rss_kb, wait_until)

MIB = 1 << 20
BLOCK = MIB  # the streams are generated in blocks of this size


# ---- deterministic data ----

def blocks(seed, total):
    """A deterministic pseudo-random byte stream of `total` bytes, in blocks of BLOCK bytes
    (the last one shorter). Same seed, same bytes."""
    rng = random.Random(seed)
    left = total
    while left > 0:
        b = rng.randbytes(BLOCK)
        yield b[:left] if left < BLOCK else b
        left -= BLOCK


@functools.lru_cache(maxsize=None)
def sha256_of(seed, total):
    h = hashlib.sha256()
    for b in blocks(seed, total):
        h.update(b)
    return h.digest()


def data_of(seed, total):
    return b"".join(blocks(seed, total))


# ---- sockets ----

def recv_exact(c, n):
    """Exactly n bytes from c; fewer only when the peer ends the connection first."""
    buf = bytearray()
    while len(buf) < n:
        d = c.recv(min(n - len(buf), MIB))
        if not d:
            break
        buf += d
    return bytes(buf)


def drain_hash(c, h=None):
    """Reads c until EOF: (byte count, sha256 digest), hashing on from `h` when given."""
    h = h or hashlib.sha256()
    buf = bytearray(MIB)
    view = memoryview(buf)
    n = 0
    while True:
        k = c.recv_into(buf)
        if k == 0:
            return n, h.digest()
        h.update(view[:k])
        n += k


def send_stream(c, seed, total, step=256 * 1024, progress=None):
    """Sends blocks(seed, total) in pieces of `step` bytes; progress(sent) after each."""
    sent = 0
    for b in blocks(seed, total):
        mv = memoryview(b)
        for off in range(0, len(b), step):
            c.sendall(mv[off:off + step])
            sent += len(mv[off:off + step])
            if progress:
                progress(sent)
    return sent


def nodelay(c):
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


# ---- the gateway ----

def pipes(pid):
    """How many pipe descriptors the process holds (a bulk direction holds one pipe: two)."""
    n = 0
    d = f"/proc/{pid}/fd"
    for fd in os.listdir(d):
        try:
            if os.readlink(f"{d}/{fd}").startswith("pipe:"):
                n += 1
        except OSError:  # closed meanwhile
            pass
    return n


def bulk_pipes(gw, idle):
    """How many tunnel directions of the gateway hold a pipe now (`idle`: pipes at rest)."""
    extra = pipes(gw.pid) - idle
    assert extra % 2 == 0, f"odd number of pipe ends beyond the idle {idle}: {extra}"
    return extra // 2


def signals_caught(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("SigCgt:"):
                mask = int(line.split()[1], 16)
                return all(mask & (1 << (sig - 1))
                           for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM))
    return False


def tunnel_gateway(stack, gw_port, backend_port, name, **kw):
    """A gateway (one worker) tunnelling gw_port to DALLAS:backend_port, settled: its workers
    listen before its control loop sets up its signal handlers, and libuv gives that loop a
    pipe of its own. Once SIGTERM, SIGINT and SIGHUP are caught, its pipes are the idle ones."""
    gw = stack.gateway(join(
        base_manifests([(gw_port, "tcp")]),
        external_service(name, backend_port, protocol="TCP", addresses=[DALLAS]),
        tcp_route(gw_port, name, backend_port),
    ), [gw_port], workers=1, **kw)
    wait_until(lambda: signals_caught(gw.pid), 5, what="causeway's signal handlers")
    return gw


def one_record(gw, gw_port, backend_port):
    recs = gw.log_records(1)
    assert len(recs) == 1, recs
    rec = recs[0]
    assert rec["protocol"] == "tcp" and rec["listener"] == gw_port, rec
    assert rec["endpoint"] == f"{DALLAS}:{backend_port}", rec
    return rec


def no_pipe_left(gw, idle):
    """Every pipe of the tunnel is closed once it has ended (bounded wait: the record is
    written just before the pipes are closed)."""
    wait_until(lambda: pipes(gw.pid) == idle, 5, what=f"causeway back to {idle} pipe descriptors "
               f"(has {pipes(gw.pid)})")


# ---- backends ----

class _Server(_ThreadServer):
    """A backend that records an exception of its serve() (the base class swallows OSError)
    and sets `done` when serve() returns."""

    def __init__(self, addr, port):
        super().__init__(addr, port)
        self.done = threading.Event()
        self.error = None

    def _serve_safe(self, c):
        try:
            c.settimeout(20)
            self.serve(c)
        except Exception as e:  # reported by the test
            self.error = e
        finally:
            self.done.set()

    def wait(self, timeout=20):
        assert self.done.wait(timeout), f"{type(self).__name__} did not finish in {timeout}s"
        assert self.error is None, f"{type(self).__name__} failed: {self.error!r}"


class HashThenSend(_Server):
    """Reads until EOF hashing everything, answers the sha256 digest (32 bytes), then sends
    `total` bytes of blocks(seed), then closes."""

    def __init__(self, addr, port, seed, total):
        super().__init__(addr, port)
        self.seed, self.total = seed, total
        self.received = None

    def serve(self, c):
        self.received = drain_hash(c)
        c.sendall(self.received[1])
        send_stream(c, self.seed, self.total, step=MIB)
        c.close()


class Flood(_Server):
    """Sends `total` bytes of blocks(seed) as fast as the connection takes them; `sent` is
    the progress. Then closes."""

    def __init__(self, addr, port, seed, total):
        super().__init__(addr, port)
        self.seed, self.total = seed, total
        self.sent = 0
        self.started = threading.Event()

    def _progress(self, n):
        self.sent = n

    def serve(self, c):
        self.started.set()
        send_stream(c, self.seed, self.total, step=64 * 1024, progress=self._progress)
        c.close()


class SendShutThenRead(_Server):
    """Sends `total` bytes of blocks(seed), half-closes (FIN), then reads until EOF: `received`
    is (count, sha256) of what came after its FIN."""

    def __init__(self, addr, port, seed, total):
        super().__init__(addr, port)
        self.seed, self.total = seed, total
        self.received = None

    def serve(self, c):
        send_stream(c, self.seed, self.total, step=MIB)
        c.shutdown(socket.SHUT_WR)
        self.received = drain_hash(c)
        c.close()


class SendThenReset(_Server):
    """Sends `total` bytes of blocks(seed), then aborts: SO_LINGER {1, 0} and close, an RST
    that throws away whatever of those bytes its send buffer still held."""

    def __init__(self, addr, port, seed, total):
        super().__init__(addr, port)
        self.seed, self.total = seed, total

    def serve(self, c):
        send_stream(c, self.seed, self.total, step=MIB)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()


ROUNDS = 2000
MSG = 100


def pong(msg):
    """The backend's 100-byte answer to a 100-byte message."""
    return hashlib.sha512(msg).digest() + msg[::-1][:MSG - 64]


class PingPongThenBulk(_Server):
    """ROUNDS request/response exchanges of MSG-byte messages (answer: pong(msg)); then reads
    `up` bytes and answers their sha256 (32 bytes); then, on the client's b"G", sends `down`
    bytes of blocks(seed); then reads until EOF and closes."""

    def __init__(self, addr, port, up, down, seed):
        super().__init__(addr, port)
        self.up, self.down, self.seed = up, down, seed
        self.rounds = 0
        self.bulk_digest = None
        self.trailing = None

    def serve(self, c):
        nodelay(c)
        for _ in range(ROUNDS):
            msg = recv_exact(c, MSG)
            if len(msg) != MSG:
                raise AssertionError(f"round {self.rounds}: got {len(msg)} bytes")
            c.sendall(pong(msg))
            self.rounds += 1
        h = hashlib.sha256()
        left = self.up
        while left:
            d = c.recv(min(left, MIB))
            if not d:
                raise AssertionError(f"EOF with {left} bulk bytes missing")
            h.update(d)
            left -= len(d)
        self.bulk_digest = h.digest()
        c.sendall(self.bulk_digest)
        go = recv_exact(c, 1)
        if go != b"G":
            raise AssertionError(f"expected b'G', got {go!r}")
        send_stream(c, self.seed, self.down, step=MIB)
        self.trailing = drain_hash(c)
        c.close()


# ---- tests ----

def test_both_directions_bulk_exact_bytes(stack):
    """64 MiB up until the client's half-close, then a 32-byte digest and 48 MiB down: both
    directions go bulk (a pipe each), every byte arrives in order, and the access log counts
    the bytes exactly."""
    up, down = 64 * MIB, 48 * MIB
    want_up, want_down = sha256_of(1, up), sha256_of(2, down)
    srv = stack.server(HashThenSend, DALLAS, 36051, 2, down)
    gw = tunnel_gateway(stack, 36001, 36051, "bulk-both")
    idle = pipes(gw.pid)
    with socket.create_connection((GW, 36001), timeout=20) as c:
        send_stream(c, 1, up, step=MIB)
        c.shutdown(socket.SHUT_WR)
        digest = recv_exact(c, 32)
        answer = hashlib.sha256()
        first = recv_exact(c, 8 * MIB)
        answer.update(first)
        # 8 MiB into the answer its direction is bulk, and the client's (at EOF) still holds
        # its pipe: the tunnel has not ended.
        bulk = bulk_pipes(gw, idle)
        n, got_down = drain_hash(c, answer)
        n += len(first)
    srv.wait()
    assert srv.received == (up, want_up), "the backend got other bytes than the client sent"
    assert digest == want_up, digest.hex()
    assert (n, got_down) == (down, want_down), f"the answer arrived altered ({n} bytes)"
    assert bulk == 2, f"expected both directions to splice through a pipe, {bulk} did"
    rec = one_record(gw, 36001, 36051)
    assert (rec["bytes_in"], rec["bytes_out"]) == (up, 32 + down), rec
    assert rec["reason"] == "-", rec
    no_pipe_left(gw, idle)


def test_slow_client_backpressure_bounded_memory(stack):
    """The backend floods 256 MiB; the client reads nothing for 2 s: the gateway stops reading
    the upstream (the backend stalls) and its RSS stays flat; then every byte arrives."""
    total = 256 * MIB
    want = sha256_of(3, total)
    srv = stack.server(Flood, DALLAS, 36053, 3, total)
    gw = tunnel_gateway(stack, 36003, 36053, "flood")
    idle_pipes = pipes(gw.pid)
    idle_kb = vm_rss_kb(gw.pid)
    limit_kb = idle_kb + 40 * 1024
    with RssSampler(gw.pid) as rss:
        with socket.create_connection((GW, 36003), timeout=20) as c:
            assert srv.started.wait(5), "the backend never got the connection"
            time.sleep(1.0)
            sent_1s = srv.sent
            time.sleep(1.0)
            sent_2s = srv.sent
            stalled_peak_kb = rss.peak_kb
            bulk = bulk_pipes(gw, idle_pipes)
            t0 = time.monotonic()
            n, got = drain_hash(c)
            took = time.monotonic() - t0
    srv.wait()
    assert (n, got) == (total, want), f"received {n} bytes, sha256 {got.hex()}"
    # The kernel buffers between backend and client (two sockets' buffers each way and a
    # 256 KiB pipe) hold about 10 MiB here: with backpressure the backend stalls far below.
    assert sent_2s < 64 * MIB, f"the backend sent {sent_2s} bytes to a client that read none"
    assert sent_2s - sent_1s <= 1 * MIB, \
        f"the upstream kept being read while the client read nothing: {sent_1s} -> {sent_2s}"
    assert bulk == 1, f"expected the flooded direction to splice, {bulk} directions hold a pipe"
    assert rss.samples > 10
    assert stalled_peak_kb < limit_kb, f"RSS {stalled_peak_kb} kB while stalled, idle {idle_kb} kB"
    assert rss.peak_kb < limit_kb, f"RSS peaked at {rss.peak_kb} kB, idle {idle_kb} kB"
    assert took < 20, took
    rec = one_record(gw, 36003, 36053)
    assert (rec["bytes_in"], rec["bytes_out"]) == (0, total), rec
    no_pipe_left(gw, idle_pipes)


def test_upstream_half_close_after_bulk(stack):
    """The backend sends 8 MiB and half-closes: the client gets exactly those bytes and EOF,
    and can still send 1 MiB (bulk as well), which reaches the backend intact."""
    down, up = 8 * MIB, 1 * MIB
    srv = stack.server(SendShutThenRead, DALLAS, 36055, 4, down)
    gw = tunnel_gateway(stack, 36005, 36055, "halfclose-bulk")
    idle = pipes(gw.pid)
    with socket.create_connection((GW, 36005), timeout=20) as c:
        n, got = drain_hash(c)  # until the backend's FIN came through
        assert (n, got) == (down, sha256_of(4, down)), f"received {n} bytes before EOF"
        assert not srv.done.is_set(), "the backend's connection ended with its half-close"
        down_bulk = bulk_pipes(gw, idle)  # the tunnel lives on: its pipe is still there
        send_stream(c, 5, up, step=64 * 1024)
        # The client's 1 MiB goes bulk too (its pipe stays until the tunnel ends, and the
        # tunnel cannot end before the client's half-close).
        wait_until(lambda: bulk_pipes(gw, idle) == 2, 5, what="the client's direction to go bulk")
        c.shutdown(socket.SHUT_WR)
        srv.wait(10)
    assert srv.received == (up, sha256_of(5, up)), srv.received
    assert down_bulk == 1, f"expected the 8 MiB direction to splice, {down_bulk} directions did"
    rec = one_record(gw, 36005, 36055)
    assert (rec["bytes_in"], rec["bytes_out"]) == (up, down), rec
    assert rec["reason"] == "-", rec
    no_pipe_left(gw, idle)


@pytest.mark.parametrize("stall, gw_port, port", [(0.0, 36007, 36057), (0.5, 36008, 36058)],
                         ids=["reading", "stalled"])
def test_upstream_reset_mid_bulk(stack, stall, gw_port, port):
    """The backend sends 16 MiB and resets the connection (SO_LINGER {1, 0}): the client gets
    a prefix of those bytes and then the end of the connection; the access log says
    "upstream reset".

    What is not deterministic: how much arrives. The RST throws away what the backend's send
    buffer still held, and it races with the gateway's splices (the gateway's kernel keeps
    what it had received, the splices take it, and only then the reset is reported). With
    "stalled" the client reads nothing for 0.5 s, so the reset comes while the way to the
    client (pipe, socket buffers) is full, and less than 16 MiB usually arrives. What is:
    the client never gets more than the backend sent, nor other bytes; it gets exactly what the
    log counts as bytes_out when its connection ends with a FIN (the gateway has no unread
    bytes of the client's, so its close is graceful); the reason names the upstream."""
    total = 16 * MIB
    srv = stack.server(SendThenReset, DALLAS, port, 6, total)
    gw = tunnel_gateway(stack, gw_port, port, "reset-bulk")
    idle = pipes(gw.pid)
    got = bytearray()
    ended = None
    with socket.create_connection((GW, gw_port), timeout=10) as c:
        time.sleep(stall)
        try:
            while len(got) <= total:
                d = c.recv(MIB)
                if not d:
                    ended = "eof"
                    break
                got += d
        except ConnectionResetError:
            ended = "reset"
    srv.wait()
    assert ended is not None, f"received {len(got)} bytes, more than the backend sent"
    assert bytes(got) == data_of(6, total)[:len(got)], "the bytes received are not the " \
        "backend's stream"
    rec = one_record(gw, gw_port, port)
    assert rec["reason"] == "upstream reset", rec
    assert rec["bytes_in"] == 0, rec
    # To finish its sendall the backend needed all but its send buffer (at most 4 MiB) taken
    # off by the gateway, which reads as long as the client does: well past the 32 KiB
    # after which the direction goes bulk.
    assert 1 * MIB <= rec["bytes_out"] <= total, rec
    if ended == "eof":
        # The gateway closes the client's connection gracefully: what it read went out.
        assert len(got) == rec["bytes_out"], (len(got), rec)
    else:
        assert len(got) <= rec["bytes_out"], (len(got), rec)
    no_pipe_left(gw, idle)


def test_small_exchanges_then_bulk_on_one_tunnel(stack):
    """2,000 round trips of 100-byte messages stay in the buffers (no pipe); then 4 MiB up and
    4 MiB down on the same tunnel go bulk midway; every byte in order."""
    up, down = 4 * MIB, 4 * MIB
    srv = stack.server(PingPongThenBulk, DALLAS, 36059, up, down, 8)
    gw = tunnel_gateway(stack, 36009, 36059, "chatty")
    idle = pipes(gw.pid)
    rng = random.Random(7)
    chat_bulk = []
    t0 = time.monotonic()
    with socket.create_connection((GW, 36009), timeout=10) as c:
        nodelay(c)
        for i in range(ROUNDS):
            msg = b"%08d" % i + rng.randbytes(MSG - 8)
            c.sendall(msg)
            answer = recv_exact(c, MSG)
            assert answer == pong(msg), f"round {i}: wrong answer {answer!r}"
            if i % 100 == 99:
                chat_bulk.append(bulk_pipes(gw, idle))
        chat_took = time.monotonic() - t0
        upload = data_of(9, up)
        c.sendall(upload)
        digest = recv_exact(c, 32)
        assert digest == hashlib.sha256(upload).digest(), "the 4 MiB upload arrived altered"
        after_up = bulk_pipes(gw, idle)
        c.sendall(b"G")
        download = recv_exact(c, down)
        after_down = bulk_pipes(gw, idle)
        c.shutdown(socket.SHUT_WR)
        c.settimeout(5)
        end = c.recv(1)
    srv.wait(10)
    assert srv.rounds == ROUNDS
    assert hashlib.sha256(download).digest() == sha256_of(8, down), \
        f"the 4 MiB download arrived altered ({len(download)} bytes)"
    assert end == b"", end
    assert srv.trailing == (0, hashlib.sha256().digest()), srv.trailing
    assert set(chat_bulk) == {0}, f"a direction went bulk during the small exchanges: {chat_bulk}"
    assert after_up == 1, f"after the upload {after_up} directions hold a pipe (expected 1)"
    assert after_down == 2, f"after the download {after_down} directions hold a pipe (expected 2)"
    assert chat_took < 20, chat_took
    rec = one_record(gw, 36009, 36059)
    assert rec["bytes_in"] == ROUNDS * MSG + up + 1, rec
    assert rec["bytes_out"] == ROUNDS * MSG + 32 + down, rec
    assert rec["reason"] == "-", rec
    no_pipe_left(gw, idle)
