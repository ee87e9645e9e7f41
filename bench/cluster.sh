#!/usr/bin/env bash
# Benchmark: median wall time of `rigger run cluster` (the whole command: lab hosts,
# records, DNS waits, certificates, etcd, until every member is healthy) for 3, 5 and 9
# members, next to the by-hand floor (bench/baseline.sh: the same layout, etcd started
# with a static --initial-cluster), also whole. Release build; run as root.
#
#   bench/cluster.sh [RUNS]        (default 5 runs per size; SIZES="3 5 9")
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
# The same build as bench/cloud.sh's (its examples unify the dependencies' features
# differently: building only the binary would build the AWS SDK a second time).
cargo build --release --locked --quiet --bin rigger --example latency-proxy --example stand-ins
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
rigger=$target_dir/release/rigger
state=$(mktemp -d -t rigger-bench.XXXXXX)
trap 'RIGGER_STATE_DIR=$state "$rigger" destroy -q >/dev/null 2>&1; rm -rf "$state"' EXIT

median() { sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m }'; }

seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

# Like with like: both whole, from the command's start until every member is healthy
# (the floor's namespaces and certificates included, as rigger's are; its teardown, which
# waits for etcd to stop, is not); the floor's count from its first etcd start is shown
# beside them. The two alternate, run after run.
printf '%-8s %-12s %-12s %-8s %-16s\n' members "rigger (s)" "by hand (s)" ratio "by hand, etcd (s)"
for n in ${SIZES:-3 5 9}; do
  ours=()
  floor=()
  etcd_only=()
  for _ in $(seq 1 "$runs"); do
    t0=$(date +%s%N)
    RIGGER_STATE_DIR=$state "$rigger" run cluster -q --set "size=$n" >/dev/null
    t1=$(date +%s%N)
    ours+=("$(seconds "$t0" "$t1")")
    RIGGER_STATE_DIR=$state "$rigger" destroy -q
    read -r whole etcd < <(unshare --net --mount bench/baseline.sh "$n")
    floor+=("$whole")
    etcd_only+=("$etcd")
  done
  a=$(printf '%s\n' "${ours[@]}" | median)
  b=$(printf '%s\n' "${floor[@]}" | median)
  printf '%-8s %-12s %-12s %-8s %-16s\n' "$n" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')" \
    "$(printf '%s\n' "${etcd_only[@]}" | median)"
done
