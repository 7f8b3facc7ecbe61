#!/usr/bin/env bash
# Consumer-group rebalance time, Fjord against Apache Kafka 4.1.1 in one run, same client settings.
#
#   bench/rebalance.sh [ROUNDS]      (default 5)
#
# For each broker (fresh data directory, group.initial.rebalance.delay.ms as set below for both):
# io.fjord.bench.RebalanceTime with 3 and with 10 members on a topic of 2 x members partitions,
# ROUNDS rounds each on fresh groups: "join" = first subscribe until the members own every partition,
# "leave" = one member closes (LeaveGroup) until the rest own every partition again. Prints a
# markdown table of the medians and the ratio Fjord/Kafka. Kafka on $KAFKA_PORT (29092, controller
# 29093), Fjord on $FJORD_PORT (29192). Only the PIDs this script started are signalled.
# Env: DELAY_MS (group.initial.rebalance.delay.ms for both brokers; default 3000, both defaults),
#      KAFKA_LIB (Kafka 4.1.1 jars; default: what bench/fetch-kafka.sh prints, fetched from Maven
#      Central when missing).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${1:-5}"
DELAY_MS="${DELAY_MS:-3000}"
KAFKA_PORT="${KAFKA_PORT:-29092}"; KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-29093}"
FJORD_PORT="${FJORD_PORT:-29192}"
RESULTS="${RESULTS:-$REPO/bench/out/rebalance-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$RESULTS"

. "$REPO/bench/lib.sh"
JAVA_HOME="$(pick_java_home)"
export JAVA_HOME
JAVA="$JAVA_HOME/bin/java"
KAFKA_LIB="${KAFKA_LIB:-$("$REPO/bench/fetch-kafka.sh")}"
(cd "$REPO" && ./mvnw -B -q -pl fjord-bench -am compile -DskipTests -Dspotless.check.skip=true) >&2
CLIENT=("$JAVA" -Xmx512M -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dlog4j2.level=WARN
    -cp "$KAFKA_LIB/*:$REPO/fjord-bench/target/classes")

TMP="$(mktemp -d "${TMPDIR:-/tmp}/fjord-rebalance.XXXXXX")"
. "$REPO/bench/brokers.sh"
cleanup() { stop_broker; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

KAFKA_EXTRA_PROPS="group.initial.rebalance.delay.ms=$DELAY_MS"
FJORD_CONFIG="$TMP/fjord.properties"
echo "group.initial.rebalance.delay.ms=$DELAY_MS" >"$FJORD_CONFIG"
declare -A R

measure() { # BROKER
    BROKER=$1
    for members in 3 10; do
        local out
        out=$(timeout 600 "${CLIENT[@]}" io.fjord.bench.RebalanceTime "$BS" "$members" "$ROUNDS" 2>>"$RESULTS/$BROKER-client.log" \
            | tee -a "$RESULTS/$BROKER-rebalance.log" | tail -1)
        R[$BROKER:$members:join]=$(echo "$out" | sed -E 's/.*join_ms=([0-9]+).*/\1/')
        R[$BROKER:$members:leave]=$(echo "$out" | sed -E 's/.*leave_ms=([0-9]+).*/\1/')
        log "$BROKER $members members: $out"
    done
}

LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
BROKER=kafka; log "starting Kafka 4.1.1 on $KAFKA_PORT"; start_kafka; measure kafka; stop_broker
rm -rf "$TMP/kafka"
BROKER=fjord; log "starting Fjord on $FJORD_PORT"; start_fjord; measure fjord; stop_broker
LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)

ratio() { awk -v f="$2" -v k="$1" 'BEGIN {if (k + 0 > 0) printf "%.2f", f / k; else print "-"}'; }
echo
echo "rebalance time, median of $ROUNDS rounds, ms (group.initial.rebalance.delay.ms=$DELAY_MS on both; load $LOAD_BEFORE -> $LOAD_AFTER)"
echo
echo "| group | Kafka join | Fjord join | Fjord/Kafka | Kafka leave | Fjord leave | Fjord/Kafka |"
echo "|---|---|---|---|---|---|---|"
for m in 3 10; do
    echo "| $m members | ${R[kafka:$m:join]} | ${R[fjord:$m:join]} | $(ratio "${R[kafka:$m:join]}" "${R[fjord:$m:join]}") | ${R[kafka:$m:leave]} | ${R[fjord:$m:leave]} | $(ratio "${R[kafka:$m:leave]}" "${R[fjord:$m:leave]}") |"
done
