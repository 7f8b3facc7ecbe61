# Shared by the bench/*.sh scripts (sourced, not run): JDK choice and the benchmark jar.

bench_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench_jar="$bench_repo/fjord-bench/target/fjord-bench.jar"
# Where benchmarks write their logs: must be on the disk being measured, not a tmpfs.
bench_scratch="${FJORD_BENCH_DIR:-$bench_repo/bench/out/scratch}"

java_major() {
    # `java -version` prints e.g. openjdk version "25.0.1" or "1.8.0_392" on stderr.
    "$1/bin/java" -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); print (v[1] == 1 ? v[2] : v[1]); exit }'
}

# JAVA_HOME if it is JDK 21 or newer, else the newest JDK under /usr/lib/jvm.
pick_java_home() {
    if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" && "$(java_major "$JAVA_HOME")" -ge 21 ]]; then
        echo "$JAVA_HOME"
        return
    fi
    local best="" best_major=0 d m
    for d in /usr/lib/jvm/*; do
        [[ -x "$d/bin/java" && ! -L "$d" ]] || continue
        m="$(java_major "$d")"
        if [[ -n "$m" && "$m" -gt "$best_major" ]]; then
            best="$d" best_major="$m"
        fi
    done
    if [[ "$best_major" -lt 21 ]]; then
        echo "bench: no JDK 21 or newer found (set JAVA_HOME)" >&2
        return 1
    fi
    echo "$best"
}

# Rebuilds the jar when a source of a module it contains (storage, raft, broker, wire, the benchmarks) is
# newer than it.
ensure_bench_jar() {
    local m srcs=("$bench_repo/pom.xml")
    for m in fjord-storage fjord-raft fjord-broker fjord-wire fjord-bench; do srcs+=("$bench_repo/$m/src/main" "$bench_repo/$m/pom.xml"); done
    if [[ ! -f "$bench_jar" || -n "$(find "${srcs[@]}" -newer "$bench_jar" -print -quit)" ]]; then
        echo "bench: building fjord-bench with $JAVA_HOME" >&2
        (cd "$bench_repo" && ./mvnw -B -q -pl fjord-bench -am package -DskipTests -Dspotless.check.skip=true) >&2
    fi
}

# Kafka's log4j2 configuration for a broker home: INFO to $1/logs/server.log only.
write_kafka_log4j() { # HOME
    local home="$1"
    cat >"$home/log4j2.properties" <<L4J
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $home/logs/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
L4J
}
