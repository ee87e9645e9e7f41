#!/usr/bin/env bash
# Benchmark: `rigger run backup` of a cluster holding about 256 MiB against `etcdctl
# snapshot save` by hand from the leader, to the same disk, in one run. Median wall
# times, runs alternating; then `rigger run restore` and `rigger run recover` at 3
# members, each once. Release build; run as root (the lab), with setup.sh's ladder.
#
#   bench/backup.sh [RUNS] [MIB]        (defaults 5 and 256)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
mib=${2:-256}
cargo build --release --locked --quiet --bin rigger
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
rigger=$target_dir/release/rigger
state=$(mktemp -d -t rigger-bench.XXXXXX)
export RIGGER_STATE_DIR=$state
trap '"$rigger" destroy -q >/dev/null 2>&1; rm -rf "$state"' EXIT
etcdctl=${RIGGER_CACHE_DIR:-/var/cache/rigger}/etcd/3.5.30/etcdctl

median() { sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m }'; }
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'; }

"$rigger" -q run cluster --set quota=4GiB >/dev/null
host=$("$rigger" lab status | awk '/ etcd$/ { print $1; exit }')
ip=$("$rigger" lab status | awk '/ etcd$/ { print $2; exit }')
pki=$state/pki/example.test

# The data: 64 KiB values under keys of their own, through the gateway, from a lab host.
cat >"$state/load.py" <<'EOF'
import base64, http.client, json, ssl, sys
host, ca, cert, key, count = sys.argv[1:5] + [int(sys.argv[5])]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(cert, key)
conn = http.client.HTTPSConnection(host, 2379, context=ctx)
value = base64.b64encode(b"v" * 65536).decode()
for i in range(count):
    conn.request("POST", "/v3/kv/put", json.dumps({"key": base64.b64encode(b"k%06d" % i).decode(), "value": value}))
    resp = conn.getresponse()
    text = resp.read()
    if resp.status != 200 or b"error" in text:
        sys.exit("stopped at %d: %s" % (i, text[:200]))
EOF
"$rigger" lab exec "$host" -- python3 -B "$state/load.py" "$ip" "$pki/ca.crt" "$pki/client.crt" \
  "$pki/client.key" $((mib * 16))

out=$state/out
mkdir -p "$out"
leader() { "$rigger" health --discovery-srv example.test --json | python3 -c '
import json, sys
print(next(m["endpoint"] for m in json.load(sys.stdin)["members"] if m["is_leader"]))'; }
rigger_t=() etcdctl_t=() size=0
for _ in $(seq 1 "$runs"); do
  t0=$(now)
  "$rigger" -q run backup --set "to=$out/rigger" --set keep=1 >/dev/null
  t1=$(now)
  rigger_t+=("$(secs "$t0" "$t1")")
  endpoint=$(leader)
  t0=$(now)
  "$rigger" lab exec "$host" -- "$etcdctl" --endpoints="$endpoint" --cacert "$pki/ca.crt" \
    --cert "$pki/client.crt" --key "$pki/client.key" snapshot save "$out/etcdctl.db" >/dev/null 2>&1
  t1=$(now)
  etcdctl_t+=("$(secs "$t0" "$t1")")
  size=$(stat -c %s "$out/etcdctl.db")
  rm -f "$out/etcdctl.db"
done
r=$(printf '%s\n' "${rigger_t[@]}" | median)
e=$(printf '%s\n' "${etcdctl_t[@]}" | median)
printf 'snapshot of %s bytes, median of %s runs\n' "$size" "$runs"
printf '%-44s %s s\n' "etcdctl snapshot save (from the leader)" "$e"
printf '%-44s %s s\n' "rigger run backup (checked, with manifest)" "$r"
printf '%-44s %s\n' "ratio" "$(awk -v a="$r" -v b="$e" 'BEGIN { printf "%.2fx", a / b }')"

# The disaster, once: every member killed and its data gone, then restore.
for pid in $("$rigger" lab status | awk '/ etcd$/ { print $3 }'); do kill -9 "$pid"; done
rm -rf "$state"/lab/hosts/*/data
t0=$(now)
"$rigger" -q run restore --set store="$out/rigger" --set from=latest >/dev/null
t1=$(now)
printf '%-44s %s s\n' "rigger run restore, 3 members" "$(secs "$t0" "$t1")"
# Two members lost, once: recover.
pids=$("$rigger" lab status | awk '/ etcd$/ { print $3 }' | head -n 2)
kill -9 $pids
sleep 2
t0=$(now)
"$rigger" -q run recover >/dev/null
t1=$(now)
printf '%-44s %s s\n' "rigger run recover, 2 of 3 lost" "$(secs "$t0" "$t1")"
