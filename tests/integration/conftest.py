"""Shared fixtures for the integration tests: run the real causeway binary and read its output.

The binary comes from $CAUSEWAY_BIN (default <repo>/build/causeway). Every process is started with a
timeout; nothing here needs network access or anything outside the standard library.
"""
import json
import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
TIMEOUT = 30  # seconds; validate on a handful of files takes milliseconds

# The gateway identity the spec's example sets assume (spec §12 "Common assumptions").
GATEWAY = ["--namespace", "gw", "--labels", "app=c-gateway", "--locality", "us-east-1/us-east-1a"]

# file:line:col: error: Kind ns/name: spec.path: message
DIAG_RE = re.compile(
    r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): error: "
    r"(?P<kind>[A-Za-z]+) (?P<ns>[^/\s]+)/(?P<name>[^:\s]+): (?P<path>[^:\s]+): (?P<msg>.+)$"
)


class Result:
    """One finished `causeway` run: exit code, raw streams, and the parsed status list."""

    def __init__(self, args, proc, output):
        self.args = args
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.output = output
        self.items = None
        self.plan = ""
        if output == "json":
            doc, end = json.JSONDecoder().raw_decode(self.stdout)
            self.doc = doc
            self.items = doc["items"]
            self.plan = self.stdout[end:].lstrip("\n")
        elif output in ("table", "yaml"):
            # The plan starts with its "gateway locality" line, after the status list.
            idx = self.stdout.find("\ngateway locality ")
            if idx >= 0:
                self.plan = self.stdout[idx + 1:]

    def __repr__(self):
        return f"<causeway rc={self.rc} args={self.args}>\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"

    # ---- status items (json output) ----

    def find(self, kind, ref):
        """All items of `kind` whose "ns/name" is `ref`."""
        ns, name = ref.split("/", 1)
        return [
            i for i in self.items
            if i["kind"] == kind and i["metadata"]["namespace"] == ns and i["metadata"]["name"] == name
        ]

    def item(self, kind, ref):
        found = self.find(kind, ref)
        assert len(found) == 1, f"expected exactly one {kind} {ref}, got {len(found)}\n{self!r}"
        return found[0]

    def status(self, kind, ref):
        return self.item(kind, ref)["status"]

    def approval(self, kind, ref):
        return self.status(kind, ref)["common"]["State"]["approval"]

    def message(self, kind, ref):
        return self.status(kind, ref)["common"]["State"].get("message", "")

    def approvals(self):
        """{(kind, "ns/name"): approval} for every item (duplicates: the last one)."""
        return {
            (i["kind"], f'{i["metadata"]["namespace"]}/{i["metadata"]["name"]}'):
                i["status"]["common"]["State"]["approval"]
            for i in self.items
        }

    # ---- diagnostics (stderr) ----

    def diagnostics(self):
        return [m.groupdict() for m in map(DIAG_RE.match, self.stderr.splitlines()) if m]

    # ---- plan (--plan) ----

    def plan_lines(self):
        return self.plan.splitlines()

    def cluster(self, name):
        """The plan's `cluster <name> ...` header line and its endpoint lines."""
        lines = self.plan_lines()
        for i, line in enumerate(lines):
            if line.startswith(f"cluster {name}") and line[len(f"cluster {name}"):][:1] in ("", " "):
                eps = []
                for nxt in lines[i + 1:]:
                    if not nxt.startswith("  "):
                        break
                    eps.append(nxt.strip())
                return line, eps
        raise AssertionError(f"no cluster {name} in plan\n{self.plan}")

    def endpoint_priorities(self, cluster):
        """{"addr:port": priority} of a cluster's endpoints as the plan prints them."""
        _, eps = self.cluster(cluster)
        out = {}
        for e in eps:
            # a weighted mapping's shares and the TLS origination line are not endpoints
            if e.startswith("distribute") or e.startswith("tls "):
                continue
            m = re.match(r"^P(\d+) (\S+) ", e)
            assert m, f"unexpected endpoint line {e!r}"
            out[m.group(2)] = int(m.group(1))
        return out

    def route_line(self, route, table=None):
        tag = f" [{table}]" if table else " ["
        lines = [l.strip() for l in self.plan_lines() if l.strip().startswith(f"route {route}{tag}")]
        assert len(lines) == 1, f"expected one plan line for route {route}, got {lines}\n{self.plan}"
        return lines[0]


class Causeway:
    def __init__(self, binary):
        self.binary = str(binary)

    def run(self, *args, timeout=TIMEOUT):
        """Runs the binary with `args`; returns the CompletedProcess (text mode)."""
        return subprocess.run(
            [self.binary, *map(str, args)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
        )

    def validate(self, *paths, output="json", plan=False, gateway=GATEWAY, extra=()):
        """`causeway validate -c P...` with the spec's gateway identity; parses the output."""
        args = ["validate"]
        for p in paths:
            args += ["-c", str(p)]
        args += list(gateway)
        if output != "table":
            args += ["-o", output]
        if plan:
            args.append("--plan")
        args += list(extra)
        proc = self.run(*args)
        assert proc.returncode in (0, 1), f"causeway crashed or refused its arguments:\n{proc}"
        return Result(args, proc, output)


@pytest.fixture(scope="session")
def causeway(tmp_path_factory):
    binary = Path(os.environ.get("CAUSEWAY_BIN", REPO / "build" / "causeway"))
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(f"causeway binary not found at {binary}: build it (make build) or set CAUSEWAY_BIN")
    # Test a private copy: a rebuild of build/causeway during the run must not swap the binary
    # between two tests.
    copy = tmp_path_factory.mktemp("bin") / "causeway"
    shutil.copy2(binary, copy)
    return Causeway(copy)


@pytest.fixture
def write(tmp_path):
    """write("name.yaml", text) → path: a dedented manifest file under tmp_path (folders created)."""

    def _write(name, text):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return _write


@pytest.fixture(scope="session")
def set_a():
    """The ops workspace, its settings and VirtualGateway edge that sets B, C and E build on."""
    return EXAMPLES / "set-a"


# ---- data-plane tests (test_proxy_*.py): real processes, see backends.py ----

@pytest.fixture
def stack(causeway, tmp_path):
    """Starts causeway / nginx / python servers for one test; stops them all by PID afterwards."""
    import backends

    s = backends.Stack(causeway.binary, tmp_path)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="session")
def postgres():
    """One real PostgreSQL 15 server for the session, at 127.0.0.43:35432 ("database.external")."""
    import backends

    pg = backends.Postgres(backends.PG_ADDR, 35432)
    try:
        pg.start()
        yield pg
    finally:
        pg.stop()


# ---- sanitizers: `make test-sanitize` runs this suite against an ASan/UBSan build ----

SANITIZED = os.environ.get("CAUSEWAY_SANITIZED") == "1"


@pytest.fixture(scope="session", autouse=True)
def sanitizer_logs(tmp_path_factory):
    """Where every sanitized causeway this session writes its reports (log_path: one file per PID).

    A file rather than stderr: the gateway's output, validate's captured stderr and the scripts'
    output all go different ways, and a report must fail the run whichever process wrote it.
    Session-wide and autouse, so it is in the environment before any fixture starts a gateway.
    """
    if not SANITIZED:
        yield None
        return
    d = tmp_path_factory.mktemp("sanitizer")
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):  # LeakSanitizer writes through ASan's log_path
        os.environ[var] = f"{os.environ.get(var, '')}:log_path={d}/{var[:-8].lower()}"
    yield d
    # Reports that came after the last test's check (module-scoped gateways stop after it).
    reports = sorted(p for p in d.iterdir() if not p.name.startswith("reported-"))
    if reports:
        pytest.fail(_sanitizer_reports(reports), pytrace=False)


def _sanitizer_reports(paths):
    return "sanitizer report(s) from causeway:\n" + "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')}" for p in paths)


@pytest.fixture(autouse=True)
def no_sanitizer_report(sanitizer_logs):
    """Fails the test during which a sanitized causeway reported anything (and exited)."""
    d = sanitizer_logs
    if d is None:
        yield
        return
    before = set(d.iterdir())
    yield
    new = sorted(set(d.iterdir()) - before)
    if new:
        text = _sanitizer_reports(new)
        for p in new:  # reported once here, not again at the end of the session
            p.rename(p.with_name("reported-" + p.name))
        pytest.fail(text, pytrace=False)
