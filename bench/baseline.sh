#!/usr/bin/env bash
# The by-hand floor for `rigger run cluster`: N etcd members in the lab's layout (a
# bridge at 198.18.0.1/15 in a private network namespace, one namespace per member on a
# veth pair), TLS, started by hand with a static --initial-cluster of IP URLs and the same
# 50 ms stagger rigger uses. Prints the seconds from its own start (namespaces and
# certificates included) until every member's /health is true, then the seconds from the
# first etcd start to then.
#
#   unshare --net --mount bench/baseline.sh N      (as root; bench/cluster.sh calls it)
set -euo pipefail
began=$(date +%s%N)
n=${1:-3}
stagger=${STAGGER:-0.05}
work=$(mktemp -d -t rigger-baseline.XXXXXX)
pki=$work/pki
mkdir -p "$pki"
cleanup() {
  # shellcheck disable=SC2046
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip link set lo up
mount -t tmpfs tmpfs /run/netns 2>/dev/null || { mkdir -p /run/netns && mount -t tmpfs tmpfs /run/netns; }
ip link add br0 type bridge
ip addr add 198.18.0.1/15 dev br0
ip link set br0 up

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=baseline-ca -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
peers=""
for i in $(seq 1 "$n"); do
  addr=198.18.1.$i
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=m$i" \
    -keyout "$pki/m$i.key" -out "$pki/m$i.csr" 2>/dev/null
  printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$addr" > "$pki/m$i.ext"
  openssl x509 -req -in "$pki/m$i.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 1 -extfile "$pki/m$i.ext" -out "$pki/m$i.crt" 2>/dev/null
  ip netns add "m$i"
  ip link add "v$i" type veth peer name eth0 netns "m$i"
  ip link set "v$i" master br0 up
  ip -n "m$i" addr add "$addr/15" dev eth0
  ip -n "m$i" link set eth0 up
  ip -n "m$i" link set lo up
  peers="$peers${peers:+,}m$i=https://$addr:2380"
done

start=$(date +%s%N)
for i in $(seq 1 "$n"); do
  addr=198.18.1.$i
  ip netns exec "m$i" etcd --name "m$i" --data-dir "$work/m$i" \
    --listen-peer-urls "https://$addr:2380" --initial-advertise-peer-urls "https://$addr:2380" \
    --listen-client-urls "https://$addr:2379" --advertise-client-urls "https://$addr:2379" \
    --initial-cluster "$peers" --initial-cluster-token baseline --initial-cluster-state new \
    --cert-file "$pki/m$i.crt" --key-file "$pki/m$i.key" --trusted-ca-file "$pki/ca.crt" --client-cert-auth \
    --peer-cert-file "$pki/m$i.crt" --peer-key-file "$pki/m$i.key" --peer-trusted-ca-file "$pki/ca.crt" \
    --peer-client-cert-auth >"$work/m$i.log" 2>&1 &
  sleep "$stagger"
done

for _ in $(seq 1 1500); do
  healthy=0
  for i in $(seq 1 "$n"); do
    curl -s --max-time 1 --cacert "$pki/ca.crt" --cert "$pki/m1.crt" --key "$pki/m1.key" \
      "https://198.18.1.$i:2379/health" | grep -q '"health":"true"' && healthy=$((healthy + 1))
  done
  [ "$healthy" = "$n" ] && break
  sleep 0.02
done
end=$(date +%s%N)
[ "$healthy" = "$n" ] || { echo "baseline: the cluster never became healthy" >&2; exit 1; }
# The whole start (setup included, as a user's own script would run it; not the
# teardown), then etcd's part alone.
awk -v w="$began" -v a="$start" -v b="$end" 'BEGIN { printf "%.3f %.3f\n", (b - w) / 1e9, (b - a) / 1e9 }'
