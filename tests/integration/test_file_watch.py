"""Reloads that follow the files (`causeway run --watch on`, the default): a manifest of a -c
folder replaced (an editor's rename), a Kubernetes ConfigMap volume's `..data` symlink swap, a
burst of changes coalesced into few reloads, files that are not manifests ignored, and
`--watch off` leaving reloads to SIGHUP. Certificates that change are covered by
test_tls_termination.py (test_rotated_secret_is_served_without_sighup).

Ports: gateway listeners 34301-34319 on 127.0.0.90, backend 34330 on 127.0.0.41.
"""
import os
import time

from backends import (DALLAS, base_manifests, external_service, get, join, versioned_routes,
                      wait_until)

CHANGED = "causeway: configuration or certificate files changed, reloading"
RELOADED = "causeway: reloaded: "


def base(port):
    return join(base_manifests([(port, "http")]),
                external_service("dallas", 34330, addresses=[DALLAS]))


def routes(version):
    """RouteTable gw/web: GET /version answers `version <version>` directly."""
    return versioned_routes(version, "dallas", 34330)


def config(port, version):
    return join(base(port), routes(version))


def version_served(port):
    r = get(port, "/version", host="web.example.com")
    return r.text if r.status == 200 else None


def lines(gw, text):
    return [l for l in gw.output().split("\n")[:-1] if l.startswith(text)]


def replace(path, text):
    tmp = path.parent / f".{path.name}.tmp"
    tmp.write_text(text)
    os.replace(tmp, path)


def test_a_replaced_manifest_reloads_without_sighup(stack):
    gw = stack.gateway(config(34301, 1), [34301])
    assert version_served(34301) == "version 1"
    replace(gw.config / "all.yaml", config(34301, 2))
    wait_until(lambda: version_served(34301) == "version 2", 5, what="version 2 served")
    assert len(lines(gw, CHANGED)) == 1 and len(lines(gw, RELOADED)) == 1, gw.output()


def test_a_burst_of_changes_reloads_a_few_times_and_serves_the_last(stack):
    gw = stack.gateway(config(34302, 0), [34302])
    for v in range(1, 21):
        replace(gw.config / "all.yaml", config(34302, v))
        time.sleep(0.01)
    wait_until(lambda: version_served(34302) == "version 20", 5, what="the last version served")
    time.sleep(0.5)  # anything still coming would have come by now
    assert 1 <= len(lines(gw, CHANGED)) <= 3, gw.output()


def test_files_that_are_not_manifests_do_not_reload(stack):
    gw = stack.gateway(config(34303, 1), [34303])
    for i in range(5):
        (gw.config / f"notes-{i}.txt").write_text("not a manifest\n")
        (gw.config / "access.log").write_text("x" * i)
    time.sleep(0.8)
    assert lines(gw, CHANGED) == [], gw.output()


def test_a_configmap_symlink_swap_reloads(stack, tmp_path):
    """A mounted ConfigMap holds the RouteTable: web.yaml -> ..data/web.yaml, ..data ->
    ..<timestamp>/, and an update swaps the ..data symlink atomically (what kubelet does)."""
    mount = tmp_path / "configmap"
    first = mount / "..2026_12_07_20_00_00.000000001"
    first.mkdir(parents=True)
    (first / "web.yaml").write_text(routes(1))
    os.symlink(first.name, mount / "..data")
    os.symlink("..data/web.yaml", mount / "web.yaml")
    stack.gateway(base(34304), [34304], args=["-c", str(mount)])
    assert version_served(34304) == "version 1"
    second = mount / "..2026_12_07_20_01_00.000000002"
    second.mkdir()
    (second / "web.yaml").write_text(routes(2))
    os.symlink(second.name, mount / "..data_tmp")
    os.replace(mount / "..data_tmp", mount / "..data")
    wait_until(lambda: version_served(34304) == "version 2", 5, what="version 2 served")


def test_watch_off_leaves_reloads_to_sighup(stack):
    gw = stack.gateway(config(34305, 1), [34305], args=["--watch", "off"])
    replace(gw.config / "all.yaml", config(34305, 2))
    time.sleep(0.8)
    assert version_served(34305) == "version 1" and lines(gw, CHANGED) == [], gw.output()
