#!/usr/bin/env bash
# Memory benchmark: RSS per idle keep-alive client connection of causeway, HAProxy and nginx.
#
# For each proxy and each N, a fresh proxy (one worker, the proxy bench's configs with the
# connection limits raised) is started in front of one nginx backend; after a few warm-up
# requests its RSS is read (the sum of VmRSS of its whole process tree, from /proc), then
# bench/memory/idle_clients.py opens N keep-alive connections, sends one GET on each, reads the
# whole response and holds them all idle. Once the RSS has settled it is read again:
# KB per connection = (after - before) / N. At the end the client checks that all N connections
# are still open, and `ss` counts the proxy's ESTABLISHED client sockets.
#
# Run from anywhere:  bash bench/memory_bench.sh      (or `make bench-memory`)
# Knobs (environment):
#   CAUSEWAY=build/causeway   the causeway binary to measure (run from a copy in the run folder)
#   CONNS="3000 10000"        the values of N
#   TARGETS="causeway haproxy nginx"
#   HOLD=0                    after the settled reading, hold the connections this many more
#                             seconds and read the RSS again ("after hold" column: is it flat?)
#   WINDOW=16                 connections of the client between connect and response at a time;
#                             a larger window makes the proxies open, and pool, more upstream
#                             connections, which then count in the figure ("upstream conns")
#   SETTLE_MAX=30 SETTLE_KB=64   an RSS reading is taken once four samples 0.5 s apart lie within
#                             SETTLE_KB of each other, or after SETTLE_MAX seconds ("unsettled")
#   PROXY_CPU=0 LOAD_CPU=1    the proxies' core; the core of the client and the backend
#   TLS=1                     idle TLS client connections instead (issue 13): each proxy's HTTPS
#                             listener of the proxy bench (bench/proxy/tls/, the same ECDSA P-256
#                             certificate made in the run folder); every connection completes a
#                             TLS 1.3 handshake (a new session, no resumption) and then sends
#                             nothing (REQUEST=1: one GET first, as without TLS)
#   OUT=bench/out/memory-results/<timestamp>   configs, logs, rss.tsv, summary.md
# Addresses: 127.0.2.1 (proxies, the proxy bench's ports), 127.0.2.21 (backend), 127.0.2.100
# (client source), so it can run next to the other benchmarks and the tests.
# Every process this script starts is stopped by PID when it exits. Loopback only.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CAUSEWAY=${CAUSEWAY:-build/causeway}
CONNS=${CONNS:-"3000 10000"}
TARGETS=${TARGETS:-"causeway haproxy nginx"}
HOLD=${HOLD:-0}
WINDOW=${WINDOW:-16}
SETTLE_MAX=${SETTLE_MAX:-30}
SETTLE_KB=${SETTLE_KB:-64}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-bench/out/memory-results/$(date +%Y%m%d-%H%M%S)}
TLS=${TLS:-0}
REQUEST=${REQUEST:-0}
HOST_HEADER=bench.example.com
BODY="causeway proxy benchmark: a small fixed response body of 64 bytes"
PY=/usr/bin/python3
PROXY_ADDR=127.0.2.1
BACKEND_ADDR=127.0.2.21
BACKEND_TCP_ADDR=127.0.2.23 # named by the configs' TCP listeners; nothing connects to them here
CLIENT_ADDR=127.0.2.100
BACKEND_PORT=29200
declare -A PORT=([causeway]=28080 [haproxy]=28081 [nginx]=28082)
[ "$TLS" = 0 ] || PORT=([causeway]=28443 [haproxy]=28444 [nginx]=28445)

die() { echo "memory_bench: $*" >&2; exit 1; }
log() { echo "memory_bench: $*" >&2; }

for tool in haproxy nginx taskset ss curl; do
  command -v "$tool" >/dev/null || die "$tool not found (bash scripts/install-deps.sh installs it)"
done
[ -x "$PY" ] || die "$PY not found"
[ -x "$CAUSEWAY" ] || die "$CAUSEWAY is not an executable (make build, or CAUSEWAY=path)"
for n in $CONNS; do [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "CONNS: '$n' is not a positive number"; done
for t in $TARGETS; do [ -n "${PORT[$t]:-}" ] || die "TARGETS: unknown target '$t'"; done

# Limits: every proxy holds N client sockets plus a few upstream ones (the client keeps at most
# WINDOW requests in flight); sized for the largest N. The open-file limit is raised as far as
# the hard limit allows (a container without CAP_SYS_RESOURCE cannot go beyond it).
max_n=0
for n in $CONNS; do [ "$n" -le "$max_n" ] || max_n=$n; done
MAXCONN=$((max_n + 1000))
NOFILE=$((2 * MAXCONN + 1000))
if ! ulimit -n "$NOFILE" 2>/dev/null; then
  hard=$(ulimit -Hn)
  [ "$hard" = unlimited ] || [ "$hard" -ge "$NOFILE" ] || NOFILE=$hard
  ulimit -n "$NOFILE" || die "cannot set ulimit -n to $NOFILE"
  [ "$NOFILE" -ge "$MAXCONN" ] ||
    die "ulimit -n is at most $NOFILE (hard limit), too low for $max_n connections"
fi

# nginx: the proxy bench's configs load the stream module for its TCP listener.
CW_TLS_ARGS=()
STREAM_MODULE=""
NGINX_TCP=1
if [ -f /usr/lib/nginx/modules/ngx_stream_module.so ]; then
  STREAM_MODULE="load_module /usr/lib/nginx/modules/ngx_stream_module.so;"
elif ! nginx -V 2>&1 | grep -q -- '--with-stream\( \|$\)'; then
  NGINX_TCP=0
fi

for p in "$BACKEND_PORT" "${PORT[@]}"; do
  [ -z "$(ss -Hltn "sport = :$p" | grep -F "127.0.2." || true)" ] ||
    die "port $p is already listening on 127.0.2.x (another memory bench still running?)"
done

mkdir -p "$OUT/tmp"
RUN=$(cd "$OUT" && pwd)
log "results in $OUT"

PIDS=()
CLIENT_PID=""
stop_pid() {  # PID: TERM, up to 5 s, then KILL
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  local pid
  [ -z "$CLIENT_PID" ] || stop_pid "$CLIENT_PID"
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The proxy bench's templates and manifests, moved to 127.0.2.x and with the limits raised.
fill() {  # template → config (as proxy_bench.sh's fill, plus the addresses and the limits)
  sed -e "s|@RUN@|$RUN|g" -e "s|@STREAM_MODULE@|$STREAM_MODULE|" \
    -e "s|127\.0\.0\.1:|$PROXY_ADDR:|g" -e "s|127\.0\.0\.21|$BACKEND_ADDR|g" \
    -e "s|127\.0\.0\.23|$BACKEND_TCP_ADDR|g" -e "s|127\.0\.0\.22|127.0.2.22|g" "$1" > "$2"
}
fill bench/proxy/backend-nginx.conf.in "$RUN/backend-nginx.conf"
fill bench/proxy/nginx-proxy.conf.in "$RUN/nginx-proxy.conf"
sed -i -e "s|worker_connections [0-9]*;|worker_connections $MAXCONN;|" \
  -e "s|^worker_processes 1;|worker_processes 1;\nworker_rlimit_nofile $NOFILE;|" "$RUN/nginx-proxy.conf"
if [ "$TLS" = 1 ]; then
  # The proxy bench's TLS listeners and certificates (HTTPS on 28443/28444/28445).
  bash bench/proxy/tls/make_certs.sh "$RUN/certs" || die "making the TLS certificates failed"
  fill bench/proxy/tls/nginx-proxy-tls-http.conf.in "$RUN/nginx-proxy-tls-http.conf"
  fill bench/proxy/tls/nginx-proxy-tls-stream.conf.in "$RUN/nginx-proxy-tls-stream.conf"
  sed -i -e "s|# @TLS_HTTP@.*|include $RUN/nginx-proxy-tls-http.conf;|" \
    -e "s|# @TLS_STREAM@.*|include $RUN/nginx-proxy-tls-stream.conf;|" "$RUN/nginx-proxy.conf"
  # A connection that has sent no request yet is bounded by the request-head timeout (nginx
  # 60 s, causeway 10 s): raised to HAProxy's 300 s (its `timeout client`, no http-request
  # timeout) so that no proxy closes the idle handshaken connections during the measurement.
  sed -i "s|^http {|http {\n  client_header_timeout 300s;|" "$RUN/nginx-proxy.conf"
  CW_TLS_ARGS=(--request-header-timeout 300s)
fi
[ "$NGINX_TCP" = 1 ] || sed -i '/^stream {/,$d' "$RUN/nginx-proxy.conf"
# HAProxy reserves two sockets per maxconn plus splice pipes, more than a 20,000 hard limit
# holds for 10,000 clients: with `no strict-limits` it warns instead of refusing to start, and
# uses one socket per idle client here.
fill bench/proxy/haproxy.cfg.in "$RUN/haproxy.cfg"
if [ "$TLS" = 1 ]; then
  fill bench/proxy/tls/haproxy-tls.cfg.in "$RUN/haproxy-tls.cfg"
  { echo; cat "$RUN/haproxy-tls.cfg"; } >>"$RUN/haproxy.cfg"
fi
sed -i -e "s|^\( *\)maxconn [0-9]*|\1maxconn $MAXCONN|" \
  -e "s|^global\$|global\n  ulimit-n $NOFILE\n  no strict-limits|" \
  -e "s|^defaults\$|defaults\n  maxconn $MAXCONN|" "$RUN/haproxy.cfg"
mkdir -p "$RUN/manifests"
for f in bench/proxy/manifests/*.yaml; do fill "$f" "$RUN/manifests/$(basename "$f")"; done
[ "$TLS" = 0 ] || fill bench/proxy/tls/causeway-tls.yaml.in "$RUN/manifests/tls.yaml"
# causeway runs from a copy: a rebuild during the run cannot change what is measured.
cp "$CAUSEWAY" "$RUN/cw-under-test"

declare -A PID=()
start() {  # NAME CPU LOG COMMAND...: start pinned to CPU, in the background, remembered by PID
  local name=$1 cpu=$2 logf=$3
  shift 3
  taskset -c "$cpu" "$@" >"$logf" 2>&1 &
  PIDS+=($!); PID[$name]=$!
}
stop() {  # NAME: stop a process started by start
  local p=${PID[$1]} i
  stop_pid "$p"
  for i in "${!PIDS[@]}"; do [ "${PIDS[$i]}" != "$p" ] || unset 'PIDS[i]'; done
  PIDS=("${PIDS[@]}")
  unset 'PID[$1]'
}
wait_listen() {  # ADDR PORT [closed]: until something (with "closed": nothing) listens there, 10 s at most
  local listening
  for _ in $(seq 100); do
    listening=$(ss -Hltn "src $1:$2")
    if [ "${3:-}" = closed ]; then [ -z "$listening" ] && return 0; else [ -n "$listening" ] && return 0; fi
    sleep 0.1
  done
  if [ "${3:-}" = closed ]; then die "$1:$2 still listening 10 s after its proxy stopped"; fi
  die "nothing listens on $1:$2 after 10 s (see $RUN/*.log)"
}
start_proxy() {  # TARGET N: a fresh proxy, pinned to PROXY_CPU
  case "$1" in
    causeway)
      # The idle timeout matches HAProxy's and nginx's 300 s (the default 60 s would end a HOLD).
      start causeway "$PROXY_CPU" "$RUN/causeway-$2.log" "$RUN/cw-under-test" run \
        -c "$RUN/manifests" --namespace gw --labels app=c-gateway --bind "$PROXY_ADDR" \
        --workers 1 --idle-timeout 300s "${CW_TLS_ARGS[@]}" ;;
    haproxy) start haproxy "$PROXY_CPU" "$RUN/haproxy-$2.log" haproxy -db -f "$RUN/haproxy.cfg" ;;
    nginx)
      start nginx "$PROXY_CPU" "$RUN/nginx-proxy-$2.log" \
        nginx -p "$RUN" -e "$RUN/nginx-proxy.error.log" -c "$RUN/nginx-proxy.conf" ;;
  esac
  wait_listen "$PROXY_ADDR" "${PORT[$1]}"
  if [ "$1" = causeway ] && grep -E 'INVALID|WARNING' "$RUN/causeway-$2.log" >&2; then
    die "causeway rejected part of the manifests (above)"
  fi
}

tree_pids() {  # PID: the process and all its descendants (nginx: master and worker)
  local c
  echo "$1"
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null || true); do tree_pids "$c"; done
}
rss_kb() {  # PID: the sum of VmRSS (kB) over the process tree
  local p
  for p in $(tree_pids "$1"); do cat /proc/"$p"/status 2>/dev/null || true; done |
    awk '$1 == "VmRSS:" { s += $2 } END { print s + 0 }'
}
settled_rss() {  # PID: "KB settled|unsettled" once four samples 0.5 s apart lie within SETTLE_KB
  local samples=() start=$SECONDS n lo hi x
  while :; do
    samples+=("$(rss_kb "$1")")
    n=${#samples[@]}
    if [ "$n" -ge 4 ]; then
      lo=${samples[n - 1]}; hi=$lo
      for x in "${samples[@]:n-4}"; do
        [ "$x" -ge "$lo" ] || lo=$x
        [ "$x" -le "$hi" ] || hi=$x
      done
      if [ $((hi - lo)) -le "$SETTLE_KB" ]; then echo "${samples[n - 1]} settled"; return; fi
    fi
    if [ $((SECONDS - start)) -ge "$SETTLE_MAX" ]; then echo "${samples[n - 1]} unsettled"; return; fi
    sleep 0.5
  done
}
established() {  # PORT: the proxy's ESTABLISHED sockets on its listener (one per client connection)
  ss -Htn state established "( sport = :$1 )" src "$PROXY_ADDR" | wc -l
}
upstream_conns() {  # the proxy's connections to the backend (open or pooled)
  ss -Htn state established "( dport = :$BACKEND_PORT )" dst "$BACKEND_ADDR" | wc -l
}
# The idle-connection client, pinned to LOAD_CPU: CLIENT ADDR PORT N [options]. taskset execs
# Python, so $! of a background client is Python's PID (the one that takes SIGUSR1).
CLIENT=(taskset -c "$LOAD_CPU" "$PY" bench/memory/idle_clients.py --host "$HOST_HEADER"
  --source "$CLIENT_ADDR" --expect-body "$BODY")
CURL=(curl -sS --max-time 5 -H "Host: $HOST_HEADER")
SCHEME=http
HOLD_ARGS=()  # the measured connections only (the warm-up always sends its request)
if [ "$TLS" = 1 ]; then
  CLIENT+=(--tls "$RUN/certs/ca.crt")
  CURL+=(--cacert "$RUN/certs/ca.crt")
  SCHEME=https
  [ "$REQUEST" = 1 ] || HOLD_ARGS=(--no-request)
fi

start backend "$LOAD_CPU" "$RUN/backend-nginx.log" \
  nginx -p "$RUN" -e "$RUN/backend-nginx.error.log" -c "$RUN/backend-nginx.conf"
wait_listen "$BACKEND_ADDR" "$BACKEND_PORT"

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "causeway: $CAUSEWAY, built $(date -u -r "$CAUSEWAY" +%Y-%m-%dT%H:%M:%SZ);" \
    "this checkout at $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet -- src 2>/dev/null ||
      echo ' + uncommitted src changes')"
  echo "haproxy: $(haproxy -v | head -1)"
  echo "nginx: $(nginx -v 2>&1)"
  echo "python: $($PY -V 2>&1); kernel $(uname -r); $(nproc) CPUs"
  echo "conns=\"$CONNS\" maxconn/worker_connections=$MAXCONN nofile=$NOFILE window=$WINDOW hold=${HOLD}s" \
    "settle=${SETTLE_KB}kB/${SETTLE_MAX}s proxy_cpu=$PROXY_CPU load_cpu=$LOAD_CPU tls=$TLS request=$REQUEST"
} >"$RUN/machine.txt"
cat "$RUN/machine.txt" >&2

printf 'target\tn\trss_before_kb\trss_after_kb\trss_hold_kb\tkb_per_conn\testablished\topen\tsettled\tupstream\n' \
  >"$RUN/rss.tsv"
status=0
for n in $CONNS; do
  for t in $TARGETS; do
    port=${PORT[$t]}
    start_proxy "$t" "$n"
    body=$("${CURL[@]}" "$SCHEME://$PROXY_ADDR:$port/") ||
      die "$t: HTTP check failed"
    [ "$body" = "$BODY" ] || die "$t: unexpected HTTP answer: $body"
    # Warm-up (lazy allocations, the upstream connection): ten connections, closed at once.
    "${CLIENT[@]}" "$PROXY_ADDR" "$port" 10 --window 1 --timeout 20 --max-hold 0 >/dev/null ||
      [ $? = 3 ] || die "$t: warm-up failed"
    read -r before before_state < <(settled_rss "${PID[$t]}")

    clog="$RUN/client-$t-$n.log"
    "${CLIENT[@]}" "$PROXY_ADDR" "$port" "$n" "${HOLD_ARGS[@]}" --window "$WINDOW" --timeout $((60 + n / 100)) \
      --max-hold $((HOLD + 2 * SETTLE_MAX + 300)) >"$clog" 2>&1 &
    CLIENT_PID=$!
    for _ in $(seq $((2 * (70 + n / 100)))); do
      grep -q '^ready' "$clog" && break
      kill -0 "$CLIENT_PID" 2>/dev/null || break
      sleep 0.5
    done
    grep -q '^ready' "$clog" || die "$t: the client did not open its $n connections (see $clog)"
    read -r after after_state < <(settled_rss "${PID[$t]}")
    hold=""
    if [ "$HOLD" -gt 0 ]; then
      sleep "$HOLD"
      hold=$(rss_kb "${PID[$t]}")
    fi
    est=$(established "$port")
    up=$(upstream_conns)
    kill -USR1 "$CLIENT_PID"
    for _ in $(seq 100); do kill -0 "$CLIENT_PID" 2>/dev/null || break; sleep 0.1; done
    wait "$CLIENT_PID" 2>/dev/null || true
    CLIENT_PID=""
    open=$(sed -n 's/^check open=\([0-9]*\).*/\1/p' "$clog")
    ok=$(sed -n 's/^ready ok=\([0-9]*\).*/\1/p' "$clog")
    state=settled
    [ "$before_state $after_state" = "settled settled" ] || state=unsettled
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$n" "$before" "$after" "${hold:--}" \
      "$(awk -v a="$after" -v b="$before" -v n="$n" 'BEGIN { printf "%.2f", (a - b) / n }')" \
      "$est" "${open:-?}" "$state" "$up" >>"$RUN/rss.tsv"
    log "$t N=$n: RSS $before → $after kB ($state), $(grep '^ready' "$clog"), $(grep '^check' "$clog" || echo 'no check'), $est established, $up upstream"
    if [ "${ok:-0}" != "$n" ] || [ "${open:-0}" != "$n" ] || [ "$est" -lt "$n" ]; then
      log "WARNING: $t N=$n: not all $n connections were opened and still open at the end (see $clog)"
      status=1
    fi
    stop "$t"
    wait_listen "$PROXY_ADDR" "$port" closed
  done
done

# The table: KB per connection, and each proxy's figure divided by causeway's at the same N.
{
  echo "\`CAUSEWAY=$CAUSEWAY CONNS=\"$CONNS\" TARGETS=\"$TARGETS\" HOLD=$HOLD WINDOW=$WINDOW TLS=$TLS REQUEST=$REQUEST bash bench/memory_bench.sh\`"
  echo
  sed 's/^/    /' "$RUN/machine.txt"
  echo
  awk -F'\t' -v hold="$HOLD" '
    NR == 1 { next }
    { row[NR] = $0; if ($1 == "causeway") cw[$2] = $6 }
    END {
      printf "| proxy | N | RSS before (kB) | RSS after (kB) |%s KB/conn | ÷ causeway | ESTABLISHED | open at end | upstream conns |\n",
        (hold > 0 ? " RSS after " hold " s more (kB) |" : "")
      printf "|---|---:|---:|---:|%s---:|---:|---:|---:|---:|\n", (hold > 0 ? "---:|" : "")
      for (i = 2; i <= NR; i++) {
        split(row[i], f, "\t")
        ratio = (f[2] in cw && cw[f[2]] > 0) ? sprintf("%.2f", f[6] / cw[f[2]]) : "-"
        printf "| %s | %d | %d | %d |%s %s%s | %s | %d | %s | %s |\n", f[1], f[2], f[3], f[4],
          (hold > 0 ? " " f[5] " |" : ""), f[6], (f[9] == "settled" ? "" : " (unsettled)"), ratio, f[7], f[8],
          f[10]
      }
    }' "$RUN/rss.tsv"
} >"$RUN/summary.md"
echo
cat "$RUN/summary.md"
exit "$status"
