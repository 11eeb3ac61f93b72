"""DNS_NAMES=N for bench/proxy_bench.sh (issue 14): an unrouted ExternalService bench/dns-bench
over N ExternalEndpoints whose addresses are names (n00001.bench.dns.test, ...), and the
dnsmasq hosts file that answers them (each its own address in 127.1.0.0/16), and optionally
the same service with each endpoint given by that address (the baseline's twin: the same hosts,
nothing to resolve).

usage: dns_names.py N MANIFEST HOSTS [ADDRESS_MANIFEST]
"""
import sys

n, manifest, hosts = int(sys.argv[1]), sys.argv[2], sys.argv[3]
by_address = sys.argv[4] if len(sys.argv) > 4 else None
docs = ["""apiVersion: networking.gloo.solo.io/v2
kind: ExternalService
metadata: {name: dns-bench, namespace: bench}
spec:
  hosts: [dns-bench.internal]
  ports: [{name: http, number: 29300, protocol: HTTP}]
  selector: {app: dns-bench}
"""]
lines = []
twin = list(docs)
for i in range(1, n + 1):
    name = f"n{i:05d}.bench.dns.test"
    docs.append(f"""apiVersion: networking.gloo.solo.io/v2
kind: ExternalEndpoint
metadata: {{name: dns-bench-{i:05d}, namespace: bench, labels: {{app: dns-bench}}}}
spec: {{address: {name}, ports: [{{name: http, number: 29300}}]}}
""")
    address = f"127.1.{i // 250}.{i % 250 + 1}"
    lines.append(f"{address} {name}\n")
    twin.append(docs[-1].replace(f"address: {name},", f"address: {address},"))
with open(manifest, "w") as f:
    f.write("---\n".join(docs))
with open(hosts, "w") as f:
    f.writelines(lines)
if by_address:
    with open(by_address, "w") as f:
        f.write("---\n".join(twin))
