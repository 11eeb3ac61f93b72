"""`make run` keeps working: the quickstart starts two stand-in data centers (nginx and
PostgreSQL on 127.0.0.41 and 127.0.0.42) and causeway, then runs the README's curl and psql
commands through the gateway (scripts/quickstart.sh --check)."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_quickstart_commands_go_through_the_gateway(causeway):
    r = subprocess.run(["bash", os.path.join(ROOT, "scripts", "quickstart.sh"), causeway.binary,
                        "--check"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    for what in ("HTTP route with pathRewrite", "direct response",
                 "exposed service by its own host", "psql through the TCP route"):
        assert f"ok: {what}" in r.stdout, r.stdout + r.stderr
    # The access log names the route and the endpoint that served each request.
    assert "route=gw/api:inventory service=data/inventory:80" in r.stdout
    assert "route=gw/database:tcp[0] service=data/database:5432" in r.stdout
