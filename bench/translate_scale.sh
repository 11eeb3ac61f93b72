#!/usr/bin/env bash
# Scale benchmark of causeway's config loading and translation (bench/README.md).
#
#   bash bench/translate_scale.sh            (or: make bench)
#
# 1. generates 10,000 ExternalServices / 50,000 ExternalEndpoints in 100 workspaces into
#    bench/out/scale (once; again when gen_scale.py changes),
# 2. builds parse_only (libfyaml alone), translate_bench (causeway's loader + translation) and
#    causeway, and installs libfyaml's own fy-dump (Debian's libfyaml-utils) when missing,
# 3. runs each once to warm the page cache and check the statuses against expected.json, then
#    RUNS times (default 5), interleaved so that machine noise hits all alike: parse_only,
#    translate_bench, `causeway validate` of the data set and `fy-dump` of the same files (the
#    last two timed as whole commands, as a user runs them),
# 4. prints median and min of every phase, the ratios to the libfyaml floor and to fy-dump, and
#    peak RSS.
#
# Environment: BUILD (build dir, default build-bench: its own RelWithDebInfo tree, so the figures
# never come from a Debug build someone configured in build/), DATA (default bench/out/scale),
# GEN_ARGS (extra gen_scale.py arguments), RUNS (default 5), PIN_CPU (default 1; "" to not pin).
# Exit status 1 when the statuses are wrong or a budget is exceeded (10k/50k: translate < 1 s,
# peak RSS < 200 MB).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build-bench}
DATA=${DATA:-bench/out/scale}
RUNS=${RUNS:-5}
GEN_ARGS=${GEN_ARGS:-}
PIN_CPU=${PIN_CPU-1}
PY=/usr/bin/python3 # the generator and the summary use the standard library only
RESULTS=bench/out/scale-results

generate() {
    # Regenerate when missing or when the generator changed since the data set was written.
    if [ ! -f "$DATA/expected.json" ] || [ bench/gen_scale.py -nt "$DATA/expected.json" ]; then
        echo "+ $PY bench/gen_scale.py $DATA $GEN_ARGS"
        # shellcheck disable=SC2086 # GEN_ARGS is a list of words
        "$PY" bench/gen_scale.py "$DATA" $GEN_ARGS
    fi
}

build() {
    if [ ! -f "$BUILD/CMakeCache.txt" ]; then
        cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    else
        cmake -S . -B "$BUILD" >/dev/null # picks up new targets in an existing build dir
    fi
    cmake --build "$BUILD" -j "$(nproc)" --target parse_only translate_bench causeway >/dev/null
}

# fy-dump, libfyaml's own reader and printer, is what `causeway validate` is compared with.
need_fy_dump() {
    command -v fy-dump >/dev/null && return
    local sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    echo "+ apt-get install libfyaml-utils   (for fy-dump)"
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq libfyaml-utils >/dev/null
}

# Runs a whole command with its output dropped; writes wall_ms, cpu_ms (user + system) and
# peak_rss_kb to <out> in the programs' own format. Exit status 1 is allowed: validate returns
# it when something is INVALID, as the data set means it to be.
timed() {
    local out=$1
    shift
    "$PY" - "$out" "$@" <<'PY'
import resource, subprocess, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.monotonic()
rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
wall = (time.monotonic() - t0) * 1000
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
if rc not in (0, 1):
    sys.exit(f"{cmd[0]} exited with {rc}")
with open(out, "w") as f:
    f.write(f"wall_ms {wall:.1f}\ncpu_ms {(ru.ru_utime + ru.ru_stime) * 1000:.1f}\n"
            f"peak_rss_kb {ru.ru_maxrss}\n")
PY
}

# Pin to one CPU so both programs see the same core and no migration noise.
PIN=()
if [ -n "$PIN_CPU" ] && command -v taskset >/dev/null && taskset -c "$PIN_CPU" true 2>/dev/null; then
    PIN=(taskset -c "$PIN_CPU")
fi

generate
build
need_fy_dump
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
PARSE_CMD=("${PIN[@]}" "$BUILD/parse_only" "$DATA")
BENCH_CMD=("${PIN[@]}" "$BUILD/translate_bench" "$DATA")
# The gateway translate_bench translates for; output to /dev/null like fy-dump's.
VALIDATE_CMD=("${PIN[@]}" "$BUILD/causeway" validate -c "$DATA" --namespace gw --locality r1/r1-a)
mapfile -t YAML_FILES < <(find "$DATA" -name '*.yaml' | sort)
FYDUMP_CMD=("${PIN[@]}" fy-dump "${YAML_FILES[@]}")

echo "+ ${PARSE_CMD[*]}   (warm-up)"
"${PARSE_CMD[@]}" >"$RESULTS/parse-0.txt"
echo "+ ${BENCH_CMD[*]} --statuses $RESULTS/statuses.tsv   (warm-up and correctness)"
"${BENCH_CMD[@]}" --statuses "$RESULTS/statuses.tsv" >"$RESULTS/translate-0.txt"
echo "+ ${VALIDATE_CMD[*]} >/dev/null   (warm-up)"
timed "$RESULTS/validate-0.txt" "${VALIDATE_CMD[@]}"
echo "+ ${PIN[*]} fy-dump <the ${#YAML_FILES[@]} files of $DATA, sorted> >/dev/null   (warm-up)"
timed "$RESULTS/fydump-0.txt" "${FYDUMP_CMD[@]}"
for i in $(seq 1 "$RUNS"); do
    "${PARSE_CMD[@]}" >"$RESULTS/parse-$i.txt"
    "${BENCH_CMD[@]}" >"$RESULTS/translate-$i.txt"
    timed "$RESULTS/validate-$i.txt" "${VALIDATE_CMD[@]}"
    timed "$RESULTS/fydump-$i.txt" "${FYDUMP_CMD[@]}"
    timed "$RESULTS/parsecmd-$i.txt" "${PARSE_CMD[@]}"
done
echo "+ $RUNS timed runs of each, interleaved; raw output in $RESULTS/"
echo

exec "$PY" - "$RESULTS" "$DATA" "$RUNS" "$(grep -s '^CMAKE_BUILD_TYPE' "$BUILD/CMakeCache.txt" || true)" \
    "${PARSE_CMD[*]}" "${BENCH_CMD[*]}" "${VALIDATE_CMD[*]}" <<'EOF'
import json, os, statistics, sys

results, data, runs, build_type, parse_cmd, bench_cmd, validate_cmd = sys.argv[1:8]
runs = int(runs)
TRANSLATE_BUDGET_MS, RSS_BUDGET_MB = 1000.0, 200.0


def read(path):
    out = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.strip().partition(" ")
            out[key] = float(value)
    return out


parse = [read(os.path.join(results, f"parse-{i}.txt")) for i in range(1, runs + 1)]
bench = [read(os.path.join(results, f"translate-{i}.txt")) for i in range(1, runs + 1)]
validate = [read(os.path.join(results, f"validate-{i}.txt")) for i in range(1, runs + 1)]
fydump = [read(os.path.join(results, f"fydump-{i}.txt")) for i in range(1, runs + 1)]
parsecmd = [read(os.path.join(results, f"parsecmd-{i}.txt")) for i in range(1, runs + 1)]
expected = json.load(open(os.path.join(data, "expected.json")))
first = read(os.path.join(results, "translate-0.txt"))


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def low(rows, key):
    return min(r[key] for r in rows)


p, c = parse[0], expected["counts"]
print(f"data set  {data}: {int(p['files'])} files, {int(p['documents'])} documents, "
      f"{p['bytes'] / 1e6:.1f} MB; " + ", ".join(f"{n} {k}" for k, n in c.items()))
build_type = build_type.split("=")[-1] or "?"
print(f"build     {build_type}; {runs} runs each; commands:")
print(f"          {parse_cmd}")
print(f"          {bench_cmd}")
print(f"          {validate_cmd} >/dev/null")
print(f"          fy-dump <every *.yaml of {data}, sorted> >/dev/null")
print()
print(f"{'phase':<34}{'median ms':>10}{'min ms':>10}")
rows = [("libfyaml parse only (parse_only)", parse, "wall_ms"),
        ("causeway load (YAML -> resources)", bench, "load_ms"),
        ("causeway translate", bench, "translate_ms"),
        ("causeway total (load + translate)", bench, "total_ms"),
        ("  teardown (free), not in total", bench, "teardown_ms")]
for label, src, key in rows:
    print(f"{label:<34}{med(src, key):>10.1f}{low(src, key):>10.1f}")
floor = med(parse, "wall_ms")
print()
print(f"translate / libfyaml parse  {med(bench, 'translate_ms') / floor:6.2f}")
print(f"load      / libfyaml parse  {med(bench, 'load_ms') / floor:6.2f}")
print(f"total     / libfyaml parse  {med(bench, 'total_ms') / floor:6.2f}")
print(f"peak RSS  parse_only {med(parse, 'peak_rss_kb') / 1024:.1f} MB; translate_bench "
      f"{med(bench, 'peak_rss_after_load_kb') / 1024:.1f} MB after load, "
      f"{med(bench, 'peak_rss_kb') / 1024:.1f} MB at the end")
print()
# Whole commands, timed from outside (process start, reading, output): what a user waits for.
print(f"{'whole command':<34}{'median ms':>10}{'min ms':>10}{'CPU ms':>10}{'RSS MB':>8}")
for label, src in (("causeway validate", validate), ("fy-dump (libfyaml parse + emit)", fydump),
                   ("parse_only (libfyaml parse)", parsecmd)):
    print(f"{label:<34}{med(src, 'wall_ms'):>10.1f}{low(src, 'wall_ms'):>10.1f}"
          f"{med(src, 'cpu_ms'):>10.1f}{med(src, 'peak_rss_kb') / 1024:>8.1f}")
print()
v = med(validate, "wall_ms")
print(f"validate / fy-dump          {v / med(fydump, 'wall_ms'):6.2f}   "
      f"(CPU {med(validate, 'cpu_ms') / med(fydump, 'cpu_ms'):.2f})")
print(f"validate / parse_only       {v / med(parsecmd, 'wall_ms'):6.2f}   "
      f"(CPU {med(validate, 'cpu_ms') / med(parsecmd, 'cpu_ms'):.2f})")
print()

# ---- correctness: the run we timed must also give the right statuses ----
problems, notes = [], []
kind_counts = {k: int(first.get(f"objects_{k}", 0)) for k in c}
if kind_counts != c:
    problems.append(f"loaded {kind_counts}, generated {c}")
if first["diag_errors"]:
    problems.append(f"{int(first['diag_errors'])} load errors (first ones on stderr above)")
statuses = [line.rstrip("\n").split("\t", 3) for line in open(os.path.join(results, "statuses.tsv"))]
got = {ref: msg for appr, kind, ref, msg in statuses if appr == "INVALID" and kind == "ExternalService"}
want = {e["service"]: e for e in expected["expected"]["invalid_external_services"]}
print(f"INVALID ExternalServices: {len(got)} (expected {len(want)}: "
      + ", ".join(f"{v} {k}" for k, v in expected["overlaps"].items()) + ")")
missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
if missing:
    problems.append(f"{len(missing)} expected INVALID but not: "
                    + "; ".join(f"{m} ({want[m]['overlap']}, loses to {want[m]['winner']})"
                                for m in missing[:5]))
if extra:
    problems.append(f"{len(extra)} INVALID but not expected: "
                    + "; ".join(f"{e}: {got[e]}" for e in extra[:5]))
unnamed = [r for r in set(got) & set(want) if want[r]["winner"] not in got[r]]
if unnamed:
    notes.append(f"{len(unnamed)} INVALID messages do not name the winner, e.g. "
                 f"{unnamed[0]}: {got[unnamed[0]]!r} (winner {want[unnamed[0]]['winner']})")
warn_es = [s for s in statuses if s[0] == "WARNING" and s[1] == "ExternalService"]
if len(warn_es) != expected["expected"]["external_services_warning"]:
    notes.append(f"{len(warn_es)} ExternalServices with WARNING, expected "
                 f"{expected['expected']['external_services_warning']}, e.g. "
                 + "; ".join(f"{s[2]}: {s[3]}" for s in warn_es[:3]))
others = {}
for appr, kind, ref, msg in statuses:
    if kind != "ExternalService":
        others.setdefault(f"{appr} {kind}", []).append(f"{ref}: {msg}")
for what, items in sorted(others.items()):
    notes.append(f"{len(items)} {what}, e.g. {items[0]}")

# ---- budgets (stated for the 10,000 / 50,000 / 100 data set) ----
full = expected["generator"]["services"] >= 10000 and expected["generator"]["endpoints"] >= 50000
t_ms, rss_mb = med(bench, "translate_ms"), med(bench, "peak_rss_kb") / 1024
verdict = f"translate {t_ms:.0f} ms (budget {TRANSLATE_BUDGET_MS:.0f}), peak RSS {rss_mb:.0f} MB (budget {RSS_BUDGET_MB:.0f})"
if full and (t_ms >= TRANSLATE_BUDGET_MS or rss_mb >= RSS_BUDGET_MB):
    problems.append("over budget: " + verdict)

if build_type not in ("Release", "RelWithDebInfo", "MinSizeRel"):
    notes.append(f"{build_type} build: not optimised, the timings are not representative")
for n in notes:
    print("note:", n)
for pr in problems:
    print("FAIL:", pr)
print(("FAIL" if problems else "OK") + ": statuses " + ("wrong" if missing or extra else "match expected.json")
      + "; " + verdict + ("" if full else " (smaller data set: budgets not applied)"))
sys.exit(1 if problems else 0)
EOF
