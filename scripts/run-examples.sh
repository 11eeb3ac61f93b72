#!/usr/bin/env bash
# Runs `causeway validate --plan` on every example set (examples/README.md) with the gateway
# identity the spec assumes. Builds nothing: the binary comes from $1 (default build/causeway).
#
# Exit status: 0 when every set behaved as documented (exit 0, or exit 1 for the sets that contain
# an intentional INVALID); 1 when the binary failed unexpectedly (crash, usage error, or an INVALID
# in a set documented as all-valid); 2 when the binary is missing.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:-$here/build/causeway}
if [[ ! -x $bin ]]; then
    echo "run-examples: no executable causeway at $bin (build it first: make build)" >&2
    exit 2
fi

ex=$here/examples
gateway=(--namespace gw --labels app=c-gateway --locality us-east-1/us-east-1a --plan)

# name | expected exit status (0 = all valid, 1 = contains an intentional INVALID) | -c paths
sets=(
    "set-a|0|$ex/set-a"
    "set-b|0|$ex/set-a $ex/set-b"
    "set-c|1|$ex/set-a $ex/set-c"
    "set-d|0|$ex/set-d"
    "set-d-linked|1|$ex/set-d-linked"
    "set-e|0|$ex/set-a $ex/set-e"
    "tls|0|$ex/set-a $ex/tls"
)

# The TLS example reads its certificates from Secrets mounted under --secrets-dir: made here,
# self-signed, in a temporary directory (never committed).
secrets=$(mktemp -d)
trap 'rm -rf "$secrets"' EXIT
self_signed() { # DIR NAME: DIR/tls.crt and DIR/tls.key for DNS name NAME
    mkdir -p "$1"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
        -keyout "$1/tls.key" -out "$1/tls.crt" -subj "/CN=$2" -addext "subjectAltName=DNS:$2" \
        2>/dev/null
}
self_signed "$secrets/gw/edge-cert" pay.example.com
self_signed "$secrets/data/ledger-client" gateway.example.com
self_signed "$secrets/payments-ca-tmp" payments.internal
mkdir -p "$secrets/data/payments-ca"
cp "$secrets/payments-ca-tmp/tls.crt" "$secrets/data/payments-ca/ca.crt"

failed=0
for entry in "${sets[@]}"; do
    IFS='|' read -r name expect paths <<<"$entry"
    args=()
    for p in $paths; do
        args+=(-c "$p")
    done
    echo "=== $name: causeway validate ${args[*]#$here/} ${gateway[*]}"
    [[ $expect == 1 ]] && echo "    (contains an intentional INVALID)"
    [[ $name == tls ]] && args+=(--secrets-dir "$secrets")
    "$bin" validate "${args[@]}" "${gateway[@]}"
    rc=$?
    if [[ $rc -ne 0 && $rc -ne 1 ]] || [[ $rc -eq 1 && $expect -eq 0 ]]; then
        echo "run-examples: $name: unexpected exit status $rc" >&2
        failed=1
    fi
    echo
done
exit $failed
