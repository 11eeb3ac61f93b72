"""The admin API (`causeway run --admin ADDR:PORT`): every endpoint asked with real HTTP
requests (http.client), /metrics checked by `promtool check metrics` and scraped by a real
Prometheus that sees an ejection through PromQL, the page at / read by headless chromium, and
the lifecycle around it: /ready during --shutdown-delay, SIGUSR1 reopening the access log, a
reload by a watched file as an event and a metric, an admin port already taken.

Addresses and ports: everything on 127.0.9.0/24 — the gateway on 127.0.9.1 (listeners
44001-44019, admin 44078-44089), backends "dallas" 127.0.9.41 and "ashburn" 127.0.9.42 on
44021-44049, Prometheus on 127.0.9.2:44090.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from backends import get, outlier_detection_policy, stop_process, wait_until
from test_resilience_http import HOST, IN_DALLAS, LOC, api

GW = "127.0.9.1"
DALLAS = "127.0.9.41"
ASHBURN = "127.0.9.42"
PROMETHEUS = ("127.0.9.2", 44090)


# ---- set-up --------------------------------------------------------------------------------

def inventory_api(port, backend_port, *policies):
    """Listener `port`; RouteTable gw/api sends api.example.com to data/inventory:80, whose
    endpoints are Dallas (P0 from the gateway in Dallas, under outlier detection) and Ashburn
    (P1), on `backend_port` and `backend_port` + 1."""
    return api(port, [("dallas", DALLAS, backend_port, LOC["dallas"]),
                      ("ashburn", ASHBURN, backend_port + 1, LOC["ashburn"])], *policies)


def backends(stack, port, dallas_status=200):
    """nginx "dallas" on DALLAS:port answering `dallas_status`, "ashburn" on ASHBURN:port+1."""
    def one(addr, p, name, status):
        return stack.nginx(f"""
            server {{
              listen {addr}:{p};
              location / {{ return {status} "{name}\\n"; }}
            }}
        """, [(addr, p)])
    return one(DALLAS, port, "dallas", dallas_status), one(ASHBURN, port + 1, "ashburn", 200)


def gateway(stack, port, backend_port, admin_port, *policies, args=(), workers=2):
    admin = f"{GW}:{admin_port}"
    gw = stack.gateway(inventory_api(port, backend_port, *policies), [port], bind=GW,
                       admin=admin, args=[*IN_DALLAS, *args], workers=workers)
    wait_until(lambda: port_accepts(GW, admin_port), 5, what=f"admin API on {admin}")
    gw.admin_port = admin_port
    return gw


def port_accepts(addr, port):
    try:
        socket.create_connection((addr, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def ejecting_policy():
    """Two consecutive errors eject an endpoint for 30 s (long enough to be seen)."""
    return outlier_detection_policy(consecutiveErrors=2, baseEjectionTime="30s",
                                    maxEjectionPercent=100)


# ---- the admin client ----------------------------------------------------------------------

class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self):
        return self.body.decode()

    def json(self):
        return json.loads(self.body)


def admin(gw_or_port, path, method="GET", timeout=5.0):
    """One request to the admin API with http.client; the answer with its body."""
    port = getattr(gw_or_port, "admin_port", gw_or_port)
    c = http.client.HTTPConnection(GW, port, timeout=timeout)
    try:
        c.request(method, path)
        r = c.getresponse()
        return Answer(r.status, dict(r.getheaders()), r.read())
    finally:
        c.close()


def samples(metrics_text, name):
    """{frozenset(labels.items()): value} of the samples of `name` in an exposition."""
    out = {}
    for line in metrics_text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, value = line.rsplit(" ", 1)
        if "{" in series:
            metric, labels = series.split("{", 1)
            pairs = dict(kv.split("=", 1) for kv in labels.rstrip("}").split('",') if kv)
            labels = {k: v.strip('"') for k, v in pairs.items()}
        else:
            metric, labels = series, {}
        if metric == name:
            out[frozenset(labels.items())] = float(value)
    return out


def sample(metrics_text, name, **labels):
    """The value of the one sample of `name` whose labels include `labels` (None: none)."""
    found = [v for k, v in samples(metrics_text, name).items()
             if set(labels.items()) <= set(k)]
    assert len(found) <= 1, f"{name} {labels}: {found}"
    return found[0] if found else None


def send(port, n, path="/items"):
    statuses = [get(port, path, host=HOST, addr=GW).status for _ in range(n)]
    return statuses


def endpoint(clusters, address):
    for c in clusters["clusters"]:
        for e in c["endpoints"]:
            if e["address"] == address:
                return c, e
    raise AssertionError(f"no endpoint {address} in {clusters}")


def eject_dallas(gw, port, dallas):
    """Dallas (`dallas`: its address) answers 503: requests to listener `port` eject it."""
    def ejected():
        send(port, 1)
        return endpoint(admin(gw, "/clusters").json(), dallas)[1]["state"] == "ejected"
    wait_until(ejected, 10, interval=0.05, what="Dallas ejected")


# ---- the endpoints -------------------------------------------------------------------------

def test_ready_healthz_and_what_is_not_an_endpoint(stack):
    backends(stack, 44021)
    gw = gateway(stack, 44001, 44021, 44080)
    r = admin(gw, "/ready")
    assert (r.status, r.text) == (200, "ready\n")
    assert r.headers["Connection"] == "close"
    assert admin(gw, "/healthz").status == 200
    head = admin(gw, "/ready", method="HEAD")
    assert head.status == 200 and head.body == b""
    assert admin(gw, "/nothing").status == 404
    post = admin(gw, "/metrics", method="POST")
    assert post.status == 405 and post.headers["Allow"] == "GET, HEAD"
    assert admin(gw, "/ready?verbose=1").status == 200  # a query string is ignored


def test_a_request_for_a_name_is_refused_against_dns_rebinding(stack):
    """A web page can point its own name at 127.0.0.1 and make the operator's browser fetch the
    admin API: a Host that is a name (not an IP address or localhost) gets 403. Probes and
    scrapers that address the port by IP, and HTTP/1.0 requests without Host, are answered."""
    backends(stack, 44022)
    gateway(stack, 44002, 44022, 44081)

    def status(host_line):
        with socket.create_connection((GW, 44081), timeout=5) as s:
            s.sendall(b"GET /config_dump HTTP/1.1\r\n" + host_line + b"\r\n")
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
        return int(answer.split(b" ", 2)[1])

    for host in (b"evil.example", b"evil.example:44081", b"127.0.0.1.evil.example",
                 b"[::1].evil.example", b"[::1", b"", b"a" * 400):
        assert status(b"Host: " + host + b"\r\n") == 403, host
    assert status(b"HOST:\tattacker.test\r\n") == 403
    for host in (b"127.0.0.1", f"{GW}:44081".encode(), b"localhost:44081", b"LocalHost",
                 b"[::1]:44081"):
        assert status(b"Host: " + host + b"\r\n") == 200, host
    assert status(b"") == 200  # no Host at all (HTTP/1.0 style probes)


def test_metrics_count_requests_by_route_service_and_status_class(stack, tmp_path):
    backends(stack, 44023)
    gw = gateway(stack, 44002, 44023, 44081)
    assert send(44002, 5) == [200] * 5
    assert get(44002, "/", host="unknown.example.com", addr=GW).status == 404
    text = admin(gw, "/metrics").text
    assert admin(gw, "/metrics").headers["Content-Type"].startswith("text/plain; version=0.0.4")
    route = dict(listener="44002", route="gw/api:inventory", service="data/inventory:80")
    assert sample(text, "causeway_http_requests_total", code_class="2xx", **route) == 5
    assert sample(text, "causeway_http_requests_total", listener="44002", route="",
                  code_class="4xx") == 1
    assert sample(text, "causeway_http_request_duration_seconds_count", **route) == 5
    assert sample(text, "causeway_http_request_duration_seconds_bucket", le="+Inf", **route) == 5
    assert sample(text, "causeway_received_bytes_total", **route) > 0
    assert sample(text, "causeway_sent_bytes_total", **route) > 5 * len("dallas\n")
    dallas = dict(service="data/inventory:80", address=f"{DALLAS}:44023")
    ashburn = dict(service="data/inventory:80", address=f"{ASHBURN}:44024")
    # Without outlier detection priorities do not apply (§7.1): both take turns.
    assert sample(text, "causeway_upstream_requests_total", **dallas) + \
        sample(text, "causeway_upstream_requests_total", **ashburn) == 5
    assert sample(text, "causeway_upstream_requests_active", **dallas) == 0
    assert sample(text, "causeway_upstream_endpoint_state", state="available",
                  locality="us-south/dallas", priority="0", **dallas) == 1
    assert sample(text, "causeway_upstream_endpoint_state", state="ejected", **dallas) == 0
    assert sample(text, "causeway_upstream_connect_duration_seconds_count",
                  service="data/inventory:80") >= 1
    assert sample(text, "causeway_config_generation") == 1
    assert sample(text, "causeway_ready") == 1
    # The upstream connections stay pooled (keep-alive to nginx): open, not in use.
    assert 1 <= sample(text, "causeway_upstream_connections_active") <= 5
    # Connection: close on every request: nothing stays open on the client side.
    wait_until(lambda: sample(admin(gw, "/metrics").text,
                              "causeway_downstream_connections_active") == 0, 5,
               what="no client connection left")
    # promtool, Prometheus's own checker, finds nothing to say.
    scrape = tmp_path / "scrape.txt"
    scrape.write_text(text)
    check = subprocess.run(["promtool", "check", "metrics"], stdin=scrape.open(),
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0 and not check.stdout.strip() and not check.stderr.strip(), check


def test_clusters_and_events_show_an_ejection_and_a_reload(stack):
    backends(stack, 44025, dallas_status=503)
    gw = gateway(stack, 44003, 44025, 44082, ejecting_policy())
    before = admin(gw, "/clusters").json()
    cluster, dallas = endpoint(before, f"{DALLAS}:44025")
    assert cluster["name"] == "data/inventory:80" and cluster["outlier_detection"] is True
    assert [(p["priority"], p["load_percent"]) for p in cluster["priorities"]] == [(0, 100), (1, 0)]
    assert (dallas["locality"], dallas["priority"], dallas["state"]) == \
        ("us-south/dallas", 0, "available")
    eject_dallas(gw, 44003, f"{DALLAS}:44025")
    cluster, dallas = endpoint(admin(gw, "/clusters").json(), f"{DALLAS}:44025")
    assert dallas["state"] == "ejected" and dallas["ejections"] == 1
    assert dallas["ejection"]["reason"] == "consecutive_errors"
    assert 20000 < dallas["ejection"]["returns_in_ms"] <= 30000
    assert dallas["failures"]["5xx"] >= 2 and dallas["requests"] >= 2
    assert [(p["priority"], p["load_percent"]) for p in cluster["priorities"]] == [(0, 0), (1, 100)]
    _, ashburn = endpoint(admin(gw, "/clusters").json(), f"{ASHBURN}:44026")
    assert ashburn["state"] == "available"
    assert send(44003, 2) == [200, 200]  # Ashburn serves meanwhile
    gw.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: admin(gw, "/events").json()["events"][0]["type"] == "reload", 5,
               what="a reload event")
    events = admin(gw, "/events").json()["events"]
    assert [e["type"] for e in events] == ["reload", "eject"]  # newest first
    assert events[0]["cause"] == "SIGHUP received" and events[0]["generation"] == "2"
    eject = events[1]
    assert (eject["service"], eject["endpoint"], eject["locality"], eject["priority"]) == \
        ("data/inventory:80", f"{DALLAS}:44025", "us-south/dallas", "0")
    assert eject["reason"].startswith("2 consecutive errors")
    text = admin(gw, "/metrics").text
    assert sample(text, "causeway_reloads_total", trigger="signal") == 1
    assert sample(text, "causeway_config_generation") == 2
    assert sample(text, "causeway_upstream_ejections_total", address=f"{DALLAS}:44025",
                  reason="consecutive_errors") == 1
    assert sample(text, "causeway_upstream_endpoint_state", address=f"{DALLAS}:44025",
                  state="ejected") == 1
    # The ejection outlived the reload (health records carry over).
    assert endpoint(admin(gw, "/clusters").json(), f"{DALLAS}:44025")[1]["state"] == "ejected"


def test_config_dump_and_status(stack, causeway):
    backends(stack, 44027)
    gw = gateway(stack, 44004, 44027, 44083)
    dump = admin(gw, "/config_dump").json()
    assert dump["generation"] == 1 and dump["locality"]["region"] == "us-south"
    (listener,) = dump["listeners"]
    assert listener["port"] == 44004 and listener["kind"] == "http"
    (vhost,) = listener["virtual_hosts"]
    assert vhost["domain"] == HOST
    assert vhost["routes"][0]["destinations"] == [{"service": "data/inventory:80", "weight": 100}]
    (cluster,) = dump["clusters"]
    assert [(e["address"], e["port"], e["priority"]) for e in cluster["endpoints"]] == \
        [(DALLAS, 44027, 0), (ASHBURN, 44028, 0)]  # no outlier detection: no priorities
    assert "cluster data/inventory:80" in dump["plan"]
    # /status is what `causeway validate -o json` prints for the same files and identity.
    status = admin(gw, "/status").json()
    validate = causeway.run("validate", "-c", gw.config, "--namespace", "gw", "--labels",
                            "app=c-gateway", *IN_DALLAS, "-o", "json")
    assert status == json.loads(validate.stdout)
    kinds = {i["kind"] for i in status["items"]}
    assert {"RouteTable", "ExternalService", "VirtualGateway"} <= kinds


# ---- an attacker at the admin port ---------------------------------------------------------

def test_slow_and_huge_requests_neither_block_the_admin_nor_reloads(stack):
    backends(stack, 44029)
    gw = gateway(stack, 44005, 44029, 44084)
    # Connections that send half a request head and stall, more than are served at once.
    stalled = []
    for _ in range(40):
        s = socket.create_connection((GW, 44084), timeout=5)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        stalled.append(s)
    try:
        # The control thread is free: a reload happens at once, traffic flows.
        gw.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "causeway: reloaded: " in gw.output(), 3, what="the reload")
        assert send(44005, 3) == [200] * 3
        # A head over 8 KiB is refused, not buffered without end.
        huge = socket.create_connection((GW, 44084), timeout=5)
        try:
            huge.sendall(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
        except OSError:
            pass  # closed while sending: refused all the same
        answer = b""
        try:
            while chunk := huge.recv(4096):
                answer += chunk
        except OSError:
            pass
        huge.close()
        assert answer == b"" or answer.startswith(b"HTTP/1.1 431"), answer[:100]
    finally:
        for s in stalled:
            s.close()
    # Once they are gone, the admin answers again (it may not have seen every close yet: a
    # connection over its cap is reset meanwhile).
    def answers():
        try:
            return admin(gw, "/ready").status == 200
        except OSError:
            return False
    wait_until(answers, 5, what="the admin answers")


def test_an_admin_port_in_use_is_a_startup_error(stack, tmp_path):
    taken = socket.socket()
    taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    taken.bind((GW, 44085))
    taken.listen(1)
    try:
        with pytest.raises(AssertionError) as failed:
            stack.gateway(inventory_api(44006, 44031), [44006], bind=GW, admin=f"{GW}:44085")
        assert "admin address 127.0.9.1:44085: address already in use" in str(failed.value)
        assert "not starting" in str(failed.value)
    finally:
        taken.close()


# ---- Prometheus, promtool, chromium ----------------------------------------------------------

def need(tool):
    path = shutil.which(tool)
    if not path:
        pytest.fail(f"{tool} is not installed (scripts/install-deps.sh installs it)")
    return path


class Prometheus:
    """A real Prometheus scraping one target every second, with its own storage folder."""

    def __init__(self, workdir, target):
        self.dir = Path(workdir)
        self.dir.mkdir()
        (self.dir / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n- job_name: causeway\n  static_configs:\n"
            f"  - targets: ['{target}']\n")
        self.out = self.dir / "prometheus.out"
        self.proc = None

    def start(self):
        addr, port = PROMETHEUS
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen(
                [need("prometheus"), f"--config.file={self.dir / 'prometheus.yml'}",
                 f"--storage.tsdb.path={self.dir / 'data'}",
                 f"--web.listen-address={addr}:{port}"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        wait_until(lambda: self.proc.poll() is None and port_accepts(addr, port), 20,
                   what=f"Prometheus on {addr}:{port}")
        return self

    def query(self, promql):
        addr, port = PROMETHEUS
        url = f"http://{addr}:{port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                answer = json.load(r)
        except urllib.error.HTTPError as e:
            if e.code == 503:  # still starting (its storage is not ready)
                return []
            raise
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc, signal.SIGTERM, 10)


@pytest.fixture
def prometheus(tmp_path):
    started = []

    def start(target):
        p = Prometheus(tmp_path / "prometheus", target)
        started.append(p)
        return p.start()
    yield start
    for p in started:
        p.stop()


def test_prometheus_scrapes_the_metrics_and_sees_an_ejection(stack, prometheus):
    backends(stack, 44033, dallas_status=503)
    gw = gateway(stack, 44007, 44033, 44086, ejecting_policy())
    prom = prometheus(f"{GW}:44086")
    wait_until(lambda: prom.query('up{job="causeway"} == 1'), 20, interval=0.5,
               what="Prometheus scraped causeway")
    eject_dallas(gw, 44007, f"{DALLAS}:44033")
    promql = ('causeway_upstream_endpoint_state{state="ejected",locality="us-south/dallas"} == 1'
              ' and on(service, address) causeway_upstream_ejections_total > 0')
    result = wait_until(lambda: prom.query(promql), 20, interval=0.5,
                        what="Prometheus sees the ejection")
    (series,) = result
    assert series["metric"]["address"] == f"{DALLAS}:44033"
    assert series["metric"]["service"] == "data/inventory:80"
    # The priority loads moved with it: Ashburn (P1) has all the traffic.
    load = wait_until(lambda: prom.query(
        'causeway_upstream_priority_load_percent{priority="1"} == 100'), 20, interval=0.5,
        what="P1 at 100 %")
    assert load


def test_the_page_in_headless_chromium(stack, tmp_path):
    chromium = need("chromium")
    backends(stack, 44035, dallas_status=503)
    gw = gateway(stack, 44008, 44035, 44087, ejecting_policy())
    eject_dallas(gw, 44008, f"{DALLAS}:44035")
    profile = tmp_path / "chromium-profile"
    proc = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={profile}", "--dump-dom", f"http://{GW}:44087/"],
        capture_output=True, text=True, timeout=60)
    dom = proc.stdout
    assert "<h1>causeway endpoints</h1>" in dom, (proc.returncode, proc.stderr[-2000:])
    assert "data/inventory:80" in dom
    # Grouped by priority, then locality; Dallas ejected with its reason, Ashburn available.
    p0, p1 = dom.index("priority 0: 0% of the traffic"), dom.index("priority 1: 100% of the traffic")
    dallas, ashburn = dom.index(f"{DALLAS}:44035"), dom.index(f"{ASHBURN}:44036")
    assert p0 < dom.index("locality us-south/dallas") < dallas < p1 < \
        dom.index("locality us-east/ashburn") < ashburn
    row = dom[dallas:dom.index("</tr>", dallas)]
    assert "ejected (consecutive_errors, returns in" in row
    assert 'http-equiv="refresh"' in dom
    shot = tmp_path / "page.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    f"--user-data-dir={profile}", "--window-size=1000,700",
                    f"--screenshot={shot}", f"http://{GW}:44087/"],
                   capture_output=True, timeout=60)
    assert shot.is_file() and shot.stat().st_size > 5000


# ---- lifecycle -----------------------------------------------------------------------------

def test_shutdown_delay_turns_ready_503_while_the_listeners_still_accept(stack):
    backends(stack, 44037)
    gw = gateway(stack, 44009, 44037, 44088, args=["--shutdown-delay", "2s"])
    assert admin(gw, "/ready").status == 200
    signalled = time.monotonic()
    gw.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: admin(gw, "/ready").status == 503, 1, what="/ready 503")
    assert admin(gw, "/ready").text == "draining\n"
    assert admin(gw, "/healthz").status == 200
    # Still accepting and serving during the delay.
    assert send(44009, 3) == [200] * 3
    assert time.monotonic() - signalled < 2.0
    assert gw.proc.wait(timeout=10) == 0
    assert time.monotonic() - signalled >= 2.0
    assert "causeway: not ready; the listeners accept for 2000 ms more" in gw.output()


def test_sigusr1_reopens_the_access_log(stack):
    backends(stack, 44039)
    gw = gateway(stack, 44010, 44039, 44089)
    assert send(44010, 1, path="/before") == [200]
    wait_until(lambda: "/before" in gw.access_log.read_text(), 5, what="the first line")
    rotated = gw.access_log.with_name("access.log.1")
    os.rename(gw.access_log, rotated)
    gw.proc.send_signal(signal.SIGUSR1)
    wait_until(lambda: "access log reopened" in gw.output(), 5, what="the reopen")
    assert send(44010, 1, path="/after") == [200]
    wait_until(lambda: gw.access_log.exists() and "/after" in gw.access_log.read_text(), 5,
               what="the new file")
    assert "/after" not in rotated.read_text()
    assert gw.proc.poll() is None  # SIGUSR1 no longer kills the process


def test_a_watched_file_reload_is_an_event_and_a_metric(stack):
    backends(stack, 44041)
    gw = gateway(stack, 44011, 44041, 44079)
    manifest = gw.config / "all.yaml"
    tmp = manifest.with_name(".all.yaml.tmp")
    tmp.write_text(manifest.read_text().replace("name: inventory\n", "name: inventory\n", 1)
                   + "\n# changed\n")
    os.replace(tmp, manifest)
    wait_until(lambda: any(e["type"] == "reload" for e in admin(gw, "/events").json()["events"]),
               5, what="a reload event")
    (event,) = [e for e in admin(gw, "/events").json()["events"] if e["type"] == "reload"]
    assert event["cause"] == "configuration or certificate files changed"
    text = admin(gw, "/metrics").text
    assert sample(text, "causeway_reloads_total", trigger="files") == 1
    assert sample(text, "causeway_reloads_total", trigger="signal") == 0
    # A file that cannot be served is rejected: an event and a failure counted.
    tmp.write_text("kind: [unclosed\n")
    os.replace(tmp, manifest)
    wait_until(lambda: admin(gw, "/events").json()["events"][0]["type"] == "reload-rejected", 5,
               what="a rejected reload")
    text = admin(gw, "/metrics").text
    assert sample(text, "causeway_reload_failures_total", trigger="files") == 1
    assert sample(text, "causeway_config_generation") == 2


# ---- TLS and TCP counters ------------------------------------------------------------------

def test_tls_handshakes_failures_and_tcp_tunnels_are_counted(stack, tmp_path):
    from backends import base_manifests, dest, external_service, join, route_table, tcp_route
    from test_tls_termination import HOST as TLS_HOST, files_tls, listener_extra
    from tls_pki import PKI
    pki = PKI(tmp_path / "pki")
    root = pki.ca("Causeway Test Root")
    cert = pki.server("api", root, dns=[TLS_HOST])
    stack.nginx(f"""
        server {{
          listen {DALLAS}:44043;
          location / {{ return 200 "back\\n"; }}
        }}
    """, [(DALLAS, 44043)])
    manifests = join(
        base_manifests([(44012, "http", listener_extra(files_tls(cert))), (44013, "tcp")]),
        external_service("back", 44043, addresses=[DALLAS]),
        route_table("api", [TLS_HOST], f"""
            http:
            - name: all
              forwardTo:
                destinations:
                {dest("back", 44043)}
        """),
        tcp_route(44013, "back", 44043))
    gw = stack.gateway(manifests, [44012, 44013], bind=GW, admin=f"{GW}:44078", workers=2)
    gw.admin_port = 44078
    wait_until(lambda: port_accepts(GW, 44078), 5, what="the admin API")
    for _ in range(2):
        r = subprocess.run(["curl", "-sS", "--max-time", "5", "--cacert", str(root.cert),
                            "--resolve", f"{TLS_HOST}:44012:{GW}", f"https://{TLS_HOST}:44012/"],
                           capture_output=True, text=True, timeout=15)
        assert r.returncode == 0 and r.stdout == "back\n", r
    with socket.create_connection((GW, 44012), timeout=5) as plain:  # no TLS on a TLS port
        plain.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            plain.recv(100)
        except OSError:
            pass
    with socket.create_connection((GW, 44013), timeout=5) as tcp:
        tcp.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := tcp.recv(4096):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"back\n")

    def metrics():
        return admin(gw, "/metrics").text
    wait_until(lambda: sample(metrics(), "causeway_tcp_tunnels_active") == 0 and
               sample(metrics(), "causeway_tls_handshake_failures_total", side="client") == 1, 5,
               what="the tunnel closed and the failed handshake counted")
    text = metrics()
    assert sample(text, "causeway_tls_handshakes_total", side="client", session="full") == 2
    assert sample(text, "causeway_tls_handshakes_total", side="upstream", session="full") == 0
    assert sample(text, "causeway_tcp_tunnels_total") == 1
    assert sample(text, "causeway_tcp_connections_total", listener="44013",
                  route="gw/db:tcp[0]", service="data/back:44043") == 1
    assert sample(text, "causeway_received_bytes_total", listener="44013", protocol="tcp") > 0
    assert sample(text, "causeway_http_requests_total", listener="44012", code_class="2xx") == 2
