#!/usr/bin/env bash
# Builds fjord-bench if needed and runs JMH with the given arguments, e.g.
#   bench/jmh.sh AppendBenchmark -p batchBytes=1048576
#   bench/jmh.sh -l
# Benchmarks that write logs put them under $FJORD_BENCH_DIR (default: bench/out/scratch).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

JAVA_HOME="$(pick_java_home)"
export JAVA_HOME
ensure_bench_jar
export FJORD_BENCH_DIR="$bench_scratch"
mkdir -p "$FJORD_BENCH_DIR"
exec "$JAVA_HOME/bin/java" -jar "$bench_jar" "$@"
