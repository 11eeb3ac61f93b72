"""Real processes for the data-plane tests: the causeway gateway, nginx, PostgreSQL, and a few
python socket servers for behaviour no real server can be told to show (a backend that never
answers, one that answers late, one that half-closes).

Everything listens on 127.0.0.0/8 only; every wait has a deadline; every process started here is
stopped by its PID (`Stack.close()` runs in the fixture's teardown, also when the test failed).
Standard library only.
"""
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import textwrap
import threading
import time
from pathlib import Path

# The gateway binds its listeners on this address (not 127.0.0.1, where a developer's
# `causeway run` of the examples may already be listening: SO_REUSEPORT would silently share it).
GW = "127.0.0.90"
# Stand-in data centers, each with its own loopback address.
DALLAS = "127.0.0.41"
ASHBURN = "127.0.0.42"
PG_ADDR = "127.0.0.43"      # the "database.external" data center
NOWHERE = "127.0.0.44"      # an address where nothing ever listens
CLIENT = "127.0.0.77"       # clients bind this source address when a test checks X-Forwarded-For

# The gateway identity of the spec's example sets (spec §12).
IDENTITY = ["--namespace", "gw", "--labels", "app=c-gateway", "--locality", "us-east-1/us-east-1a"]

PG_BIN = Path("/usr/lib/postgresql/15/bin")
START_TIMEOUT = 10.0   # seconds for a process to start listening
STOP_TIMEOUT = 10.0    # seconds for a process to exit after its stop signal


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return max(0.0, self.end - time.monotonic())

    def expired(self):
        return time.monotonic() >= self.end


def wait_until(cond, timeout, interval=0.02, what="condition"):
    """Polls cond() until it returns a true value (returned) or `timeout` seconds pass (fails)."""
    d = Deadline(timeout)
    while True:
        v = cond()
        if v:
            return v
        if d.expired():
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def port_open(addr, port):
    try:
        with socket.create_connection((addr, port), timeout=0.5):
            return True
    except OSError:
        return False


def listening_sockets(addr, port):
    """How many sockets listen on addr:port (IPv4), from /proc/net/tcp: no connection is made,
    so a TCP listener does not open a tunnel (and log it) just because a test probed it."""
    want = "%08X:%04X" % (int.from_bytes(socket.inet_aton(addr), "little"), port)
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            if parts[1] == want and parts[3] == "0A":
                n += 1
    return n


def assert_port_free(addr, port):
    """Fails when (addr, port) is taken. A plain bind fails even against SO_REUSEPORT owners, so a
    leftover gateway can't share a test's port unnoticed."""
    s = socket.socket()
    # SO_REUSEADDR: TIME_WAIT leftovers of an earlier run don't count, listeners still do.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((addr, port))
    except OSError as e:
        raise AssertionError(f"{addr}:{port} is already in use ({e}); another test run?") from None
    finally:
        s.close()


def wait_port(addr, port, proc=None, timeout=START_TIMEOUT, log=None):
    d = Deadline(timeout)
    while not port_open(addr, port):
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode} before listening on "
                                 f"{addr}:{port}\n{_tail(log)}")
        if d.expired():
            raise AssertionError(f"nothing listening on {addr}:{port} after {timeout}s\n{_tail(log)}")
        time.sleep(0.02)


def _tail(path, n=4000):
    if path is None:
        return ""
    try:
        return Path(path).read_text(errors="replace")[-n:]
    except OSError:
        return ""


def stop_process(proc, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
    """Signals one process by PID, waits for it, SIGKILLs it when it outlives `timeout`."""
    if proc.poll() is not None:
        return proc.returncode
    try:
        os.kill(proc.pid, sig)
    except ProcessLookupError:
        pass
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        return proc.wait(5)


def go_duration(text):
    """Seconds in a simple Go duration ("500ms", "2s", "1m", "1m30s")."""
    total = 0.0
    for num, unit in re.findall(r"([0-9.]+)(ms|s|m|h)", text):
        total += float(num) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total


def vm_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssSampler:
    """Samples a process's VmRSS every few milliseconds in a thread; `peak_kb` is the maximum."""

    def __init__(self, pid, interval=0.01):
        self.pid, self.interval = pid, interval
        self.peak_kb = 0
        self.samples = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak_kb = max(self.peak_kb, vm_rss_kb(self.pid))
                self.samples += 1
            except OSError:
                return
            self._stop.wait(self.interval)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(5)


# --------------------------------------------------------------------------------------------
# Manifests
# --------------------------------------------------------------------------------------------

def _y(text):
    return textwrap.dedent(text).strip("\n") + "\n"


def base_manifests(listeners):
    """Workspace `ops` (namespaces gw and data), its settings and VirtualGateway gw/edge.

    listeners: list of (port, "http"|"tcp") or (port, kind, extra_yaml) where extra_yaml is added
    to the listener (e.g. "exposedExternalServices: [{host: '*'}]").
    """
    ls = []
    for entry in listeners:
        port, kind = entry[0], entry[1]
        item = f"  - port:\n      number: {port}\n    {kind}: {{}}\n"
        if len(entry) > 2 and entry[2]:
            item += textwrap.indent(_y(entry[2]), "    ")
        ls.append(item)
    return _y("""
        apiVersion: admin.gloo.solo.io/v2
        kind: Workspace
        metadata:
          name: ops
          namespace: gloo-mesh
        spec:
          workloadClusters:
          - name: cluster1
            namespaces:
            - name: gw
            - name: data
        ---
        apiVersion: admin.gloo.solo.io/v2
        kind: WorkspaceSettings
        metadata:
          name: ops
          namespace: gw
        spec: {}
        ---
        apiVersion: networking.gloo.solo.io/v2
        kind: VirtualGateway
        metadata:
          name: edge
          namespace: gw
        spec:
          workloads:
          - selector:
              labels:
                app: c-gateway
          listeners:
        """) + "".join(ls)


def external_service(name, port, protocol="HTTP", addresses=None, hosts=None, selector=None,
                     port_name="p", target_port=None, labels=None):
    """An ExternalService in namespace data with one port."""
    lines = ["apiVersion: networking.gloo.solo.io/v2", "kind: ExternalService", "metadata:",
             f"  name: {name}", "  namespace: data"]
    if labels:
        lines.append("  labels:")
        lines += [f"    {k}: {json.dumps(v)}" for k, v in labels.items()]
    lines.append("spec:")
    if addresses:
        lines.append("  addresses:")
        lines += [f"  - {a}" for a in addresses]
    if hosts:
        lines.append("  hosts:")
        lines += [f"  - {h}" for h in hosts]
    lines += ["  ports:", f"  - name: {port_name}", f"    number: {port}", f"    protocol: {protocol}"]
    if target_port is not None:
        key = "name" if isinstance(target_port, str) else "number"
        lines += ["    targetPort:", f"      {key}: {target_port}"]
    if selector:
        lines.append("  selector:")
        lines += [f"    {k}: {json.dumps(v)}" for k, v in selector.items()]
    return "\n".join(lines) + "\n"


def external_endpoint(name, address, port, labels, port_name="p", locality=None):
    """An ExternalEndpoint in namespace data; locality is "region/zone" or None."""
    lines = ["apiVersion: networking.gloo.solo.io/v2", "kind: ExternalEndpoint", "metadata:",
             f"  name: {name}", "  namespace: data", "  labels:"]
    lines += [f"    {k}: {json.dumps(v)}" for k, v in labels.items()]
    lines += ["spec:", f"  address: {address}", "  ports:", f"  - name: {port_name}",
              f"    number: {port}"]
    if locality:
        region, zone = locality.split("/")
        lines += ["  locality:", f"    region: {region}", f"    zone: {zone}"]
    return "\n".join(lines) + "\n"


def route_table(name, hosts, body):
    """A RouteTable in namespace gw bound to VirtualGateway gw/edge; `body` is its http:/tcp: YAML."""
    hs = "".join(f"  - {h}\n" for h in hosts)
    return (_y(f"""
        apiVersion: networking.gloo.solo.io/v2
        kind: RouteTable
        metadata:
          name: {name}
          namespace: gw
        spec:
          virtualGateways:
          - name: edge
            namespace: gw
        """) + "  hosts:\n" + hs + textwrap.indent(_y(body), "  "))


def forward_all_routes(name, hosts, es, port):
    """RouteTable gw/<name>: every request for `hosts` goes to ExternalService `es`:`port`."""
    return route_table(name, hosts, f"""
        http:
        - name: all
          matchers:
          - uri:
              prefix: /
          forwardTo:
            destinations:
            {dest(es, port)}
    """)


def versioned_routes(version, es, port):
    """RouteTable gw/web for web.example.com: GET /version answers `version <version>` from
    causeway itself (which configuration is served), everything else goes to `es`:`port`."""
    return route_table("web", ["web.example.com"], f"""
        http:
        - name: version
          matchers: [{{uri: {{exact: /version}}}}]
          directResponse: {{status: 200, body: "version {version}"}}
        - name: all
          forwardTo:
            destinations:
            {dest(es, port)}
    """)


def join(*docs):
    return "---\n".join(d if d.endswith("\n") else d + "\n" for d in docs)


def dest(es, port, weight=None):
    """One `destinations` list item, on one line (flow style), for an ExternalService in data."""
    w = f", weight: {weight}" if weight is not None else ""
    return (f"- {{ref: {{name: {es}, namespace: data}}, kind: EXTERNAL_SERVICE, "
            f"port: {{number: {port}}}{w}}}")


def tcp_route(port, es, es_port, name="db", hosts=("database.internal",)):
    """A RouteTable whose one TCP route sends listener `port` to ExternalService `es` port
    `es_port`."""
    return route_table(name, list(hosts), f"""
        tcp:
        - matchers:
          - port: {port}
          forwardTo:
            destinations:
            {dest(es, es_port)}
    """)


# --------------------------------------------------------------------------------------------
# Access log
# --------------------------------------------------------------------------------------------

TEXT_LOG_RE = re.compile(
    r'^(?P<time>\S+) (?P<protocol>http|tcp) listener=(?P<listener>\d+)'
    r'(?: "(?P<method>\S+) (?P<path>(?:[^"\\]|\\.)*)" host="(?P<host>(?:[^"\\]|\\.)*)"'
    r' status=(?P<status>\d+))?'
    r' route=(?P<route>\S+) service=(?P<service>\S+) endpoint=(?P<endpoint>\S+)'
    r' locality=(?P<locality>\S+) priority=(?P<priority>\S+) in=(?P<bytes_in>\d+)'
    r' out=(?P<bytes_out>\d+) duration_ms=(?P<duration_ms>\d+) retries=(?P<retries>\d+)'
    r' client=(?P<client>\S+) request_id="(?P<request_id>(?:[^"\\]|\\.)*)"'
    r' upstream_connect_us=(?P<upstream_connect_us>-|\d+)'
    r' upstream_response_us=(?P<upstream_response_us>-|\d+) flags=(?P<flags>\S+)'
    r'(?: sni="(?P<sni>(?:[^"\\]|\\.)*)")?(?: upstream_tls=(?P<upstream_tls>full|resumed))?'
    r' reason="(?P<reason>(?:[^"\\]|\\.)*)"$')


def log_unescape(text):
    """A text access-log value as it was before escaping: \\" \\\\ and \\xHH (a byte, here a
    latin-1 character)."""
    return re.sub(r'\\(x[0-9a-f]{2}|.)',
                  lambda m: chr(int(m.group(1)[1:], 16)) if len(m.group(1)) == 3 else m.group(1),
                  text)


def parse_text_log_line(line):
    m = TEXT_LOG_RE.match(line)
    assert m, f"access log line not in the documented text format: {line!r}"
    d = {k: (log_unescape(v) if isinstance(v, str) and k != "time" else v)
         for k, v in m.groupdict().items()}
    for k in ("listener", "status", "bytes_in", "bytes_out", "duration_ms", "retries"):
        if d[k] is not None:
            d[k] = int(d[k])
    return d


# --------------------------------------------------------------------------------------------
# causeway
# --------------------------------------------------------------------------------------------

class Gateway:
    """One `causeway run` process serving manifests from a directory, listening on GW."""

    def __init__(self, binary, workdir, manifests, ports, workers=1, log_format="text",
                 args=(), bind=GW, drain_timeout="2s", admin=None):
        self.binary, self.workdir = binary, Path(workdir)
        self.ports, self.bind = list(ports), bind
        self.config = self.workdir / "manifests"
        self.config.mkdir(parents=True)
        (self.config / "all.yaml").write_text(manifests)
        self.access_log = self.workdir / "access.log"
        self.out_path = self.workdir / "causeway.out"
        self.log_format = log_format
        self.workers = workers or 1  # None: no --workers (causeway's default count)
        self.drain_timeout = drain_timeout
        self.argv = [str(binary), "run", "-c", str(self.config), *IDENTITY, "--bind", bind,
                     *(["--workers", str(workers)] if workers else []),
                     "--access-log", str(self.access_log),
                     "--log-format", log_format, "--drain-timeout", drain_timeout,
                     # Without an admin address of its own, no admin port: gateways of one
                     # test (and helper processes) would otherwise share 127.0.0.1:9901.
                     "--admin", admin or "off", *map(str, args)]
        self.proc = None

    def start(self):
        for p in self.ports:
            assert_port_free(self.bind, p)
        out = open(self.out_path, "wb")
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT)
        finally:
            out.close()
        # Every worker has its own SO_REUSEPORT socket: wait until all of them listen.
        d = Deadline(START_TIMEOUT)
        for p in self.ports:
            while listening_sockets(self.bind, p) < self.workers:
                if self.proc.poll() is not None:
                    raise AssertionError(f"causeway exited with {self.proc.returncode} before "
                                         f"listening on {self.bind}:{p}\n{self.output()}")
                if d.expired():
                    raise AssertionError(f"causeway not listening on {self.bind}:{p} after "
                                         f"{START_TIMEOUT}s\n{self.output()}")
                time.sleep(0.01)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def output(self):
        return _tail(self.out_path, 100000)

    def stop(self, sig=signal.SIGTERM, timeout=None):
        """Signals the gateway and waits (by default its drain timeout + 1 s), then SIGKILLs it."""
        if self.proc is None:
            return None
        if timeout is None:
            timeout = go_duration(self.drain_timeout) + 1.0
        return stop_process(self.proc, sig, timeout)

    def log_lines(self):
        try:
            text = self.access_log.read_text()
        except FileNotFoundError:
            return []
        # Only complete lines: the gateway may be writing the next one right now.
        return [l for l in text.split("\n")[:-1] if l.strip()]

    def log_records(self, n=1, timeout=5.0, requests_only=False):
        """Waits until the access log holds at least n records; returns them all, parsed.

        requests_only: leave out HTTP lines without a request ("- -"), so that a test about
        something else does not depend on how connections without a request are logged
        (test_proxy_access_log.py checks that separately).
        """
        def parsed():
            lines = self.log_lines()
            if self.log_format == "json":
                recs = [json.loads(l) for l in lines]
            else:
                recs = [parse_text_log_line(l) for l in lines]
            if requests_only:
                recs = [r for r in recs
                        if r["protocol"] != "http" or (r["method"] or "-") != "-"]
            return recs

        return wait_until(lambda: (r := parsed()) and len(r) >= n and r, timeout,
                          what=f"{n} access log record(s) in {self.access_log}")

    def __repr__(self):
        return f"<causeway pid={self.proc and self.proc.pid}>\n{self.output()}"


# --------------------------------------------------------------------------------------------
# nginx
# --------------------------------------------------------------------------------------------

class Nginx:
    """A real nginx (single process, `master_process off`, so its PID is the whole server).

    `servers` is the text of the http{} server blocks; `listens` the (addr, port) pairs it binds,
    waited for after start. Logs and temp paths live under workdir; `access_log` uses the
    `conn` format: `$connection $connection_requests $request_method $request_uri $status`.
    """

    def __init__(self, workdir, servers, listens, http_extra=""):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True)
        self.listens = list(listens)
        self.access_log = self.dir / "access.log"
        self.error_log = self.dir / "error.log"
        self.conf = self.dir / "nginx.conf"
        d = self.dir
        self.conf.write_text(_y(f"""
            master_process off;
            worker_rlimit_nofile 8192;
            pid {d}/nginx.pid;
            error_log {d}/error.log;
            events {{ worker_connections 4096; }}
            http {{
              default_type text/plain;
              log_format conn '$connection $connection_requests $request_method $request_uri $status';
              access_log {self.access_log} conn;
              client_body_temp_path {d}/body;
              proxy_temp_path {d}/proxy;
              fastcgi_temp_path {d}/fastcgi;
              uwsgi_temp_path {d}/uwsgi;
              scgi_temp_path {d}/scgi;
            """) + textwrap.indent(_y(http_extra), "  ") + textwrap.indent(_y(servers), "  ") + "}\n")
        self.proc = None

    def start(self):
        for a, p in self.listens:
            assert_port_free(a, p)
        out = open(self.dir / "nginx.out", "wb")
        try:
            self.proc = subprocess.Popen(
                ["nginx", "-p", str(self.dir), "-c", str(self.conf), "-e", str(self.error_log),
                 "-g", "daemon off;"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        finally:
            out.close()
        for a, p in self.listens:
            wait_port(a, p, self.proc, log=self.error_log)
        return self

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc, signal.SIGTERM)

    def log_entries(self):
        """[(connection, connection_requests, method, uri, status)] from the access log."""
        try:
            text = self.access_log.read_text()
        except FileNotFoundError:
            return []
        out = []
        for line in text.split("\n")[:-1]:  # complete lines only
            c, n, m, u, s = line.split(" ", 4)
            out.append((int(c), int(n), m, u, int(s)))
        return out

    def wait_log(self, n, timeout=5.0):
        return wait_until(lambda: (e := self.log_entries()) and len(e) >= n and e, timeout,
                          what=f"{n} nginx access log line(s)")


# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------

class Postgres:
    """A real PostgreSQL 15 server run as the `postgres` user (it refuses root), trust auth,
    listening on addr:port with its socket in a private folder owned by that user."""

    def __init__(self, addr, port):
        self.addr, self.port = addr, port
        self.base = Path(tempfile.mkdtemp(prefix="causeway-pg-"))
        shutil.chown(self.base, "postgres", "postgres")
        self.data = self.base / "data"
        self.sock = self.base / "sock"
        self.log = self.base / "postgres.log"
        self.proc = None

    def _as_postgres(self, *argv, timeout=60):
        return subprocess.run(["runuser", "-u", "postgres", "--", *map(str, argv)],
                              cwd=self.base, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout)

    def start(self):
        assert_port_free(self.addr, self.port)
        r = self._as_postgres("mkdir", "-p", self.sock)
        assert r.returncode == 0, r.stderr
        r = self._as_postgres(PG_BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres",
                              "--no-sync", "-E", "UTF8", "--locale", "C")
        assert r.returncode == 0, f"initdb failed:\n{r.stdout}\n{r.stderr}"
        # The gateway connects from a loopback source address: trust all of 127.0.0.0/8.
        with open(self.data / "pg_hba.conf", "a") as f:
            f.write("host all all 127.0.0.0/8 trust\n")
        with open(self.data / "postgresql.conf", "a") as f:
            f.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        return self.launch(log_mode="wb")

    def launch(self, log_mode="ab"):
        """Starts the postmaster on the existing data directory and waits (bounded) until a
        query works; `log_mode` "ab" keeps the log of an earlier run."""
        out = open(self.log, log_mode)
        try:
            self.proc = subprocess.Popen(
                ["runuser", "-u", "postgres", "--", str(PG_BIN / "postgres"), "-D", str(self.data),
                 "-k", str(self.sock), "-h", self.addr, "-p", str(self.port)],
                cwd=self.base, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        finally:
            out.close()
        wait_port(self.addr, self.port, self.proc, log=self.log)
        # Listening is not ready: wait until a query works (bounded).
        d = Deadline(START_TIMEOUT)
        while True:
            r = psql(self.addr, self.port, "select 1")
            if r.returncode == 0:
                break
            if d.expired():
                raise AssertionError(f"PostgreSQL not ready:\n{r.stderr}\n{_tail(self.log)}")
            time.sleep(0.05)
        return self

    def postmaster_pid(self):
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def stop(self):
        if self.proc is None:
            shutil.rmtree(self.base, ignore_errors=True)
            return
        # runuser forks: signal the postmaster itself (fast shutdown), then reap runuser.
        pid = self.postmaster_pid()
        if pid and self.proc.poll() is None:
            try:
                os.kill(pid, signal.SIGINT)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            stop_process(self.proc, signal.SIGKILL)
        shutil.rmtree(self.base, ignore_errors=True)


def psql(host, port, sql, timeout=15):
    """Runs one statement with Debian's psql over TCP; returns the CompletedProcess (-At output)."""
    env = dict(os.environ, PGCONNECT_TIMEOUT="5", PGSSLMODE="disable")
    return subprocess.run(["psql", "-h", host, "-p", str(port), "-U", "postgres", "-d", "postgres",
                           "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout, env=env)


# --------------------------------------------------------------------------------------------
# python socket servers (behaviour real servers can't be told to show)
# --------------------------------------------------------------------------------------------

class _ThreadServer:
    def __init__(self, addr, port):
        assert_port_free(addr, port)
        self.addr, self.port = addr, port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.listen(128)
        self.sock.settimeout(0.1)
        self.stopping = threading.Event()
        self.conns = []
        self.threads = []
        self.accepted = 0
        self._t = threading.Thread(target=self._accept_loop, daemon=True)

    def start(self):
        self._t.start()
        return self

    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            self.conns.append(c)
            t = threading.Thread(target=self._serve_safe, args=(c,), daemon=True)
            self.threads.append(t)
            t.start()

    def _serve_safe(self, c):
        try:
            c.settimeout(10)
            self.serve(c)
        except OSError:
            pass

    def serve(self, c):
        raise NotImplementedError

    def stop(self):
        self.stopping.set()
        self._t.join(2)
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass
        for t in self.threads:
            t.join(2)


def _read_head(c):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = c.recv(65536)
        if not d:
            return None
        buf += d
    return buf


class SilentServer(_ThreadServer):
    """Accepts connections and reads whatever comes, never answers."""

    def serve(self, c):
        while not self.stopping.is_set():
            try:
                if not c.recv(65536):
                    return
            except socket.timeout:
                continue


class SlowHTTPServer(_ThreadServer):
    """Answers every request `delay` seconds after its head arrived; `got_request` is set then."""

    def __init__(self, addr, port, delay, body=b"slow but sure\n"):
        super().__init__(addr, port)
        self.delay, self.body = delay, body
        self.got_request = threading.Event()

    def serve(self, c):
        while _read_head(c):
            self.got_request.set()
            if self.stopping.wait(self.delay):
                return
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(self.body), self.body))


class ScriptedHTTPServer(_ThreadServer):
    """Answers the k-th request on each connection (k = 0, 1, ...) with script(k): raw response
    bytes, a list of pieces sent 50 ms apart, or None to close the connection without
    answering. `requests` counts heads read."""

    def __init__(self, addr, port, script):
        super().__init__(addr, port)
        self.script = script
        self.requests = 0

    def serve(self, c):
        k = 0
        while _read_head(c):
            self.requests += 1
            answer = self.script(k)
            if answer is None:
                c.close()
                return
            for i, piece in enumerate(answer if isinstance(answer, list) else [answer]):
                if i:
                    time.sleep(0.05)
                c.sendall(piece)
            k += 1


class RecordingServer(_ThreadServer):
    """A raw-socket backend that records every byte it receives, so a test sees exactly what the
    upstream would parse. Answers each request with `answer(k)` (raw bytes; k = 0, 1, ... per
    connection; by default 200 "ok\\n") once its head and its body (Content-Length or chunked)
    have arrived. `received` holds the bytes of each connection, in order, one bytes object per
    connection."""

    OK = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"

    def __init__(self, addr, port, answer=None):
        super().__init__(addr, port)
        self.answer = answer or (lambda k: self.OK)
        self.received = []
        self.lock = threading.Lock()

    def _more(self, c, slot):
        d = c.recv(65536)
        if d:
            with self.lock:
                self.received[slot] += d
        return d

    def _body_end(self, head, buf):
        """Where the body that starts `buf` ends, or None while it is incomplete."""
        if re.search(rb"(?im)^transfer-encoding:.*chunked", head):
            at = 0
            while True:  # chunk-size [; extensions] CRLF data CRLF ... 0 CRLF [trailers] CRLF
                eol = buf.find(b"\r\n", at)
                if eol < 0:
                    return None
                try:
                    size = int(buf[at:eol].split(b";")[0], 16)
                except ValueError:  # not a chunk size: what came is all there is to record
                    return len(buf)
                if size == 0:
                    end = buf.find(b"\r\n\r\n", eol)
                    return None if end < 0 else end + 4
                at = eol + 2 + size + 2
                if at > len(buf):
                    return None
        m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
        n = int(m.group(1)) if m else 0
        return n if len(buf) >= n else None

    def serve(self, c):
        slot = len(self.received)
        self.received.append(b"")
        k = 0
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                d = self._more(c, slot)
                if not d:
                    return
                buf += d
            head, buf = buf.split(b"\r\n\r\n", 1)
            while (end := self._body_end(head, buf)) is None:
                d = self._more(c, slot)
                if not d:
                    return
                buf += d
            buf = buf[end:]
            c.sendall(self.answer(k))
            k += 1

    def all_bytes(self):
        with self.lock:
            return b"".join(self.received)


class BodyReadingHTTPServer(_ThreadServer):
    """Reads each request's head and its Content-Length body, waits `delay` seconds, then answers
    200 with "<bytes> <sha256>" of the body. `heads` keeps every head read, `bodies_done` counts
    bodies read whole."""

    def __init__(self, addr, port, delay=0.0):
        super().__init__(addr, port)
        self.delay = delay
        self.heads = []
        self.bodies_done = 0

    def serve(self, c):
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            head, buf = buf.split(b"\r\n\r\n", 1)
            self.heads.append(head)
            m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
            left = int(m.group(1)) if m else 0
            h = hashlib.sha256()
            n = 0
            while n < left:
                if not buf:
                    buf = c.recv(65536)
                    if not buf:
                        return
                take, buf = buf[:left - n], buf[left - n:]
                h.update(take)
                n += len(take)
            self.bodies_done += 1
            if self.stopping.wait(self.delay):
                return
            answer = b"%d %s\n" % (n, h.hexdigest().encode())
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(answer), answer))


class Blackhole:
    """A port whose accept queue is full: SYNs to it are dropped, so a connect times out (the
    loopback stand-in for an unreachable data center)."""

    def __init__(self, addr, port):
        assert_port_free(addr, port)
        self.sock = socket.socket()
        self.sock.bind((addr, port))
        self.sock.listen(0)
        self.filler = socket.create_connection((addr, port), timeout=2)  # fills the queue

    def start(self):
        return self

    def stop(self):
        self.filler.close()
        self.sock.close()


class HalfCloseServer(_ThreadServer):
    """TCP backend that shows half-close in both directions.

    On connect it sends b"hello\n" and shuts down its sending side; it then reads until EOF and
    records what it received in `received` (one entry per connection), then closes.
    Mode "echo-after-eof" instead reads until EOF, then answers b"got N bytes\n" and closes.
    """

    def __init__(self, addr, port, mode):
        super().__init__(addr, port)
        self.mode = mode
        self.received = []
        self.done = threading.Event()

    def serve(self, c):
        if self.mode == "greet-then-eof":
            c.sendall(b"hello\n")
            c.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            d = c.recv(65536)
            if not d:
                break
            data += d
        self.received.append(data)  # before the answer: a client that reads it may look
        if self.mode == "echo-after-eof":
            c.sendall(b"got %d bytes\n" % len(data))
        self.done.set()
        c.close()


# --------------------------------------------------------------------------------------------
# a raw HTTP/1.1 client
# --------------------------------------------------------------------------------------------

class Response:
    def __init__(self, version, status, reason, headers, body):
        self.version, self.status, self.reason = version, status, reason
        self.headers = headers  # [(name, value)] as received
        self.body = body

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return f"<{self.status} {self.reason} {self.headers} {self.body[:200]!r}>"


class Conn:
    """A client connection with its own read buffer: send raw bytes, read responses in order."""

    def __init__(self, addr, port, timeout=5.0, source=None):
        self.sock = socket.create_connection((addr, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        d = self.sock.recv(262144)
        if not d:
            return False
        self.buf += d
        return True

    def _line(self):
        while b"\r\n" not in self.buf:
            if not self._fill():
                raise EOFError("connection closed mid-line")
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise EOFError(f"connection closed with {n - len(self.buf)} body bytes missing")
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_head(self):
        """Reads one response head; None on a clean EOF before its first byte."""
        if not self.buf and not self._fill():
            return None
        line = self._line()
        version, status, reason = (line.decode("latin-1").split(" ", 2) + [""])[:3]
        headers = []
        while True:
            line = self._line()
            if not line:
                break
            k, v = line.decode("latin-1").split(":", 1)
            headers.append((k.strip(), v.strip()))
        return version, int(status), reason, headers

    def body_chunks(self, headers, status, method="GET"):
        """Yields the body of a response with these headers, as it arrives."""
        h = {k.lower(): v for k, v in headers}
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return
        if "chunked" in h.get("transfer-encoding", "").lower():
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():
                        pass
                    return
                left = size
                while left:
                    if not self.buf and not self._fill():
                        raise EOFError("connection closed mid-chunk")
                    piece = self.buf[:left]
                    self.buf = self.buf[len(piece):]
                    left -= len(piece)
                    yield piece
                self._exact(2)
        elif "content-length" in h:
            left = int(h["content-length"])
            while left:
                if not self.buf and not self._fill():
                    raise EOFError(f"connection closed with {left} body bytes missing")
                piece = self.buf[:left]
                self.buf = self.buf[len(piece):]
                left -= len(piece)
                yield piece
        else:
            while True:
                if self.buf:
                    piece, self.buf = self.buf, b""
                    yield piece
                if not self._fill():
                    return

    def read_response(self, method="GET"):
        head = self.read_head()
        if head is None:
            return None
        version, status, reason, headers = head
        body = b"".join(self.body_chunks(headers, status, method))
        return Response(version, status, reason, headers, body)

    def closed_by_peer(self, timeout=3.0):
        """True when the peer closes (EOF or reset) within `timeout` with no further bytes."""
        self.sock.settimeout(timeout)
        try:
            d = self.buf or self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        return d == b""

    def close(self):
        self.sock.close()


def get(port, path="/", host="example.com", headers=(), addr=GW, timeout=5.0, method="GET",
        body=None, source=None):
    """One request on a fresh connection (Connection: close); returns the Response."""
    c = Conn(addr, port, timeout, source)
    try:
        c.send(request(method, path, host, headers, body, close=True))
        return c.read_response(method)
    finally:
        c.close()


def request(method="GET", path="/", host="example.com", headers=(), body=None, close=False):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return data + (body or b"")


class HttpLoad:
    """Client threads sending GETs to the gateway until the `with` block ends: `keepalive` of them
    over one connection each, `fresh` on a new connection per request, each pausing `pause`
    seconds between requests. `path(i, k)` names thread i's k-th request. An answer is correct
    when it is 200 and `check(resp)` (if given) holds; it is recorded as (monotonic time,
    label(resp)). Anything else (exception, other status, closed connection) is recorded in
    `errors` as (monotonic time, what)."""

    def __init__(self, port, host, path, keepalive=2, fresh=0, pause=0.001, label=None,
                 check=None, addr=GW):
        self.port, self.host, self.path, self.pause = port, host, path, pause
        self.addr = addr
        self.label = label or (lambda resp: resp.text.strip())
        self.check = check
        self.lock = threading.Lock()
        self.results = []  # (t, label)
        self.errors = []   # (t, what)
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i, i < keepalive), daemon=True)
                        for i in range(keepalive + fresh)]

    def _answer(self, conn, i, k, keep):
        conn.send(request("GET", self.path(i, k), self.host, close=not keep))
        resp = conn.read_response()
        if resp is None:
            raise EOFError("gateway closed the connection before answering")
        if resp.status != 200 or (self.check and not self.check(resp)):
            raise AssertionError(f"HTTP {resp.status}: {resp.text.strip()!r}")
        return resp

    def _run(self, i, keep):
        conn = None
        k = 0
        while not self.stopping.is_set():
            k += 1
            try:
                if conn is None:
                    conn = Conn(self.addr, self.port, timeout=5)
                resp = self._answer(conn, i, k, keep)
                if not keep or (resp.header("Connection") or "").lower() == "close":
                    conn.close()
                    conn = None
                with self.lock:
                    self.results.append((time.monotonic(), self.label(resp)))
            except Exception as e:  # noqa: BLE001 - every failure is a test failure, recorded
                with self.lock:
                    self.errors.append((time.monotonic(), f"GET {self.path(i, k)}: {e!r}"))
                if conn is not None:
                    conn.close()
                conn = None
            time.sleep(self.pause)
        if conn is not None:
            conn.close()

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join(10)

    def snapshot(self):
        with self.lock:
            return list(self.results), list(self.errors)

    def count(self, label=None, since=0.0):
        """Correct answers since `since`, with that label when one is given."""
        with self.lock:
            return sum(1 for t, lb in self.results if (label is None or lb == label) and t >= since)

    def wait_count(self, label, n, since=0.0, timeout=5.0):
        try:
            wait_until(lambda: self.count(label, since) >= n, timeout,
                       what=f"{n} answers labelled {label}")
        except AssertionError as e:
            raise AssertionError(f"{e}: have {self.count(label, since)}, "
                                 f"errors {self.errors[:3]}") from None

    def first(self, label, since=0.0):
        with self.lock:
            return next((t for t, lb in self.results if lb == label and t >= since), None)


def raw_exchange(port, data, addr=GW, timeout=5.0):
    """Sends raw bytes on a fresh connection; returns (first Response or None, closed_after)."""
    c = Conn(addr, port, timeout)
    try:
        try:
            c.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        resp = c.read_response()
        return resp, c.closed_by_peer()
    finally:
        c.close()


def block_stream(n_blocks, block_size=1 << 20, seed=b"causeway"):
    """A deterministic incompressible byte stream: yields n_blocks blocks, each different."""
    base = hashlib.shake_256(seed).digest(block_size)
    for i in range(n_blocks):
        yield i.to_bytes(8, "big") + base[8:]


# --------------------------------------------------------------------------------------------
# the per-test process stack
# --------------------------------------------------------------------------------------------

class Stack:
    """Starts processes for one test and stops them all (gateways first) in close()."""

    def __init__(self, binary, tmp_path):
        self.binary, self.tmp = binary, Path(tmp_path)
        self.items = []
        self.n = 0

    def _dir(self, what):
        self.n += 1
        return self.tmp / f"{what}-{self.n}"

    def gateway(self, manifests, ports, **kw):
        g = Gateway(self.binary, self._dir("causeway"), manifests, ports, **kw)
        self.items.append(g)
        return g.start()

    def nginx(self, servers, listens, http_extra=""):
        n = Nginx(self._dir("nginx"), servers, listens, http_extra)
        self.items.append(n)
        return n.start()

    def server(self, cls, *args, **kw):
        s = cls(*args, **kw)
        self.items.append(s)
        return s.start()

    def close(self):
        errors = []
        for it in [i for i in self.items if isinstance(i, Gateway)] + \
                  [i for i in reversed(self.items) if not isinstance(i, Gateway)]:
            try:
                it.stop()
            except Exception as e:  # keep stopping the others
                errors.append(e)
        if errors:
            raise errors[0]


def raise_nofile(want=8192):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(max(soft, want), hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --------------------------------------------------------------------------------------------
# resilience: outlier detection / failover policies and the gateway's ejection events
# --------------------------------------------------------------------------------------------

def _resilience_policy(kind, name, labels):
    """The head of a resilience policy in namespace data selecting ExternalServices by `labels`
    (default failover=true), up to its `config:` line."""
    labels = labels or {"failover": "true"}
    sel = ", ".join(f"{k}: {json.dumps(v)}" for k, v in labels.items())
    return _y(f"""
        apiVersion: resilience.policy.gloo.solo.io/v2
        kind: {kind}
        metadata: {{name: {name}, namespace: data}}
        spec:
          applyToDestinations:
          - kind: EXTERNAL_SERVICE
            selector: {{labels: {{{sel}}}}}
          config:
        """)


def outlier_detection_policy(name="od", labels=None, **config):
    """An OutlierDetectionPolicy in namespace data selecting ExternalServices by `labels`
    (default failover=true); `config` keys are written as given (consecutiveErrors=2, ...)."""
    cfg = "".join(f"    {k}: {v}\n" for k, v in config.items()) or "    {}\n"
    return _resilience_policy("OutlierDetectionPolicy", name, labels) + cfg


def failover_policy(mappings, name="failover", labels=None):
    """A FailoverPolicy in namespace data; mappings: [(from_region, [to_region, ...])]."""
    ms = ""
    for f, to in mappings:
        targets = ", ".join(f"{{region: {t}}}" for t in to)
        ms += f"    - from: {{region: {f}}}\n      to: [{targets}]\n"
    return _resilience_policy("FailoverPolicy", name, labels) + "    localityMappings:\n" + ms


EVENT_RE = re.compile(r"^causeway: event=(?P<event>\S+) (?P<rest>.*)$")
_EVENT_FIELD_RE = re.compile(r'(\w+)=(?:"([^"]*)"|(\S*))')


def gateway_events(gw, event=None):
    """The `causeway: event=...` lines of a gateway's stderr, parsed into dicts (values are
    strings, the kind is under "event"); only complete lines, optionally only one kind."""
    text = gw.output()
    out = []
    for line in text.split("\n")[:-1]:
        m = EVENT_RE.match(line)
        if not m:
            continue
        d = {"event": m["event"], "line": line}
        for k, quoted, plain in _EVENT_FIELD_RE.findall(m["rest"]):
            d[k] = plain or quoted
        if event is None or d["event"] == event:
            out.append(d)
    return out
