#!/usr/bin/env bash
# Time from a broker's process start to its first acknowledged produce, Fjord against Apache
# Kafka 4.1.1 (issue #6: "time from process start to first acknowledged produce").
#
#   bench/first-ack.sh [--runs N]
#
# For each run and each broker: start it on an empty data directory ("fresh": the topic is
# created by the first produce, as auto.create.topics.enable allows on both), stop it, start it
# again on the same directory ("restart"). io.fjord.bench.FirstAckProbe launches the broker
# process itself, after its own JVM and Kafka producer are up, and reports when the listener
# first accepted a connection and when one record (acks=all) was acknowledged. Kafka's storage
# format step (kafka-storage.sh format) runs before and is not timed. Fjord starts with
# bin/fjord, the command users run. Ports: Kafka 19092 (controller 19093), Fjord 19192 (and its
# Raft port 20192), unless FIRST_ACK_PORTS says otherwise.
# Prints a markdown table (median over runs, min-max) of milliseconds.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS=3
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) RUNS="$2"; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "--runs takes a positive number" >&2; exit 2; }
# FIRST_ACK_PORTS="KAFKA CONTROLLER FJORD" moves the ports (bench/compare.sh uses the default ones
# too); Fjord's Raft port is its Kafka port + 1000. A port already taken stops the run: the probe
# would time whoever holds it.
read -r KAFKA_PORT KAFKA_CONTROLLER_PORT FJORD_PORT <<<"${FIRST_ACK_PORTS:-19092 19093 19192}"

. "$REPO/bench/lib.sh"
JAVA_HOME="$(pick_java_home)"
export JAVA_HOME
JAVA="$JAVA_HOME/bin/java"
KAFKA_LIB="$("$REPO/bench/fetch-kafka.sh")"
ensure_bench_jar
"$REPO/bin/fjord" --help >/dev/null # builds fjord.jar now if needed, not while timed
TMP="$(mktemp -d /tmp/fjord-first-ack.XXXXXX)"
RESULTS="$TMP/logs"
mkdir -p "$RESULTS"
FAILED=0
trap 'if (( FAILED )); then echo "logs kept in $TMP" >&2; else rm -rf "$TMP"; fi' EXIT
. "$REPO/bench/brokers.sh"
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
PROBE=("$JAVA" -Xmx256m -Dorg.slf4j.simpleLogger.defaultLogLevel=warn
    -cp "$KAFKA_LIB/*:$REPO/fjord-bench/target/classes" io.fjord.bench.FirstAckProbe)

declare -A VALUES # "broker case figure" -> space-separated values
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
probe() { # BROKER CASE TOPIC -- COMMAND...
    local broker=$1 case=$2 topic=$3 bs p; shift 4
    for p in $([[ $broker == kafka ]] && echo "$KAFKA_PORT $KAFKA_CONTROLLER_PORT" || echo "$FJORD_PORT $((FJORD_PORT + 1000))"); do
        if port_taken "$p"; then
            log "port $p is in use by another process: stopping (set FIRST_ACK_PORTS to use others)"
            exit 1
        fi
    done
    bs="127.0.0.1:$([[ $broker == kafka ]] && echo $KAFKA_PORT || echo $FJORD_PORT)"
    local out log="$RESULTS/$broker-$case-$topic.log"
    if ! out="$("${PROBE[@]}" "$bs" "$topic" "$log" -- "$@")"; then
        log "$broker $case: no acknowledgement; the broker's log ends with:"
        tail -20 "$log" >&2
        FAILED=1
        return 0
    fi
    log "$broker $case: $(echo "$out" | tr '\n' ' ')"
    local k v
    while IFS='=' read -r k v; do
        VALUES["$broker $case $k"]+="$v "
    done <<<"$out"
}

for ((r = 1; r <= RUNS; r++)); do
    rm -rf "$TMP/kafka" "$TMP/fjord"
    kafka_prepare
    probe kafka fresh t$r -- "${KAFKA_JVM[@]}" kafka.Kafka "$KAFKA_PROPS"
    probe kafka restart t$r -- "${KAFKA_JVM[@]}" kafka.Kafka "$KAFKA_PROPS"
    mkdir -p "$TMP/fjord"
    probe fjord fresh t$r -- "$REPO/bin/fjord" server --port "$FJORD_PORT" --data-dir "$TMP/fjord/data"
    probe fjord restart t$r -- "$REPO/bin/fjord" server --port "$FJORD_PORT" --data-dir "$TMP/fjord/data"
done

stat() { # values -> "median (min–max)"
    tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -n | awk '{a[NR] = $1} END {
        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf "%d (%d–%d)", m, a[1], a[NR]}'
}
echo
echo "| case | figure | Kafka 4.1.1 ms | Fjord ms |"
echo "|---|---|---:|---:|"
for c in fresh restart; do
    for f in port_open_ms first_ack_ms; do
        echo "| $c | ${f%_ms} | $(stat "${VALUES["kafka $c $f"]:-}") | $(stat "${VALUES["fjord $c $f"]:-}") |"
    done
done
echo
echo "$RUNS run(s), median (min–max); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at the end."
