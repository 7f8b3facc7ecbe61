#!/usr/bin/env bash
# Start-up time of a LogManager over ~10 GiB of cleanly shut-down data, each open in a fresh JVM.
#   bench/startup.sh [--keep] [--reps N] [--partitions N --partition-bytes BYTES] [DATA_DIR]
# Creates the data (default: 10 partitions of 1 GiB in 256 MiB segments) in DATA_DIR (default: a new directory under $FJORD_BENCH_DIR) unless it already
# holds it, opens it N times (default 5) with the page cache warm and N times cold (the data
# files evicted first with dd iflag=nocache, no root needed), and prints min and median of
# LogManager.open's wall time and of the whole JVM (start to exit, close included).
# Deletes the data at the end unless --keep is given or DATA_DIR was given and already held data.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
keep=0
reps=5
partitions=10
partition_bytes=$((1024 * 1024 * 1024))
segment_bytes=$((256 * 1024 * 1024))
data=""
while (( $# > 0 )); do
    case "$1" in
        --keep) keep=1 ;;
        --reps) reps="$2"; shift ;;
        --partitions) partitions="$2"; shift ;;
        --partition-bytes) partition_bytes="$2"; shift ;;
        *) data="$1" ;;
    esac
    shift
done

JAVA_HOME="$(pick_java_home)"
export JAVA_HOME
ensure_bench_jar
java=("$JAVA_HOME/bin/java" -Xmx512m -Dorg.slf4j.simpleLogger.defaultLogLevel=warn
      -cp "$bench_jar" io.fjord.bench.StartupBenchmark)

made=0
if [[ -z "$data" ]]; then
    mkdir -p "$bench_scratch"
    data="$(mktemp -d "$bench_scratch/startup.XXXXXX")"
    made=1
elif [[ ! -e "$data/bench-layout.properties" ]]; then
    made=1
fi
cleanup() {
    if (( made && !keep )); then
        rm -rf -- "$data"
    fi
}
trap cleanup EXIT

"${java[@]}" prepare "$data" "$partitions" "$partition_bytes" "$segment_bytes" >&2

evict() {
    find "$data" -type f -print0 | xargs -0 -I{} dd if={} iflag=nocache count=0 status=none
}

# Prints "open_ms process_ms" for one open in a fresh JVM.
one_open() {
    local t0 t1 line
    t0="$(date +%s%N)"
    line="$("${java[@]}" open "$data")"
    t1="$(date +%s%N)"
    if [[ "$line" != *"clean=true"* ]]; then
        echo "startup.sh: open did not find a clean log: $line" >&2
        exit 1
    fi
    echo "startup.sh: $line" >&2
    awk -v l="$line" -v ns="$((t1 - t0))" 'BEGIN { split(l, f, /[= ]/); printf "%s %.1f\n", f[2], ns / 1e6 }'
}

# min and median of a column of numbers on stdin.
stats() {
    sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%s %s\n", v[1], m }'
}

for mode in warm cold; do
    results=()
    for ((i = 0; i < reps; i++)); do
        if [[ "$mode" == cold ]]; then
            evict
        fi
        results+=("$(one_open)")
    done
    open_stats="$(printf '%s\n' "${results[@]}" | awk '{ print $1 }' | stats)"
    proc_stats="$(printf '%s\n' "${results[@]}" | awk '{ print $2 }' | stats)"
    echo "startup_${mode} open_ms_min_median $open_stats process_ms_min_median $proc_stats"
done
