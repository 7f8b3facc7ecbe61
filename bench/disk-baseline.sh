#!/usr/bin/env bash
# The disk's own sequential write bandwidth, measured with dd in 1 MiB blocks on the file system
# that holds DIR (default: bench/out/scratch), to compare the storage engine's append figures with.
#   bench/disk-baseline.sh [DIR [MIB]]
# Prints one line per mode: "<mode> <MB/s>" (MB = 10^6 bytes, as dd reports):
#   buffered_fdatasync  page cache, one fdatasync at the end (conv=fdatasync)
#   direct              O_DIRECT, bypassing the page cache (oflag=direct)
#   dsync               O_DSYNC, every 1 MiB write durable before the next (oflag=dsync)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dir="${1:-$bench_scratch}"
mib="${2:-1024}"
# Bounded: never more than 4 GiB per run, so a typo cannot fill the disk.
if (( mib < 1 || mib > 4096 )); then
    echo "disk-baseline.sh: MIB must be 1..4096" >&2
    exit 2
fi
mkdir -p "$dir"
file="$(mktemp "$dir/dd-baseline.XXXXXX")"
trap 'rm -f "$file"' EXIT

run_dd() {
    local mode="$1"
    shift
    rm -f "$file"
    # dd's last line: "<bytes> bytes (...) copied, <seconds> s, <rate>"; compute MB/s ourselves
    # so the unit is always the same.
    local out
    out="$(LC_ALL=C dd if=/dev/zero of="$file" bs=1M count="$mib" "$@" 2>&1 | tail -n 1)"
    awk -v mode="$mode" '{ for (i = 1; i <= NF; i++) if ($i == "s,") secs = $(i - 1); printf "%s %.0f\n", mode, $1 / secs / 1e6 }' <<<"$out"
}

run_dd buffered_fdatasync conv=fdatasync
run_dd direct oflag=direct
run_dd dsync oflag=dsync
