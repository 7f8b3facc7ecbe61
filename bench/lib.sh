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

# wait_for_load MAX WAIT_S: waits (at most WAIT_S seconds, then goes on) for the 1-minute load
# average to fall below MAX; sets LOAD_WAITED_S.
wait_for_load() {
    local max="$1" limit="$2"
    LOAD_WAITED_S=0
    while awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v m="$max" 'BEGIN {exit !(l >= m)}' && (( LOAD_WAITED_S < limit )); do
        (( LOAD_WAITED_S % 60 == 0 )) &&
            echo "[$(date +%H:%M:%S)] load average $(cut -d' ' -f1 /proc/loadavg) >= $max, waiting (${LOAD_WAITED_S}s of ${limit}s)" >&2
        sleep 10; LOAD_WAITED_S=$((LOAD_WAITED_S + 10))
    done
}

# wait_for_quiet WAIT_S: before a side's run, waits (at most WAIT_S seconds, then goes on) until the
# CPUs were at least 85% idle over the last 2 s and the kernel holds under 64 MiB of dirty or
# writeback pages (the previous side's data still going to disk slows the next side's writes);
# sets QUIET_WAITED_S. The load average lags a minute behind and would mostly measure the previous side.
wait_for_quiet() {
    local limit="$1" start now idle dirty
    start=$(date +%s)
    QUIET_WAITED_S=0
    sync
    while :; do
        idle=$(cpu_idle_pct 2)
        dirty=$(awk '$1 == "Dirty:" || $1 == "Writeback:" {s += $2} END {print int(s / 1024)}' /proc/meminfo)
        now=$(date +%s); QUIET_WAITED_S=$((now - start))
        if (( idle >= 85 && dirty < 64 )); then return 0; fi
        if (( QUIET_WAITED_S >= limit )); then
            echo "[$(date +%H:%M:%S)] machine not quiet after ${QUIET_WAITED_S}s (CPU ${idle}% idle, ${dirty} MiB dirty); going on" >&2
            return 0
        fi
    done
}

# prewarm_pages MIB: writes MIB MiB of zeros to a new file in tmpfs (PREWARM_DIR, /dev/shm) and
# deletes it, so that the next MIB MiB the kernel hands out (the page cache a broker's writes fill)
# are guest pages the host backs already; prints the seconds per GiB the write took. On this VM
# (Firecracker, virtio-balloon free page reporting) a free page the host took back costs ~20 us at
# its first touch, up to 6 s per GiB written, against 0.2 s for a page touched lately; how many
# free pages are warm depends on what the machine freed in the last seconds, so without this the
# broker that runs right after a large delete writes for a third of the CPU.
prewarm_pages() {
    local mib="$1" dir="${PREWARM_DIR:-/dev/shm}" f t0 t1
    [[ -d "$dir" && -w "$dir" ]] || dir="${TMPDIR:-/tmp}"
    f="$dir/fjord-prewarm.$$"
    t0=$(date +%s%N)
    dd if=/dev/zero of="$f" bs=1M count="$mib" status=none
    t1=$(date +%s%N)
    rm -f "$f"
    awk -v ns=$((t1 - t0)) -v mib="$mib" 'BEGIN {printf "%.2f\n", ns / 1e9 / (mib / 1024)}'
}

# prewarm_default_mib BYTES: what to prewarm before a test that writes BYTES to the page cache: a
# quarter more (indexes, Raft logs, the JVMs' own growth), at most a third of MemAvailable.
prewarm_default_mib() {
    awk -v b="$1" '$1 == "MemAvailable:" {cap = int($2 / 1024 / 3)} END {
        m = int(b * 1.25 / 1048576) + 1; print (m < cap ? m : cap)}' /proc/meminfo
}

# cpu_idle_pct SECONDS: the share of all CPUs' time that was idle or waiting for I/O over SECONDS.
cpu_idle_pct() {
    local a b
    a=$(awk '$1 == "cpu" {t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $5 + $6}' /proc/stat)
    sleep "$1"
    b=$(awk '$1 == "cpu" {t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $5 + $6}' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " "); d = y[1] - x[1];
        print (d > 0 ? int(100 * (y[2] - x[2]) / d) : 100)}'
}

# jit_thread_ticks PID...: "TID TICKS" (utime + stime) for each JIT compiler thread (C1, C2) of the
# given JVMs; jit_delta_s BEFORE AFTER: their CPU-seconds between two such lists, per thread (a
# compiler thread that started in between counts whole; one that ended is not counted, and its
# time stays in the process's total).
jit_thread_ticks() {
    local p t
    for p in "$@"; do
        for t in /proc/"$p"/task/*; do
            case "$(cat "$t/comm" 2>/dev/null)" in
                "C1 CompilerThre"*|"C2 CompilerThre"*)
                    sed 's/.*) //' "$t/stat" 2>/dev/null | awk -v tid="${t##*/}" '{print tid, $12 + $13}' ;;
            esac
        done
    done
}
jit_delta_s() {
    awk -v hz="$(getconf CLK_TCK)" 'NR == FNR {b[$1] = $2; next} {d += $2 - ($1 in b ? b[$1] : 0)}
        END {printf "%.2f", d / hz}' <(echo "$1") <(echo "$2")
}
