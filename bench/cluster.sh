# Sourced by bench scripts: start and stop a 3-node Apache Kafka 4.1.1 (KRaft) or a 3-node Fjord
# cluster on 127.0.0.1, one cluster at a time.
#
# The caller sets REPO, JAVA, KAFKA_LIB, TMP (a fresh temporary directory on the disk), RESULTS
# (where logs go) and BROKER (a name for messages), and defines log(). Ports (all must be free; the
# defaults are below the kernel's ephemeral range, 32768-60999 here, so that no outgoing connection
# of a node that is already up can take a port a later node has yet to bind):
#   Kafka: brokers KAFKA_CLUSTER_PORT+0..2 (31092-31094), controllers KAFKA_CLUSTER_CONTROLLER_PORT+0..2
#          (31192-31194). Every node is a combined broker+controller (process.roles=broker,controller),
#          static controller.quorum.voters; Kafka's shipped server.properties with replication factor 3
#          for every internal topic, default.replication.factor=3, min.insync.replicas=2; heap
#          KAFKA_CLUSTER_HEAP_OPTS (-Xms512m -Xmx768m per node) and kafka-server-start.sh's G1 flags.
#   Fjord: Kafka ports FJORD_CLUSTER_PORT+0..2 (31292-31294), Raft ports FJORD_CLUSTER_RAFT_PORT+0..2
#          (31392-31394); `bin/fjord server --node-id N --quorum ...` as a user starts a node (so with
#          bin/fjord's AOT cache on JDK 25+: the first start after a build trains it, FJORD_AOT=0 turns
#          it off; a cache of its own, fjord-cli/target/fjord-cluster-bench.aot, so that its method
#          profiles are those of a 3-node run, not of whatever server ran first), heap FJORD_CLUSTER_HEAP_OPTS (-Xmx768m per node, the same cap as the Kafka side)
#          plus FJORD_JVM_OPTS.
# After start_*_cluster: NODE_PIDS (array, node i+1 at index i), CLUSTER_BS (the three bootstrap
# addresses), PID_MAP ("1:pid,2:pid,3:pid"). Only those PIDs are ever signalled.

KAFKA_CLUSTER_PORT="${KAFKA_CLUSTER_PORT:-31092}"
KAFKA_CLUSTER_CONTROLLER_PORT="${KAFKA_CLUSTER_CONTROLLER_PORT:-31192}"
FJORD_CLUSTER_PORT="${FJORD_CLUSTER_PORT:-31292}"
FJORD_CLUSTER_RAFT_PORT="${FJORD_CLUSTER_RAFT_PORT:-31392}"
NODE_PIDS=()
CLUSTER_BS=""
PID_MAP=""

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

check_ports_free() { # PORT...
    local p
    for p in "$@"; do
        if port_in_use "$p"; then log "port $p is already in use; cannot start $BROKER"; exit 1; fi
    done
}

# SIGTERM to every node at once (a combined Kafka node needs the quorum for its controlled
# shutdown), up to 60 s, then SIGKILL. Nodes already gone (e.g. killed by the failover test) are skipped.
stop_cluster() {
    local p
    for p in "${NODE_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && kill "$p" 2>/dev/null; done
    for p in "${NODE_PIDS[@]}"; do
        for _ in $(seq 1 120); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
        if kill -0 "$p" 2>/dev/null; then kill -9 "$p" 2>/dev/null; fi
        wait "$p" 2>/dev/null || true
    done
    NODE_PIDS=()
}

cluster_pid_map() {
    local i
    PID_MAP=""
    for i in "${!NODE_PIDS[@]}"; do PID_MAP+="${PID_MAP:+,}$((i + 1)):${NODE_PIDS[$i]}"; done
}

# Sum over the live nodes of utime+stime (clock ticks) and of VmHWM (KiB).
cluster_ticks() {
    local p s=0 t
    for p in "${NODE_PIDS[@]}"; do
        t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
        s=$((s + t))
    done
    echo "$s"
}
cluster_hwm_kib() {
    local p s=0 k
    for p in "${NODE_PIDS[@]}"; do
        k=$(awk '$1 == "VmHWM:" {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
        s=$((s + ${k:-0}))
    done
    echo "$s"
}

wait_cluster_ready() { # TEXT LOG_FILE...: every log has TEXT; up to 180 s
    local text=$1 ready f i
    shift
    for _ in $(seq 1 360); do
        ready=0
        for i in "${!NODE_PIDS[@]}"; do
            if ! kill -0 "${NODE_PIDS[$i]}" 2>/dev/null; then log "$BROKER node $((i + 1)) died at start; see $RESULTS"; exit 1; fi
        done
        for f in "$@"; do grep -q "$text" "$f" 2>/dev/null && ready=$((ready + 1)); done
        if ((ready == $#)); then return 0; fi
        sleep 0.5
    done
    log "$BROKER cluster not ready after 180 s; see $RESULTS"
    exit 1
}

start_kafka_cluster() {
    local n voters="" home cid logs=()
    check_ports_free $(for n in 0 1 2; do echo $((KAFKA_CLUSTER_PORT + n)) $((KAFKA_CLUSTER_CONTROLLER_PORT + n)); done)
    for n in 1 2 3; do voters+="${voters:+,}$n@127.0.0.1:$((KAFKA_CLUSTER_CONTROLLER_PORT + n - 1))"; done
    local jvm=("$JAVA" -server ${KAFKA_CLUSTER_HEAP_OPTS:--Xms512m -Xmx768m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20
        -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true)
    cid="$("${jvm[@]}" -cp "$KAFKA_LIB/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"
    NODE_PIDS=()
    for n in 1 2 3; do
        home="$TMP/kafka-$n"
        mkdir -p "$home/data" "$home/logs"
        cat >"$home/server.properties" <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$((KAFKA_CLUSTER_PORT + n - 1)),CONTROLLER://127.0.0.1:$((KAFKA_CLUSTER_CONTROLLER_PORT + n - 1))
advertised.listeners=PLAINTEXT://127.0.0.1:$((KAFKA_CLUSTER_PORT + n - 1))
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
num.recovery.threads.per.data.dir=1
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
log.segment.bytes=1073741824
group.initial.rebalance.delay.ms=0
log.segment.delete.delay.ms=1000
${KAFKA_EXTRA_PROPS:-}
PROPS
        write_kafka_log4j "$home"
        "${jvm[@]}" -cp "$KAFKA_LIB/*" kafka.tools.StorageTool format -t "$cid" -c "$home/server.properties" \
            >"$RESULTS/kafka-$n-format.log" 2>&1
    done
    for n in 1 2 3; do
        home="$TMP/kafka-$n"
        "${jvm[@]}" -Dlog4j2.configurationFile="$home/log4j2.properties" -cp "$KAFKA_LIB/*" kafka.Kafka \
            "$home/server.properties" >"$RESULTS/kafka-$n-stdout.log" 2>&1 &
        NODE_PIDS+=($!)
        logs+=("$home/logs/server.log")
    done
    CLUSTER_BS="127.0.0.1:$KAFKA_CLUSTER_PORT,127.0.0.1:$((KAFKA_CLUSTER_PORT + 1)),127.0.0.1:$((KAFKA_CLUSTER_PORT + 2))"
    cluster_pid_map
    wait_cluster_ready "Kafka Server started" "${logs[@]}"
}

start_fjord_cluster() {
    local n quorum="" cfg=() logs=()
    check_ports_free $(for n in 0 1 2; do echo $((FJORD_CLUSTER_PORT + n)) $((FJORD_CLUSTER_RAFT_PORT + n)); done)
    for n in 1 2 3; do quorum+="${quorum:+,}$n@127.0.0.1:$((FJORD_CLUSTER_RAFT_PORT + n - 1))"; done
    if [[ -n "${FJORD_CONFIG:-}" ]]; then cfg=(--config "$FJORD_CONFIG"); fi
    NODE_PIDS=()
    for n in 1 2 3; do
        mkdir -p "$TMP/fjord-$n"
        # As a user starts a node: bin/fjord (which execs the JVM, so $! is the node's PID) with its
        # AOT cache; the first start after a build trains it, and the nodes' next start uses it.
        JAVA_HOME="$(dirname "$(dirname "$JAVA")")" FJORD_HEAP_OPTS="${FJORD_CLUSTER_HEAP_OPTS:--Xmx768m}" \
            FJORD_AOT_CACHE="${FJORD_AOT_CACHE:-$REPO/fjord-cli/target/fjord-cluster-bench.aot}" \
            FJORD_JVM_OPTS="${FJORD_JVM_OPTS:-}" "$REPO/bin/fjord" server \
            --node-id "$n" --port $((FJORD_CLUSTER_PORT + n - 1)) --quorum "$quorum" --data-dir "$TMP/fjord-$n/data" \
            "${cfg[@]}" >"$RESULTS/fjord-$n-stdout.log" 2>&1 &
        NODE_PIDS+=($!)
        logs+=("$RESULTS/fjord-$n-stdout.log")
    done
    CLUSTER_BS="127.0.0.1:$FJORD_CLUSTER_PORT,127.0.0.1:$((FJORD_CLUSTER_PORT + 1)),127.0.0.1:$((FJORD_CLUSTER_PORT + 2))"
    cluster_pid_map
    wait_cluster_ready "fjord listening" "${logs[@]}"
}
