"""SIGHUP reload of `causeway run`: the manifests are loaded and translated again and served
without dropping anything. New connections, and new requests on kept-alive connections, get the
new configuration; a slow response or an open TCP tunnel finishes on the configuration it started
with; a configuration that cannot be served (unreadable path, manifest errors, changed listeners)
is rejected and the running one keeps serving; outlier-detection state of unchanged endpoints
survives; old configurations are freed.

Every reload here waits for its outcome line on causeway's stderr (`causeway: reloaded: ...` or
`causeway: reload rejected: ...`) before the test goes on.

Ports: gateway listeners 34001-34099 on 127.0.0.90, backends 34100-34199 on 127.0.0.41/.42.
"""
import http.client
import os
import signal
import socket
import subprocess
import time

import pytest

from backends import (ASHBURN, DALLAS, GW, START_TIMEOUT, Conn, Deadline, HttpLoad,
                      SlowHTTPServer, _ThreadServer, base_manifests, dest, external_endpoint,
                      external_service, gateway_events, get, join, listening_sockets, outlier_detection_policy,
                      request, route_table, stop_process, tcp_route, vm_rss_kb, wait_until)
from conftest import SANITIZED

RELOADING = "causeway: SIGHUP received, reloading"
RELOADED = "causeway: reloaded: "
REJECTED = "causeway: reload rejected: "
STILL_SERVING = "; still serving the previous configuration"


@pytest.fixture(autouse=True)
def sighup_only(stack, monkeypatch):
    """These tests count the reloads SIGHUP causes: the gateways here do not also reload when
    their manifests change (--watch off; test_file_watch.py tests that)."""
    start = stack.gateway

    def gateway(manifests, ports, **kw):
        kw["args"] = [*kw.get("args", ()), "--watch", "off"]
        return start(manifests, ports, **kw)
    monkeypatch.setattr(stack, "gateway", gateway)


# ---- reloading -----------------------------------------------------------------------------

def stderr_lines(gw):
    """Complete lines of the gateway's stderr."""
    return gw.output().split("\n")[:-1]


def outcomes(gw):
    return [l for l in stderr_lines(gw) if l.startswith((RELOADED, REJECTED))]


def catches_sighup(pid):
    """True once the process has a SIGHUP handler (SigCgt bit 0): before that, SIGHUP kills it."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) & (1 << (signal.SIGHUP - 1)))
    return False


def write_config(gw, text, name="all.yaml"):
    """Replaces one manifest file of the gateway's -c folder (atomically: a rename)."""
    tmp = gw.config / f".{name}.tmp"
    tmp.write_text(text)
    os.replace(tmp, gw.config / name)


def reload(gw, timeout=5.0):
    """SIGHUP to the gateway; waits for its outcome line and returns it."""
    wait_until(lambda: catches_sighup(gw.pid), START_TIMEOUT, what="causeway's SIGHUP handler")
    before = len(outcomes(gw))

    def done():
        assert gw.proc.poll() is None, f"causeway exited with {gw.proc.returncode}\n{gw.output()}"
        return len(outcomes(gw)) > before

    os.kill(gw.pid, signal.SIGHUP)
    try:
        wait_until(done, timeout, interval=0.005, what="the reload's outcome on causeway's stderr")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{gw.output()[-3000:]}") from None
    return outcomes(gw)[before]


def reloaded(gw, listeners, clusters):
    line = reload(gw)
    assert line == f"{RELOADED}{listeners} listener(s), {clusters} cluster(s)", \
        f"{line}\n{gw.output()[-3000:]}"


def direct_routes(*routes):
    """RouteTable `http:` items: one exact-path directResponse route per (name, path, body)."""
    out = ""
    for name, path, body in routes:
        out += (f"- name: {name}\n  matchers:\n  - uri:\n      exact: {path}\n"
                f"  directResponse: {{status: 200, body: \"{body}\"}}\n")
    return out


def directs(*routes):
    """`http:` of a RouteTable with only direct_routes(*routes)."""
    return "http:\n" + direct_routes(*routes)


def dc_nginx(stack, addr, port, dc):
    """One nginx answering every request 200 with body "<dc>\\n"."""
    return stack.nginx(f"""
        server {{
          listen {addr}:{port};
          location / {{ return 200 "{dc}\\n"; }}
        }}
    """, [(addr, port)])


class KeepAlive:
    """An http.client connection that must stay the same TCP connection for every request."""

    def __init__(self, port, host):
        self.host = host
        self.http = http.client.HTTPConnection(GW, port, timeout=5)
        self.http.connect()
        self.local = self.http.sock.getsockname()

    def get(self, path):
        self.http.request("GET", path, headers={"Host": self.host})
        r = self.http.getresponse()
        body = r.read().decode()
        assert self.http.sock is not None and self.http.sock.getsockname() == self.local, \
            f"the kept-alive connection was closed (GET {path} → {r.status} {body!r})"
        assert (r.getheader("Connection") or "").lower() != "close", (path, r.status, body)
        return r.status, body.strip()

    def close(self):
        self.http.close()


# ---- 1. a changed route is served ----------------------------------------------------------

SITE = "site.example.com"


def test_reload_serves_changed_routes_on_new_and_kept_alive_connections(stack):
    """v1: site.example.com /hello → "hello v1", /old → "old route", no cluster.
    v2: /hello → "hello v2", /old removed, /api forwarded to Dallas's nginx (a new cluster), and
    a second RouteTable for extra.example.com. A connection opened before the reload gets v2 for
    its next requests without being closed; so does a new connection."""
    dc_nginx(stack, DALLAS, 34101, "dallas")
    listeners = base_manifests([(34001, "http")])
    v1 = join(listeners, route_table("site", [SITE], directs(("hello", "/hello", "hello v1"),
                                                             ("old", "/old", "old route"))))
    gw = stack.gateway(v1, [34001], workers=2)
    ka = KeepAlive(34001, SITE)
    try:
        assert ka.get("/hello") == (200, "hello v1")
        assert ka.get("/old") == (200, "old route")
        assert ka.get("/api/x") == (404, "no route matches")
        r = get(34001, "/", host="extra.example.com")
        assert (r.status, r.text.strip()) == (404, "no route: unknown host"), r

        write_config(gw, join(
            listeners,
            external_service("dallas", 34101, addresses=[DALLAS]),
            route_table("site", [SITE], directs(("hello", "/hello", "hello v2")) + f"""\
- name: api
  matchers:
  - uri:
      prefix: /api/
  forwardTo:
    destinations:
    {dest("dallas", 34101)}
"""),
            route_table("extra", ["extra.example.com"], directs(("root", "/", "extra v2")))))
        reloaded(gw, 1, 1)

        # The connection opened before the reload: its next requests see v2.
        assert ka.get("/hello") == (200, "hello v2")
        assert ka.get("/old") == (404, "no route matches")
        assert ka.get("/api/x") == (200, "dallas")
        # New connections (two workers: several, so that both workers are asked).
        for i in range(6):
            r = get(34001, "/hello", host=SITE)
            assert (r.status, r.text) == (200, "hello v2"), (i, r)
            r = get(34001, "/old", host=SITE)
            assert (r.status, r.text.strip()) == (404, "no route matches"), (i, r)
            r = get(34001, "/", host="extra.example.com")
            assert (r.status, r.text) == (200, "extra v2"), (i, r)
        r = get(34001, "/api/items", host=SITE)
        assert (r.status, r.text) == (200, "dallas\n"), r
        assert ka.get("/hello") == (200, "hello v2")
    finally:
        ka.close()
    recs = gw.log_records(6, requests_only=True)
    api = [r for r in recs if r["path"].startswith("/api/") and r["status"] == 200]
    assert api and all((r["route"], r["service"], r["endpoint"]) ==
                       ("gw/site:api", "data/dallas:34101", f"{DALLAS}:34101") for r in api), api
    assert RELOADING in stderr_lines(gw)


# ---- 2. a broken file is rejected, the fixed one is taken ----------------------------------

def test_broken_manifest_is_rejected_and_the_fixed_one_reloads(stack):
    """v1 serves /v → "v1". routes.yaml is then rewritten with a changed body and a YAML syntax
    error (an extra closing brace): the reload is rejected with the file:line:col diagnostic and
    "the configuration has 1 error(s)", and v1 keeps serving, on a kept-alive connection too.
    The -c folder moved away: rejected, "cannot be read". Fixed file, SIGHUP: v2 is served."""
    listeners = base_manifests([(34003, "http")])
    gw = stack.gateway(listeners, [34003])
    routes = route_table("site", [SITE], directs(("v", "/v", "v1")))
    # The gateway started from all.yaml only (no route yet): add the route file, then reload.
    write_config(gw, routes, "routes.yaml")
    reloaded(gw, 1, 0)
    ka = KeepAlive(34003, SITE)
    try:
        assert ka.get("/v") == (200, "v1")

        good_v2 = route_table("site", [SITE], directs(("v", "/v", "v2"), ("w", "/w", "w2")))
        broken = good_v2.replace('body: "v2"}', 'body: "v2"}}')
        assert broken != good_v2
        lines = broken.split("\n")
        line_no = next(i for i, l in enumerate(lines) if "}}" in l) + 1
        col = lines[line_no - 1].index("}}") + 2  # the second brace, 1-based
        write_config(gw, broken, "routes.yaml")
        before = len(stderr_lines(gw))
        line = reload(gw)
        assert line == (f"{REJECTED}the configuration has 1 error(s) (above){STILL_SERVING}"), \
            gw.output()[-3000:]
        new = stderr_lines(gw)[before:]
        diag = f"{gw.config / 'routes.yaml'}:{line_no}:{col}: error: YAML syntax error"
        errors = [l for l in new if ": error: " in l]
        assert len(errors) == 1 and errors[0].startswith(diag), (diag, new)
        assert new.index(errors[0]) < new.index(line), new  # the error comes above the rejection
        # v1 keeps serving: the kept-alive connection and new ones.
        assert ka.get("/v") == (200, "v1")
        assert ka.get("/w") == (404, "no route matches")
        r = get(34003, "/v", host=SITE)
        assert (r.status, r.text) == (200, "v1"), r

        # An unreadable -c path: rejected as well.
        moved = gw.config.with_name("moved-away")
        os.rename(gw.config, moved)
        try:
            line = reload(gw)
        finally:
            os.rename(moved, gw.config)
        assert line == f"{REJECTED}a configuration path cannot be read{STILL_SERVING}", line
        assert ka.get("/v") == (200, "v1")

        write_config(gw, good_v2, "routes.yaml")
        reloaded(gw, 1, 0)
        assert ka.get("/v") == (200, "v2")
        assert ka.get("/w") == (200, "w2")
        r = get(34003, "/v", host=SITE)
        assert (r.status, r.text) == (200, "v2"), r
    finally:
        ka.close()
    assert gw.proc.poll() is None
    assert sum(l == RELOADING for l in stderr_lines(gw)) == 4


# ---- 3. changed listeners need a restart ---------------------------------------------------

def test_listener_change_is_rejected_and_the_old_listeners_keep_serving(stack):
    """v1: HTTP listener 34005. Each of these is rejected with "restart to apply", even though
    the same file also changes a route body: a listener added (34006), the port changed (34005 →
    34007), http → tcp. 34005 keeps serving v1; 34006/34007 are never listened on."""
    v1 = join(base_manifests([(34005, "http")]),
              route_table("site", [SITE], directs(("v", "/v", "v1"))))
    gw = stack.gateway(v1, [34005], workers=2)
    v2_routes = route_table("site", [SITE], directs(("v", "/v", "v2")))
    cases = [
        ([(34005, "http"), (34006, "http")],
         "the listeners changed (1 before, 2 now); restart to apply"),
        ([(34007, "http")], "listener 34005 is gone; restart to apply"),
        ([(34005, "tcp")], "listener 34005 changed from http to tcp; restart to apply"),
    ]
    ka = KeepAlive(34005, SITE)
    try:
        for listeners, why in cases:
            write_config(gw, join(base_manifests(listeners), v2_routes))
            line = reload(gw)
            assert line == f"{REJECTED}{why}{STILL_SERVING}", (listeners, line)
            assert ka.get("/v") == (200, "v1"), listeners
            r = get(34005, "/v", host=SITE)
            assert (r.status, r.text) == (200, "v1"), (listeners, r)
            assert listening_sockets(GW, 34005) == 2
            assert listening_sockets(GW, 34006) == 0 and listening_sockets(GW, 34007) == 0
        # The listeners as they were, the route changed: accepted.
        write_config(gw, join(base_manifests([(34005, "http")]), v2_routes))
        reloaded(gw, 1, 0)
        assert ka.get("/v") == (200, "v2")
    finally:
        ka.close()
    assert not any(l.startswith(RELOADED) for l in outcomes(gw)[:3]), outcomes(gw)


# ---- 4. a request in flight finishes on its configuration ----------------------------------

def test_request_in_flight_finishes_on_the_configuration_it_started_with(stack):
    """v1: /slow forwarded to a backend that answers after 1.5 s. While a request waits for it,
    v2 replaces the route by a directResponse and drops the ExternalService (no cluster left).
    The waiting request still gets the backend's 200 (route and endpoint of v1 in the access
    log); the next request on the same connection, and a new connection meanwhile, get v2."""
    slow = stack.server(SlowHTTPServer, DALLAS, 34110, 1.5, body=b"slow v1\n")
    listeners = base_manifests([(34009, "http")])
    gw = stack.gateway(join(
        listeners,
        external_service("slow", 34110, addresses=[DALLAS]),
        route_table("site", [SITE], f"""
            http:
            - name: slow-v1
              matchers:
              - uri:
                  prefix: /slow
              forwardTo:
                destinations:
                {dest("slow", 34110)}
        """)), [34009])
    c = Conn(GW, 34009, timeout=5)
    try:
        t0 = time.monotonic()
        c.send(request("GET", "/slow/1", SITE))
        assert slow.got_request.wait(3), "the request never reached the slow backend"
        write_config(gw, join(listeners, route_table("site", [SITE], """
            http:
            - name: fast-v2
              matchers:
              - uri:
                  prefix: /slow
              directResponse: {status: 200, body: "fast v2"}
        """)))
        reloaded(gw, 1, 0)
        assert time.monotonic() - t0 < 1.2, "the reload took too long for the test to mean much"
        r = get(34009, "/slow/2", host=SITE)  # a new connection, while the first still waits
        assert (r.status, r.text) == (200, "fast v2"), r
        r = c.read_response()
        assert r is not None and (r.status, r.body) == (200, b"slow v1\n"), r
        assert time.monotonic() - t0 >= 1.4
        c.send(request("GET", "/slow/3", SITE))
        r = c.read_response()
        assert r is not None and (r.status, r.body) == (200, b"fast v2"), r
    finally:
        c.close()
    recs = gw.log_records(3, requests_only=True)
    by_path = {r["path"]: r for r in recs}
    assert (by_path["/slow/1"]["status"], by_path["/slow/1"]["route"],
            by_path["/slow/1"]["endpoint"]) == (200, "gw/site:slow-v1", f"{DALLAS}:34110"), recs
    assert by_path["/slow/3"]["route"] == "gw/site:fast-v2", recs
    assert slow.accepted == 1


# ---- 5. a TCP tunnel across the reload -------------------------------------------------------

class TaggedEcho(_ThreadServer):
    """TCP backend: echoes every chunk it receives with b"<tag>:" in front."""

    def __init__(self, addr, port, tag):
        super().__init__(addr, port)
        self.tag = tag

    def serve(self, c):
        while not self.stopping.is_set():
            try:
                d = c.recv(65536)
            except socket.timeout:
                continue
            if not d:
                c.close()
                return
            c.sendall(self.tag + b":" + d)


def echo(s, payload):
    s.sendall(payload)
    want = len(payload) + 2
    got = b""
    while len(got) < want:
        d = s.recv(65536)
        if not d:
            break
        got += d
    return got


def test_tcp_tunnel_open_across_reloads_keeps_working(stack):
    """v1: TCP listener 34011 → echo server "a" (Dallas). v2 routes it to echo server "b"
    (Ashburn) and drops "a". A tunnel opened before the reload keeps echoing through "a" across
    two reloads; a new connection goes to "b"."""
    a = stack.server(TaggedEcho, DALLAS, 34111, b"a")
    b = stack.server(TaggedEcho, ASHBURN, 34112, b"b")
    listeners = base_manifests([(34011, "tcp")])
    gw = stack.gateway(join(
        listeners,
        external_service("echo-a", 34111, protocol="TCP", addresses=[DALLAS]),
        tcp_route(34011, "echo-a", 34111, name="tunnel", hosts=["tunnel.internal"])), [34011])
    v2 = join(listeners,
              external_service("echo-b", 34112, protocol="TCP", addresses=[ASHBURN]),
              tcp_route(34011, "echo-b", 34112, name="tunnel", hosts=["tunnel.internal"]))
    with socket.create_connection((GW, 34011), timeout=5) as tunnel:
        assert echo(tunnel, b"before") == b"a:before"
        write_config(gw, v2)
        reloaded(gw, 1, 1)
        assert echo(tunnel, b"after one reload") == b"a:after one reload"
        with socket.create_connection((GW, 34011), timeout=5) as fresh:
            assert echo(fresh, b"new") == b"b:new"
        write_config(gw, v2.replace("tunnel.internal", "tunnel2.internal"))
        reloaded(gw, 1, 1)
        assert echo(tunnel, b"after two") == b"a:after two"
        big = bytes(range(0x30)) * 5000  # no b"a" nor b":" in it
        tunnel.sendall(big)
        got = b""
        while len(got) < len(big):
            d = tunnel.recv(65536)
            assert d, "the tunnel closed"
            got += d
        while len(got) < len(big) + 2 * got.count(b"a:"):
            d = tunnel.recv(65536)
            assert d, "the tunnel closed"
            got += d
        assert got.startswith(b"a:") and got.replace(b"a:", b"") == big
        tunnel.shutdown(socket.SHUT_WR)
        assert tunnel.recv(100) == b""
    assert a.accepted == 1 and b.accepted == 1
    recs = gw.log_records(2)
    tunnels = sorted(recs, key=lambda r: r["bytes_in"])
    assert tunnels[0]["endpoint"] == f"{ASHBURN}:34112", recs
    assert (tunnels[1]["endpoint"], tunnels[1]["service"]) == \
        (f"{DALLAS}:34111", "data/echo-a:34111"), recs
    assert tunnels[1]["reason"] in ("-", ""), recs


# ---- 6. outlier-detection state survives a reload ------------------------------------------

IN_DALLAS = ["--locality", "us-south/dallas"]


def inventory_api(port, p_dallas, p_ashburn, extra_routes=""):
    """Listener `port`; api.example.com /items → inventory over Dallas (us-south/dallas) and
    Ashburn (us-east/ashburn), ODP consecutiveErrors 1, baseEjectionTime 3s; `extra_routes` is
    YAML for more routes, put first."""
    return join(
        base_manifests([(port, "http")]),
        external_service("inventory", 80, hosts=["inventory.external"],
                         selector={"app": "inventory"}, port_name="http", target_port="http",
                         labels={"failover": "true"}),
        external_endpoint("inventory-dallas", DALLAS, p_dallas, {"app": "inventory"},
                          port_name="http", locality="us-south/dallas"),
        external_endpoint("inventory-ashburn", ASHBURN, p_ashburn, {"app": "inventory"},
                          port_name="http", locality="us-east/ashburn"),
        outlier_detection_policy(consecutiveErrors=1, interval="10s", baseEjectionTime="3s"),
        route_table("api", ["api.example.com"], "http:\n" + extra_routes + f"""\
- name: inventory
  matchers:
  - uri:
      prefix: /items
  forwardTo:
    destinations:
    {dest("inventory", 80)}
"""))


def test_ejection_survives_a_reload(stack):
    """Gateway in us-south/dallas; inventory over Dallas (P0) and Ashburn (P1); ODP
    consecutiveErrors 1, baseEjectionTime 3s. Dallas's nginx is killed → ejected; it is started
    again; a reload adds an unrelated directResponse route, a second one an unrelated
    ExternalService data/audit (a cluster that sorts before data/inventory:80, so the inventory
    cluster's index moves). Dallas stays ejected for the rest of its 3 s (every request to
    Ashburn, no second eject, no early return), then returns and gets the traffic back."""
    base = 3.0
    dallas = dc_nginx(stack, DALLAS, 34120, "dallas")
    dc_nginx(stack, ASHBURN, 34121, "ashburn")
    gw = stack.gateway(inventory_api(34013, 34120, 34121), [34013], args=IN_DALLAS, workers=2)

    def ask(path):
        r = get(34013, path, host="api.example.com")
        assert r.status == 200, r
        return r.text.strip()

    assert [ask(f"/items/{i}") for i in range(6)] == ["dallas"] * 6
    # master_process off: the nginx PID is the whole server.
    stop_process(dallas.proc, signal.SIGKILL)
    assert ask("/items/kill") == "ashburn"  # the refused connect is retried on Ashburn
    ej = wait_until(lambda: gateway_events(gw, "eject"), 3, interval=0.005, what="eject event")
    t_eject = time.monotonic()
    assert (ej[0]["endpoint"], ej[0]["duration_ms"]) == (f"{DALLAS}:34120", "3000"), ej
    dallas = dc_nginx(stack, DALLAS, 34120, "dallas")  # back up, still ejected

    write_config(gw, inventory_api(34013, 34120, 34121,
                                   extra_routes=direct_routes(("ping", "/ping", "pong"))))
    reloaded(gw, 1, 1)
    r = get(34013, "/ping", host="api.example.com")
    assert (r.status, r.text) == (200, "pong"), r  # the reload took effect
    audit_route = f"""\
- name: audit
  matchers:
  - uri:
      prefix: /audit
  forwardTo:
    destinations:
    {dest("audit", 34121)}
"""
    write_config(gw, join(
        inventory_api(34013, 34120, 34121,
                      extra_routes=direct_routes(("ping", "/ping", "pong")) + audit_route),
        external_service("audit", 34121, addresses=[ASHBURN])))
    reloaded(gw, 1, 2)
    assert ask("/audit") == "ashburn"
    assert time.monotonic() - t_eject < base - 1.5, "the restart and the reloads took too long"

    # Until the original ejection time is up: Ashburn only, no new event.
    answers = []
    while time.monotonic() < t_eject + base - 0.3:
        answers.append(ask(f"/items/after-reload/{len(answers)}"))
        assert gateway_events(gw, "return") == [], \
            f"Dallas returned {time.monotonic() - t_eject:.2f}s after its ejection"
        time.sleep(0.02)
    assert len(answers) >= 10 and set(answers) == {"ashburn"}, answers
    assert dallas.log_entries() == [], "the restarted Dallas got requests while ejected"
    assert len(gateway_events(gw, "eject")) == 1, gateway_events(gw)

    # Then it returns, on the original schedule, and gets the traffic back.
    ret = wait_until(lambda: gateway_events(gw, "return"), 2.5, what="return event")
    assert (ret[0]["endpoint"], ret[0]["ejection"]) == (f"{DALLAS}:34120", "1"), ret
    assert 3000 <= int(ret[0]["ejected_ms"]) <= 3300, ret
    wait_until(lambda: ask("/items/back") == "dallas", 2, what="traffic back to Dallas")
    assert [ask(f"/items/back/{i}") for i in range(6)] == ["dallas"] * 6
    assert len(gateway_events(gw, "eject")) == 1 and len(gateway_events(gw, "return")) == 1, \
        gateway_events(gw)


# ---- 7. many reloads under load: no failure, old configurations freed ---------------------

def Clients(port, ok):
    """Two keep-alive clients and one on a new connection per request, alternating /direct and
    /items on load.example.com; every answer must have one of the `ok` bodies."""
    return HttpLoad(port, "load.example.com",
                    lambda i, k: ("/direct", "/items")[k % 2] + f"/{i}/{k}",
                    keepalive=2, fresh=1, check=lambda resp: resp.text.strip() in ok)


def load_config(port, version, padding_routes=150):
    """Listener `port`; load.example.com: /direct → "direct <version>", /items → Dallas or
    Ashburn (alternating by version, so clusters and pools change), and `padding_routes` more
    routes with 1 kB bodies so that a configuration is big enough for a leak to show in RSS."""
    pad = "x" * 1000
    routes = [("direct", "/direct", f"direct {version}")]
    routes += [(f"pad{i}", f"/pad/{version}/{i}", f"{pad}{i}") for i in range(padding_routes)]
    es = ("dallas", 34130) if version % 2 == 0 else ("ashburn", 34131)
    body = directs(*routes).replace("exact: /direct\n", "prefix: /direct\n")
    body += f"""\
- name: items
  matchers:
  - uri:
      prefix: /items
  forwardTo:
    destinations:
    {dest(*es)}
"""
    return join(base_manifests([(port, "http")]),
                external_service("dallas", 34130, addresses=[DALLAS]),
                external_service("ashburn", 34131, addresses=[ASHBURN]),
                route_table("load", ["load.example.com"], body))


def test_many_reloads_under_load_fail_no_request_and_free_old_configurations(stack):
    """60 reloads (each with a different configuration) while clients send requests over kept-
    alive and fresh connections: not one request fails, every reload is applied, and causeway's
    RSS after 60 reloads is not much above its RSS after 20 (old configurations are freed).
    Then a burst of SIGHUPs without waiting: the gateway survives and serves the last file."""
    dc_nginx(stack, DALLAS, 34130, "dallas")
    dc_nginx(stack, ASHBURN, 34131, "ashburn")
    gw = stack.gateway(load_config(34015, 0), [34015], workers=2)
    ok = {"dallas", "ashburn"} | {f"direct {v}" for v in range(100)}
    version = 0
    rss = {}
    with Clients(34015, ok) as clients:
        wait_until(lambda: clients.count() >= 50, 5, what="50 answers before the first reload")
        for n in range(1, 61):
            version += 1
            write_config(gw, load_config(34015, version))
            reloaded(gw, 1, 2)
            if n in (20, 60):
                seen = clients.count()
                wait_until(lambda: clients.count() >= seen + 50, 5, what="answers after reload")
                rss[n] = vm_rss_kb(gw.pid)
        r = get(34015, "/direct", host="load.example.com")
        assert (r.status, r.text) == (200, f"direct {version}"), r
        # A burst: SIGHUPs faster than reloads finish (they may coalesce).
        version += 1
        write_config(gw, load_config(34015, version))
        for _ in range(20):
            os.kill(gw.pid, signal.SIGHUP)
        settle = Deadline(10)

        def settled():
            lines = stderr_lines(gw)
            return sum(l == RELOADING for l in lines) == len(outcomes(gw))
        while True:
            n_before = len(outcomes(gw))
            time.sleep(0.3)
            if settled() and len(outcomes(gw)) == n_before:
                break
            assert not settle.expired(), "the burst of reloads never settled"
        assert gw.proc.poll() is None, gw.output()[-3000:]
        seen = clients.count()
        wait_until(lambda: clients.count() >= seen + 50, 5, what="answers after the burst")
    assert clients.errors == [], f"{len(clients.errors)} failed requests: {clients.errors[:5]}"
    assert clients.count() > 500, clients.count()
    res = outcomes(gw)
    assert all(l.startswith(RELOADED) for l in res), [l for l in res if not l.startswith(RELOADED)]
    assert 61 <= len(res) <= 80, len(res)
    r = get(34015, "/direct", host="load.example.com")
    assert (r.status, r.text) == (200, f"direct {version}"), r
    r = get(34015, "/items", host="load.example.com")
    assert (r.status, r.text) == (200, "dallas\n" if version % 2 == 0 else "ashburn\n"), r
    # One such configuration (170 kB of YAML) costs causeway over 1 MB: 40 of them leaked would
    # add tens of MB. Under ASan RSS says nothing (freed memory waits in its quarantine, up to
    # 256 MB); LeakSanitizer checks at exit that the old configurations were freed instead.
    if not SANITIZED:
        assert rss[60] - rss[20] < 4096, f"RSS grew from {rss[20]} kB to {rss[60]} kB over 40 reloads"


# ---- 8. the same listeners in another order are not a change -------------------------------

def test_listeners_listed_in_another_order_are_not_a_listener_change(stack):
    """v1: VirtualGateway listeners 34017 http, 34018 tcp. v2 lists the same two listeners the
    other way round (and changes a route body): no port added, removed or changed, no http↔tcp,
    so the reload must be accepted and v2 served."""
    echo_srv = stack.server(TaggedEcho, DALLAS, 34140, b"e")
    services = join(external_service("echo", 34140, protocol="TCP", addresses=[DALLAS]),
                    tcp_route(34018, "echo", 34140, name="tunnel", hosts=["tunnel.internal"]))
    gw = stack.gateway(join(base_manifests([(34017, "http"), (34018, "tcp")]), services,
                            route_table("site", [SITE], directs(("v", "/v", "v1")))),
                       [34017, 34018])
    assert get(34017, "/v", host=SITE).text == "v1"
    write_config(gw, join(base_manifests([(34018, "tcp"), (34017, "http")]), services,
                          route_table("site", [SITE], directs(("v", "/v", "v2")))))
    line = reload(gw)
    assert line == f"{RELOADED}2 listener(s), 1 cluster(s)", line
    r = get(34017, "/v", host=SITE)
    assert (r.status, r.text) == (200, "v2"), r
    with socket.create_connection((GW, 34018), timeout=5) as s:
        assert echo(s, b"tcp") == b"e:tcp"
    assert echo_srv.accepted == 1


def strict_config(port, overlapping):
    """Listener `port` routing to dallas; with <overlapping>, a second ExternalService on the
    same address, which the overlap rule (§8.4) makes INVALID."""
    docs = [base_manifests([(port, "http")]),
            external_service("dallas", 34140, addresses=[DALLAS]),
            route_table("web", ["web.example.com"], f"""
                http:
                - name: all
                  forwardTo:
                    destinations:
                    {dest("dallas", 34140)}
            """)]
    if overlapping:
        docs.append(external_service("dallas-again", 34140, addresses=[DALLAS]))
    return join(*docs)


def test_strict_refuses_to_start_or_reload_while_anything_is_invalid(stack, tmp_path):
    dc_nginx(stack, DALLAS, 34140, "dallas")
    bad = tmp_path / "bad.yaml"
    bad.write_text(strict_config(34020, True))
    p = subprocess.run([stack.binary, "run", "-c", str(bad), "--namespace", "gw", "--labels",
                        "app=c-gateway", "--bind", GW, "--strict"],
                       capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    assert p.returncode == 1 and "--strict: 1 object(s) INVALID" in p.stderr, p
    gw = stack.gateway(strict_config(34021, False), [34021], args=["--strict"])
    write_config(gw, strict_config(34021, True))
    line = reload(gw)
    assert line.startswith(REJECTED + "--strict: 1 object(s) INVALID"), line
    r = get(34021, "/", host="web.example.com")
    assert (r.status, r.text) == (200, "dallas\n"), r
