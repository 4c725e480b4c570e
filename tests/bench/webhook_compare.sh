#!/usr/bin/env bash
# webhook_compare.sh — `make bench-webhook`: the two webhook server
# implementations side by side (README, "Performance"; issues 5 and 7).
#
#   servers  build/tests/bench/cpprest_listener_bench --impl beast    (net::HttpServer, as slogate runs it)
#            build/tests/bench/cpprest_listener_bench --impl cpprest  (cpprestsdk http_listener)
#            both: one server thread, TLS (ECDSA P-256), the real router, admission handler and
#            verdict endpoint over a 100-SLO snapshot; pinned to CPU $SERVER_CPU.
#   (a) peak        wrk -t2 -c64 -d20s --latency -s tests/bench/webhook_load.lua
#   (b) fixed rate  slogate_loadgen --rate 2000 --duration 30s --warmup 5s --connections 16
#                   (open loop, latency from the scheduled send time)
#   (c) under flood (b) plus --mix-malformed 1000 --mix-oversize 200 on their own connections
#   load generators pinned to CPU $LOAD_CPU. Every measurement $REPS times, interleaved across
#   servers so that a change in the machine's load hits both.
#
# Environment (defaults): BUILD=build REPS=3 RATE=2000 DURATION=30s WARMUP=5s PEAK_DURATION=20s
#   CONNECTIONS=16 MALFORMED=1000 OVERSIZE=200 OVERSIZE_SEND=65536 IMPLS="beast cpprest"
#   SERVER_CPU=0 LOAD_CPU=1 OUT=$BUILD/bench-webhook
#   WAIT_LOAD=  (e.g. 1.5: before each measurement wait up to WAIT_MAX seconds, default 300,
#                for the 1-minute load average to drop below it; the machine is shared)
#   PRIO=       a command prefix for server and load generators, as root: "nice -n -10" (other
#                work on the machine takes less of their cores) or "chrt -f 10" (diagnostic: how
#                much of the tail is the scheduler's); recorded in machine.txt
#   KINDS="peak fixed flood"  the measurements to run; SUMMARY_ONLY=1 re-reads $OUT only
#   BUSY_POLL=1  the load generator polls instead of sleeping (slogate_loadgen --busy-poll): on
#                this VM a vCPU that went idle takes up to milliseconds to wake, which would
#                be counted against the server; BUSY_POLL=0 measures with it
#   IDLE_POLL_US=0  the Beast server's idle polling (--idle-poll-us; config
#                server.idlePollMicroseconds): its thread polls this long before sleeping
#   FLOOD_SPLIT=1  in (c), the floods come from a second slogate_loadgen (the "attacker",
#                busy-polling, default priority; its JSON in $OUT/IMPL-flood-REP.attack.json)
#                and the valid requests from one at real-time priority (chrt -f 10, not
#                busy-polling), both on CPU $LOAD_CPU. With one generator doing both, the
#                floods' client-side TLS handshakes and 64 KiB sends delay the valid sends in
#                its one event loop, and that delay is counted against the server; split, the
#                valid generator preempts the attacker the moment a request is due, and the
#                attacker's polling keeps the core from idling. The server sees the same load.
#                FLOOD_SPLIT=0: one generator sends both (needs no root: no chrt).
# Raw results (wrk text, loadgen JSON, server counters, machine conditions) go to $OUT;
# the summary is printed and written to $OUT/summary.md. Server CPU per request (from
# /proc/PID/stat) is the figure least disturbed by other work on the machine.
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
REPS=${REPS:-3}
RATE=${RATE:-2000}
DURATION=${DURATION:-30s}
WARMUP=${WARMUP:-5s}
PEAK_DURATION=${PEAK_DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-16}
MALFORMED=${MALFORMED:-1000}
OVERSIZE=${OVERSIZE:-200}
OVERSIZE_SEND=${OVERSIZE_SEND:-65536}
IMPLS=${IMPLS:-"beast cpprest"}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-$BUILD/bench-webhook}
WAIT_LOAD=${WAIT_LOAD:-}
WAIT_MAX=${WAIT_MAX:-300}
PRIO=${PRIO:-}
KINDS=${KINDS:-"peak fixed flood"}
SUMMARY_ONLY=${SUMMARY_ONLY:-}
BUSY_POLL=${BUSY_POLL:-1}
IDLE_POLL_US=${IDLE_POLL_US:-0}
FLOOD_SPLIT=${FLOOD_SPLIT:-1}
read -r -a prio <<<"$PRIO"
PIN_SERVER=("${prio[@]}" taskset -c "$SERVER_CPU")
PIN_LOAD=("${prio[@]}" taskset -c "$LOAD_CPU")

BENCH=$BUILD/tests/bench/cpprest_listener_bench
LOADGEN=$BUILD/tests/bench/slogate_loadgen
for bin in "$BENCH" "$LOADGEN"; do
  [[ -x $bin ]] || { echo "webhook_compare: $bin missing: cmake --build $BUILD --target $(basename "$bin")" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "webhook_compare: wrk is not installed (apt-get install wrk)" >&2; exit 2; }

mkdir -p "$OUT"
if [[ -z $SUMMARY_ONLY ]]; then
"$BENCH" --write-body "$OUT/review.json" >/dev/null
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "kernel: $(uname -r)"
  echo "build: $(grep -m1 CMAKE_BUILD_TYPE: "$BUILD/CMakeCache.txt" | cut -d= -f2)"
  echo "uptime at start: $(uptime)"
  echo "pinning: server on CPU $SERVER_CPU, load generators on CPU $LOAD_CPU, priority: ${PRIO:-default}"
  echo "load generator busy-polls: $([[ $BUSY_POLL == 1 ]] && echo yes || echo no)"
  echo "Beast server idle polling: ${IDLE_POLL_US} µs"
  echo "floods from a separate generator, valid requests at real-time priority: $([[ $FLOOD_SPLIT == 1 ]] && echo yes || echo no)"
  echo "body: $(wc -c <"$OUT/review.json") bytes (tests/fixtures/argo/rollout-canary.yaml, UPDATE with a new image)"
} >"$OUT/machine.txt"
cat "$OUT/machine.txt"

SERVER_PID=""
stop_server() {
  if [[ -n $SERVER_PID ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
trap stop_server EXIT INT TERM

# start_server IMPL LOG: sets SERVER_PID, URL, CA.
start_server() {
  local impl=$1 log=$2
  : >"$log"
  local extra=()
  [[ $impl == beast ]] && extra=(--idle-poll-us "$IDLE_POLL_US")
  "${PIN_SERVER[@]}" "$BENCH" --impl "$impl" --threads 1 --dir "$OUT/pki-$impl" "${extra[@]}" >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    [[ $(wc -l <"$log") -ge 2 ]] && break
    sleep 0.1
  done
  URL=$(sed -n 1p "$log")
  CA=$(sed -n 2p "$log" | cut -d' ' -f2)
  [[ $URL == https://* && -f $CA ]] || { echo "webhook_compare: $impl did not start:" >&2; cat "$log" >&2; exit 1; }
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

wait_quiet() {
  [[ -z $WAIT_LOAD ]] && return 0
  local waited=0
  while awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v max="$WAIT_LOAD" 'BEGIN { exit !(l >= max) }'; do
    ((waited >= WAIT_MAX)) && { echo "  (load still $(loadavg) after ${WAIT_MAX}s; measuring anyway)"; return 0; }
    sleep 10
    waited=$((waited + 10))
  done
}

# measure NAME CMD...: runs CMD with stdout to $OUT/NAME, and records the
# load averages before and after and the server's CPU seconds in $OUT/NAME.cond.
measure() {
  local name=$1
  shift
  wait_quiet
  local before t0 t1 c0 c1
  before=$(loadavg)
  c0=$(cpu_ticks "$SERVER_PID")
  t0=$(date +%s.%N)
  "$@" >"$OUT/$name" 2>"$OUT/$name.err" || true
  t1=$(date +%s.%N)
  c1=$(cpu_ticks "$SERVER_PID")
  awk -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v t0="$t0" -v t1="$t1" -v b="$before" -v a="$(loadavg)" \
    'BEGIN { printf "load_before=%s load_after=%s wall_s=%.1f server_cpu_s=%.2f\n", b, a, t1 - t0, c / hz }' \
    >"$OUT/$name.cond"
}

loadgen() {
  "${PIN_LOAD[@]}" "$LOADGEN" --url "$URL/v1/admission" --body "$OUT/review.json" --ca "$CA" --rate "$RATE" \
    --duration "$DURATION" --warmup "$WARMUP" --connections "$CONNECTIONS" --json \
    $([[ $BUSY_POLL == 1 ]] && echo --busy-poll) "$@"
}

has() { [[ " $KINDS " == *" $1 "* ]]; }
seconds_of() { # 30s | 2m | 45 -> whole seconds
  case $1 in
    *m) echo $((${1%m} * 60)) ;;
    *s) echo "${1%s}" ;;
    *) echo "$1" ;;
  esac
}
for rep in $(seq "$REPS"); do
  for impl in $IMPLS; do
    echo "== run $rep/$REPS: $impl (load $(loadavg))"
    start_server "$impl" "$OUT/$impl-server-$rep.log"
    if has peak; then
      measure "$impl-peak-$rep.txt" "${PIN_LOAD[@]}" wrk -t2 -c64 -d"$PEAK_DURATION" --latency \
        -s tests/bench/webhook_load.lua "$URL/v1/admission"
    fi
    has fixed && measure "$impl-fixed-$rep.json" loadgen --label "$impl fixed $rep"
    if has flood && [[ $FLOOD_SPLIT == 1 ]]; then
      # The attacker runs a little longer than the measurement on both ends
      # (it starts first; 1 valid request/s is the least slogate_loadgen sends).
      "${PIN_LOAD[@]}" "$LOADGEN" --url "$URL/v1/admission" --body "$OUT/review.json" --ca "$CA" \
        --rate 1 --connections 1 --duration "$(($(seconds_of "$DURATION") + 3))s" --warmup "$WARMUP" \
        --json --busy-poll --label "$impl attacker $rep" --mix-malformed "$MALFORMED" \
        --mix-oversize "$OVERSIZE" --oversize-send "$OVERSIZE_SEND" \
        >"$OUT/$impl-flood-$rep.attack.json" 2>"$OUT/$impl-flood-$rep.attack.json.err" &
      attacker=$!
      sleep 1
      measure "$impl-flood-$rep.json" chrt -f 10 taskset -c "$LOAD_CPU" "$LOADGEN" --url "$URL/v1/admission" \
        --body "$OUT/review.json" --ca "$CA" --rate "$RATE" --duration "$DURATION" --warmup "$WARMUP" \
        --connections "$CONNECTIONS" --json --label "$impl flood $rep (valid only)"
      wait "$attacker" || true
    elif has flood; then
      measure "$impl-flood-$rep.json" loadgen --label "$impl flood $rep" --mix-malformed "$MALFORMED" \
        --mix-oversize "$OVERSIZE" --oversize-send "$OVERSIZE_SEND"
    fi
    stop_server
    tail -n 1 "$OUT/$impl-server-$rep.log"
  done
done
fi  # SUMMARY_ONLY

# ---- summary (plain sed/awk over the loadgen JSON lines and wrk's text)
json_num() { # FILE OBJECT KEY: the first "OBJECT":{...} object's KEY
  [[ -f $1 ]] || return 0
  grep -o "\"$2\":{[^}]*}" "$1" | head -n 1 | grep -o "\"$3\":[0-9.]*" | cut -d: -f2
}
top_num() { [[ -f $1 ]] && grep -o "\"$2\":[0-9.]*" "$1" | head -n 1 | cut -d: -f2; }
# The floods' figures: from the attacker's file when the floods ran split (FLOOD_SPLIT=1).
flood_file() { if [[ -f ${1%.json}.attack.json ]]; then echo "${1%.json}.attack.json"; else echo "$1"; fi; }
flood_statuses() { # FILE LANE
  set -- "$(flood_file "$1")" "$2"
  [[ -f $1 ]] || return 0
  grep -o "\"$2\":{\"target_rate[^{]*{[^}]*" "$1" | grep -o '"statuses":{[^}]*' | cut -d'{' -f2
}
flood_num() {
  set -- "$(flood_file "$1")" "$2" "$3"
  [[ -f $1 ]] || return 0
  grep -o "\"$2\":{\"target_rate[^{]*" "$1" | grep -o "\"$3\":[0-9.]*" | cut -d: -f2
}
cond() { [[ -f $1.cond ]] && sed -n "s/.*$2=\([0-9.]*\).*/\1/p" "$1.cond"; }
wrk_rate() { [[ -f $1 ]] && awk '/^Requests\/sec:/ {printf "%.0f\n", $2}' "$1"; }
wrk_total() { [[ -f $1 ]] && awk '/ requests in / {print $1}' "$1"; }
# Server CPU µs per request: over wrk's requests, or over the loadgen's schedule (warm-up included).
us_per_peak() {
  local f=$OUT/$1-peak-$2.txt
  awk -v c="$(cond "$f" server_cpu_s)" -v n="$(wrk_total "$f")" 'BEGIN { if (n > 0) printf "%.0f\n", c * 1e6 / n }'
}
us_per_fixed() {
  local f=$OUT/$1-$3-$2.json
  awk -v c="$(cond "$f" server_cpu_s)" -v n="$(top_num "$f" count)" -v d="$(top_num "$f" duration_s)" \
    -v w="$(top_num "$f" warmup_s)" 'BEGIN { if (n > 0 && d > 0) printf "%.0f\n", c * 1e6 / (n * (d + w) / d) }'
}
per_core() { # peak req/s per second of server CPU
  local f=$OUT/$1-peak-$2.txt
  awk -v c="$(cond "$f" server_cpu_s)" -v n="$(wrk_total "$f")" 'BEGIN { if (c > 0) printf "%.0f\n", n / c }'
}
runs() { # FUNCTION ARGS...: one value per run, joined with /
  local fn=$1
  shift
  for r in $(seq "$REPS"); do "$fn" "$r" "$@" || true; done | sed '/^$/d' | paste -sd/ -
}
peak_of() { wrk_rate "$OUT/$2-peak-$1.txt"; }
lat_of() { json_num "$OUT/$2-$3-$1.json" latency_ms "$4"; }
cpu_peak_of() { us_per_peak "$2" "$1"; }
cpu_fixed_of() { us_per_fixed "$2" "$1" "$3"; }
core_of() { per_core "$2" "$1"; }
fans_of() {
  local f=$OUT/$2-flood-$1.json
  [[ -f $f ]] && printf '%s+%s\n' "$(flood_num "$f" malformed answered_rate | cut -d. -f1)" \
    "$(flood_num "$f" oversize answered_rate | cut -d. -f1)"
}

{
  echo "### Webhook servers: Beast vs cpprestsdk http_listener"
  echo
  echo '```'
  cat "$OUT/machine.txt"
  echo '```'
  echo
  echo "Each cell: the $REPS runs in order. Latency in ms from the scheduled send time."
  echo
  echo "| server | peak req/s (wrk) | peak req/s per server CPU-s | server CPU µs/req (peak / ${RATE}/s / flood) | p50 @ ${RATE}/s | p99 @ ${RATE}/s | p99.9 @ ${RATE}/s | p99 @ ${RATE}/s under flood | flood answered/s (malformed+oversize) |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for impl in $IMPLS; do
    echo "| $impl | $(runs peak_of "$impl") | $(runs core_of "$impl") |" \
      "$(runs cpu_peak_of "$impl") / $(runs cpu_fixed_of "$impl" fixed) / $(runs cpu_fixed_of "$impl" flood) |" \
      "$(runs lat_of "$impl" fixed p50) | $(runs lat_of "$impl" fixed p99) | $(runs lat_of "$impl" fixed p99.9) |" \
      "$(runs lat_of "$impl" flood p99) | $(runs fans_of "$impl") |"
  done
  echo
  echo "Per run (load averages before → after; server CPU seconds; latency ms; generator timer lag p99"
  echo "in ms and generator CPU as a fraction of its core — a busy or late generator taints the run):"
  echo
  echo '```'
  for r in $(seq "$REPS"); do
    for impl in $IMPLS; do
      for kind in peak fixed flood; do
        f=$OUT/$impl-$kind-$r
        ext=json
        [[ $kind == peak ]] && ext=txt
        [[ -f $f.$ext.cond ]] || continue
        line="$impl $kind $r: $(cat "$f.$ext.cond")"
        if [[ $kind == peak ]]; then
          line+=" req/s=$(awk '/^Requests\/sec:/ {print $2}' "$f.txt") p99=$(awk '$1 == "99%" {print $2}' "$f.txt")"
        else
          line+=" achieved=$(top_num "$f.json" achieved_rate) errors=$(json_num "$f.json" errors total)"
          line+=" p50=$(json_num "$f.json" latency_ms p50) p99=$(json_num "$f.json" latency_ms p99)"
          line+=" p99.9=$(json_num "$f.json" latency_ms p99.9) max=$(json_num "$f.json" latency_ms max)"
          line+=" wait_p99=$(json_num "$f.json" queue_wait_ms p99)"
          line+=" lag_p99=$(json_num "$f.json" timer_lag_ms p99) gen_cpu=$(top_num "$f.json" generator_cpu_busy)"
          if [[ $kind == flood ]]; then
            line+=" malformed={$(flood_statuses "$f.json" malformed)} oversize={$(flood_statuses "$f.json" oversize)}"
            line+=" oversize_timeout=$(flood_num "$f.json" oversize timeout) oversize_dropped=$(flood_num "$f.json" oversize dropped)"
          fi
        fi
        echo "$line"
      done
    done
  done
  echo '```'
} | tee "$OUT/summary.md"
