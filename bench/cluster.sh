#!/usr/bin/env bash
# Benchmark: median wall time of `rigger run cluster` (the whole command: lab hosts,
# records, DNS waits, certificates, etcd, until every member is healthy) for 3, 5 and 9
# members, next to the by-hand floor (bench/baseline.sh: the same layout, etcd started
# with a static --initial-cluster). Release build; run as root.
#
#   bench/cluster.sh [RUNS]        (default 5 runs per size)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release --locked --quiet
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
rigger=$target_dir/release/rigger
state=$(mktemp -d -t rigger-bench.XXXXXX)
trap 'RIGGER_STATE_DIR=$state "$rigger" destroy -q >/dev/null 2>&1; rm -rf "$state"' EXIT

median() { sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m }'; }

printf '%-8s %-22s %-22s\n' members "rigger run cluster (s)" "by hand, static (s)"
for n in 3 5 9; do
  ours=()
  floor=()
  for _ in $(seq 1 "$runs"); do
    t0=$(date +%s%N)
    RIGGER_STATE_DIR=$state "$rigger" run cluster -q --set "size=$n" >/dev/null
    t1=$(date +%s%N)
    ours+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')")
    RIGGER_STATE_DIR=$state "$rigger" destroy -q
    floor+=("$(unshare --net --mount bench/baseline.sh "$n")")
  done
  printf '%-8s %-22s %-22s\n' "$n" "$(printf '%s\n' "${ours[@]}" | median)" "$(printf '%s\n' "${floor[@]}" | median)"
done
