#!/usr/bin/env bash
# Failover benchmark (issue 4): what clients see when the gateway's own data center dies and
# comes back. Two stand-in data centers on loopback, as in scripts/quickstart.sh: "Dallas"
# (127.0.0.41, the gateway's locality, priority 0) and "Ashburn" (127.0.0.42, us-east,
# priority 1), each with an nginx and a PostgreSQL; causeway in front on 127.0.0.90 with an
# OutlierDetectionPolicy (consecutiveErrors 2, baseEjectionTime 5s) and a FailoverPolicy.
#
#   http  wrk (keep-alive, -c 20) through the HTTP listener; at KILL_AT s Dallas's nginx is
#         SIGKILLed (master and worker), at RESTART_AT s it is started again.
#   tcp   pgbench -S -C (a new connection per transaction) through the TCP listener, CLIENTS
#         clients; at KILL_AT s `pg_ctl stop -m immediate` on Dallas, at RESTART_AT s it starts.
#
# Each phase runs its own causeway (fresh outlier state) with an access log; its stderr (the
# eject/return events) is stamped with the time each line arrives. bench/failover/analyse.py
# turns the access log, the events and the clients' outputs into the table: failed requests,
# time from the kill until every request goes to Ashburn, the ejection, and time from the return
# until every request is back on Dallas.
#
# The PostgreSQL servers run with fsync=off: after `-m immediate` a server fsyncs its whole data
# directory before recovering, which took 2–3 s on a shared disk and would land in the figures as
# "Dallas back before it was ready" (see BENCHMARKS.md); durability is not what is measured.
#
# PostgreSQL 15's pgbench has no way to carry on after a connection error: the client that meets
# one is aborted, and with -c 1 the run ends. So each client is its own `pgbench -c 1` run again
# for the time left whenever it ends early, and every aborted client counts as a failure.
#
# Run from anywhere:  bash bench/failover_bench.sh      (1–2 minutes)
# Knobs (environment):
#   PHASES="http tcp"     which phases to run
#   DURATION=20           seconds of load per phase
#   KILL_AT=5 RESTART_AT=7   seconds after the load starts (RESTART_AT before KILL_AT +
#                         BASE_EJECTION: Dallas is back before its ejection ends, so it returns
#                         once; later than that it fails again and is ejected for 2 × the base)
#   BASE_EJECTION=5s CONSECUTIVE_ERRORS=2 INTERVAL=10s   the OutlierDetectionPolicy
#   CONNS=20              wrk connections (one thread);  CLIENTS=4  pgbench clients
#   WRK_TIMEOUT=10s       wrk counts a slower response as a "timeout" error (it is not a failure:
#                         the response arrives); 10 s keeps stalls in the latency figures
#   WORKERS=1             causeway worker threads
#   PROXY_CPU=0 LOAD_CPU=1   causeway's core; the core shared by the clients and the backends
#   BUILD=build-bench     tree holding causeway (configured as RelWithDebInfo when new, then
#                         rebuilt incrementally); CAUSEWAY=path measures that binary instead
#   QUIET_WAIT=60 QUIET_MAX=0.3   before each phase's load, wait up to QUIET_WAIT s for a second
#                         in which the rest of the machine uses less than QUIET_MAX of a core
#                         (bench/failover/cpu_sampler.py records what else ran during the load)
#   OUT=bench/out/failover-results/<timestamp>
# Every process this script starts is stopped by PID when it exits. Loopback only.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PHASES=${PHASES:-"http tcp"}
DURATION=${DURATION:-20}
KILL_AT=${KILL_AT:-5}
RESTART_AT=${RESTART_AT:-7}
BASE_EJECTION=${BASE_EJECTION:-5s}
CONSECUTIVE_ERRORS=${CONSECUTIVE_ERRORS:-2}
INTERVAL=${INTERVAL:-10s}
CONNS=${CONNS:-20}
WRK_TIMEOUT=${WRK_TIMEOUT:-10s}
CLIENTS=${CLIENTS:-4}
WORKERS=${WORKERS:-1}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
BUILD=${BUILD:-build-bench}
QUIET_WAIT=${QUIET_WAIT:-60}
QUIET_MAX=${QUIET_MAX:-0.3}
OUT=${OUT:-bench/out/failover-results/$(date +%Y%m%d-%H%M%S)}
PY=/usr/bin/python3

GW=127.0.0.90
DALLAS=127.0.0.41
ASHBURN=127.0.0.42
GW_HTTP=34080
GW_TCP=34432
NGINX_PORT=34081
PG_PORT=34543
HOST_HEADER=api.example.com

die() { echo "failover_bench: $*" >&2; exit 1; }
log() { echo "failover_bench: $*" >&2; }

for tool in wrk nginx taskset ss curl psql pgbench runuser; do
  command -v "$tool" >/dev/null || die "$tool not found (bash scripts/install-deps.sh installs it)"
done
[ -x "$PY" ] || die "$PY not found"
[ "$(nproc)" -ge 2 ] || die "needs two CPUs (causeway on PROXY_CPU, load and backends on LOAD_CPU)"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$PGBIN/pg_ctl" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
[[ "$DURATION" =~ ^[0-9]+$ ]] || die "DURATION is whole seconds"
awk -v k="$KILL_AT" -v r="$RESTART_AT" -v d="$DURATION" 'BEGIN { exit !(0 < k && k < r && r < d) }' ||
  die "needs 0 < KILL_AT < RESTART_AT < DURATION"

if [ -n "${CAUSEWAY:-}" ]; then
  BIN=$CAUSEWAY
else
  [ -f "$BUILD/CMakeCache.txt" ] || cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" -j "$(nproc)" --target causeway >/dev/null || die "building $BUILD/causeway failed"
  BIN=$BUILD/causeway
fi
[ -x "$BIN" ] || die "$BIN missing"

for addr in "$GW $GW_HTTP" "$GW $GW_TCP" "$DALLAS $NGINX_PORT" "$ASHBURN $NGINX_PORT" \
  "$DALLAS $PG_PORT" "$ASHBURN $PG_PORT"; do
  if [ -n "$(ss -Hltn "src ${addr% *}:${addr#* }")" ]; then
    die "${addr% *}:${addr#* } is already listening (another benchmark or test still running?)"
  fi
done

mkdir -p "$OUT"
RUN=$(cd "$OUT" && pwd)
# PostgreSQL runs as the postgres user, which needs a directory it can reach: a temporary one,
# removed on exit (its logs are copied into the run folder first).
PGWORK=$(mktemp -d /tmp/causeway-failover.XXXXXX)
chmod 755 "$PGWORK"
log "results in $OUT"

PIDS=()
forget() {  # PID: stopped and reaped, so never signalled again (its number may be reused)
  local i
  for i in "${!PIDS[@]}"; do [ "${PIDS[$i]}" != "$1" ] || unset 'PIDS[i]'; done
  PIDS=("${PIDS[@]}")
}
children_of() {  # PID: its child processes (an nginx master's worker, a client loop's pgbench)
  cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep . || true
}
stop_pid() {  # PID: TERM, then KILL after 5 s; then whatever children it left
  local pid=$1 kids kid
  kids=$(children_of "$pid")
  if kill -TERM "$pid" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  for kid in $kids; do stop_pid "$kid"; done
  forget "$pid"
}
pg_stop() {  # DC: fast shutdown, bounded; the postmaster is killed by PID if it stays
  local dir=$PGWORK/pg-$1 pm
  [ -f "$dir/postmaster.pid" ] || return 0
  pm=$(head -n 1 "$dir/postmaster.pid")
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir" -m fast -t 10 stop >/dev/null 2>&1 ||
    kill -KILL "$pm" 2>/dev/null || true
}
cleanup() {
  local i dc
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[$i]}"; done
  for dc in dallas ashburn; do
    pg_stop "$dc"
    if [ -f "$PGWORK/pg-$dc/log" ] && [ -d "$RUN/tcp" ]; then
      cp "$PGWORK/pg-$dc/log" "$RUN/tcp/postgres-$dc.log" || true
    fi
  done
  rm -rf "$PGWORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_us() { echo "${EPOCHREALTIME/./}"; }
us() { awk -v s="$1" 'BEGIN { printf "%d", s * 1000000 }'; }  # seconds (may be decimal) → µs
sleep_until() {  # EPOCH_MICROSECONDS
  local d=$(($1 - $(now_us)))
  [ "$d" -le 0 ] || sleep "$(printf '%d.%06d' $((d / 1000000)) $((d % 1000000)))"
}
mark() {  # PHASE_DIR NAME: the time of a step of the timeline
  printf '%s\t%s\n' "$2" "$EPOCHREALTIME" >>"$1/timeline.tsv"
}
wait_listen() {  # ADDR PORT: until something listens there (10 s at most)
  for _ in $(seq 100); do
    [ -n "$(ss -Hltn "src $1:$2")" ] && return 0
    sleep 0.1
  done
  die "nothing listens on $1:$2 (see $RUN/*/)"
}
wait_pid() {  # PID SECONDS: until it ends (it is stopped after SECONDS)
  for _ in $(seq $(($2 * 10))); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$1" 2>/dev/null; then log "pid $1 still running after $2 s: stopping it"; fi
  stop_pid "$1" # reaps it (and stops it if it is still running)
}
stat_busy() {  # busy ticks of all CPUs (user+nice+system+irq+softirq), from /proc/stat
  awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 }' /proc/stat
}
# Waits (QUIET_WAIT s at most) for a second in which the machine, with this benchmark idle, uses
# less than QUIET_MAX of a core: a build or a test run on a shared machine then delays the load
# instead of landing in it.
wait_quiet() {
  local waited=0 x0 x1 hz
  hz=$(getconf CLK_TCK)
  while [ "$waited" -lt "$QUIET_WAIT" ]; do
    x0=$(stat_busy); sleep 1; x1=$(stat_busy)
    awk -v a="$x0" -v b="$x1" -v hz="$hz" -v m="$QUIET_MAX" 'BEGIN { exit !((b - a) / hz < m) }' &&
      return 0
    [ "$waited" -gt 0 ] || log "machine busy (something else is running): waiting up to ${QUIET_WAIT}s"
    waited=$((waited + 1))
  done
  log "still busy after ${QUIET_WAIT}s: measuring anyway (see cpu.tsv and the 'other CPU' row)"
}
SAMPLER_PID=""
start_sampler() {  # PHASE_DIR
  "$PY" bench/failover/cpu_sampler.py "$1/cpu.tsv" $$ "$PGWORK/pg-*/postmaster.pid" &
  SAMPLER_PID=$!
  PIDS+=("$SAMPLER_PID")
}
stamp() {  # each line of stdin prefixed by the epoch time it is read at
  local line
  while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done
}

sed -e "s|@CONSECUTIVE_ERRORS@|$CONSECUTIVE_ERRORS|" -e "s|@INTERVAL@|$INTERVAL|" \
  -e "s|@BASE_EJECTION@|$BASE_EJECTION|" bench/failover/manifests.yaml.in >"$RUN/manifests.yaml"
# causeway runs from a copy: a rebuild during the run cannot change what is measured.
cp "$BIN" "$RUN/cw-under-test"

CW_PID=""
STAMP_PID=""
start_causeway() {  # PHASE_DIR: causeway with its access log and its stamped stderr there
  local dir=$1
  CW_DIR=$dir
  mkfifo "$dir/stderr.fifo"
  stamp <"$dir/stderr.fifo" >"$dir/events.log" &
  STAMP_PID=$!
  PIDS+=($!)
  taskset -c "$PROXY_CPU" "$RUN/cw-under-test" run -c "$RUN/manifests.yaml" \
    --locality us-south/dallas --bind "$GW" --workers "$WORKERS" \
    --access-log "$dir/access.log" >"$dir/causeway.out" 2>"$dir/stderr.fifo" &
  CW_PID=$!
  PIDS+=("$CW_PID")
  wait_listen "$GW" "$GW_HTTP"
  wait_listen "$GW" "$GW_TCP"
  sleep 0.2 # the statuses reach events.log
  if grep -E 'INVALID|WARNING|error' "$dir/events.log" >&2; then
    die "causeway rejected part of $RUN/manifests.yaml (above)"
  fi
}
stop_causeway() {  # SIGTERM (drains), then the stamper ends with causeway's stderr
  stop_pid "$CW_PID"
  wait_pid "$STAMP_PID" 5
  rm -f "$CW_DIR/stderr.fifo"
}

# ---- HTTP: nginx in each data center, wrk through the gateway ----

declare -A NGINX_PID=()
start_nginx() {  # DC ADDR
  local dir=$RUN/http/nginx-$1
  mkdir -p "$dir"
  sed -e "s|@DC@|$1|g" -e "s|@ADDR@|$2|g" -e "s|@DIR@|$dir|g" \
    bench/failover/backend-nginx.conf.in >"$dir/nginx.conf"
  taskset -c "$LOAD_CPU" nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" \
    -g 'daemon off;' >>"$dir/stdout.log" 2>&1 &
  NGINX_PID[$1]=$!
  PIDS+=($!)
}
kill_nginx() {  # DC: SIGKILL to the master and its worker at once, as a crash would
  local master=${NGINX_PID[$1]} pids p
  pids="$master $(children_of "$master")"
  # shellcheck disable=SC2086 # a list of PIDs
  kill -KILL $pids
  wait "$master" 2>/dev/null || true
  forget "$master"
  for p in $pids; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
}

run_http() {
  local dir=$RUN/http t0 wrk_pid body i
  mkdir -p "$dir"
  start_nginx dallas "$DALLAS"
  start_nginx ashburn "$ASHBURN"
  wait_listen "$DALLAS" "$NGINX_PORT"
  wait_listen "$ASHBURN" "$NGINX_PORT"
  start_causeway "$dir"
  for i in 1 2 3 4 5; do  # everything goes to Dallas, the gateway's own locality
    body=$(curl -sS --max-time 5 -H "Host: $HOST_HEADER" "http://$GW:$GW_HTTP/check$i") ||
      die "HTTP check through the gateway failed"
    [ "$body" = "inventory in dallas" ] || die "HTTP check: expected Dallas, got: $body"
  done
  wait_quiet
  start_sampler "$dir"
  log "http: wrk -c $CONNS for ${DURATION}s; Dallas's nginx killed at ${KILL_AT}s, restarted at ${RESTART_AT}s"
  t0=$(now_us)
  mark "$dir" start
  taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$DURATION"s --timeout "$WRK_TIMEOUT" --latency -s bench/failover/count.lua \
    -H "Host: $HOST_HEADER" "http://$GW:$GW_HTTP/" >"$dir/wrk.txt" 2>&1 &
  wrk_pid=$!
  PIDS+=("$wrk_pid")
  sleep_until $((t0 + $(us "$KILL_AT")))
  mark "$dir" kill
  kill_nginx dallas
  mark "$dir" down
  sleep_until $((t0 + $(us "$RESTART_AT")))
  mark "$dir" restart
  start_nginx dallas "$DALLAS"
  wait_listen "$DALLAS" "$NGINX_PORT"
  mark "$dir" up
  wait_pid "$wrk_pid" $((DURATION + 20))
  mark "$dir" end
  stop_pid "$SAMPLER_PID"
  stop_causeway
  stop_pid "${NGINX_PID[dallas]}"
  stop_pid "${NGINX_PID[ashburn]}"
  grep -q failover-counts "$dir/wrk.txt" || die "wrk did not finish properly: $dir/wrk.txt"
}

# ---- TCP: PostgreSQL in each data center, pgbench -C through the gateway ----

pg_start() {  # DC ADDR
  local dir=$PGWORK/pg-$1
  runuser -u postgres -- taskset -c "$LOAD_CPU" "$PGBIN/pg_ctl" -D "$dir" -l "$dir/log" -w -t 30 \
    -o "-k $dir -h $2 -p $PG_PORT -c fsync=off" start >/dev/null || die "PostgreSQL $1 did not start ($dir/log)"
}
pg_init() {  # DC ADDR
  local dir=$PGWORK/pg-$1
  mkdir -p "$dir" && chown postgres "$dir"
  runuser -u postgres -- "$PGBIN/initdb" -D "$dir" -A trust -U postgres >/dev/null
  pg_start "$1" "$2"
  psql -h "$2" -p "$PG_PORT" -U postgres -q -c "create table dc(name text); insert into dc values ('$1');"
  pgbench -i -s 1 -q -h "$2" -p "$PG_PORT" -U postgres postgres >"$RUN/tcp/pgbench-init-$1.log" 2>&1 ||
    die "pgbench -i on $1 failed ($RUN/tcp/pgbench-init-$1.log)"
}

pg_client() {  # N END_US: pgbench -c 1 again for the time left whenever a run ends early
  local n=$1 end=$2 run=0 left start rc
  while :; do
    left=$(((end - $(now_us) + 500000) / 1000000))
    [ "$left" -ge 1 ] || break
    run=$((run + 1))
    start=$EPOCHREALTIME
    rc=0
    taskset -c "$LOAD_CPU" pgbench -n -S -C -c 1 -j 1 -T "$left" --progress=1 \
      -h "$GW" -p "$GW_TCP" -U postgres postgres >"$RUN/tcp/pgbench-c$n-r$run.log" 2>&1 || rc=$?
    printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$run" "$start" "$EPOCHREALTIME" "$rc" >>"$RUN/tcp/pgbench-runs.tsv"
    [ "$rc" = 0 ] || sleep 0.05 # no tight loop if the gateway refuses everything
  done
}

run_tcp() {
  local dir=$RUN/tcp t0 end i who cpids=()
  mkdir -p "$dir"
  : >"$dir/pgbench-runs.tsv"
  pg_init dallas "$DALLAS"
  pg_init ashburn "$ASHBURN"
  start_causeway "$dir"
  for i in 1 2 3; do
    who=$(psql -h "$GW" -p "$GW_TCP" -U postgres -tA -c 'select name from dc') ||
      die "psql through the gateway failed"
    [ "$who" = dallas ] || die "TCP check: expected dallas, got: $who"
  done
  wait_quiet
  start_sampler "$dir"
  log "tcp: $CLIENTS × pgbench -S -C for ${DURATION}s; Dallas's PostgreSQL stopped (immediate) at ${KILL_AT}s, started at ${RESTART_AT}s"
  t0=$(now_us)
  end=$((t0 + $(us "$DURATION")))
  mark "$dir" start
  for i in $(seq "$CLIENTS"); do
    pg_client "$i" "$end" &
    cpids+=($!)
    PIDS+=($!)
  done
  sleep_until $((t0 + $(us "$KILL_AT")))
  mark "$dir" kill
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGWORK/pg-dallas" -m immediate -t 10 stop >/dev/null ||
    log "pg_ctl stop -m immediate on Dallas failed"
  mark "$dir" down
  sleep_until $((t0 + $(us "$RESTART_AT")))
  mark "$dir" restart
  pg_start dallas "$DALLAS"
  mark "$dir" up
  for i in "${cpids[@]}"; do wait_pid "$i" $((DURATION + 20)); done
  mark "$dir" end
  stop_pid "$SAMPLER_PID"
  stop_causeway
}

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "causeway: $BIN built $(date -u -r "$BIN" +%Y-%m-%dT%H:%M:%SZ); tree at" \
    "$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet -- src 2>/dev/null ||
      echo ' + uncommitted src changes')$([ -z "${CAUSEWAY:-}" ] || echo ' (CAUSEWAY= given: the binary may come from elsewhere)')"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p') × $(nproc), kernel $(uname -r)"
  echo "wrk: $(wrk -v 2>&1 | head -1); nginx: $(nginx -v 2>&1); $(pgbench --version)"
  echo "phases=$PHASES duration=${DURATION}s kill_at=${KILL_AT}s restart_at=${RESTART_AT}s" \
    "consecutiveErrors=$CONSECUTIVE_ERRORS baseEjectionTime=$BASE_EJECTION interval=$INTERVAL" \
    "conns=$CONNS clients=$CLIENTS workers=$WORKERS proxy_cpu=$PROXY_CPU load_cpu=$LOAD_CPU"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RUN/machine.txt"
cat "$RUN/machine.txt" >&2

for phase in $PHASES; do
  case "$phase" in
    http) run_http ;;
    tcp) run_tcp ;;
    *) die "unknown phase $phase" ;;
  esac
done

echo
cat "$RUN/machine.txt"
echo
"$PY" bench/failover/analyse.py "$RUN"
# The access logs are large (one line per request); kept compressed.
gzip -f "$RUN"/*/access.log
