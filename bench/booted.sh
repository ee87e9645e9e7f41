#!/usr/bin/env bash
# Benchmark: what booted lab machines cost, N=3, in one run. Median wall times of:
#   - launching three hosts over SSH (a script of three launch_instance, together):
#     bare namespaces running their own sshd, against booted machines (systemd from the
#     image, its sshd answering): the boot itself;
#   - the whole `rigger run cluster --transport ssh`: on namespaces (etcd on PATH, a
#     process), against booted machines (the same etcd binary uploaded, a systemd unit
#     under the etcd user).
# The runs alternate. Release build; run as root, with the image made (`rigger lab
# image`, which setup.sh runs).
#
#   bench/booted.sh [RUNS]        (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release --locked --quiet --bin rigger --example latency-proxy --example stand-ins
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
rigger=$target_dir/release/rigger
state=$(mktemp -d -t rigger-bench.XXXXXX)
trap 'RIGGER_STATE_DIR=$state "$rigger" destroy -q >/dev/null 2>&1; rm -rf "$state"' EXIT
etcd=$(command -v etcd)

median() { sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m }'; }

# Seconds taken by `rigger ARGS...` (which must succeed), then a destroy (not timed).
timed() {
  local t0 t1
  t0=$(date +%s%N)
  RIGGER_STATE_DIR=$state "$rigger" -q "$@" >/dev/null
  t1=$(date +%s%N)
  RIGGER_STATE_DIR=$state "$rigger" destroy -q
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'
}

launch=$state/launch.rhai
cat >"$launch" <<'EOF'
let boot = param("boot", false);
parallel(["h1", "h2", "h3"], |name| run(launch_instance(#{ name: name, boot: boot }), "true"));
EOF

ns_launch=() booted_launch=() ns_cluster=() booted_cluster=()
for _ in $(seq 1 "$runs"); do
  ns_launch+=("$(timed run "$launch" --transport ssh)")
  booted_launch+=("$(timed run "$launch" --transport ssh --set boot=true)")
  ns_cluster+=("$(timed run cluster --transport ssh)")
  booted_cluster+=("$(timed run cluster --transport ssh --set machines=booted \
    --set install=upload --set "etcd=$etcd")")
done

row() { printf '%-40s %-14s %-14s %s\n' "$1" "$2" "$3" "$(awk -v a="$2" -v b="$3" 'BEGIN { printf "%+.2f", b - a }')"; }
printf '%-40s %-14s %-14s %s\n' "N=3, over SSH, median of $runs" "namespaces (s)" "booted (s)" "booting adds (s)"
row "three hosts launched, each answering" "$(printf '%s\n' "${ns_launch[@]}" | median)" \
  "$(printf '%s\n' "${booted_launch[@]}" | median)"
row "rigger run cluster, until healthy" "$(printf '%s\n' "${ns_cluster[@]}" | median)" \
  "$(printf '%s\n' "${booted_cluster[@]}" | median)"
