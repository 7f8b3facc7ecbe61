#!/usr/bin/env bash
# The storage engine's figures for the issue "Foundation", in one run (about 6 minutes):
# the disk's own bandwidth (dd, before and after), JMH append and read throughput, and start-up
# over 10 GiB of cleanly shut-down data. Prints a markdown table; raw output goes to
# bench/out/storage-<UTC time>/.
#   bench/storage.sh [extra JMH args, e.g. -wi 1 -i 1 for a quick look]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! command -v jq >/dev/null; then
    echo "storage.sh: needs jq to read JMH's JSON results" >&2
    exit 1
fi
JAVA_HOME="$(pick_java_home)"
export JAVA_HOME
ensure_bench_jar
export FJORD_BENCH_DIR="$bench_scratch"
mkdir -p "$FJORD_BENCH_DIR"

out="$bench_repo/bench/out/storage-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
echo "storage.sh: raw results in $out" >&2

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "load before: $(uptime)"
    echo "cpus: $(nproc); memory: $(free -g | awk '/^Mem:/ { print $2 " GiB" }'); kernel: $(uname -r)"
    echo "jdk: $("$JAVA_HOME/bin/java" -version 2>&1 | head -n 1)"
    echo "file system of $FJORD_BENCH_DIR: $(df -T "$FJORD_BENCH_DIR" | awk 'NR == 2 { print $1 " " $2 }')"
} | tee "$out/machine.txt" >&2

"$bench_repo/bench/disk-baseline.sh" "$FJORD_BENCH_DIR" | tee "$out/dd-before.txt" >&2
"$bench_repo/bench/jmh.sh" 'AppendBenchmark|ReadBenchmark' -rf json -rff "$out/jmh.json" "$@" >"$out/jmh.txt"
"$bench_repo/bench/disk-baseline.sh" "$FJORD_BENCH_DIR" | tee "$out/dd-after.txt" >&2
"$bench_repo/bench/startup.sh" | tee "$out/startup.txt" >&2
echo "load after: $(uptime)" | tee -a "$out/machine.txt" >&2

# MB/s (10^6 bytes) of one JMH result, from its "bytes" counter (bytes per second): the mean and,
# in brackets, the slowest and fastest iteration. (JMH's 99.9% error bar over 3 iterations is
# wider than the figure on a noisy machine, and says less than the range.)
jmh_mbs() {
    jq -r --arg b "$1" --arg p "$2" --arg v "$3" '
        .[] | select((.benchmark | endswith($b)) and .params[$p] == $v and (.params.fsync // "") == $fsync)
        | .secondaryMetrics.bytes
        | "\(.score / 1e6 | round) (\(.scorePercentiles["0.0"] / 1e6 | round)–\(.scorePercentiles["100.0"] / 1e6 | round))"' \
        --arg fsync "${4:-}" "$out/jmh.json"
}
jmh_mean() { jmh_mbs "$@" | awk '{ print $1 }'; }
dd_mbs() { awk -v m="$2" '$1 == m { print $2 }' "$out/$1"; }
startup() { awk -v m="$1" -v col="$2" '$1 == m { print $col }' "$out/startup.txt"; }
# "met" / "not met": is $1 >= $2?
verdict() { awk -v a="$1" -v b="$2" 'BEGIN { print (a >= b) ? "met" : "**not met**" }'; }
verdict_below() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b) ? "met" : "**not met**" }'; }

dsync_mean="$(awk -v a="$(dd_mbs dd-before.txt dsync)" -v b="$(dd_mbs dd-after.txt dsync)" 'BEGIN { printf "%.0f", (a + b) / 2 }')"
dsync_target="$(awk -v d="$dsync_mean" 'BEGIN { printf "%.0f", 0.7 * d }')"

a16n="$(jmh_mean AppendBenchmark.append batchBytes 16384 none)"
a1mn="$(jmh_mean AppendBenchmark.append batchBytes 1048576 none)"
a1mb="$(jmh_mean AppendBenchmark.append batchBytes 1048576 batch)"
r16="$(jmh_mean ReadBenchmark.read batchBytes 16384)"
r1m="$(jmh_mean ReadBenchmark.read batchBytes 1048576)"
warm_median="$(startup startup_warm 4)"
cold_median="$(startup startup_cold 4)"

cat <<TABLE
| Figure | Measured (MB = 10^6 bytes) | Target | Verdict |
|---|---|---|---|
| dd, 1 MiB blocks, buffered + conv=fdatasync (before / after) | $(dd_mbs dd-before.txt buffered_fdatasync) / $(dd_mbs dd-after.txt buffered_fdatasync) MB/s | (reference) | |
| dd, 1 MiB blocks, oflag=direct (before / after) | $(dd_mbs dd-before.txt direct) / $(dd_mbs dd-after.txt direct) MB/s | (reference) | |
| dd, 1 MiB blocks, oflag=dsync (before / after) | $(dd_mbs dd-before.txt dsync) / $(dd_mbs dd-after.txt dsync) MB/s | (reference; mean $dsync_mean) | |
| Append, 16 KiB batches, no fsync | $(jmh_mbs AppendBenchmark.append batchBytes 16384 none) MB/s | ≥ 1000 MB/s | $(verdict "$a16n" 1000) |
| Append, 1 MiB batches, no fsync | $(jmh_mbs AppendBenchmark.append batchBytes 1048576 none) MB/s | ≥ 1000 MB/s | $(verdict "$a1mn" 1000) |
| Append, 16 KiB batches, fsync per batch | $(jmh_mbs AppendBenchmark.append batchBytes 16384 batch) MB/s | (none) | |
| Append, 1 MiB batches, fsync per batch | $(jmh_mbs AppendBenchmark.append batchBytes 1048576 batch) MB/s | ≥ 70% of dd dsync = $dsync_target MB/s | $(verdict "$a1mb" "$dsync_target") |
| Sequential read from page cache, 1 MiB fetches of 16 KiB batches | $(jmh_mbs ReadBenchmark.read batchBytes 16384) MB/s | ≥ 2000 MB/s | $(verdict "$r16" 2000) |
| Sequential read from page cache, 1 MiB fetches of 1 MiB batches | $(jmh_mbs ReadBenchmark.read batchBytes 1048576) MB/s | ≥ 2000 MB/s | $(verdict "$r1m" 2000) |
| Start-up, 10 GiB clean, page cache warm: LogManager.open min / median | $(startup startup_warm 3) / $warm_median ms (whole JVM: $(startup startup_warm 6) / $(startup startup_warm 7) ms) | well under 1000 ms | $(verdict_below "$warm_median" 1000) |
| Start-up, 10 GiB clean, page cache cold: LogManager.open min / median | $(startup startup_cold 3) / $cold_median ms (whole JVM: $(startup startup_cold 6) / $(startup startup_cold 7) ms) | well under 1000 ms | $(verdict_below "$cold_median" 1000) |
TABLE
