#!/usr/bin/env bash
# Fjord against Apache Kafka 4.1.1, one after the other in the same run, with the same clients.
#
#   bench/compare.sh [--quick] [--only kafka|fjord]
#
# For each broker: start it on 127.0.0.1 with a fresh data directory, warm it up, run the workload
# set, record its RSS, stop it, delete its data. Then print a markdown table: both figures and the
# ratio Fjord/Kafka. Kafka listens on $KAFKA_PORT (19092, controller 19093), Fjord on $FJORD_PORT
# (19192); both must be free.
#
# Workload (records of RECORD_BYTES=1024, no key; one topic per test, replication factor 1):
#   produce  ProducerPerformance, N records, 1 and 6 partitions: client defaults (acks=all,
#            idempotent), acks=1 linger.ms=5 batch.size=65536, acks=all linger.ms=5 batch.size=65536
#   consume  io.fjord.bench.ConsumerThroughput (assign(), no group: Fjord has no group coordinator
#            and Kafka's ConsumerPerformance always joins one) over the acks=1 topic, N records
#   e2e      io.fjord.bench.EndToEndLatencyProbe (assign(), as Kafka's EndToEndLatency: linger 0,
#            fetch.max.wait.ms=0, one message in flight), E2E_N messages, acks=1
# Per test: the broker's CPU-seconds (utime+stime of /proc/PID/stat before/after) and, at the end of
# the run, the broker's VmHWM and VmRSS (/proc/PID/status).
#
# Before starting, waits (at most LOAD_WAIT_S=600 s) for the 1-minute load average to fall below
# LOAD_MAX=1.5, then goes on either way; the load before and after is printed with the table.
#
# Env: N (records per produce test; 2000000, --quick 200000), E2E_N (10000; --quick 2000),
#      WARMUP (records produced+consumed on a throwaway topic first; 2000000, --quick 200000),
#      SETTLE (seconds of idle after `sync` before each measured test; 8, --quick 1),
#      KAFKA_LIB (Kafka 4.1.1 jars; default /tmp/kafka-peer/lib, fetched with
#      ../shared/kafka-peer/fetch.sh when empty), COMPARE_TMP (parent of the temporary data
#      directories; default /tmp, must be on the disk), RESULTS (raw logs; default
#      bench/out/compare-<timestamp>), FJORD_JVM_OPTS (passed to bin/fjord), KAFKA_HEAP_OPTS
#      (default -Xms1G -Xmx1G, as kafka-server-start.sh).
# Only the PIDs this script started are ever signalled.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUICK=0
ONLY=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --only) ONLY="$2"; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
if (( QUICK )); then
    N="${N:-200000}"; E2E_N="${E2E_N:-2000}"; WARMUP="${WARMUP:-200000}"; SETTLE="${SETTLE:-1}"
else
    N="${N:-2000000}"; E2E_N="${E2E_N:-10000}"; WARMUP="${WARMUP:-2000000}"; SETTLE="${SETTLE:-8}"
fi
RECORD_BYTES=1024
KAFKA_PORT="${KAFKA_PORT:-19092}"; KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
FJORD_PORT="${FJORD_PORT:-19192}"
LOAD_MAX="${LOAD_MAX:-1.5}"; LOAD_WAIT_S="${LOAD_WAIT_S:-600}"
# Each test JVM is killed after this long (bounded run even against a stuck broker).
PRODUCE_TIMEOUT_S=300; CONSUME_TIMEOUT_S=180; E2E_TIMEOUT_S=240; ADMIN_TIMEOUT_S=60
KAFKA_LIB="${KAFKA_LIB:-/tmp/kafka-peer/lib}"
RESULTS="${RESULTS:-$REPO/bench/out/compare-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$RESULTS"

. "$REPO/bench/lib.sh"
JAVA_HOME="$(pick_java_home)"
export JAVA_HOME
JAVA="$JAVA_HOME/bin/java"
if ! ls "$KAFKA_LIB"/kafka_2.13-4.1.1.jar >/dev/null 2>&1; then
    "$REPO/../shared/kafka-peer/fetch.sh" "$KAFKA_LIB" >&2
fi
# The two bench tools, compiled against kafka-clients 4.1.1 and run with Kafka's own client jars.
if [[ ! -f "$REPO/fjord-bench/target/classes/io/fjord/bench/ConsumerThroughput.class" || -n "$(find \
        "$REPO/fjord-bench/src/main" -newer "$REPO/fjord-bench/target/classes/io/fjord/bench/ConsumerThroughput.class" \
        -print -quit)" ]]; then
    (cd "$REPO" && ./mvnw -B -q -pl fjord-bench -am compile -DskipTests -Dspotless.check.skip=true) >&2
fi
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
declare -A R   # R[broker:test:metric] = value

# run NAME TIMEOUT_S cmd...: one measured test; sets CPU_S (broker CPU-seconds) and OUT (its log).
run() {
    local name=$1 limit=$2; shift 2
    OUT="$RESULTS/$BROKER-$name.log"
    echo "+ $*" >>"$RESULTS/commands.txt"
    sync; sleep "$SETTLE"
    local t0 t1 rc=0
    t0=$(broker_ticks)
    timeout "$limit" "$@" >"$OUT" 2>&1 || rc=$?
    t1=$(broker_ticks)
    CPU_S=$(awk -v d=$((t1 - t0)) -v hz="$HZ" 'BEGIN {printf "%.2f", d / hz}')
    if (( rc != 0 )); then log "$BROKER $name failed (exit $rc), see $OUT"; tail -3 "$OUT" >&2; fi
    return 0
}
admin() { # quiet topic command, not measured
    echo "+ $*" >>"$RESULTS/commands.txt"
    timeout "$ADMIN_TIMEOUT_S" "${CLIENT[@]}" $TOOLS.TopicCommand --bootstrap-server "$BS" "$@" \
        >>"$RESULTS/$BROKER-admin.log" 2>&1 || log "$BROKER topic command failed: $*"
}
per_gib() { awk -v c="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", c / (b / 1073741824); else print "-"}'; }

produce() { # NAME TOPIC RECORDS producer-props...
    local name=$1 topic=$2 n=$3; shift 3
    run "$name" "$PRODUCE_TIMEOUT_S" "${CLIENT[@]}" $TOOLS.ProducerPerformance --topic "$topic" --num-records "$n" \
        --record-size "$RECORD_BYTES" --throughput -1 --producer-props bootstrap.servers="$BS" "$@"
    local line
    line=$(grep -E 'records sent,.*99.9th' "$OUT" | tail -1 || true)
    [[ -n "$line" ]] || return 0
    # "N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency, p50 ms 50th, ..., p99 ms 99th, ..."
    read -r rec mbs avg p99 < <(echo "$line" | sed -E 's/[(),]//g' | awk '{print $1, $6, $8, $22}')
    R[$BROKER:$name:mbs]=$mbs; R[$BROKER:$name:p99]=$p99; R[$BROKER:$name:avg]=$avg
    R[$BROKER:$name:cpu]=$CPU_S; R[$BROKER:$name:cpugib]=$(per_gib "$CPU_S" $((rec * RECORD_BYTES)))
    log "$BROKER $name: $mbs MiB/s, avg $avg ms, p99 $p99 ms, broker $CPU_S CPU-s"
}
consume() { # NAME TOPIC RECORDS
    local name=$1 topic=$2 n=$3
    run "$name" "$CONSUME_TIMEOUT_S" "${CLIENT[@]}" io.fjord.bench.ConsumerThroughput "$BS" "$topic" "$n" \
        $((CONSUME_TIMEOUT_S * 1000 - 30000))
    local line
    line=$(grep -E '^records=' "$OUT" | tail -1 || true)
    [[ -n "$line" ]] || return 0
    local bytes mbs
    bytes=$(echo "$line" | sed -E 's/.*bytes=([0-9]+).*/\1/')
    mbs=$(echo "$line" | sed -E 's/.*MiB_per_s=([0-9.]+).*/\1/')
    R[$BROKER:$name:mbs]=$mbs; R[$BROKER:$name:cpu]=$CPU_S; R[$BROKER:$name:cpugib]=$(per_gib "$CPU_S" "$bytes")
    log "$BROKER $name: $mbs MiB/s, broker $CPU_S CPU-s"
}
e2e() { # NAME TOPIC
    local name=$1 topic=$2
    run "$name" "$E2E_TIMEOUT_S" "${CLIENT[@]}" io.fjord.bench.EndToEndLatencyProbe "$BS" "$topic" "$E2E_N" 1 \
        "$RECORD_BYTES" $((E2E_TIMEOUT_S * 1000 - 30000))
    local line
    line=$(grep -E '^messages=' "$OUT" | tail -1 || true)
    [[ -n "$line" ]] || return 0
    R[$BROKER:$name:avg]=$(echo "$line" | sed -E 's/.*avg_ms=([0-9.]+).*/\1/')
    R[$BROKER:$name:p99]=$(echo "$line" | sed -E 's/.*p99_ms=([0-9.]+).*/\1/')
    R[$BROKER:$name:cpu]=$CPU_S
    log "$BROKER $name: avg ${R[$BROKER:$name:avg]} ms, p99 ${R[$BROKER:$name:p99]} ms, broker $CPU_S CPU-s"
}

bench_broker() {
    BROKER=$1
    log "starting $BROKER"
    "start_$BROKER"
    log "$BROKER pid $BROKER_PID on $BS"
    local run_id p
    run_id=$(date +%s)
    if (( WARMUP > 0 )); then
        # A fresh JVM needs a few million records before its cost per record settles.
        admin --create --topic "warmup-$run_id" --partitions 6 --replication-factor 1
        local s=$SETTLE; SETTLE=0
        produce warmup "warmup-$run_id" "$WARMUP" acks=1 linger.ms=5 batch.size=65536
        consume warmup-consume "warmup-$run_id" "$WARMUP"
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
    R[$BROKER:rss:hwm]=$(status_kib VmHWM); R[$BROKER:rss:rss]=$(status_kib VmRSS)
    R[$BROKER:cpu:total]=$(awk -v t="$(broker_ticks)" -v hz="$HZ" 'BEGIN {printf "%.1f", t / hz}')
    log "$BROKER after the run: VmHWM ${R[$BROKER:rss:hwm]} KiB, VmRSS ${R[$BROKER:rss:rss]} KiB"
    stop_broker
    rm -rf "${TMP:?}/$BROKER"
}

# Wait for a quiet machine, bounded.
LOAD_BEFORE_WAIT=$(load1)
waited=0
while awk -v l="$(load1)" -v m="$LOAD_MAX" 'BEGIN {exit !(l >= m)}' && (( waited < LOAD_WAIT_S )); do
    (( waited % 60 == 0 )) && log "load average $(load1) >= $LOAD_MAX, waiting (${waited}s of ${LOAD_WAIT_S}s)"
    sleep 10; waited=$((waited + 10))
done
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
START_UTC="$(date -u +'%Y-%m-%d %H:%M')"
log "load average at start: $LOAD_START (was $LOAD_BEFORE_WAIT, waited ${waited}s); results in $RESULTS"

BROKERS=(kafka fjord)
[[ -n "$ONLY" ]] && BROKERS=("$ONLY")
for b in "${BROKERS[@]}"; do bench_broker "$b"; done
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- report ----
val() { echo "${R[$1]:--}"; }
ratio() { awk -v f="$2" -v k="$1" 'BEGIN {if (k + 0 > 0 && f != "-" && k != "-") printf "%.2f", f / k; else print "-"}'; }
mib() { awk -v k="$1" 'BEGIN {if (k == "-" || k == "") print "-"; else printf "%.0f", k / 1024}'; }
{
    echo "Run $START_UTC UTC; $(nproc) cores; $("$JAVA" -version 2>&1 | head -1); N=$N E2E_N=$E2E_N WARMUP=$WARMUP SETTLE=$SETTLE"
    echo "Load average (1/5/15 min): before $LOAD_START (first seen $LOAD_BEFORE_WAIT, waited ${waited}s), after $LOAD_END"
    echo
    echo "| test | metric | Kafka 4.1.1 | Fjord | Fjord/Kafka |"
    echo "|---|---|---:|---:|---:|"
    for t in produce-p1-defaults produce-p6-defaults produce-p1-acks1-l5-b64k produce-p6-acks1-l5-b64k \
            produce-p1-acksall-l5-b64k produce-p6-acksall-l5-b64k consume-p1 consume-p6 e2e-p1-acks1 e2e-p6-acks1; do
        case "$t" in
            produce-*) metrics="mbs p99 cpugib" ;;
            consume-*) metrics="mbs cpugib" ;;
            e2e-*) metrics="avg p99 cpu" ;;
        esac
        for m in $metrics; do
            case "$m" in
                mbs) label="MiB/s" ;; p99) label="p99 ms" ;; avg) label="avg ms" ;;
                cpugib) label="broker CPU-s/GiB" ;; cpu) label="broker CPU-s" ;;
            esac
            k=$(val "kafka:$t:$m"); f=$(val "fjord:$t:$m")
            echo "| $t | $label | $k | $f | $(ratio "$k" "$f") |"
        done
    done
    for m in hwm rss; do
        k=$(mib "$(val "kafka:rss:$m")"); f=$(mib "$(val "fjord:rss:$m")")
        echo "| after the run | $([[ $m == hwm ]] && echo "VmHWM MiB" || echo "VmRSS MiB") | $k | $f | $(ratio "$k" "$f") |"
    done
    k=$(val kafka:cpu:total); f=$(val fjord:cpu:total)
    echo "| whole run incl. start-up and warm-up | broker CPU-s | $k | $f | $(ratio "$k" "$f") |"
    echo
    echo "Ratios: throughput > 1 and every other figure < 1 favour Fjord. Raw output: $RESULTS"
} | tee "$RESULTS/table.md"
