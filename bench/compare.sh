#!/usr/bin/env bash
# Fjord against Apache Kafka 4.1.1 on the same machine, with the same clients, over alternating
# A/B rounds.
#
#   bench/compare.sh [--quick] [--rounds N] [--only kafka|fjord] [--append | --no-append]
#
# Round 1 runs Kafka then Fjord, round 2 Fjord then Kafka, and so on. Each side of each round
# starts its broker on 127.0.0.1 with a fresh data directory, warms it up, runs the workload set,
# records its RSS, stops it and deletes its data. Every figure of every round goes to
# bench/results/<timestamp>/results.tsv (columns: round, broker, slot (1 = ran first in its round),
# test, metric, value); then io.fjord.bench.CompareReport prints the table (median over rounds with
# min-max, and the ratio of the medians Fjord/Kafka) into table.md there, and io.fjord.bench.Charts
# writes throughput.png and latency.png beside it. Kafka listens on $KAFKA_PORT (19092, controller
# 19093), Fjord on $FJORD_PORT (19192); both must be free.
#
# Ratio direction: throughput (MiB/s) higher is better, so > 1 favours Fjord; for every other
# figure (latency, broker CPU-seconds, RSS) lower is better, so < 1 favours Fjord.
#
# --append (the default for full runs; --no-append turns it off, --append turns it on for --quick)
# appends the table to docs/benchmarks.md with the date, the machine (nproc, CPU model, memory,
# kernel, JDK), the load average, the commit and the exact command, and copies the two charts to
# docs/img/compare-throughput.png and docs/img/compare-latency.png.
#
# Workload (records of RECORD_BYTES=1024, no key; one topic per test, replication factor 1):
#   produce  Kafka's ProducerPerformance, N records, 1 and 6 partitions: client defaults (acks=all,
#            idempotent, linger.ms=5, batch.size=16384), acks=1 linger.ms=5 batch.size=65536,
#            acks=all linger.ms=5 batch.size=65536
#   consume  io.fjord.bench.ConsumerThroughput (assign(), no group, so a group join is not part of
#            the figure; ConsumerPerformance's client settings) over the acks=1 topic, N records
#   e2e      io.fjord.bench.EndToEndLatencyProbe (as Kafka's EndToEndLatency: linger 0,
#            fetch.max.wait.ms=0, one message in flight, consumer assign()ed), E2E_N messages, acks=1
# Per test: the broker's CPU-seconds (utime+stime of /proc/PID/stat before/after) and per GiB
# moved, also without its JIT compiler threads' share (/proc/PID/task/*); at the end of each side, the broker's VmHWM and VmRSS (/proc/PID/status).
#
# Before starting, waits (at most LOAD_WAIT_S: 600 s, --quick 30 s) for the 1-minute load average
# to fall below LOAD_MAX=1.5, then goes on either way; the load at each round's start is recorded.
# Before each side of each round, waits (at most QUIET_WAIT_S, 90 s) for the CPUs to be 85% idle
# and the kernel's dirty pages to be written.
#
# Before each measured produce test (after SETTLE) writes and deletes PREWARM_MIB MiB in /dev/shm
# (default: 1.25 times the bytes the test writes, at most a third of MemAvailable), so that either
# broker's page cache lands in free pages the VM's host backs already; the table's "first touch of
# free pages" row is how many seconds per GiB that write took, the memory's state before the test
# (0.2 warm; up to 6 where the host had taken the pages back). See prewarm_pages in bench/lib.sh.
#
# Env: PREWARM_MIB (default as above; 0: none), ROUNDS (3, --quick 1; --rounds wins), N (records per produce test; 2000000, --quick
#      100000), E2E_N (10000; --quick 2000), WARMUP (records produced+consumed on a throwaway
#      topic first; 2000000, --quick 100000), WARMUP_CONSUMES (times that topic is consumed; 3),
#      SETTLE (seconds of idle after `sync` before each
#      measured test; 8, --quick 1), KAFKA_LIB (Kafka 4.1.1 jars; default: what
#      bench/fetch-kafka.sh prints, fetching them from Maven Central when missing), COMPARE_TMP
#      (parent of the temporary data directories; default /tmp, must be on the disk), RESULTS
#      (default bench/results/<timestamp>), FJORD_JVM_OPTS (passed to bin/fjord), KAFKA_HEAP_OPTS
#      (default -Xms1G -Xmx1G, as kafka-server-start.sh).
# Only the PIDs this script started are ever signalled.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COMMAND="bench/compare.sh${*:+ $*}"
QUICK=0
ONLY=""
APPEND=""
ROUNDS_ARG=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --only) ONLY="$2"; shift ;;
        --rounds) ROUNDS_ARG="$2"; shift ;;
        --append) APPEND=1 ;;
        --no-append) APPEND=0 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
case "$ONLY" in ""|kafka|fjord) ;; *) echo "--only takes kafka or fjord" >&2; exit 2 ;; esac
if (( QUICK )); then
    N="${N:-100000}"; E2E_N="${E2E_N:-2000}"; WARMUP="${WARMUP:-100000}"; SETTLE="${SETTLE:-1}"
    ROUNDS="${ROUNDS_ARG:-${ROUNDS:-1}}"; LOAD_WAIT_S="${LOAD_WAIT_S:-30}"; APPEND="${APPEND:-0}"
else
    N="${N:-2000000}"; E2E_N="${E2E_N:-10000}"; WARMUP="${WARMUP:-2000000}"; SETTLE="${SETTLE:-8}"
    ROUNDS="${ROUNDS_ARG:-${ROUNDS:-3}}"; LOAD_WAIT_S="${LOAD_WAIT_S:-600}"; APPEND="${APPEND:-1}"
fi
WARMUP_CONSUMES="${WARMUP_CONSUMES:-3}"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "--rounds takes a positive number" >&2; exit 2; }
RECORD_BYTES=1024
KAFKA_PORT="${KAFKA_PORT:-19092}"; KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
FJORD_PORT="${FJORD_PORT:-19192}"
LOAD_MAX="${LOAD_MAX:-1.5}"
QUIET_WAIT_S="${QUIET_WAIT_S:-90}"
# Each test JVM is killed after this long (bounded run even against a stuck broker).
PRODUCE_TIMEOUT_S=300; CONSUME_TIMEOUT_S=180; E2E_TIMEOUT_S=240; ADMIN_TIMEOUT_S=60
STAMP="$(date -u +%Y%m%d-%H%M%S)"
RUN_DIR="${RESULTS:-$REPO/bench/results/$STAMP}"
mkdir -p "$RUN_DIR"
TSV="$RUN_DIR/results.tsv"
printf 'round\tbroker\tslot\ttest\tmetric\tvalue\n' >"$TSV"

. "$REPO/bench/lib.sh"
PREWARM_MIB="${PREWARM_MIB:-$(prewarm_default_mib $((N * RECORD_BYTES * 1)))}"
JAVA_HOME="$(pick_java_home)"
export JAVA_HOME
JAVA="$JAVA_HOME/bin/java"
KAFKA_LIB="${KAFKA_LIB:-$("$REPO/bench/fetch-kafka.sh")}"
# The client tools and the report: fjord-bench's jar (and classes), built when a source is newer.
ensure_bench_jar
# bin/fjord builds its jar when a source is newer: do it now, not while the run is timed.
[[ "$ONLY" == kafka ]] || "$REPO/bin/fjord" --help >/dev/null
CLIENT=("$JAVA" -Xmx512M -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -Djava.awt.headless=true -Dlog4j2.level=WARN -cp "$KAFKA_LIB/*:$REPO/fjord-bench/target/classes")
TOOLS=org.apache.kafka.tools
HZ="$(getconf CLK_TCK)"

TMP="$(mktemp -d "${COMPARE_TMP:-/tmp}/fjord-compare.XXXXXX")"
. "$REPO/bench/brokers.sh"
cleanup() { stop_broker; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }
broker_ticks() { awk '{print $14 + $15}' "/proc/$BROKER_PID/stat"; }
status_kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$BROKER_PID/status"; }
# record TEST METRIC VALUE: one figure of this round and broker.
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$ROUND" "$BROKER" "$SLOT" "$1" "$2" "$3" >>"$TSV"; }

# run NAME TIMEOUT_S cmd...: one measured test; sets CPU_S (broker CPU-seconds), JIT_S (of that, the JIT
# compiler threads'), NOJIT_S (the rest) and OUT (its log).
run() {
    local name=$1 limit=$2; shift 2
    OUT="$RESULTS/$name.log"
    echo "+ $*" >>"$RESULTS/commands.txt"
    sync; sleep "$SETTLE"
    TOUCH_S=""
    if (( ${RUN_PREWARM:-0} && PREWARM_MIB > 0 )); then TOUCH_S=$(prewarm_pages "$PREWARM_MIB"); fi
    local t0 t1 j0 j1 rc=0
    t0=$(broker_ticks); j0=$(jit_thread_ticks "$BROKER_PID")
    timeout "$limit" "$@" >"$OUT" 2>&1 || rc=$?
    t1=$(broker_ticks); j1=$(jit_thread_ticks "$BROKER_PID")
    JIT_S=$(jit_delta_s "$j0" "$j1")
    CPU_S=$(awk -v d=$((t1 - t0)) -v hz="$HZ" 'BEGIN {printf "%.2f", d / hz}')
    NOJIT_S=$(awk -v c="$CPU_S" -v j="$JIT_S" 'BEGIN {printf "%.2f", c - j}')
    if (( rc != 0 )); then log "$BROKER $name failed (exit $rc), see $OUT"; tail -3 "$OUT" >&2; fi
    return 0
}
admin() { # quiet topic command, not measured
    echo "+ $*" >>"$RESULTS/commands.txt"
    timeout "$ADMIN_TIMEOUT_S" "${CLIENT[@]}" $TOOLS.TopicCommand --bootstrap-server "$BS" "$@" \
        >>"$RESULTS/admin.log" 2>&1 || log "$BROKER topic command failed: $*"
}
per_gib() { awk -v c="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.3f", c / (b / 1073741824); else print "-"}'; }
field() { echo "$1" | sed -nE "s/.*$2=([0-9.]+).*/\1/p"; } # field LINE KEY: KEY=value

produce() { # NAME TOPIC RECORDS producer-props...
    local name=$1 topic=$2 n=$3; shift 3
    local prewarm=1; [[ "$name" != warmup ]] || prewarm=0
    RUN_PREWARM=$prewarm run "$name" "$PRODUCE_TIMEOUT_S" "${CLIENT[@]}" $TOOLS.ProducerPerformance --topic "$topic" --num-records "$n" \
        --record-size "$RECORD_BYTES" --throughput -1 --producer-props bootstrap.servers="$BS" "$@"
    local line rec mbs avg p99
    line=$(grep -E 'records sent,.*99.9th' "$OUT" | tail -1 || true)
    [[ -n "$line" ]] || return 0
    # "N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency, p50 ms 50th, ..., p99 ms 99th, ..."
    read -r rec mbs avg p99 < <(echo "$line" | sed -E 's/[(),]//g' | awk '{print $1, $6, $8, $22}')
    [[ "$name" == warmup ]] && return 0
    record "$name" mbs "$mbs"; record "$name" p99_ms "$p99"; record "$name" avg_ms "$avg"
    record "$name" cpu_s "$CPU_S"; record "$name" cpu_s_per_gib "$(per_gib "$CPU_S" $((rec * RECORD_BYTES)))"
    record "$name" cpu_s_per_gib_nojit "$(per_gib "$NOJIT_S" $((rec * RECORD_BYTES)))"
    [[ -z "$TOUCH_S" ]] || record "$name" touch_s_per_gib "$TOUCH_S"
    log "$BROKER $name: $mbs MiB/s, avg $avg ms, p99 $p99 ms, broker $CPU_S CPU-s"
}
consume() { # NAME TOPIC RECORDS
    local name=$1 topic=$2 n=$3
    run "$name" "$CONSUME_TIMEOUT_S" "${CLIENT[@]}" io.fjord.bench.ConsumerThroughput "$BS" "$topic" "$n" \
        $((CONSUME_TIMEOUT_S * 1000 - 30000))
    local line
    line=$(grep -E '^records=' "$OUT" | tail -1 || true)
    [[ -n "$line" ]] || return 0
    [[ "$name" == warmup-consume ]] && return 0
    record "$name" mbs "$(field "$line" MiB_per_s)"; record "$name" cpu_s "$CPU_S"
    record "$name" cpu_s_per_gib "$(per_gib "$CPU_S" "$(field "$line" bytes)")"
    record "$name" cpu_s_per_gib_nojit "$(per_gib "$NOJIT_S" "$(field "$line" bytes)")"
    log "$BROKER $name: $(field "$line" MiB_per_s) MiB/s, broker $CPU_S CPU-s"
}
e2e() { # NAME TOPIC
    local name=$1 topic=$2
    run "$name" "$E2E_TIMEOUT_S" "${CLIENT[@]}" io.fjord.bench.EndToEndLatencyProbe "$BS" "$topic" "$E2E_N" 1 \
        "$RECORD_BYTES" $((E2E_TIMEOUT_S * 1000 - 30000))
    local line m
    line=$(grep -E '^messages=' "$OUT" | tail -1 || true)
    [[ -n "$line" ]] || return 0
    for m in avg p50 p99 p999 max; do record "$name" "${m}_ms" "$(field "$line" "${m}_ms")"; done
    record "$name" cpu_s "$CPU_S"
    log "$BROKER $name: avg $(field "$line" avg_ms) ms, p99 $(field "$line" p99_ms) ms, broker $CPU_S CPU-s"
}

bench_broker() { # BROKER: one side of one round
    BROKER=$1
    RESULTS="$RUN_DIR/r$ROUND-$BROKER"
    mkdir -p "$RESULTS"
    log "round $ROUND/$ROUNDS: starting $BROKER"
    "start_$BROKER"
    log "$BROKER pid $BROKER_PID on $BS"
    local run_id p t
    run_id=$(date +%s)
    if (( WARMUP > 0 )); then
        # A fresh JVM needs a few million records before its cost per record settles.
        admin --create --topic "warmup-$run_id" --partitions 6 --replication-factor 1
        local s=$SETTLE; SETTLE=0
        produce warmup "warmup-$run_id" "$WARMUP" acks=1 linger.ms=5 batch.size=65536
        # The fetch path is compiled by C2 only after a few passes: one consume left Fjord's C2
        # thread at ~40% of the broker's CPU in the measured consume that followed.
        local w
        for ((w = 0; w < WARMUP_CONSUMES; w++)); do
            consume warmup-consume "warmup-$run_id" "$WARMUP"
        done
        SETTLE=$s
        admin --delete --topic "warmup-$run_id"
    fi
    for p in 1 6; do
        local tD="p$p-default-$run_id" t1="p$p-acks1-$run_id" tA="p$p-acksall-$run_id" tE="p$p-e2e-$run_id"
        for t in "$tD" "$t1" "$tA" "$tE"; do admin --create --topic "$t" --partitions "$p" --replication-factor 1; done
        produce "produce-p$p-defaults" "$tD" "$N"
        admin --delete --topic "$tD"
        produce "produce-p$p-acks1-l5-b64k" "$t1" "$N" acks=1 linger.ms=5 batch.size=65536
        consume "consume-p$p" "$t1" "$N"
        admin --delete --topic "$t1"
        produce "produce-p$p-acksall-l5-b64k" "$tA" "$N" acks=all linger.ms=5 batch.size=65536
        admin --delete --topic "$tA"
        e2e "e2e-p$p-acks1" "$tE"
        admin --delete --topic "$tE"
    done
    local hwm rss
    hwm=$(status_kib VmHWM); rss=$(status_kib VmRSS)
    record broker vmhwm_mib "$(awk -v k="$hwm" 'BEGIN {printf "%.0f", k / 1024}')"
    record broker vmrss_mib "$(awk -v k="$rss" 'BEGIN {printf "%.0f", k / 1024}')"
    record broker cpu_s_total "$(awk -v t="$(broker_ticks)" -v hz="$HZ" 'BEGIN {printf "%.1f", t / hz}')"
    log "$BROKER after round $ROUND: VmHWM $hwm KiB, VmRSS $rss KiB"
    stop_broker
    rm -rf "${TMP:?}/$BROKER"
}

# Wait for a quiet machine, bounded.
LOAD_BEFORE_WAIT=$(load1)
wait_for_load "$LOAD_MAX" "$LOAD_WAIT_S"; waited=$LOAD_WAITED_S
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
START_UTC="$(date -u +'%Y-%m-%d %H:%M')"
START_S=$(date +%s)
log "load average at start: $LOAD_START (was $LOAD_BEFORE_WAIT, waited ${waited}s); results in $RUN_DIR"

for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
    if [[ -n "$ONLY" ]]; then
        order=("$ONLY")
    elif (( ROUND % 2 == 1 )); then
        order=(kafka fjord)
    else
        order=(fjord kafka)
    fi
    SLOT=0
    for b in "${order[@]}"; do
        SLOT=$((SLOT + 1))
        wait_for_quiet "$QUIET_WAIT_S"
        (( QUIET_WAITED_S < 3 )) || log "waited ${QUIET_WAITED_S}s for a quiet machine before $b"
        BROKER=$b; record machine load1_at_start "$(load1)"
        bench_broker "$b"
    done
done
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"
END_UTC="$(date -u +'%H:%M')"
ELAPSED_S=$(( $(date +%s) - START_S ))

# ---- report ----
REPORT=("$JAVA" -Djava.awt.headless=true -cp "$bench_jar")
"${REPORT[@]}" io.fjord.bench.CompareReport "$TSV" >"$RUN_DIR/table.md"
"${REPORT[@]}" io.fjord.bench.Charts "$TSV" "$RUN_DIR" >&2 || log "charts failed (the table is still in $RUN_DIR/table.md)"

cpu_model="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
mem_gib="$(awk '/^MemTotal:/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)"
jdk="$("$JAVA" -version 2>&1 | head -1)"
commit="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty="$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null | head -1)"
{
    echo "- **Date**: $START_UTC–$END_UTC UTC ($((ELAPSED_S / 60)) min $((ELAPSED_S % 60)) s)"
    echo "- **Command** (repository root, commit \`$commit\`${dirty:+ plus uncommitted changes}): \`$COMMAND\`"
    echo "  ($ROUNDS round(s)${ONLY:+, $ONLY only}; N=$N records per produce/consume test, E2E_N=$E2E_N, WARMUP=$WARMUP x $WARMUP_CONSUMES consumes, SETTLE=$SETTLE s)"
    echo "- **Machine**: $(nproc) cores (\`nproc\`), $cpu_model, $mem_gib GiB memory, Linux $(uname -r), $jdk"
    echo "- **Load** (1/5/15 min): $LOAD_START at start (first seen $LOAD_BEFORE_WAIT, waited ${waited} s), $LOAD_END at the end"
    echo
    cat "$RUN_DIR/table.md"
} >"$RUN_DIR/summary.md"
cat "$RUN_DIR/summary.md"
echo
echo "Results: $TSV; charts: $RUN_DIR/throughput.png, $RUN_DIR/latency.png"

if [[ "$APPEND" == 1 ]]; then
    mkdir -p "$REPO/docs/img"
    [[ -f "$RUN_DIR/throughput.png" ]] && cp "$RUN_DIR/throughput.png" "$REPO/docs/img/compare-throughput.png"
    [[ -f "$RUN_DIR/latency.png" ]] && cp "$RUN_DIR/latency.png" "$REPO/docs/img/compare-latency.png"
    {
        echo
        echo "### compare.sh, $START_UTC UTC$( ((QUICK)) && echo " (--quick)")"
        echo
        cat "$RUN_DIR/summary.md"
    } >>"$REPO/docs/benchmarks.md"
    echo "Appended to docs/benchmarks.md; charts copied to docs/img/compare-{throughput,latency}.png"
fi
