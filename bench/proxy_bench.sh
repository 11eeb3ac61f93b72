#!/usr/bin/env bash
# Proxy benchmark: wrk against the backend directly, through causeway, through HAProxy and through
# nginx (HTTP keep-alive with 1 and 50 connections), and a TCP bulk transfer in both directions.
#
# The proxies share one core (PROXY_CPU); the load generator and the backends share the other
# (LOAD_CPU). Rounds are interleaved (every target once per round, the order rotated each round),
# each proxy's CPU time is read from /proc/PID/stat around every measurement, and summarise.py
# prints medians, ratios to direct and "per busy proxy core" rates (rate ÷ the proxy's measured
# utilisation). See BENCHMARKS.md for how to read the figures.
#
# Run from anywhere:  bash bench/proxy_bench.sh
# Knobs (environment):
#   BUILD=build-bench     tree holding causeway (configured as RelWithDebInfo when new, then
#                         rebuilt incrementally; SKIP_BUILD=1 takes the binary as it is)
#   ROUNDS=5              interleaved rounds
#   DURATION=8            seconds per wrk run
#   WARMUP=2              seconds of untimed wrk per HTTP target before the rounds
#   BULK_MB=4096          MiB per TCP bulk transfer
#   SCENARIOS="c1 c50 tcp-up tcp-down"   TARGETS="direct causeway haproxy nginx"
#                         (also c50-close: 50 clients, a new connection for every request)
#                         TLS (issue 13; certificates made in the run folder by tls/make_certs.sh):
#                           tls-c50        HTTPS keep-alive, 50 connections, TLS 1.3 terminated at
#                                          the proxy, plaintext to the backend (tls/tls_client.c:
#                                          Debian's wrk speaks TLS 1.2 only)
#                           tls-c50-close  HTTPS, 50 clients, a new connection and a full handshake
#                                          (ECDSA P-256, no resumption) per request
#                           up-tls-c50     plain HTTP from wrk, TLS from the proxy to an HTTPS nginx
#                                          backend (pooled keep-alive, sessions resumed)
#                           tls-tcp-up, tls-tcp-down   BULK_MB through a TLS-terminating TCP
#                                          tunnel to the plain bulk backend
#   BASELINE=PATH         also measure this causeway binary (target "baseline", on 127.0.0.2):
#                         an A/B of a change within one run
#   DNS_NAMES=N           (issue 14) the causeway under test also resolves N endpoint names of
#                         an unrouted ExternalService against a local dnsmasq (127.0.0.53:29053,
#                         on LOAD_CPU) with TTL DNS_TTL (default 1s): every name re-resolved
#                         every second. The baseline serves the same N endpoints given by
#                         their addresses (DNS_BASELINE=none: without them): run with
#                         BASELINE= the same binary to see what resolution costs; the control
#                         thread's CPU over the run is printed at the end (dns.txt). With
#                         DNS_NAMES the CPU columns of causeway and the baseline count their
#                         worker threads only (the data plane); the control thread (the main
#                         thread, which resolves) is reported apart.
#                         While any other target is measured, the resolving causeway is
#                         paused (SIGSTOP), so the baseline's figures carry no resolution.
#   CONTROL_CPU=N         (with DNS_NAMES) causeway and the baseline run their worker on
#                         PROXY_CPU (--worker-cpus) and their control thread on N
#                         (--control-cpus; default LOAD_CPU), as one would deploy them;
#                         CONTROL_CPU=$PROXY_CPU shares the worker's core (the old layout)
#   PROXY_CPU=0 LOAD_CPU=1
#   WRK_THREADS=1         wrk threads (the load core is one core: more threads only contend)
#   QUIET_WAIT=60 QUIET_MAX=0.15   before each measurement wait up to QUIET_WAIT s for a second
#                         in which the rest of the machine uses less than QUIET_MAX of a core
#   OUT=bench/out/proxy-results/<timestamp>   raw outputs, runs.tsv, summary.md
#   PERF="causeway"       targets to profile with `perf record -g` (cpu-clock) during each of
#                         their measurements; reports land next to the raw outputs. Profiling
#                         slows the profiled target: do not compare figures from such a run.
#   SYSCALLS="causeway haproxy nginx"   count the targets' system calls (perf stat on syscall
#                         tracepoints) during each of their measurements; summarise.py prints
#                         them per request (HTTP) or per MiB (TCP). Same caveat as PERF.
# Every process this script starts is stopped by PID when it exits. Loopback only.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build-bench}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
BULK_MB=${BULK_MB:-4096}
SCENARIOS=${SCENARIOS:-"c1 c50 tcp-up tcp-down"}
TARGETS=${TARGETS:-"direct causeway haproxy nginx"}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
WRK_THREADS=${WRK_THREADS:-1}
QUIET_WAIT=${QUIET_WAIT:-60}
QUIET_MAX=${QUIET_MAX:-0.15}
OUT=${OUT:-bench/out/proxy-results/$(date +%Y%m%d-%H%M%S)}
HOST_HEADER=bench.example.com
BODY="causeway proxy benchmark: a small fixed response body of 64 bytes"
PY=/usr/bin/python3

# Addresses: HTTP backend on 127.0.0.21, TCP backend on 127.0.0.23 (the overlap rule rejects two
# ExternalServices of one workspace on one address), proxies on 127.0.0.1, one port per proxy and
# protocol.
BACKEND_HTTP=(127.0.0.21 29200)
BACKEND_TCP=(127.0.0.23 29432)
declare -A HTTP_PORT=([causeway]=28080 [haproxy]=28081 [nginx]=28082 [baseline]=28080)
declare -A TCP_PORT=([causeway]=28432 [haproxy]=28433 [nginx]=28434 [baseline]=28432)
# TLS: HTTPS listeners (client TLS), plain HTTP listeners routed to the HTTPS backend, TLS TCP
# listeners; the HTTPS backend nginx listens on 127.0.0.22.
BACKEND_HTTPS=(127.0.0.22 29443)
BACKEND_TLS_NAME=backend.bench.internal
UP_HOST_HEADER=bench-up.example.com
declare -A HTTPS_PORT=([causeway]=28443 [haproxy]=28444 [nginx]=28445 [baseline]=28443)
declare -A UPTLS_PORT=([causeway]=28090 [haproxy]=28091 [nginx]=28092 [baseline]=28090)
declare -A TLSTCP_PORT=([causeway]=28436 [haproxy]=28437 [nginx]=28438 [baseline]=28436)
TLS=0
for s_ in $SCENARIOS; do case "$s_" in tls-*|up-tls-*) TLS=1 ;; esac; done
# The baseline is a second causeway with the same manifests, so it listens on another address.
declare -A ADDR=([baseline]=127.0.0.2)
if [ -n "${BASELINE:-}" ]; then
  [ -x "$BASELINE" ] || { echo "proxy_bench: BASELINE=$BASELINE is not an executable" >&2; exit 1; }
  [[ " $TARGETS " == *" baseline "* ]] || TARGETS="$TARGETS baseline"
fi

die() { echo "proxy_bench: $*" >&2; exit 1; }
log() { echo "proxy_bench: $*" >&2; }

for tool in wrk haproxy nginx gcc taskset ss curl; do
  command -v "$tool" >/dev/null || die "$tool not found (bash scripts/install-deps.sh installs it)"
done
[ -x "$PY" ] || die "$PY not found"
[ "$(nproc)" -ge 2 ] || die "needs two CPUs (proxies on PROXY_CPU, load and backends on LOAD_CPU)"

# An optimised causeway built from this tree (incremental; a Debug build would measure the
# compiler, not the proxy). SKIP_BUILD=1 measures "$BUILD/causeway" as it is.
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  [ -f "$BUILD/CMakeCache.txt" ] || cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" -j "$(nproc)" --target causeway >/dev/null || die "building $BUILD/causeway failed"
fi
[ -x "$BUILD/causeway" ] || die "$BUILD/causeway missing"
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
case "$build_type" in
  Release|RelWithDebInfo) ;;
  *) log "WARNING: $BUILD is '$build_type', not an optimised build: causeway's figures mean little" ;;
esac

# nginx's TCP proxy needs the stream module (Debian: libnginx-mod-stream, a dynamic module).
STREAM_MODULE=""
NGINX_TCP=1
if [ -f /usr/lib/nginx/modules/ngx_stream_module.so ]; then
  STREAM_MODULE="load_module /usr/lib/nginx/modules/ngx_stream_module.so;"
elif ! nginx -V 2>&1 | grep -q -- '--with-stream\( \|$\)'; then
  NGINX_TCP=0
  log "WARNING: nginx has no stream module (apt-get install libnginx-mod-stream): nginx skips TCP"
fi

tls_ports=()
[ "$TLS" = 0 ] || tls_ports=("${BACKEND_HTTPS[1]}" "${HTTPS_PORT[@]}" "${UPTLS_PORT[@]}" "${TLSTCP_PORT[@]}")
for p in "${BACKEND_HTTP[1]}" "${BACKEND_TCP[1]}" "${HTTP_PORT[@]}" "${TCP_PORT[@]}" "${tls_ports[@]}"; do
  if [ -n "$(ss -Hltn "sport = :$p")" ]; then
    die "port $p is already listening (another benchmark or test still running?)"
  fi
done

mkdir -p "$OUT/raw" "$OUT/tmp"
RUN=$(cd "$OUT" && pwd)
log "results in $OUT"

PIDS=()
PERF_PID=""
SYSC_PID=""
cleanup() {
  local pid
  [ -z "$PERF_PID" ] || kill -INT "$PERF_PID" 2>/dev/null || true
  [ -z "$SYSC_PID" ] || kill -INT "$SYSC_PID" 2>/dev/null || true
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fill() {  # template → config with the run directory and the stream module line filled in
  sed -e "s|@RUN@|$RUN|g" -e "s|@STREAM_MODULE@|$STREAM_MODULE|" "$1" > "$2"
}

wait_listen() {  # ADDR PORT: until something listens there (10 s at most)
  for _ in $(seq 100); do
    [ -n "$(ss -Hltn "src $1:$2")" ] && return 0
    sleep 0.1
  done
  die "nothing listens on $1:$2 (see $OUT/*.log)"
}

gcc -O2 -Wall -Wextra -o "$RUN/tcp_bulk" bench/proxy/tcp_bulk.c
fill bench/proxy/backend-nginx.conf.in "$RUN/backend-nginx.conf"
fill bench/proxy/nginx-proxy.conf.in "$RUN/nginx-proxy.conf"
fill bench/proxy/haproxy.cfg.in "$RUN/haproxy.cfg"
CW_MANIFESTS=bench/proxy/manifests
if [ "$TLS" = 1 ]; then
  # The throw-away PKI (ECDSA P-256) and the TLS parts of every configuration, in the run folder.
  bash bench/proxy/tls/make_certs.sh "$RUN/certs" || die "making the TLS certificates failed"
  CA="$RUN/certs/ca.crt"
  gcc -O2 -Wall -Wextra -o "$RUN/tls_client" bench/proxy/tls/tls_client.c -lssl -lcrypto ||
    die "building tls_client failed (libssl-dev)"
  fill bench/proxy/tls/backend-nginx-tls.conf.in "$RUN/backend-nginx-tls.conf"
  fill bench/proxy/tls/nginx-proxy-tls-http.conf.in "$RUN/nginx-proxy-tls-http.conf"
  fill bench/proxy/tls/nginx-proxy-tls-stream.conf.in "$RUN/nginx-proxy-tls-stream.conf"
  sed -i "s|# @TLS_HTTP@.*|include $RUN/backend-nginx-tls.conf;|" "$RUN/backend-nginx.conf"
  sed -i -e "s|# @TLS_HTTP@.*|include $RUN/nginx-proxy-tls-http.conf;|" \
    -e "s|# @TLS_STREAM@.*|include $RUN/nginx-proxy-tls-stream.conf;|" "$RUN/nginx-proxy.conf"
  fill bench/proxy/tls/haproxy-tls.cfg.in "$RUN/haproxy-tls.cfg"
  { echo; cat "$RUN/haproxy-tls.cfg"; } >>"$RUN/haproxy.cfg"
  [[ "$(haproxy -vv 2>/dev/null)" == *+OPENSSL* ]] || die "haproxy is built without OpenSSL"
  CW_MANIFESTS="$RUN/manifests"
  mkdir -p "$CW_MANIFESTS"
  cp bench/proxy/manifests/*.yaml "$CW_MANIFESTS/"
  fill bench/proxy/tls/causeway-tls.yaml.in "$CW_MANIFESTS/tls.yaml"
fi
if [ "$NGINX_TCP" = 0 ]; then
  sed -i '/^stream {/,$d' "$RUN/nginx-proxy.conf"
fi

declare -A PID=() NAME=()
start() {  # NAME CPU LOG COMMAND...: start pinned to CPU, in the background, remembered by PID
  local name=$1 cpu=$2 logf=$3
  shift 3
  taskset -c "$cpu" "$@" >"$logf" 2>&1 &
  PIDS+=($!); PID[$name]=$!; NAME[$!]=$name
}

# Backends and load generator share LOAD_CPU; every proxy is pinned to PROXY_CPU.
start direct "$LOAD_CPU" "$RUN/backend-nginx.log" \
  nginx -p "$RUN" -e "$RUN/backend-nginx.error.log" -c "$RUN/backend-nginx.conf"
start tcp_bulk "$LOAD_CPU" "$RUN/tcp_bulk.log" "$RUN/tcp_bulk" serve "${BACKEND_TCP[@]}"
# causeway runs from a copy: a rebuild during the run cannot change what is measured, and a
# `pkill causeway` aimed at another instance on a shared machine leaves this one alone.
cp "$BUILD/causeway" "$RUN/cw-under-test"
CW_DNS_ARGS=() CW_BASELINE_DNS_ARGS=()
if [ "${DNS_NAMES:-0}" -gt 0 ]; then
  mkdir -p "$RUN/dns" "$RUN/dns-by-address"
  "$PY" bench/proxy/dns_names.py "$DNS_NAMES" "$RUN/dns/names.yaml" "$RUN/dns-hosts" \
    "$RUN/dns-by-address/addresses.yaml"
  start dnsmasq "$LOAD_CPU" "$RUN/dnsmasq.log" dnsmasq --keep-in-foreground \
    --conf-file=/dev/null --no-resolv --no-hosts --addn-hosts="$RUN/dns-hosts" --bind-interfaces \
    --listen-address 127.0.0.53 --port 29053 --local=/bench.dns.test/ \
    --local-ttl="${DNS_TTL:-1}" --user=root --pid-file=
  sleep 1 # dnsmasq reads 10,000 hosts before it answers
  CW_DNS_ARGS=(-c "$RUN/dns" --dns-server 127.0.0.53:29053)
  # The baseline serves the same endpoints by address: the same hosts, nothing to resolve.
  [ "${DNS_BASELINE:-addresses}" != addresses ] || CW_BASELINE_DNS_ARGS=(-c "$RUN/dns-by-address")
fi
# A causeway with an admin API (default 127.0.0.1:9901) gets none here: two of them (under test
# and baseline) would want the same port; an older binary without --admin gets nothing.
# (The help is read whole: `grep -q` would close the pipe early and, with pipefail, say no.)
admin_off() { case "$("$1" run --help 2>/dev/null)" in *--admin*) echo --admin off ;; esac; }
# DNS_NAMES: the control thread on a core of its own (CONTROL_CPU), the worker on PROXY_CPU.
CW_CPUS=$PROXY_CPU CW_PIN_ARGS=()
if [ "${DNS_NAMES:-0}" -gt 0 ] && [ "${CONTROL_CPU:-$LOAD_CPU}" != "$PROXY_CPU" ]; then
  CW_CPUS="$PROXY_CPU,${CONTROL_CPU:-$LOAD_CPU}"
  CW_PIN_ARGS=(--worker-cpus "$PROXY_CPU" --control-cpus "${CONTROL_CPU:-$LOAD_CPU}")
fi
start causeway "$CW_CPUS" "$RUN/causeway.log" "$RUN/cw-under-test" run -c "$CW_MANIFESTS" \
  --namespace gw --labels app=c-gateway --bind 127.0.0.1 --workers 1 \
  $(admin_off "$RUN/cw-under-test") ${CW_DNS_ARGS[@]+"${CW_DNS_ARGS[@]}"} \
  ${CW_PIN_ARGS[@]+"${CW_PIN_ARGS[@]}"}
if [ -n "${BASELINE:-}" ]; then
  cp "$BASELINE" "$RUN/cw-baseline"
  start baseline "$CW_CPUS" "$RUN/baseline.log" "$RUN/cw-baseline" run -c "$CW_MANIFESTS" \
    --namespace gw --labels app=c-gateway --bind "${ADDR[baseline]}" --workers 1 \
    $(admin_off "$RUN/cw-baseline") ${CW_PIN_ARGS[@]+"${CW_PIN_ARGS[@]}"} \
    ${CW_BASELINE_DNS_ARGS[@]+"${CW_BASELINE_DNS_ARGS[@]}"}
fi
start haproxy "$PROXY_CPU" "$RUN/haproxy.log" haproxy -db -f "$RUN/haproxy.cfg"
start nginx "$PROXY_CPU" "$RUN/nginx-proxy.log" \
  nginx -p "$RUN" -e "$RUN/nginx-proxy.error.log" -c "$RUN/nginx-proxy.conf"

wait_listen "${BACKEND_HTTP[@]}"
wait_listen "${BACKEND_TCP[@]}"
[ "$TLS" = 0 ] || wait_listen "${BACKEND_HTTPS[@]}"
for t in causeway haproxy nginx ${BASELINE:+baseline}; do
  wait_listen "${ADDR[$t]:-127.0.0.1}" "${HTTP_PORT[$t]}"
  if [ "$t" != nginx ] || [ "$NGINX_TCP" = 1 ]; then wait_listen "${ADDR[$t]:-127.0.0.1}" "${TCP_PORT[$t]}"; fi
  if [ "$TLS" = 1 ]; then
    wait_listen "${ADDR[$t]:-127.0.0.1}" "${HTTPS_PORT[$t]}"
    wait_listen "${ADDR[$t]:-127.0.0.1}" "${UPTLS_PORT[$t]}"
    if [ "$t" != nginx ] || [ "$NGINX_TCP" = 1 ]; then wait_listen "${ADDR[$t]:-127.0.0.1}" "${TLSTCP_PORT[$t]}"; fi
  fi
done
# (DNS_NAMES: a name still unanswered after the first wait is a WARNING, not a broken setup.)
if grep -E 'INVALID|WARNING' "$RUN/causeway.log" | grep -v -E 'does not resolve|do not resolve' >&2; then
  die "causeway rejected part of bench/proxy/manifests (above)"
fi

http_url() {
  if [ "$1" = direct ]; then echo "http://${BACKEND_HTTP[0]}:${BACKEND_HTTP[1]}/"
  else echo "http://${ADDR[$1]:-127.0.0.1}:${HTTP_PORT[$1]}/"; fi
}
tcp_addr() {
  if [ "$1" = direct ]; then echo "${BACKEND_TCP[*]}"; else echo "${ADDR[$1]:-127.0.0.1} ${TCP_PORT[$1]}"; fi
}
https_addr() {  # TARGET: "ADDR PORT NAME" of its HTTPS listener (direct: the HTTPS backend)
  if [ "$1" = direct ]; then echo "${BACKEND_HTTPS[*]} $BACKEND_TLS_NAME"
  else echo "${ADDR[$1]:-127.0.0.1} ${HTTPS_PORT[$1]} $HOST_HEADER"; fi
}
tlstcp_addr() {  # TARGET: "ADDR PORT NAME" of its TLS TCP listener
  echo "${ADDR[$1]:-127.0.0.1} ${TLSTCP_PORT[$1]} $HOST_HEADER"
}
runs_target() {  # SCENARIO TARGET: is this pair measured?
  case "$1" in
    tcp-*) [ "$2" != nginx ] || [ "$NGINX_TCP" = 1 ] ;;
    # no TLS bulk backend and no plain-HTTP-to-TLS path without a proxy: no direct row
    tls-tcp-*) [ "$2" != direct ] && { [ "$2" != nginx ] || [ "$NGINX_TCP" = 1 ]; } ;;
    up-tls-*) [ "$2" != direct ] ;;
    *) true ;;
  esac
}

# Every target must really answer with the backend's body (a fast 404 would look like a win).
for t in $TARGETS; do
  body=$(curl -sS --max-time 5 -H "Host: $HOST_HEADER" "$(http_url "$t")") || die "$t: HTTP check failed"
  [ "$body" = "$BODY" ] || die "$t: unexpected HTTP answer: $body"
  if runs_target tcp-up "$t"; then
    for dir in up down; do
      # shellcheck disable=SC2046 # tcp_addr prints "ADDR PORT": two arguments
      "$RUN/tcp_bulk" "$dir" $(tcp_addr "$t") 1048576 >/dev/null || die "$t: TCP check failed"
    done
  fi
  [ "$TLS" = 1 ] || continue
  read -r ha hp hn <<<"$(https_addr "$t")"
  body=$(curl -sS --max-time 5 --cacert "$CA" --resolve "$hn:$hp:$ha" -H "Host: $HOST_HEADER" \
    "https://$hn:$hp/") || die "$t: HTTPS check failed"
  [ "$body" = "$BODY" ] || die "$t: unexpected HTTPS answer: $body"
  # What each TLS listener negotiates with an OpenSSL client offering its defaults.
  echo "$t https $(openssl s_client -connect "$ha:$hp" -servername "$hn" -CAfile "$CA" -verify_return_error \
    </dev/null 2>/dev/null | grep -E '^(New|Verification|Server Temp Key)' | tr '\n' ' ')" >>"$RUN/tls.txt"
  [ "$t" != direct ] || continue
  body=$(curl -sS --max-time 5 -H "Host: $UP_HOST_HEADER" "http://${ADDR[$t]:-127.0.0.1}:${UPTLS_PORT[$t]}/") ||
    die "$t: upstream TLS check failed"
  [ "$body" = "$BODY" ] || die "$t: unexpected answer through upstream TLS: $body"
  if runs_target tls-tcp-up "$t"; then
    for dir in up down; do
      # shellcheck disable=SC2046 # tlstcp_addr prints "ADDR PORT NAME": three arguments
      "$RUN/tls_client" "$dir" $(tlstcp_addr "$t" | cut -d' ' -f1,2) 1048576 "$CA" "$HOST_HEADER" >/dev/null ||
        die "$t: TLS tunnel check ($dir) failed"
    done
  fi
done

control_ticks() {  # TARGET: its control (main) thread's utime + stime when only the workers
  # count (DNS_NAMES with causeway or the baseline), else 0
  if [ "${DNS_NAMES:-0}" -gt 0 ] && { [ "$1" = causeway ] || [ "$1" = baseline ]; }; then
    sed 's/^.*) //' /proc/"${PID[$1]}"/task/"${PID[$1]}"/stat | awk '{ print $12 + $13 }'
  else
    echo 0
  fi
}

pids_of() {  # the process and its children (nginx: master and worker)
  local p=$1
  echo "$p"
  cat /proc/"$p"/task/*/children 2>/dev/null | tr ' ' '\n' | grep . || true
}
cpu_ticks() {  # utime + stime of every given process (all its threads), in clock ticks
  local p
  for p in "$@"; do sed 's/^.*) //' /proc/"$p"/stat 2>/dev/null || true; done |
    awk '{ s += $12 + $13 } END { print s + 0 }'
}
stat_ticks() {  # CPU (N or "all"): "busy steal" ticks from /proc/stat (busy: user+nice+system+irq+softirq)
  local c=cpu
  [ "$1" = all ] || c=cpu$1
  awk -v c="$c" '$1 == c { print $2 + $3 + $4 + $7 + $8, $9 }' /proc/stat
}
HZ=$(getconf CLK_TCK)
tcp_out_segments() {  # TCP segments this machine has sent, all sockets (everything here is loopback)
  awk '$1 == "Tcp:" && !n { for (i = 2; i <= NF; i++) col[$i] = i; n = 1; next }
       $1 == "Tcp:" { print $col["OutSegs"] }' /proc/net/snmp
}

wrk_cmd() {  # SCENARIO TARGET SECONDS (cN: N keep-alive connections; cN-close: a new one per request;
             # up-tls-cN: N keep-alive connections to the listener whose upstream is HTTPS)
  local conns=${1#c} close=() host=$HOST_HEADER url
  url=$(http_url "$2")
  case "$1" in
    up-tls-c*) conns=${1#up-tls-c}; host=$UP_HOST_HEADER
      url="http://${ADDR[$2]:-127.0.0.1}:${UPTLS_PORT[$2]}/" ;;
  esac
  case "$conns" in *-close) conns=${conns%-close}; close=(-H "Connection: close") ;; esac
  taskset -c "$LOAD_CPU" wrk -t"$WRK_THREADS" -c"$conns" -d"$3"s --latency \
    -H "Host: $host" "${close[@]}" "$url"
}
tls_http_cmd() {  # SCENARIO TARGET SECONDS (tls-cN, tls-cN-close): tls_client, TLS 1.3
  local conns=${1#tls-c} close="" a p n
  case "$conns" in *-close) conns=${conns%-close}; close=close ;; esac
  read -r a p n <<<"$(https_addr "$2")"
  # shellcheck disable=SC2086 # $close: the optional last argument
  taskset -c "$LOAD_CPU" "$RUN/tls_client" http "$a" "$p" "$conns" "$3" "$CA" "$n" $close
}

# Before each measurement, waits (QUIET_WAIT seconds at most) for a second in which the machine,
# with this benchmark idle, uses less than QUIET_MAX of a core: on a shared machine a build or a
# test run then delays the measurement instead of landing in it.
wait_quiet() {
  local waited=0 x0 x1
  while [ "$waited" -lt "$QUIET_WAIT" ]; do
    x0=$(stat_ticks all); sleep 1; x1=$(stat_ticks all)
    awk -v a="${x0% *}" -v b="${x1% *}" -v hz="$HZ" -v m="$QUIET_MAX" \
      'BEGIN { exit !((b - a) / hz < m) }' && return 0
    [ "$waited" -gt 0 ] || log "machine busy (something else is running): waiting up to ${QUIET_WAIT}s"
    waited=$((waited + 1))
  done
  log "still busy after ${QUIET_WAIT}s: measuring anyway (see other_busy_s)"
}

# One measurement, with its CPU accounting:
#   proxy_cpu_s   utime+stime of the target's processes (for direct: the backend nginx); the
#                 "busy proxy core" of the summary
#   core_busy_s   PROXY_CPU's non-idle time from /proc/stat (tick-sampled; includes whatever
#                 else ran there)
#   client_cpu_s  wrk's (or tcp_bulk's) CPU time, from the shell's `times`
#   other_busy_s  both CPUs' non-idle time minus every process of this benchmark and the client:
#                 kernel work not charged to a process plus anything else running on the machine
#   steal_s       both CPUs' steal time (the hypervisor ran something else)
# and, next to the raw output (.segments), the TCP segments the machine sent meanwhile: client,
# proxy and backend together, since all of them talk over loopback.
measure() {  # ROUND SCENARIO TARGET
  local round=$1 scen=$2 t=$3 raw="$RUN/raw/r$1-$2-$3.txt" t0 t1 c0 c1 a0 a1 b0 b1 s0 s1 g0 g1
  local bytes p client pidlist pids=() all=()
  wait_quiet
  mapfile -t pids < <(pids_of "${PID[$t]}")
  mapfile -t all < <(for p in "${PIDS[@]}"; do pids_of "$p"; done)
  pidlist=$(IFS=,; echo "${pids[*]}")
  local k0 k1
  k0=$(control_ticks "$t")
  t0=$(date +%s%N); c0=$(( $(cpu_ticks "${pids[@]}") - k0 ))
  a0=$(cpu_ticks "${all[@]}")
  b0=$(stat_ticks "$PROXY_CPU"); s0=$(stat_ticks all); g0=$(tcp_out_segments)
  PERF_PID=""
  if [[ " ${PERF:-} " == *" $t "* ]]; then
    perf record -q -e cpu-clock -F 1999 -g -p "$pidlist" -o "$raw.perf.data" \
      >"$raw.perf.log" 2>&1 &
    PERF_PID=$!
    sleep 0.5 # attached before the load starts
  fi
  SYSC_PID=""
  if [[ " ${SYSCALLS:-} " == *" $t "* ]]; then
    # Only the syscalls that exist on this kernel; counted for the target's processes.
    local ev="" sc
    for sc in read readv recvfrom recvmsg write writev sendto sendmsg epoll_wait epoll_pwait \
      epoll_ctl splice pipe2 setsockopt getsockopt futex ioctl accept4 connect close shutdown \
      timerfd_settime; do
      [ -d "/sys/kernel/tracing/events/syscalls/sys_enter_$sc" ] && ev="$ev,syscalls:sys_enter_$sc"
    done
    perf stat -x, -e "raw_syscalls:sys_enter$ev" -p "$pidlist" \
      -o "$raw.syscalls.csv" >/dev/null 2>&1 &
    SYSC_PID=$!
    sleep 0.5
  fi
  case "$scen" in
    c*|up-tls-c*) ( wrk_cmd "$scen" "$t" "$DURATION" >"$raw" 2>&1; rc=$?; times >"$raw.times"; exit $rc ) \
          || log "wrk failed: $raw" ;;
    tls-c*) ( tls_http_cmd "$scen" "$t" "$DURATION" >"$raw" 2>&1; rc=$?; times >"$raw.times"; exit $rc ) \
          || log "tls_client failed: $raw" ;;
    tls-tcp-*)
      bytes=$((BULK_MB * 1024 * 1024))
      # shellcheck disable=SC2046 # tlstcp_addr prints "ADDR PORT NAME"
      ( read -r a p n <<<"$(tlstcp_addr "$t")"
        taskset -c "$LOAD_CPU" "$RUN/tls_client" "${scen#tls-tcp-}" "$a" "$p" "$bytes" "$CA" "$n" >"$raw" 2>&1
        rc=$?; times >"$raw.times"; exit $rc ) || log "tls_client failed: $raw" ;;
    tcp-*)
      bytes=$((BULK_MB * 1024 * 1024))
      # shellcheck disable=SC2046 # tcp_addr prints "ADDR PORT": two arguments
      ( taskset -c "$LOAD_CPU" "$RUN/tcp_bulk" "${scen#tcp-}" $(tcp_addr "$t") "$bytes" >"$raw" 2>&1
        rc=$?; times >"$raw.times"; exit $rc ) || log "tcp_bulk failed: $raw" ;;
  esac
  k1=$(control_ticks "$t")
  t1=$(date +%s%N); c1=$(( $(cpu_ticks "${pids[@]}") - k1 ))
  # The control thread's CPU while the resolving causeway was measured (it is paused otherwise).
  [ "$t" != causeway ] || [ "${DNS_NAMES:-0}" -le 0 ] || echo "$((k1 - k0)) $((t1 - t0))" >>"$RUN/control.txt"
  a1=$(cpu_ticks "${all[@]}")
  b1=$(stat_ticks "$PROXY_CPU"); s1=$(stat_ticks all); g1=$(tcp_out_segments)
  echo $((g1 - g0)) >"$raw.segments"
  if [ -n "$SYSC_PID" ]; then
    kill -INT "$SYSC_PID" 2>/dev/null || true
    wait "$SYSC_PID" 2>/dev/null || true
    SYSC_PID=""
  fi
  if [ -n "$PERF_PID" ]; then
    kill -INT "$PERF_PID" 2>/dev/null || true
    wait "$PERF_PID" 2>/dev/null || true
    PERF_PID=""
    perf report -i "$raw.perf.data" --no-children --sort dso,symbol -g none --stdio \
      >"$raw.perf-self.txt" 2>/dev/null || true
    perf report -i "$raw.perf.data" --children --sort symbol -g none --stdio \
      >"$raw.perf-children.txt" 2>/dev/null || true
    log "profile of $t ($scen): $raw.perf-self.txt, $raw.perf-children.txt (perf report -i $raw.perf.data)"
  fi
  for p in "${PIDS[@]}"; do
    kill -0 "$p" 2>/dev/null || die "${NAME[$p]} (pid $p) stopped during $raw: see $RUN/*.log"
  done
  # `times` prints the children's user and system time on its second line, as 0m1.234s.
  client=$(awk 'NR == 2 { n = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); n += a[1] * 60 + a[2] }
                          printf "%.3f", n }' "$raw.times")
  awk -v r="$round" -v sc="$scen" -v t="$t" -v raw="$raw" -v hz="$HZ" -v cl="$client" \
    -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" -v a0="$a0" -v a1="$a1" \
    -v b0="${b0% *}" -v b1="${b1% *}" -v sb0="${s0% *}" -v sb1="${s1% *}" \
    -v st0="${s0#* }" -v st1="${s1#* }" 'BEGIN {
      printf "%s\t%s\t%s\t%.4f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%s\n", r, sc, t, (t1 - t0) / 1e9,
        (c1 - c0) / hz, (b1 - b0) / hz, cl, (sb1 - sb0 - (a1 - a0)) / hz - cl, (st1 - st0) / hz, raw
    }' >>"$RUN/runs.tsv"
  case "$scen" in
    c*|tls-c*|up-tls-c*) log "round $round $scen $t: $(grep -E 'Requests/sec' "$raw" | awk '{print $2}') req/s" ;;
    *) log "round $round $scen $t: $(awk '{print $3}' "$raw") Gbit/s" ;;
  esac
}

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "causeway: tree at $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet -- src 2>/dev/null ||
    echo ' + uncommitted src changes'); binary $BUILD/causeway ($build_type) built" \
    "$(date -u -r "$BUILD/causeway" +%Y-%m-%dT%H:%M:%SZ)$([ "${SKIP_BUILD:-0}" != 1 ] || echo ', SKIP_BUILD')"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p') × $(nproc), kernel $(uname -r)"
  echo "wrk: $(wrk -v 2>&1 | head -1)"
  echo "haproxy: $(haproxy -v | head -1)"
  echo "nginx: $(nginx -v 2>&1)"
  echo "rounds=$ROUNDS duration=${DURATION}s warmup=${WARMUP}s bulk=${BULK_MB}MiB" \
    "proxy_cpu=$PROXY_CPU load_cpu=$LOAD_CPU wrk_threads=$WRK_THREADS quiet=${QUIET_MAX}/${QUIET_WAIT}s"
} >"$RUN/machine.txt"
[ ! -f "$RUN/tls.txt" ] || { echo "tls (openssl s_client, defaults):"; sed 's/^/  /' "$RUN/tls.txt"; } >>"$RUN/machine.txt"
cat "$RUN/machine.txt" >&2

# Warm-up: upstream keep-alive pools, page cache, CPU frequency.
for t in $TARGETS; do
  wrk_cmd c50 "$t" "$WARMUP" >/dev/null 2>&1 || true
  if [ "$TLS" = 1 ]; then
    tls_http_cmd tls-c50 "$t" "$WARMUP" >/dev/null 2>&1 || true
    [ "$t" = direct ] || wrk_cmd up-tls-c50 "$t" "$WARMUP" >/dev/null 2>&1 || true
  fi
done

printf 'round\tscenario\ttarget\twall_s\tproxy_cpu_s\tcore_busy_s\tclient_cpu_s\tother_busy_s\tsteal_s\traw\n' >"$RUN/runs.tsv"
read -r -a targets <<<"$TARGETS"
n=${#targets[@]}
for round in $(seq "$ROUNDS"); do
  for scen in $SCENARIOS; do
    for i in $(seq 0 $((n - 1))); do
      # Rotate the order each round so no target always runs first or right after another.
      t=${targets[$(((i + round - 1) % n))]}
      if runs_target "$scen" "$t"; then
        # DNS_NAMES: the resolving causeway is paused while another target is measured, so
        # that target's figures carry no resolution at all (the control thread and dnsmasq
        # would otherwise share cores with it too).
        [ "${DNS_NAMES:-0}" -gt 0 ] && [ "$t" != causeway ] && kill -STOP "${PID[causeway]}"
        measure "$round" "$scen" "$t"
        [ "${DNS_NAMES:-0}" -gt 0 ] && [ "$t" != causeway ] && kill -CONT "${PID[causeway]}"
        [ "${DNS_NAMES:-0}" -gt 0 ] && [ "$t" != causeway ] && sleep 2 # lookups catch up
      fi
    done
  done
done

echo
cat "$RUN/machine.txt"
echo
"$PY" bench/proxy/summarise.py "$RUN"
if [ "${DNS_NAMES:-0}" -gt 0 ]; then
  # The control thread (causeway's main thread) during causeway's own measurements.
  ticks=$(awk '{ s += $1 } END { print s + 0 }' "$RUN/control.txt")
  secs=$(awk '{ s += $2 } END { printf "%d", s / 1e6 }' "$RUN/control.txt")
  hz=$(getconf CLK_TCK)
  changes=$(grep -c 'event=dns-change' "$RUN/causeway.log" || true)
  awk -v t="$ticks" -v hz="$hz" -v ms="$secs" -v n="$DNS_NAMES" -v c="$changes" 'BEGIN {
    printf "DNS: %d names, TTL %ss: control thread %.2f s CPU over the %.1f s causeway was measured = %.1f %% of a core (%.1f us per lookup); %d dns-change events\n",
      n, ENVIRON["DNS_TTL"] ? ENVIRON["DNS_TTL"] : 1, t / hz, ms / 1000, 100 * t / hz / (ms / 1000),
      1e6 * (t / hz) / (n * ms / 1000 / (ENVIRON["DNS_TTL"] ? ENVIRON["DNS_TTL"] : 1)), c }' | tee "$RUN/dns.txt"
fi
