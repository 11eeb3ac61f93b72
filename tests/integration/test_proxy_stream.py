"""Bodies streamed with backpressure (200 MB up and down with bounded memory), 1,000 concurrent
connections, graceful shutdown.

Ports: gateway listeners 31201-31299 on 127.0.0.90, backends 32201-32299.
"""
import errno
import hashlib
import os
import selectors
import signal
import socket
import subprocess
import threading
import time

import pytest

from backends import (DALLAS, GW, Conn, RssSampler, SilentServer, SlowHTTPServer, base_manifests,
                      block_stream, dest, external_service, join, raise_nofile, request,
                      route_table)

HOST = "files.example.com"
BLOCKS = 200                     # 200 MiB in 1 MiB blocks
SIZE = BLOCKS << 20
RSS_LIMIT_KB = 64 * 1024


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    """A 200 MiB file of distinct blocks and its sha256; removed after the module."""
    d = tmp_path_factory.mktemp("www")
    path = d / "big.bin"
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for block in block_stream(BLOCKS):
            f.write(block)
            h.update(block)
    yield path, h.hexdigest()
    path.unlink()


@pytest.fixture
def files(stack, tmp_path, big_file):
    """nginx serving big.bin (Content-Length), /chunked/big.bin (chunked: sub_filter drops the
    length) and accepting PUT /up/... (DAV), behind a gateway on :31201."""
    www = big_file[0].parent
    nginx = stack.nginx(f"""
        server {{
          listen {DALLAS}:32201;
          client_max_body_size 0;
          location = /big.bin {{ root {www}; }}
          location /chunked/ {{
            alias {www}/;
            sub_filter_types *;
            sub_filter 'no-such-text-in-the-file' '';
          }}
          location /up/ {{
            root {tmp_path}/uploads-root;
            dav_methods PUT;
            create_full_put_path on;
          }}
        }}
    """, [(DALLAS, 32201)])
    gw = stack.gateway(join(
        base_manifests([(31201, "http")]),
        external_service("files", 32201, addresses=[DALLAS]),
        route_table("files", [HOST], f"""
            http:
            - name: files
              forwardTo:
                destinations:
                {dest("files", 32201)}
        """),
    ), [31201], workers=1)
    return gw, nginx, tmp_path / "uploads-root" / "up"


def download(path, pause_at=50 << 20, pause=0.5):
    """GETs `path` through the gateway; stops reading for `pause` seconds after `pause_at` bytes
    (the gateway must then stop reading from nginx, not buffer). Returns (headers, n, sha256)."""
    c = Conn(GW, 31201, timeout=10)
    try:
        c.send(request("GET", path, HOST))
        _, status, _, headers = c.read_head()
        assert status == 200, headers
        h, n, paused = hashlib.sha256(), 0, False
        for piece in c.body_chunks(headers, status):
            h.update(piece)
            n += len(piece)
            if not paused and n >= pause_at:
                paused = True
                time.sleep(pause)
        return dict((k.lower(), v) for k, v in headers), n, h.hexdigest()
    finally:
        c.close()


def test_large_download_with_content_length(files, big_file):
    gw, _, _ = files
    with RssSampler(gw.pid) as rss:
        headers, n, digest = download("/big.bin")
    assert headers.get("content-length") == str(SIZE)
    assert (n, digest) == (SIZE, big_file[1])
    assert rss.samples > 10
    assert rss.peak_kb < RSS_LIMIT_KB, f"causeway RSS peaked at {rss.peak_kb} kB"


def test_large_chunked_download(files, big_file):
    gw, _, _ = files
    with RssSampler(gw.pid) as rss:
        headers, n, digest = download("/chunked/big.bin")
    assert "chunked" in headers.get("transfer-encoding", "")
    assert (n, digest) == (SIZE, big_file[1])
    assert rss.samples > 10
    assert rss.peak_kb < RSS_LIMIT_KB, f"causeway RSS peaked at {rss.peak_kb} kB"


def upload(name, chunked, nginx):
    """PUTs 200 MiB through the gateway; nginx is stopped (SIGSTOP) for 0.5 s mid-upload so the
    gateway must push back on the client. Returns (response, sha256 sent)."""
    c = Conn(GW, 31201, timeout=20)
    h = hashlib.sha256()
    sent = [0]
    err = []

    def sender():
        try:
            headers = [("Transfer-Encoding", "chunked")] if chunked else [("Content-Length", str(SIZE))]
            c.send(request("PUT", f"/up/{name}", HOST, headers))
            for block in block_stream(BLOCKS):
                h.update(block)
                if chunked:
                    for i in range(0, len(block), 256 * 1024):  # 256 KiB chunks
                        piece = block[i:i + 256 * 1024]
                        c.send(b"%x\r\n%s\r\n" % (len(piece), piece))
                else:
                    c.send(block)
                sent[0] += len(block)
            if chunked:
                c.send(b"0\r\n\r\n")
        except Exception as e:  # reported by the main thread
            err.append(e)

    t = threading.Thread(target=sender, daemon=True)
    try:
        t.start()
        deadline = time.monotonic() + 10
        while sent[0] < 40 << 20 and t.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(nginx.proc.pid, signal.SIGSTOP)
        try:
            time.sleep(0.5)
        finally:
            os.kill(nginx.proc.pid, signal.SIGCONT)
        t.join(30)
        assert not t.is_alive(), "upload did not finish in 30 s"
        assert not err, err
        return c.read_response(), h.hexdigest()
    finally:
        c.close()


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_large_upload(files, chunked):
    gw, nginx, updir = files
    # nginx answers a PUT that creates a file with "201, Content-Length: 0", which causeway does
    # not relay (test_proxy_http.py::test_empty_upstream_response_body); overwriting gives 204.
    updir.mkdir(parents=True)
    (updir / "x.bin").write_bytes(b"")
    with RssSampler(gw.pid) as rss:
        resp, digest = upload("x.bin", chunked, nginx)
    assert resp is not None and resp.status in (201, 204), resp
    stored = updir / "x.bin"
    h = hashlib.sha256()
    with open(stored, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    assert (stored.stat().st_size, h.hexdigest()) == (SIZE, digest)
    stored.unlink()
    assert rss.samples > 10
    assert rss.peak_kb < RSS_LIMIT_KB, f"causeway RSS peaked at {rss.peak_kb} kB"
    rec = gw.log_records(1, requests_only=True)[-1]
    assert rec["method"] == "PUT" and rec["bytes_in"] >= SIZE


def test_thousand_concurrent_connections_two_workers(stack):
    n = 1000
    assert raise_nofile(4 * n) >= 2 * n + 100
    nginx = stack.nginx(f"""
        server {{
          listen {DALLAS}:32203 backlog=4096;
          location / {{ return 200 "answer for $request_uri\\n"; }}
        }}
    """, [(DALLAS, 32203)])
    gw = stack.gateway(join(
        base_manifests([(31203, "http")]),
        external_service("echo", 32203, addresses=[DALLAS]),
        route_table("many", ["many.example.com"], f"""
            http:
            - name: echo
              forwardTo:
                destinations:
                {dest("echo", 32203)}
        """),
    ), [31203], workers=2)

    sel = selectors.DefaultSelector()
    socks = []
    replies = {}
    try:
        # 1. open all connections and wait until every one is established
        for i in range(n):
            s = socket.socket()
            s.setblocking(False)
            rc = s.connect_ex((GW, 31203))
            assert rc in (0, errno.EINPROGRESS), os.strerror(rc)
            socks.append(s)
            sel.register(s, selectors.EVENT_WRITE, i)
        connected = 0
        deadline = time.monotonic() + 15
        while connected < n:
            assert time.monotonic() < deadline, f"only {connected}/{n} connections established"
            for key, _ in sel.select(timeout=1):
                err = key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                assert err == 0, os.strerror(err)
                sel.unregister(key.fileobj)
                connected += 1
        # 2. all 1,000 are open at once: now every one sends its request
        for i, s in enumerate(socks):
            s.sendall(request("GET", f"/c/{i}", "many.example.com", close=True))
            replies[i] = b""
            sel.register(s, selectors.EVENT_READ, i)
        # 3. read every answer to its end
        open_ = n
        deadline = time.monotonic() + 30
        while open_:
            assert time.monotonic() < deadline, f"{open_} connections still unanswered"
            for key, _ in sel.select(timeout=1):
                i = key.data
                try:
                    d = key.fileobj.recv(65536)
                except ConnectionResetError:
                    d = b""
                if d:
                    replies[i] += d
                else:
                    sel.unregister(key.fileobj)
                    open_ -= 1
    finally:
        sel.close()
        for s in socks:
            s.close()
    bad = [i for i in range(n)
           if not replies[i].startswith(b"HTTP/1.1 200 ")
           or not replies[i].endswith(b"answer for /c/%d\n" % i)]
    assert not bad, f"{len(bad)} bad answers, e.g. #{bad[0]}: {replies[bad[0]][:300]!r}"
    assert gw.proc.poll() is None
    assert len(nginx.wait_log(n, timeout=10)) == n
    assert len(gw.log_records(n, timeout=10, requests_only=True)) >= n


def slow_gateway(stack, port, backend_port, drain_timeout, workers=2):
    slow = stack.server(SlowHTTPServer, DALLAS, backend_port, 1.0, b"worth the wait\n")
    gw = stack.gateway(join(
        base_manifests([(port, "http")]),
        external_service("slow", backend_port, addresses=[DALLAS]),
        route_table("slow", ["slow.example.com"], f"""
            http:
            - name: slow
              forwardTo:
                destinations:
                {dest("slow", backend_port)}
        """),
    ), [port], workers=workers, drain_timeout=drain_timeout)
    return gw, slow


def refused_within(port, seconds):
    """True when a new connection to the gateway is refused within `seconds`. (A reset counts too:
    a connection queued on a listening socket just as it closes is reset, not served.)"""
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        try:
            socket.create_connection((GW, port), timeout=0.5).close()
        except (ConnectionRefusedError, ConnectionResetError):
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_graceful_shutdown_finishes_request_in_flight(stack, sig):
    """A slow response is in flight when the signal comes: the gateway stops accepting at once,
    the response still completes, and the process exits 0 without waiting for the drain
    timeout."""
    gw, slow = slow_gateway(stack, 31205, 32205, "10s")
    busy = Conn(GW, 31205, timeout=10)
    try:
        busy.send(request("GET", "/in-flight", "slow.example.com", close=True))
        assert slow.got_request.wait(5), "the request never reached the backend"
        t0 = time.monotonic()
        os.kill(gw.pid, sig)
        assert refused_within(31205, 0.8), "the gateway still accepted connections after the signal"
        r = busy.read_response()
        assert r is not None and (r.status, r.body) == (200, b"worth the wait\n"), r
        assert time.monotonic() - t0 >= 0.5  # really answered after the signal
        rc = gw.proc.wait(5)
        took = time.monotonic() - t0
    finally:
        busy.close()
    assert rc == 0, gw.output()
    assert took < 3.0, f"exit took {took:.1f}s with nothing left in flight (drain timeout 10s)"
    recs = gw.log_records(1, requests_only=True)
    assert [(x["path"], x["status"]) for x in recs] == [("/in-flight", 200)]


def test_graceful_shutdown_closes_keepalive_connections(stack):
    gw, slow = slow_gateway(stack, 31209, 32209, "3s", workers=1)
    idle = Conn(GW, 31209, timeout=10)
    busy = Conn(GW, 31209, timeout=10)
    try:
        idle.send(request("GET", "/warm-up", "slow.example.com"))
        assert idle.read_response().status == 200
        slow.got_request.clear()
        busy.send(request("GET", "/in-flight", "slow.example.com"))  # keep-alive
        assert slow.got_request.wait(5), "the request never reached the backend"
        t0 = time.monotonic()
        os.kill(gw.pid, signal.SIGTERM)
        assert idle.closed_by_peer(0.9), "an idle keep-alive connection was kept while draining"
        r = busy.read_response()
        assert r is not None and r.status == 200, r
        assert (r.header("Connection") or "").lower() == "close", r
        assert busy.closed_by_peer(1.0), "the connection stayed open after its last response"
        try:
            rc = gw.proc.wait(1.5)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running {time.monotonic() - t0:.1f}s after SIGTERM "
                                 f"with nothing in flight (drain timeout 3s)") from None
    finally:
        busy.close()
        idle.close()
    assert rc == 0


def test_drain_timeout_bounds_shutdown(stack):
    silent = stack.server(SilentServer, DALLAS, 32207)
    gw = stack.gateway(join(
        base_manifests([(31207, "http")]),
        external_service("silent", 32207, addresses=[DALLAS]),
        route_table("silent", ["silent.example.com"], f"""
            http:
            - name: silent
              forwardTo:
                destinations:
                {dest("silent", 32207)}
        """),
    ), [31207], drain_timeout="1s")
    c = Conn(GW, 31207, timeout=10)
    try:
        c.send(request("GET", "/never", "silent.example.com"))
        deadline = time.monotonic() + 5
        while silent.accepted < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        t0 = time.monotonic()
        os.kill(gw.pid, signal.SIGTERM)
        try:
            rc = gw.proc.wait(3)
        except subprocess.TimeoutExpired:
            raise AssertionError("still running 3s after SIGTERM, drain timeout 1s") from None
        took = time.monotonic() - t0
    finally:
        c.close()
    assert rc == 0, gw.output()
    assert 0.8 <= took < 2.5, f"exit after {took:.2f}s, drain timeout 1s"
