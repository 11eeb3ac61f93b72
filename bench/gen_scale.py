#!/usr/bin/python3
"""Generates the scale data set for bench/translate_scale.sh.

    /usr/bin/python3 bench/gen_scale.py OUTDIR [--services 10000] [--endpoints 50000]
                                              [--workspaces 100] [--seed 1]

Writes one directory per workspace (OUTDIR/ws-017/) with a Workspace, its WorkspaceSettings,
ExternalServices and the ExternalEndpoints they select, as multi-document YAML files. Some
workspaces export EXTERNAL_SERVICE to others that import them back, and a few ExternalServices
deliberately reuse another's address or host (spec/gloo-api.md §8.4):

  same_workspace           both in one workspace: the newer one must be INVALID
  cross_workspace_linked   one is visible in the other's workspace (export + import): newer INVALID
  cross_workspace_unlinked workspaces that do not share ExternalServices: both ACCEPTED

The outcome is computed by a small reference implementation of §8.3/§8.4 (below) rather than
assumed, and written to OUTDIR/expected.json so the benchmark can check that the translation it
timed also gave the right answer. Standard library only; the same seed gives the same bytes.
"""

import argparse
import ipaddress
import json
import os
import random
import re
import shutil
import sys
from datetime import datetime, timedelta, timezone

BASE_TIME = datetime(2024, 1, 1, tzinfo=timezone.utc)
ADMIN_NS = "gloo-mesh"
NETWORKING = "networking.gloo.solo.io/v2"
ADMIN = "admin.gloo.solo.io/v2"
LOCALITIES = [(r, f"{r}-{z}") for r in ("r1", "r2", "r3") for z in ("a", "b")]
TIERS = ("gold", "silver", "bronze")

# Service ports. `backend` is the port the endpoints listen on; `target` marks ports that name it
# through targetPort.number (the others are matched by port name, spec §1.4); `tls` ports are only
# given to host services, whose single host is the default SNI.
PORTS = [
    {"name": "http", "number": 80, "protocol": "HTTP", "backend": 8080},
    {"name": "pg", "number": 5432, "protocol": "TCP", "backend": 5432},
    {"name": "grpc", "number": 9090, "protocol": "GRPC", "backend": 9090},
    {"name": "admin", "number": 8081, "protocol": "HTTP", "backend": 9901, "target": True},
    {"name": "https", "number": 443, "protocol": "HTTPS", "backend": 8443, "tls": True},
]

SERVICE_IPS = int(ipaddress.IPv4Address("10.0.0.0"))  # single addresses: 10.0.0.0/8
SERVICE_CIDRS = int(ipaddress.IPv4Address("172.16.0.0"))  # disjoint /28 prefixes: 172.16.0.0/12
ENDPOINT_IPS = int(ipaddress.IPv4Address("100.64.0.0"))  # endpoint addresses: 100.64.0.0/10


# ---- model -----------------------------------------------------------------------------------


class Workspace:
    def __init__(self, idx):
        self.idx = idx
        self.name = f"ws-{idx:03d}"
        self.namespaces = [f"ns-{idx:03d}-a", f"ns-{idx:03d}-b"]
        self.labels = {"team": f"t{idx}", "tier": TIERS[idx % len(TIERS)]}
        self.export_to = []  # import/export entries, shaped as in the YAML
        self.import_from = []


class Service:
    def __init__(self, idx, ws, ns, shape):
        self.idx = idx
        self.name = f"svc-{idx:05d}"
        self.ws = ws
        self.ns = ns
        self.shape = shape  # "ip", "cidr" or "host"
        self.addresses = []
        self.hosts = []
        self.ports = []
        self.created = 0  # seconds after BASE_TIME
        self.n_endpoints = 0

    @property
    def ref(self):
        return f"{self.ns}/{self.name}"

    def keys(self):
        """The §8.4 key set: canonical prefixes and lower-cased hosts."""
        return [str(ipaddress.ip_network(a, strict=False)) for a in self.addresses] + [
            h.lower() for h in self.hosts
        ]


# ---- workspaces and their links --------------------------------------------------------------


def es_entry(picks, kind="EXTERNAL_SERVICE"):
    return {"workspaces": picks, "resources": [{"kind": kind}]}


def plan_links(wss):
    """Gives every tenth workspace two spokes that import its ExternalServices, plus the
    near-misses that must NOT link them: an export nobody imports, a RouteTable-only link and an
    import nobody exports. Each spoke imports from one hub only, so no two exported services ever
    meet in a third workspace (the §8.4 rule 2 [DECISION] case stays out of the counts)."""
    n = len(wss)
    for ws in wss:
        i = ws.idx
        if i % 10 == 0 and i + 2 < n:
            picks = [{"name": wss[i + 1].name}, {"selector": {"team": f"t{i + 2}"}}]
            if i + 3 < n:
                picks.append({"name": wss[i + 3].name})  # exported to, never imported by
            ws.export_to.append(es_entry(picks))
            for s in (i + 1, i + 2):
                wss[s].import_from.append(es_entry([{"name": ws.name}]))
        elif i % 10 == 5 and i + 1 < n:
            ws.export_to.append(es_entry([{"name": wss[i + 1].name}], "ROUTE_TABLE"))
            wss[i + 1].import_from.append(es_entry([{"name": ws.name}], "ROUTE_TABLE"))
        elif i % 10 == 7 and i + 1 < n:
            ws.import_from.append(es_entry([{"name": wss[i + 1].name}]))


def picks_workspace(entry, ws):
    for p in entry["workspaces"]:
        if p.get("name") in (ws.name, "*"):
            return True
        sel = p.get("selector")
        if sel and all(ws.labels.get(k) == v for k, v in sel.items()):
            return True
    return False


def picks_external_services(entry):
    kinds = [r["kind"] for r in entry.get("resources", [{"kind": "ALL"}])]
    return "ALL" in kinds or "EXTERNAL_SERVICE" in kinds


def shares_services(src, dst):
    """§8.3: src's ExternalServices are visible in dst when both sides agree."""
    exported = any(picks_workspace(e, dst) and picks_external_services(e) for e in src.export_to)
    imported = any(picks_workspace(e, src) and picks_external_services(e) for e in dst.import_from)
    return src is not dst and exported and imported


def importers_of(wss):
    return {a.idx: {b.idx for b in wss if shares_services(a, b)} for a in wss}


def workspaces_collide(a, b, importers):
    """§8.4 rule 2: some workspace sees services of both a and b."""
    return (
        a == b
        or b in importers[a]
        or a in importers[b]
        or bool(importers[a] & importers[b])
    )


# ---- services and endpoints ------------------------------------------------------------------


def make_services(args, rng, wss):
    services = []
    for s in range(args.services):
        ws = wss[s * len(wss) // args.services]  # contiguous blocks per workspace
        r = rng.random()
        shape = "cidr" if r < 0.03 else "host" if r < 0.38 else "ip"
        svc = Service(s, ws, rng.choice(ws.namespaces), shape)
        fill_keys(svc, rng, s)
        fill_ports(svc, rng)
        services.append(svc)
    # Creation times are a shuffled sequence, so the older of two services is as often loaded
    # last as first: the winner must come from the timestamp, not from load order.
    order = list(range(len(services)))
    rng.shuffle(order)
    for svc, t in zip(services, order):
        svc.created = 3600 + t
    return services


def fill_keys(svc, rng, s):
    """Addresses and hosts unique to this service; overlaps are planted afterwards."""
    if svc.shape == "cidr":
        net = ipaddress.IPv4Address(SERVICE_CIDRS + 16 * s)
        svc.addresses = [f"{net}/28"]
    elif svc.shape == "ip":
        ips = [ipaddress.IPv4Address(SERVICE_IPS + 2 * s + k) for k in range(2)]
        count = 2 if rng.random() < 0.2 else 1
        # A mix of spellings: 10.0.0.1 and 10.0.0.1/32 are the same key (§8.4 rule 1).
        svc.addresses = [f"{ip}/32" if rng.random() < 0.5 else str(ip) for ip in ips[:count]]
    else:
        base = f"{svc.name}.{svc.ws.name}.internal"
        svc.hosts = [base] if rng.random() < 0.85 else [base, f"{svc.name}-alt.{svc.ws.name}.internal"]


def fill_ports(svc, rng):
    allowed = [p for p in PORTS if not p.get("tls") or (svc.shape == "host" and len(svc.hosts) == 1)]
    count = rng.choices([1, 2, 3], weights=[60, 30, 10])[0]
    svc.ports = sorted(rng.sample(allowed, count), key=lambda p: p["number"])


def assign_endpoint_counts(args, rng, services):
    """Every service gets at least one endpoint when there are enough (CIDR services first: a
    CIDR without endpoints is a WARNING, §1.4 rule 3); the rest are spread at random."""
    left = args.endpoints
    for svc in sorted(services, key=lambda s: s.shape != "cidr"):
        if left == 0:
            break
        svc.n_endpoints = 1
        left -= 1
    for svc in rng.choices(services, k=left) if services else []:
        svc.n_endpoints += 1


# ---- planted overlaps ------------------------------------------------------------------------


class Planter:
    """Makes pairs of services share one key. A service takes part in at most one pair and every
    planted key is shared by exactly two services, so each colliding pair has exactly one loser
    whatever order a translator checks them in."""

    def __init__(self, rng, services):
        self.rng = rng
        self.free = {}  # (workspace idx, shape) -> services not yet in a pair
        for svc in services:
            if svc.shape in ("ip", "host"):
                self.free.setdefault((svc.ws.idx, svc.shape), []).append(svc)
        for pool in self.free.values():
            rng.shuffle(pool)
        self.pairs = []

    def available(self, ws, shape, need=1):
        return len(self.free.get((ws, shape), [])) >= need

    def take(self, ws, shape):
        return self.free[(ws, shape)].pop()

    def plant(self, kind, ws_a, ws_b, shape, tie=False):
        need = 2 if ws_a == ws_b else 1
        if not (self.available(ws_a, shape, need) and self.available(ws_b, shape)):
            return False
        a, b = self.take(ws_a, shape), self.take(ws_b, shape)
        if shape == "ip":
            # Reuse a's first address, spelled the other way (/32 vs plain) half of the time.
            ip = a.addresses[0].split("/")[0]
            b.addresses[0] = f"{ip}/32" if self.rng.random() < 0.5 else ip
            key = f"{ip}/32"
        else:
            # Hosts compare case-insensitively (§8.4 rule 1 [DECISION]).
            key = a.hosts[0]
            b.hosts[0] = key.upper()
        if tie:
            b.created = a.created  # equal timestamps: the lexicographic namespace/name decides
        self.pairs.append({"type": kind, "shape": shape, "key": key, "a": a.ref, "b": b.ref,
                           "tie": tie})
        return True


def shape_for(k):
    return "host" if k % 5 == 4 else "ip"  # one pair in five overlaps on a host name


def plant_same_workspace(planter, rng, wss, count):
    planted = attempts = 0
    while planted < count and attempts < 50 * count:
        attempts += 1
        ws = rng.randrange(len(wss))
        if planter.plant("same_workspace", ws, ws, shape_for(planted), tie=planted % 10 == 3):
            planted += 1
    return planted


def plant_across(planter, rng, candidates, kind, count):
    planted = attempts = 0
    while candidates and planted < count and attempts < 50 * count:
        attempts += 1
        a, b = rng.choice(candidates)
        if rng.random() < 0.5:
            a, b = b, a
        if planter.plant(kind, a, b, shape_for(planted)):
            planted += 1
    return planted


def unlinked_candidates(wss, importers):
    """Workspace pairs that do not share ExternalServices, near-misses first: siblings of one
    hub, export without import, RouteTable-only links, import without export."""
    near, n = [], len(wss)
    for i in range(n):
        for j in (i + 1, i + 2, i + 3):
            if j < n and not workspaces_collide(i, j, importers):
                near.append((i, j))
    far = [(i, (i + n // 2) % n) for i in range(n) if n > 1]
    far = [p for p in far if p[0] != p[1] and not workspaces_collide(*p, importers)]
    return near + far


# ---- reference outcome (§8.4) ----------------------------------------------------------------


def expected_outcome(services, importers):
    """Oldest first (creationTimestamp, then namespace/name), a service is INVALID when it
    shares a key with an already accepted service that some workspace sees together with it."""
    by_key = {}
    for svc in services:
        for key in svc.keys():
            by_key.setdefault(key, []).append(svc)
    accepted, invalid = set(), []
    for svc in sorted(services, key=lambda s: (s.created, s.ref)):
        winner = None
        for key in svc.keys():
            for other in by_key[key]:
                if other.idx in accepted and workspaces_collide(svc.ws.idx, other.ws.idx, importers):
                    winner = winner or (other, key)
        if winner:
            invalid.append({"service": svc.ref, "workspace": svc.ws.name,
                            "winner": winner[0].ref, "winner_workspace": winner[0].ws.name,
                            "key": winner[1]})
        else:
            accepted.add(svc.idx)
    return sorted(invalid, key=lambda e: e["service"])


# ---- YAML ------------------------------------------------------------------------------------

PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*$|^[0-9]+(\.[0-9]+){2,}(/[0-9]+)?$")
RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if PLAIN.match(v) and v.lower() not in RESERVED:
        return v
    return "'" + v.replace("'", "''") + "'"


def emit(node, pad, out):
    """Block-style YAML as kubectl prints it: lists at their key's indentation."""
    if isinstance(node, dict):
        for k, v in node.items():
            emit_entry(f"{pad}{k}:", v, pad, out)
    else:
        for item in node:
            if isinstance(item, dict) and item:
                first = len(out)
                emit(item, pad + "  ", out)
                out[first] = pad + "- " + out[first][len(pad) + 2:]
            else:
                emit_entry(f"{pad}-", item, pad + "  ", out)


def emit_entry(head, v, pad, out):
    if isinstance(v, dict) and v:
        out.append(head)
        emit(v, pad + "  ", out)
    elif isinstance(v, list) and v:
        out.append(head)
        emit(v, pad if head.endswith(":") else pad + "  ", out)
    elif isinstance(v, (dict, list)):
        out.append(f"{head} {'{}' if isinstance(v, dict) else '[]'}")
    else:
        out.append(f"{head} {scalar(v)}")


def document(obj):
    out = []
    emit(obj, "", out)
    return "\n".join(out) + "\n"


def timestamp(seconds):
    return (BASE_TIME + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(name, ns, created, labels=None):
    m = {"name": name, "namespace": ns}
    if labels:
        m["labels"] = labels
    m["creationTimestamp"] = timestamp(created)
    return m


def workspace_docs(ws):
    w = {"apiVersion": ADMIN, "kind": "Workspace",
         "metadata": meta(ws.name, ADMIN_NS, ws.idx, ws.labels),
         "spec": {"workloadClusters": [{"name": "cluster1",
                                        "namespaces": [{"name": n} for n in ws.namespaces]}]}}
    spec = {}
    if ws.import_from:
        spec["importFrom"] = ws.import_from
    if ws.export_to:
        spec["exportTo"] = ws.export_to
    s = {"apiVersion": ADMIN, "kind": "WorkspaceSettings",
         "metadata": meta(ws.name, ws.namespaces[0], ws.idx), "spec": spec}
    return [document(w), document(s)]


def service_doc(svc):
    spec = {}
    if svc.addresses:
        spec["addresses"] = svc.addresses
    if svc.hosts:
        spec["hosts"] = svc.hosts
    ports = []
    for p in svc.ports:
        port = {"name": p["name"], "number": p["number"], "protocol": p["protocol"]}
        if p.get("target"):
            port["targetPort"] = {"number": p["backend"]}
        if p.get("tls"):
            port["clientsideTls"] = {}
        ports.append(port)
    spec["ports"] = ports
    spec["selector"] = {"app": svc.name, "team": svc.ws.labels["team"]}
    return document({"apiVersion": NETWORKING, "kind": "ExternalService",
                     "metadata": meta(svc.name, svc.ns, svc.created,
                                      {"app": svc.name, "team": svc.ws.labels["team"]}),
                     "spec": spec})


class EndpointFactory:
    """Endpoint addresses (unique IPs, one in ten a hostname), ports and localities."""

    def __init__(self, rng, first_created):
        self.rng = rng
        self.next_ip = ENDPOINT_IPS + 1
        self.created = first_created
        self.count = 0

    def doc(self, svc, k):
        rng = self.rng
        region, zone = rng.choice(LOCALITIES)
        if rng.random() < 0.1:
            address = f"{svc.name}-{k}.{region}.db.example.net"
        else:
            address = str(ipaddress.IPv4Address(self.next_ip))
            self.next_ip += 1
        spec = {"address": address}
        # One endpoint in twenty lists no ports: the service port number then applies (§1.4).
        if rng.random() >= 0.05:
            spec["ports"] = [{"name": p["name"], "number": p["backend"]} for p in svc.ports]
        spec["locality"] = {"region": region, "zone": zone}
        labels = {"app": svc.name, "team": svc.ws.labels["team"], "version": rng.choice(["v1", "v2"])}
        self.created += 1
        self.count += 1
        return document({"apiVersion": NETWORKING, "kind": "ExternalEndpoint",
                         "metadata": meta(f"{svc.name}-ep{k}", rng.choice(svc.ws.namespaces),
                                          self.created, labels),
                         "spec": spec})


# ---- output ----------------------------------------------------------------------------------


def clean_outdir(outdir):
    """Removes what an earlier run wrote (ws-NNN/ and expected.json), nothing else."""
    os.makedirs(outdir, exist_ok=True)
    for entry in os.listdir(outdir):
        path = os.path.join(outdir, entry)
        if re.fullmatch(r"ws-\d+", entry) and os.path.isdir(path):
            shutil.rmtree(path)
    if os.path.exists(os.path.join(outdir, "expected.json")):
        os.remove(os.path.join(outdir, "expected.json"))


def write_files(outdir, wss, services, endpoints, docs_per_file):
    """ws-NNN/00-workspace.yaml, then resources-NN.yaml: each service followed by its endpoints,
    cut into files of about <docs_per_file> documents."""
    stats = {"files": 0, "documents": 0, "bytes": 0}

    def flush(path, docs):
        text = "---\n".join(docs)
        with open(path, "w") as f:
            f.write(text)
        stats["files"] += 1
        stats["documents"] += len(docs)
        stats["bytes"] += len(text.encode())

    by_ws = {}
    for svc in services:
        by_ws.setdefault(svc.ws.idx, []).append(svc)
    for ws in wss:
        d = os.path.join(outdir, ws.name)
        os.makedirs(d)
        flush(os.path.join(d, "00-workspace.yaml"), workspace_docs(ws))
        docs, part = [], 0
        for svc in by_ws.get(ws.idx, []):
            docs.append(service_doc(svc))
            docs.extend(endpoints.doc(svc, k) for k in range(svc.n_endpoints))
            if len(docs) >= docs_per_file:
                flush(os.path.join(d, f"resources-{part:02d}.yaml"), docs)
                docs, part = [], part + 1
        if docs:
            flush(os.path.join(d, f"resources-{part:02d}.yaml"), docs)
    return stats


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--services", type=int, default=10000)
    ap.add_argument("--endpoints", type=int, default=50000)
    ap.add_argument("--workspaces", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--docs-per-file", type=int, default=300)
    args = ap.parse_args()
    if args.workspaces < 1 or args.services < 0 or args.endpoints < 0:
        ap.error("need at least one workspace and non-negative counts")
    return args


def main():
    args = parse_args()
    rng = random.Random(args.seed)
    wss = [Workspace(i) for i in range(args.workspaces)]
    plan_links(wss)
    importers = importers_of(wss)
    services = make_services(args, rng, wss)
    assign_endpoint_counts(args, rng, services)

    # About 1% of services reuse an address in their own workspace, a quarter of that as many
    # across linked and across unlinked workspaces.
    planter = Planter(rng, services)
    linked = sorted((a, b) for a in importers for b in importers[a])
    want = {"same_workspace": args.services // 100,
            "cross_workspace_linked": args.services // 400,
            "cross_workspace_unlinked": args.services // 400}
    planted = {
        "same_workspace": plant_same_workspace(planter, rng, wss, want["same_workspace"]),
        "cross_workspace_linked": plant_across(planter, rng, linked, "cross_workspace_linked",
                                               want["cross_workspace_linked"]),
        "cross_workspace_unlinked": plant_across(planter, rng, unlinked_candidates(wss, importers),
                                                 "cross_workspace_unlinked",
                                                 want["cross_workspace_unlinked"]),
    }
    invalid = expected_outcome(services, importers)
    # The reference outcome must match the plan: one loser per colliding pair, none otherwise.
    must_lose = planted["same_workspace"] + planted["cross_workspace_linked"]
    if len(invalid) != must_lose:
        sys.exit(f"gen_scale: internal error: {len(invalid)} INVALID, planned {must_lose}")
    kind_of_pair = {}
    for p in planter.pairs:
        kind_of_pair[p["a"]] = kind_of_pair[p["b"]] = p["type"]
    for e in invalid:
        e["overlap"] = kind_of_pair[e["service"]]

    clean_outdir(args.outdir)
    endpoints = EndpointFactory(rng, 3600 + args.services + 10)
    stats = write_files(args.outdir, wss, services, endpoints, args.docs_per_file)
    cidr_without_endpoints = sum(1 for s in services if s.shape == "cidr" and s.n_endpoints == 0)

    summary = {
        "generator": {"services": args.services, "endpoints": args.endpoints,
                      "workspaces": args.workspaces, "seed": args.seed,
                      "docs_per_file": args.docs_per_file},
        "counts": {"Workspace": len(wss), "WorkspaceSettings": len(wss),
                   "ExternalService": len(services), "ExternalEndpoint": endpoints.count},
        "files": stats["files"], "documents": stats["documents"], "bytes": stats["bytes"],
        "service_shapes": {k: sum(1 for s in services if s.shape == k) for k in ("ip", "cidr", "host")},
        "hostname_endpoints_approx": "10%",
        "workspace_links": {
            "external_services_shared": sorted(f"{wss[a].name}->{wss[b].name}" for a, b in linked)},
        "overlaps": {**planted,
                     "on_hosts": sum(1 for p in planter.pairs if p["shape"] == "host"),
                     "timestamp_ties": sum(1 for p in planter.pairs if p["tie"])},
        "expected": {"external_services_invalid": len(invalid),
                     # CIDR without endpoints is the only WARNING this data set can cause (§1.4).
                     "external_services_warning": cidr_without_endpoints,
                     "invalid_external_services": invalid},
        "pairs": planter.pairs,
    }
    with open(os.path.join(args.outdir, "expected.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    print_summary(summary, want)


def print_summary(s, want):
    c, o = s["counts"], s["overlaps"]
    print(f"gen_scale: {s['files']} files, {s['documents']} documents, {s['bytes'] / 1e6:.1f} MB")
    for kind, n in c.items():
        print(f"  {kind:<18} {n}")
    print(f"  shapes: {s['service_shapes']}; ExternalService sharing links: "
          f"{len(s['workspace_links']['external_services_shared'])}")
    for k in want:
        note = "" if o[k] == want[k] else f" (wanted {want[k]}: not enough room)"
        print(f"  overlaps {k:<26} {o[k]}{note}")
    print(f"  overlaps on hosts {o['on_hosts']}, timestamp ties {o['timestamp_ties']}")
    e = s["expected"]
    print(f"  expected INVALID ExternalServices {e['external_services_invalid']}, "
          f"WARNING {e['external_services_warning']}")


if __name__ == "__main__":
    main()
