#!/usr/bin/env bash
# `make run`: two stand-in data centers on loopback — "Dallas" (127.0.0.41) and "Ashburn"
# (127.0.0.42), each with an nginx API and a PostgreSQL — and causeway in front of them, serving
# examples/quickstart as the gateway in Dallas. Ctrl-C stops everything.
#
#   scripts/quickstart.sh [BINARY] [--check]
#
# --check runs the README's commands through the gateway, prints what they returned and exits
# (non-zero when one fails); the integration tests use it so `make run` stays working.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:-$ROOT/build/causeway}
CHECK=${2:-}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
WORK=$(mktemp -d /tmp/causeway-quickstart.XXXXXX)
chmod 755 "$WORK"
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for dc in dallas ashburn; do
        [ -d "$WORK/pg-$dc" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg-$dc" -m fast \
            stop >/dev/null 2>&1 || true
    done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() { # address port: bounded wait until something listens
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "quickstart: nothing listens on $1:$2" >&2
    return 1
}

start_nginx() { # dc address
    local dir="$WORK/nginx-$1"
    mkdir -p "$dir"
    cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/body; proxy_temp_path $dir/proxy; fastcgi_temp_path $dir/fcgi;
  uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;
  server {
    listen $2:18081;
    default_type text/plain;
    location / { return 200 "inventory in $1: \$request_uri (Host: \$host)\n"; }
  }
}
CONF
    nginx -c "$dir/nginx.conf" -g 'daemon off;' &
    PIDS+=($!)
}

start_postgres() { # dc address
    local dir="$WORK/pg-$1"
    mkdir -p "$dir" && chown postgres "$dir"
    runuser -u postgres -- "$PGBIN/initdb" -D "$dir" -A trust -U postgres >/dev/null
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir" -l "$dir/log" -w \
        -o "-k $dir -h $2 -p 25432" start >/dev/null
    psql -h "$2" -p 25432 -U postgres -q -c "create table dc(name text); insert into dc values ('$1');"
}

start_nginx dallas 127.0.0.41
start_nginx ashburn 127.0.0.42
start_postgres dallas 127.0.0.41
start_postgres ashburn 127.0.0.42
wait_port 127.0.0.41 18081
wait_port 127.0.0.42 18081

ADMIN=127.0.0.1:9901 # the default, written out
"$BIN" run -c "$ROOT/examples/quickstart" --locality us-south/dallas --bind 127.0.0.1 \
    --access-log - --admin "$ADMIN" &
PIDS+=($!)
wait_port 127.0.0.1 18080
wait_port 127.0.0.1 15432
wait_port 127.0.0.1 9901

cat <<TXT

causeway is serving examples/quickstart as the gateway in Dallas. Try:

  curl -H 'Host: api.example.com' http://127.0.0.1:18080/inventory/items
  curl -H 'Host: api.example.com' http://127.0.0.1:18080/healthz
  curl -H 'Host: inventory.external' http://127.0.0.1:18080/items
  psql -h 127.0.0.1 -p 15432 -U postgres -c 'select name from dc'

The admin API: http://$ADMIN/ (endpoints by locality and priority, in a browser)
  curl http://$ADMIN/metrics      # Prometheus
  curl http://$ADMIN/clusters     # endpoints, their state and load share (JSON)
  curl http://$ADMIN/events       # ejections, returns, reloads, newest first

Ctrl-C stops causeway and the backends.
TXT

if [ "$CHECK" != "--check" ]; then
    wait "${PIDS[-1]}"
    exit 0
fi
check() { # description command...: runs a README command and says how it went
    local what=$1
    shift
    if "$@"; then echo "ok: $what"; else echo "FAILED: $what" >&2; exit 1; fi
}
check "HTTP route with pathRewrite" bash -c "curl -sf -H 'Host: api.example.com' \
    http://127.0.0.1:18080/inventory/items | grep -q 'inventory in .*: /items'"
check "direct response" bash -c "curl -sf -H 'Host: api.example.com' \
    http://127.0.0.1:18080/healthz | grep -qx ok"
check "exposed service by its own host" bash -c "curl -sf -H 'Host: inventory.external' \
    http://127.0.0.1:18080/items | grep -q '/items'"
check "admin API: ready and metrics" bash -c "curl -sf http://$ADMIN/ready | grep -qx ready && \
    curl -sf http://$ADMIN/metrics | grep -q '^causeway_http_requests_total{listener=\"18080\"'"
check "psql through the TCP route" bash -c "psql -h 127.0.0.1 -p 15432 -U postgres -tA \
    -c 'select name from dc' | grep -Eq '^(dallas|ashburn)$'"
