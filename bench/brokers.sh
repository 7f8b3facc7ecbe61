# Sourced by bench scripts: start and stop Kafka 4.1.1 or Fjord on 127.0.0.1, one at a time.
# The caller sets REPO, JAVA, KAFKA_LIB, KAFKA_PORT, KAFKA_CONTROLLER_PORT, FJORD_PORT, TMP (a fresh
# temporary directory on the disk), RESULTS (where logs go) and BROKER (a name for messages), and
# defines log(). After start_*: BROKER_PID and BS (bootstrap address). Only BROKER_PID is ever
# signalled. KAFKA_EXTRA_PROPS / FJORD_CONFIG (a properties file) add broker settings.

BROKER_PID=""

stop_broker() {
    [[ -n "$BROKER_PID" ]] || return 0
    if kill -0 "$BROKER_PID" 2>/dev/null; then
        kill "$BROKER_PID"
        for _ in $(seq 1 120); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.5; done
        if kill -0 "$BROKER_PID" 2>/dev/null; then kill -9 "$BROKER_PID"; fi
        wait "$BROKER_PID" 2>/dev/null || true
    fi
    BROKER_PID=""
}
# Writes Kafka's server.properties and log4j2 file under $TMP/kafka and formats its storage; sets
# KAFKA_JVM (the JVM line of kafka-server-start.sh) and KAFKA_PROPS. Not timed by any benchmark.
kafka_prepare() {
    local home="$TMP/kafka"
    mkdir -p "$home/data" "$home/logs"
    cat >"$home/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${KAFKA_CONTROLLER_PORT}
listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT},CONTROLLER://127.0.0.1:${KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$home/data
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600
num.partitions=1
offsets.topic.replication.factor=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
log.segment.bytes=1073741824
group.initial.rebalance.delay.ms=0
log.segment.delete.delay.ms=1000
${KAFKA_EXTRA_PROPS:-}
PROPS
    write_kafka_log4j "$home"
    # The JVM line of kafka-server-start.sh / kafka-run-class.sh (heap, G1 settings).
    KAFKA_JVM=("$JAVA" -server ${KAFKA_HEAP_OPTS:--Xms1G -Xmx1G} -XX:+UseG1GC -XX:MaxGCPauseMillis=20
        -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
        -Dlog4j2.configurationFile="$home/log4j2.properties" -cp "$KAFKA_LIB/*")
    KAFKA_PROPS="$home/server.properties"
    "${KAFKA_JVM[@]}" kafka.tools.StorageTool format \
        -t "$("${KAFKA_JVM[@]}" kafka.tools.StorageTool random-uuid | tail -1)" \
        -c "$KAFKA_PROPS" >"$RESULTS/kafka-format.log" 2>&1
}

start_kafka() {
    local home="$TMP/kafka"
    kafka_prepare
    "${KAFKA_JVM[@]}" kafka.Kafka "$KAFKA_PROPS" >"$RESULTS/kafka-stdout.log" 2>&1 &
    BROKER_PID=$!
    BS="127.0.0.1:$KAFKA_PORT"
    wait_ready "$home/logs/server.log" "Kafka Server started"
}

start_fjord() {
    mkdir -p "$TMP/fjord"
    # bin/fjord execs the JVM, so $! is the broker's PID. Its AOT cache (JDK 25+) is the harness's own,
    # trained by the first single-node run after a build (the profiles of this workload).
    local cfg=()
    if [[ -n "${FJORD_CONFIG:-}" ]]; then cfg=(--config "$FJORD_CONFIG"); fi
    FJORD_AOT_CACHE="${FJORD_AOT_CACHE:-$REPO/fjord-cli/target/fjord-single-bench.aot}" \
        FJORD_JVM_OPTS="${FJORD_JVM_OPTS:-}" "$REPO/bin/fjord" server --port "$FJORD_PORT" --data-dir "$TMP/fjord/data" \
        "${cfg[@]}" >"$RESULTS/fjord-stdout.log" 2>&1 &
    BROKER_PID=$!
    BS="127.0.0.1:$FJORD_PORT"
    wait_ready "$RESULTS/fjord-stdout.log" "fjord listening"
}

wait_ready() { # LOG_FILE TEXT: up to 120 s (bin/fjord may build the jar first)
    for _ in $(seq 1 240); do
        if grep -q "$2" "$1" 2>/dev/null; then return 0; fi
        if ! kill -0 "$BROKER_PID" 2>/dev/null; then log "$BROKER died at start; see $RESULTS"; exit 1; fi
        sleep 0.5
    done
    log "$BROKER not ready after 120 s"; exit 1
}

