"""DNS_NAMES=N for bench/proxy_bench.sh (issue 14): an unrouted ExternalService bench/dns-bench
over N ExternalEndpoints whose addresses are names (n00001.bench.dns.test, ...), and the
dnsmasq hosts file that answers them (each its own address in 127.1.0.0/16).

usage: dns_names.py N MANIFEST HOSTS
"""
import sys

n, manifest, hosts = int(sys.argv[1]), sys.argv[2], sys.argv[3]
docs = ["""apiVersion: networking.gloo.solo.io/v2
kind: ExternalService
metadata: {name: dns-bench, namespace: bench}
spec:
  hosts: [dns-bench.internal]
  ports: [{name: http, number: 29300, protocol: HTTP}]
  selector: {app: dns-bench}
"""]
lines = []
for i in range(1, n + 1):
    name = f"n{i:05d}.bench.dns.test"
    docs.append(f"""apiVersion: networking.gloo.solo.io/v2
kind: ExternalEndpoint
metadata: {{name: dns-bench-{i:05d}, namespace: bench, labels: {{app: dns-bench}}}}
spec: {{address: {name}, ports: [{{name: http, number: 29300}}]}}
""")
    lines.append(f"127.1.{i // 250}.{i % 250 + 1} {name}\n")
with open(manifest, "w") as f:
    f.write("---\n".join(docs))
with open(hosts, "w") as f:
    f.writelines(lines)
