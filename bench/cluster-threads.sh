#!/usr/bin/env bash
# Where a 3-node cluster's CPU goes while it takes one produce workload: per-thread CPU-seconds of
# every node, from `jcmd PID Thread.print` before and after the run, summed by thread name (digits
# folded to '#', so the 12 gRPC threads of a node are one line; Ratis' group ids folded too), and
# the context switches (voluntary and not, /proc/PID/task/TID/status) over the run, by thread name
# the same way: on this VM every thread hand-off costs CPU, so they count as much as the seconds.
#
#   bench/cluster-threads.sh [fjord|kafka] [producer-props...]
#
# Starts the cluster with bench/cluster.sh (same ports, heaps and FJORD_JVM_OPTS as
# bench/cluster-compare.sh), creates a 6-partition topic with replication factor 3, produces WARMUP
# records of 1 KiB (acks=all, linger.ms=5, batch.size=65536) to warm the JVMs, then N records with
# the given producer properties (default: the client's defaults), and prints the throughput line
# of Kafka's ProducerPerformance and the table; with MEASURE=e2e the measured run is instead Kafka's
# EndToEndLatency with N messages of 1 KiB, one at a time, to a 1-partition topic (acks=all), and
# with MEASURE=idle the cluster is left alone for N seconds (what a quiet cluster costs).
# Env: N (1000000), WARMUP (500000), PRE_N and PRE_PROPS (an unmeasured run of PRE_N records with
# those producer properties, default the client's defaults, after the warm-up), PREWARM_MIB (just
# before the measured run, write and delete that many MiB, see prewarm_pages in bench/lib.sh). Only the PIDs
# this script started are signalled; everything is stopped and deleted on exit. PERF_OUT=FILE also
# records `perf record -a -g` (PERF_HZ, 499) over the measured run into FILE, and has each node
# write its JIT symbol map, for `perf report`; give the nodes FJORD_JVM_OPTS=-XX:+PreserveFramePointer.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIDE="${1:-fjord}"
shift || true
case "$SIDE" in fjord|kafka) ;; *) echo "first argument: fjord or kafka" >&2; exit 2 ;; esac
N="${N:-1000000}"
WARMUP="${WARMUP:-500000}"

. "$REPO/bench/lib.sh"
JAVA_HOME="$(pick_java_home)"
export JAVA_HOME
JAVA="$JAVA_HOME/bin/java"
KAFKA_LIB="${KAFKA_LIB:-$("$REPO/bench/fetch-kafka.sh")}"
[[ "$SIDE" == kafka ]] || "$REPO/bin/fjord" --help >/dev/null
CLIENT=("$JAVA" -Xmx512M -XX:+UseG1GC -Djava.awt.headless=true -Dlog4j2.level=WARN -cp "$KAFKA_LIB/*")
TOOLS=org.apache.kafka.tools

TMP="$(mktemp -d "${COMPARE_TMP:-/tmp}/fjord-cluster-threads.XXXXXX")"
RESULTS="$TMP/logs"
mkdir -p "$RESULTS"
BROKER="$SIDE"
. "$REPO/bench/cluster.sh"
PERF_PID=""
cleanup() {
    [[ -z "$PERF_PID" ]] || kill -INT "$PERF_PID" 2>/dev/null || true
    stop_cluster; rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# One snapshot of every node, SUFFIX naming it: a single JVM thread dump per node, read twice.
#   $TMP/SUFFIX      node<TAB>thread-name<TAB>CPU-ms, from the dump's cpu= (full thread names;
#                    /proc's are cut to 15 characters)
#   $TMP/ctx-SUFFIX  thread-name<TAB>context switches so far (voluntary and not, from /proc), the
#                    name matched through the dump's native thread id (nid), else /proc's
# Threads that ended between two snapshots are not counted; threads that started between them
# count whole.
snapshot() {
    local i p t
    : >"$TMP/$1"
    : >"$TMP/ctx-$1"
    for i in "${!NODE_PIDS[@]}"; do
        p="${NODE_PIDS[$i]}"
        "$JAVA_HOME/bin/jcmd" "$p" Thread.print >"$TMP/dump" 2>/dev/null || true
        sed -nE 's/^"(.*)" .*cpu=([0-9.]+)ms.*/\1\t\2/p' "$TMP/dump" |
            awk -F'\t' -v n=$((i + 1)) '{print n "\t" $1 "\t" $2}' >>"$TMP/$1"
        sed -nE 's/^"(.*)" .* nid=([0-9]+) .*/\2\t\1/p' "$TMP/dump" >"$TMP/names"
        for t in /proc/"$p"/task/*; do
            printf '%s\t%s\t%s\n' "${t##*/}" "$(cat "$t/comm" 2>/dev/null || true)" \
                "$(awk '/ctxt_switches/ {s += $2} END {print s + 0}' "$t/status" 2>/dev/null)"
        done | awk -F'\t' 'NR == FNR { name[$1] = $2; next } { print ($1 in name ? name[$1] : $2) "\t" $3 }' \
            "$TMP/names" - >>"$TMP/ctx-$1"
    done
}

"start_${SIDE}_cluster"
log "$SIDE pids ${NODE_PIDS[*]} on $CLUSTER_BS"
"${CLIENT[@]}" $TOOLS.TopicCommand --bootstrap-server "$CLUSTER_BS" --create --topic threads \
    --partitions 6 --replication-factor 3 >/dev/null
produce() {
    "${CLIENT[@]}" $TOOLS.ProducerPerformance --topic threads --num-records "$1" --record-size 1024 \
        --throughput -1 --producer-props bootstrap.servers="$CLUSTER_BS" "${@:2}" 2>&1 | tail -1
}
log "warm-up: $(produce "$WARMUP" acks=all linger.ms=5 batch.size=65536)"
# An unmeasured run between the warm-up and the measured one, as cluster-compare.sh's earlier tests.
[[ -z "${PRE_N:-}" ]] || log "pre-run: $(produce "$PRE_N" ${PRE_PROPS:-})"
sync
[[ -z "${PREWARM_MIB:-}" ]] || log "prewarmed ${PREWARM_MIB} MiB of free pages at $(prewarm_pages "$PREWARM_MIB") s/GiB"
snapshot before
if [[ -n "${PERF_OUT:-}" ]]; then
    perf record -a -g -F "${PERF_HZ:-499}" -o "$PERF_OUT" >/dev/null 2>&1 &
    PERF_PID=$!
fi
if [[ "${MEASURE:-produce}" == idle ]]; then
    sleep "$N"
    log "measured: $N s idle"
elif [[ "${MEASURE:-produce}" == e2e ]]; then
    "${CLIENT[@]}" $TOOLS.TopicCommand --bootstrap-server "$CLUSTER_BS" --create --topic e2e \
        --partitions 1 --replication-factor 3 >/dev/null
    log "measured: $("${CLIENT[@]}" $TOOLS.EndToEndLatency "$CLUSTER_BS" e2e "$N" all 1024 2>&1 | grep -E 'Avg|Percentiles' | tr '\n' ' ')"
else
    log "measured: $(produce "$N" "$@")"
fi
snapshot after
if [[ -n "${PERF_PID:-}" ]]; then
    kill -INT "$PERF_PID"; wait "$PERF_PID" || true
    PERF_PID=""
    # Java frames: each node writes /tmp/perf-PID.map (run the nodes with -XX:+PreserveFramePointer).
    for p in "${NODE_PIDS[@]}"; do "$JAVA_HOME/bin/jcmd" "$p" Compiler.perfmap >/dev/null 2>&1 || true; done
    log "perf samples in $PERF_OUT (perf report -i $PERF_OUT --pid PID)"
fi
awk -F'\t' -v hz=1000 '
    NR == FNR { before[$1 "\t" $2] += $3; next }
    { after[$1 "\t" $2] += $3 }
    END {
        for (k in after) {
            split(k, a, "\t"); name = a[2]; gsub(/group-[0-9A-F]+/, "group", name); gsub(/[0-9]+/, "#", name)
            d = (after[k] - before[k]) / hz; total += d; byname[name] += d; bynode[a[1]] += d
        }
        printf "all nodes: %.2f CPU-s (", total
        for (n in bynode) printf " node %s %.2f", n, bynode[n]
        print " )"
        for (n in byname) if (byname[n] >= 0.05) printf "%8.2f  %5.1f%%  %s\n", byname[n], 100 * byname[n] / total, n
    }' "$TMP/before" "$TMP/after" | { read -r first; echo "$first"; sort -rn; }
awk -F'\t' '
    NR == FNR { before[$1] += $2; next }
    { after[$1] += $2 }
    END {
        for (k in after) {
            d = after[k] - before[k]; total += d
            name = k; gsub(/group-[0-9A-F]+/, "group", name); gsub(/[0-9]+/, "#", name); byname[name] += d
        }
        printf "context switches, all nodes: %d\n", total
        for (n in byname) if (byname[n] >= total / 200) printf "%10d  %5.1f%%  %s\n", byname[n], 100 * byname[n] / total, n
    }' "$TMP/ctx-before" "$TMP/ctx-after" | { read -r first; echo "$first"; sort -rn; }
