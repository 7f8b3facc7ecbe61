#!/usr/bin/env bash
# A 3-node Fjord cluster against a 3-node Apache Kafka 4.1.1 cluster on the same machine, with
# Kafka's own client tools, over alternating A/B rounds (issue #5's benchmark, issue #6's rows).
#
#   bench/cluster-compare.sh [--quick] [--rounds N] [--only kafka|fjord] [--append | --no-append]
#
# Round 1 runs Kafka then Fjord, round 2 Fjord then Kafka, and so on. Each side of each round
# starts its three nodes on 127.0.0.1 with fresh data directories (bench/cluster.sh: Kafka in
# KRaft combined broker+controller mode on 31092-31094, controllers 31192-31194; Fjord on
# 31292-31294, Raft 31392-31394), runs the workload, stops the nodes and deletes their data.
# Every figure of every round goes to bench/results/<timestamp>/results.tsv (round, broker, slot,
# test, metric, value); io.fjord.bench.ClusterCompareReport prints the table (median over rounds
# with min-max, ratio of the medians Fjord/Kafka) into table.md there.
#
# Workload (1 KiB record values, no key; every topic replication factor 3; Kafka's brokers have
# min.insync.replicas=2; Fjord acknowledges after Raft commit on a majority):
#   warm-up          ProducerPerformance, WARMUP records, 6 partitions, acks=all linger 5 b64k (not recorded)
#   produce-defaults ProducerPerformance, N records, 6 partitions, client defaults (acks=all, idempotent,
#                    linger.ms=5, batch.size=16384)
#   produce-l5-b64k  ProducerPerformance, N records, 6 partitions, acks=all linger.ms=5 batch.size=65536
#   e2e              Kafka's EndToEndLatency, E2E_N messages, 1 partition, acks=all (its percentiles
#                    are whole milliseconds, truncated)
#   failover         io.fjord.bench.FailoverProbe: idempotent acks=all producer, one record every
#                    5 ms to a 1-partition topic for 20 s; at 5 s it SIGKILLs the partition leader's
#                    process (by PID); time from the kill to the ack of the first record sent after
#                    it, and the longest gap between consecutive acks
# Per produce test the brokers' CPU-seconds (utime+stime summed over the 3 nodes' /proc/PID/stat)
# per GiB of record values (also without the JIT compiler threads' share, /proc/PID/task/*); before
# the failover test, the sum of the 3 nodes' VmHWM and CPU-s.
#
# Before each measured produce test (after SETTLE) writes and deletes PREWARM_MIB MiB in /dev/shm
# (default: 1.25 times the bytes the test writes, at most a third of MemAvailable), so that either
# broker's page cache lands in free pages the VM's host backs already; the table's "first touch of
# free pages" row is how many seconds per GiB that write took, the memory's state before the test
# (0.2 warm; up to 6 where the host had taken the pages back). See prewarm_pages in bench/lib.sh.
#
# Before starting, waits (at most LOAD_WAIT_S: 600 s, --quick 30 s) for the 1-minute load average
# to fall below LOAD_MAX=1.5, then goes on either way. Before each side of each round, waits (at
# most QUIET_WAIT_S, 90 s) for the CPUs to be 85% idle and the kernel's dirty pages to be written.
#
# Env: PREWARM_MIB (default as above; 0: none), ROUNDS (3, --quick 1; --rounds wins), N (1000000, --quick 100000), E2E_N (10000, --quick
#      1000), WARMUP (1000000, --quick 50000), SETTLE (seconds idle after `sync` before each
#      measured test; 5, --quick 1), FAILOVER_MS (20000, --quick 15000), FAILOVER_KILL_AT_MS (5000), KAFKA_LIB,
#      COMPARE_TMP (parent of the data directories; default /tmp), RESULTS, FJORD_JVM_OPTS,
#      KAFKA_CLUSTER_HEAP_OPTS (-Xms512m -Xmx768m per node), and the ports of bench/cluster.sh.
# Only the PIDs this script started are ever signalled; everything is stopped and deleted on exit.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENV_SET=""
for v in ROUNDS N E2E_N WARMUP SETTLE PREWARM_MIB FAILOVER_MS FAILOVER_KILL_AT_MS; do
    [[ -n "${!v:-}" ]] && ENV_SET+="$v=${!v} "
done
COMMAND="${ENV_SET}bench/cluster-compare.sh${*:+ $*}"
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
    N="${N:-100000}"; E2E_N="${E2E_N:-1000}"; WARMUP="${WARMUP:-50000}"; SETTLE="${SETTLE:-1}"
    ROUNDS="${ROUNDS_ARG:-${ROUNDS:-1}}"; APPEND="${APPEND:-0}"; FAILOVER_MS="${FAILOVER_MS:-15000}"
    LOAD_WAIT_S="${LOAD_WAIT_S:-30}"
else
    N="${N:-1000000}"; E2E_N="${E2E_N:-10000}"; WARMUP="${WARMUP:-1000000}"; SETTLE="${SETTLE:-5}"
    ROUNDS="${ROUNDS_ARG:-${ROUNDS:-3}}"; APPEND="${APPEND:-1}"; LOAD_WAIT_S="${LOAD_WAIT_S:-600}"
fi
LOAD_MAX="${LOAD_MAX:-1.5}"
QUIET_WAIT_S="${QUIET_WAIT_S:-90}"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "--rounds takes a positive number" >&2; exit 2; }
FAILOVER_MS="${FAILOVER_MS:-20000}"; FAILOVER_KILL_AT_MS="${FAILOVER_KILL_AT_MS:-5000}"
RECORD_BYTES=1024
PRODUCE_TIMEOUT_S=300; E2E_TIMEOUT_S=300; ADMIN_TIMEOUT_S=60; FAILOVER_TIMEOUT_S=$((FAILOVER_MS / 1000 + 150))
STAMP="$(date -u +%Y%m%d-%H%M%S)"
RUN_DIR="${RESULTS:-$REPO/bench/results/cluster-$STAMP}"
mkdir -p "$RUN_DIR"
TSV="$RUN_DIR/results.tsv"
printf 'round\tbroker\tslot\ttest\tmetric\tvalue\n' >"$TSV"

. "$REPO/bench/lib.sh"
PREWARM_MIB="${PREWARM_MIB:-$(prewarm_default_mib $((N * RECORD_BYTES * 3)))}"
JAVA_HOME="$(pick_java_home)"
export JAVA_HOME
JAVA="$JAVA_HOME/bin/java"
KAFKA_LIB="${KAFKA_LIB:-$("$REPO/bench/fetch-kafka.sh")}"
ensure_bench_jar
# bin/fjord builds fjord-cli/target/fjord.jar when a source is newer: do it now, not while timed.
[[ "$ONLY" == kafka ]] || "$REPO/bin/fjord" --help >/dev/null
CLIENT=("$JAVA" -Xmx512M -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -Djava.awt.headless=true -Dlog4j2.level=WARN -cp "$KAFKA_LIB/*:$REPO/fjord-bench/target/classes")
TOOLS=org.apache.kafka.tools
HZ="$(getconf CLK_TCK)"

TMP="$(mktemp -d "${COMPARE_TMP:-/tmp}/fjord-cluster-compare.XXXXXX")"
. "$REPO/bench/cluster.sh"
cleanup() { stop_cluster; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$ROUND" "$BROKER" "$SLOT" "$1" "$2" "$3" >>"$TSV"; }
ticks_to_s() { awk -v d="$1" -v hz="$HZ" 'BEGIN {printf "%.2f", d / hz}'; }
per_gib() { awk -v c="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.3f", c / (b / 1073741824); else print "-"}'; }
field() { echo "$1" | sed -nE "s/.*(^| )$2=([-0-9.a-z]+).*/\2/p"; }

# run NAME TIMEOUT_S cmd...: one measured test; sets CPU_S (the brokers' CPU-seconds), JIT_S (of that,
# the JIT compiler threads'), NOJIT_S (the rest) and OUT.
run() {
    local name=$1 limit=$2; shift 2
    OUT="$RESULTS/$name.log"
    echo "+ $*" >>"$RESULTS/commands.txt"
    sync; sleep "$SETTLE"
    TOUCH_S=""
    if (( ${RUN_PREWARM:-0} && PREWARM_MIB > 0 )); then TOUCH_S=$(prewarm_pages "$PREWARM_MIB"); fi
    local t0 t1 j0 j1 rc=0
    t0=$(cluster_ticks); j0=$(jit_thread_ticks "${NODE_PIDS[@]}")
    timeout "$limit" "$@" >"$OUT" 2>&1 || rc=$?
    t1=$(cluster_ticks); j1=$(jit_thread_ticks "${NODE_PIDS[@]}")
    JIT_S=$(jit_delta_s "$j0" "$j1")
    CPU_S=$(ticks_to_s $((t1 - t0)))
    NOJIT_S=$(awk -v c="$CPU_S" -v j="$JIT_S" 'BEGIN {printf "%.2f", c - j}')
    if (( rc != 0 )); then log "$BROKER $name failed (exit $rc), see $OUT"; tail -3 "$OUT" >&2; fi
    return 0
}
create_topic() { # TOPIC PARTITIONS: tries twice (a test must not run on an auto-created 1-partition topic)
    local attempt
    echo "+ create $1 ($2 partitions, RF 3)" >>"$RESULTS/commands.txt"
    for attempt in 1 2; do
        if timeout "$ADMIN_TIMEOUT_S" "${CLIENT[@]}" $TOOLS.TopicCommand --bootstrap-server "$CLUSTER_BS" --create \
            --if-not-exists --topic "$1" --partitions "$2" --replication-factor 3 >>"$RESULTS/admin.log" 2>&1; then
            return 0
        fi
        log "$BROKER: creating topic $1 failed or timed out after ${ADMIN_TIMEOUT_S} s (attempt $attempt; see admin.log)"
        CREATE_FAILS=$((CREATE_FAILS + 1))
    done
}
describe_topic() {
    timeout "$ADMIN_TIMEOUT_S" "${CLIENT[@]}" $TOOLS.TopicCommand --bootstrap-server "$CLUSTER_BS" --describe \
        --topic "$1" >>"$RESULTS/admin.log" 2>&1 || true
}

produce() { # NAME TOPIC RECORDS producer-props...
    local name=$1 topic=$2 n=$3; shift 3
    local prewarm=1; [[ "$name" != warmup ]] || prewarm=0
    RUN_PREWARM=$prewarm run "$name" "$PRODUCE_TIMEOUT_S" "${CLIENT[@]}" $TOOLS.ProducerPerformance --topic "$topic" --num-records "$n" \
        --record-size "$RECORD_BYTES" --throughput -1 --producer-props bootstrap.servers="$CLUSTER_BS" "$@"
    local line rec mbs avg p99
    line=$(grep -E 'records sent,.*99.9th' "$OUT" | tail -1 || true)
    [[ -n "$line" ]] || return 0
    read -r rec mbs avg p99 < <(echo "$line" | sed -E 's/[(),]//g' | awk '{print $1, $6, $8, $22}')
    [[ "$name" == warmup ]] && { log "$BROKER warm-up: $mbs MiB/s"; return 0; }
    record "$name" mbs "$mbs"; record "$name" p99_ms "$p99"; record "$name" avg_ms "$avg"
    record "$name" cpu_s "$CPU_S"; record "$name" cpu_s_per_gib "$(per_gib "$CPU_S" $((rec * RECORD_BYTES)))"
    record "$name" cpu_s_per_gib_nojit "$(per_gib "$NOJIT_S" $((rec * RECORD_BYTES)))"
    [[ -z "$TOUCH_S" ]] || record "$name" touch_s_per_gib "$TOUCH_S"
    log "$BROKER $name: $mbs MiB/s, avg $avg ms, p99 $p99 ms, brokers $CPU_S CPU-s"
}
e2e() { # NAME TOPIC
    local name=$1 topic=$2
    run "$name" "$E2E_TIMEOUT_S" "${CLIENT[@]}" $TOOLS.EndToEndLatency "$CLUSTER_BS" "$topic" "$E2E_N" all "$RECORD_BYTES"
    local avg p50 p99 p999
    avg=$(sed -nE 's/^Avg latency: ([0-9.]+) ms.*/\1/p' "$OUT" | tail -1)
    read -r p50 p99 p999 < <(sed -nE 's/^Percentiles: 50th = ([0-9]+), 99th = ([0-9]+), 99.9th = ([0-9]+).*/\1 \2 \3/p' "$OUT" | tail -1) || true
    [[ -n "${p99:-}" ]] || return 0
    record "$name" avg_ms "$avg"; record "$name" p50_ms "$p50"; record "$name" p99_ms "$p99"; record "$name" p999_ms "$p999"
    record "$name" cpu_s "$CPU_S"
    log "$BROKER $name: avg $avg ms, p50 $p50, p99 $p99, p99.9 $p999 ms, brokers $CPU_S CPU-s"
}
failover() { # NAME TOPIC
    local name=$1 topic=$2
    run "$name" "$FAILOVER_TIMEOUT_S" "${CLIENT[@]}" io.fjord.bench.FailoverProbe "$CLUSTER_BS" "$topic" "$PID_MAP" \
        "$FAILOVER_MS" "$FAILOVER_KILL_AT_MS" 5
    local line m
    line=$(grep -E '^killed_node=' "$OUT" | tail -1 || true)
    [[ -n "$line" ]] || return 0
    for m in killed_node resume_ms stall_ms max_ack_gap_ms max_latency_ms sent acked failed lost_or_dup; do
        record "$name" "$m" "$(field "$line" "$m")"
    done
    record "$name" killed_was_controller "$(field "$line" killed_was_controller)"
    log "$BROKER $name: $line"
}

bench_side() { # BROKER: one side of one round
    BROKER=$1
    RESULTS="$RUN_DIR/r$ROUND-$BROKER"
    mkdir -p "$RESULTS"
    log "round $ROUND/$ROUNDS: starting a 3-node $BROKER cluster"
    local t_start; t_start=$(date +%s.%N)
    "start_${BROKER}_cluster"
    record brokers start_s "$(awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')"
    log "$BROKER pids ${NODE_PIDS[*]} on $CLUSTER_BS"
    local id; id=$(date +%s)
    CREATE_FAILS=0
    if (( WARMUP > 0 )); then
        create_topic "warmup-$id" 6
        local s=$SETTLE; SETTLE=0
        produce warmup "warmup-$id" "$WARMUP" acks=all linger.ms=5 batch.size=65536
        SETTLE=$s
    fi
    create_topic "defaults-$id" 6
    produce produce-defaults "defaults-$id" "$N"
    create_topic "l5b64k-$id" 6
    produce produce-l5-b64k "l5b64k-$id" "$N" acks=all linger.ms=5 batch.size=65536
    create_topic "e2e-$id" 1
    e2e e2e "e2e-$id"
    create_topic "failover-$id" 1
    describe_topic "failover-$id"
    record brokers vmhwm_mib "$(awk -v k="$(cluster_hwm_kib)" 'BEGIN {printf "%.0f", k / 1024}')"
    record brokers cpu_s_total "$(ticks_to_s "$(cluster_ticks)")"
    failover failover "failover-$id"
    record admin create_topic_failures "$CREATE_FAILS"
    stop_cluster
    rm -rf "${TMP:?}"/"$BROKER"-*
}

LOAD_BEFORE_WAIT=$(load1)
wait_for_load "$LOAD_MAX" "$LOAD_WAIT_S"; waited=$LOAD_WAITED_S
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
START_UTC="$(date -u +'%Y-%m-%d %H:%M')"
START_S=$(date +%s)
log "load average at start: $LOAD_START (was $LOAD_BEFORE_WAIT, waited ${waited}s); results in $RUN_DIR"
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
    if [[ -n "$ONLY" ]]; then order=("$ONLY")
    elif (( ROUND % 2 == 1 )); then order=(kafka fjord)
    else order=(fjord kafka); fi
    SLOT=0
    for b in "${order[@]}"; do
        SLOT=$((SLOT + 1))
        wait_for_quiet "$QUIET_WAIT_S"
        (( QUIET_WAITED_S < 3 )) || log "waited ${QUIET_WAITED_S}s for a quiet machine before $b"
        BROKER=$b; record machine load1_at_start "$(load1)"
        bench_side "$b"
    done
done
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"
END_UTC="$(date -u +'%H:%M')"
ELAPSED_S=$(( $(date +%s) - START_S ))

"$JAVA" -cp "$bench_jar" io.fjord.bench.ClusterCompareReport "$TSV" >"$RUN_DIR/table.md"
# Failover detail per round: which node was killed and whether it was Kafka's active controller.
failover_rows() {
    awk -F'\t' '$4 == "failover" && ($5 == "killed_node" || $5 == "killed_was_controller" || $5 == "resume_ms" || $5 == "max_ack_gap_ms") {
            k = $1 "\t" $2; v[k, $5] = $6; if (!(k in seen)) { seen[k] = 1; order[++n] = k } }
        END { for (i = 1; i <= n; i++) { split(order[i], a, "\t");
            printf "round %s %s: killed node %s (active controller: %s), resume %s ms, longest ack gap %s ms\n",
                a[1], a[2], v[order[i], "killed_node"], v[order[i], "killed_was_controller"],
                v[order[i], "resume_ms"], v[order[i], "max_ack_gap_ms"] } }' "$TSV"
}

cpu_model="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
mem_gib="$(awk '/^MemTotal:/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)"
jdk="$("$JAVA" -version 2>&1 | head -1)"
commit="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty="$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null | head -1)"
{
    echo "- **Date**: $START_UTC–$END_UTC UTC ($((ELAPSED_S / 60)) min $((ELAPSED_S % 60)) s)"
    echo "- **Command** (repository root, commit \`$commit\`${dirty:+ plus uncommitted changes}): \`$COMMAND\`"
    echo "  ($ROUNDS round(s)${ONLY:+, $ONLY only}; N=$N records per produce test, E2E_N=$E2E_N, WARMUP=$WARMUP,"
    echo "  SETTLE=$SETTLE s, failover run ${FAILOVER_MS} ms with the kill at ${FAILOVER_KILL_AT_MS} ms)"
    echo "- **Machine**: $(nproc) cores (\`nproc\`), $cpu_model, $mem_gib GiB memory, Linux $(uname -r), $jdk;"
    echo "  all six JVMs of a side's cluster and its client share the machine"
    echo "- **Load** (1/5/15 min): $LOAD_START at start (first seen $LOAD_BEFORE_WAIT, waited ${waited} s), $LOAD_END at the end"
    echo
    cat "$RUN_DIR/table.md"
    echo
    echo "Failover, per round:"
    echo
    failover_rows | sed 's/^/- /'
} >"$RUN_DIR/summary.md"
cat "$RUN_DIR/summary.md"
echo
echo "Results: $TSV"

if [[ "$APPEND" == 1 ]]; then
    {
        echo
        echo "### cluster-compare.sh, $START_UTC UTC$( ((QUICK)) && echo " (--quick)")"
        echo
        cat "$RUN_DIR/summary.md"
    } >>"$REPO/docs/benchmarks.md"
    echo "Appended to docs/benchmarks.md"
fi
