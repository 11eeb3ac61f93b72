#!/usr/bin/env bash
# make_certs.sh DIR: the TLS benchmarks' throw-away PKI, made at bench time with the openssl CLI
# (never committed). ECDSA P-256 everywhere:
#   ca.crt                   a self-signed CA that signs both certificates below
#   proxy.crt/.key/.pem      what every proxy serves to its clients (.pem = cert + key, for
#                            HAProxy); SAN DNS bench.example.com, bench-up.example.com and the
#                            proxies' addresses (127.0.0.1, 127.0.0.2, 127.0.2.1)
#   backend.crt/.key         what the HTTPS backend nginx serves to the proxies; SAN DNS
#                            backend.bench.internal (the name every proxy sends as SNI and
#                            verifies) and IP 127.0.0.22 / 127.0.2.22
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
ossl() { openssl "$@" 2>/dev/null; }
ossl ecparam -name prime256v1 -genkey -noout -out ca.key
ossl req -x509 -new -key ca.key -sha256 -days 30 -subj "/CN=causeway bench CA" -out ca.crt \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
leaf() {  # NAME CN SAN
  ossl ecparam -name prime256v1 -genkey -noout -out "$1.key.ec"
  # PKCS#8 key: every proxy reads it
  ossl pkcs8 -topk8 -nocrypt -in "$1.key.ec" -out "$1.key"
  rm -f "$1.key.ec"
  ossl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
    "$3" >"$1.ext"
  ossl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 30 \
    -extfile "$1.ext" -out "$1.crt"
  cat "$1.crt" "$1.key" >"$1.pem"
  rm -f "$1.csr" "$1.ext"
}
leaf proxy bench.example.com \
  "DNS:bench.example.com,DNS:bench-up.example.com,IP:127.0.0.1,IP:127.0.0.2,IP:127.0.2.1"
leaf backend backend.bench.internal "DNS:backend.bench.internal,IP:127.0.0.22,IP:127.0.2.22"
openssl verify -CAfile ca.crt proxy.crt backend.crt >/dev/null
