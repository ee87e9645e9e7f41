#!/usr/bin/env bash
# Benchmark (issue 12): the cloud path in round trips. `rigger run cluster --target aws`
# against moto's EC2 and a DNS provider (the Cloudflare stand-in, moto's Route 53, or
# BIND 9 updated over RFC 2136 through a DNS relay that holds each message as long),
# every API request held LATENCY seconds by a proxy (one round trip to a real API), a new
# record showing in DNS only PROPAGATION seconds after it was made. For 1, 3, 5 and 9
# members it times:
#   - the run up to the bootstrap, as a new user runs it: the whole process, asking the
#     zone's own name servers (no --dns-server); it stops there by design, since moto's
#     addresses are fiction and never dialled;
#   - `rigger destroy` of what that run kept (--keep-on-error);
#   - the rollback of a run that fails at the bootstrap: the run is stopped where its
#     rollback begins (rigger's RIGGER_TEST_STOP_AT hook), then let go and timed to exit.
# and prints, per provider, the medians and the requests by kind, the longest chain of
# sequential requests and the most in flight (see bench/proxy.rs for the definitions),
# next to the ideal client of the issue.
#
#   bench/cloud.sh [--release] [RUNS]      (default: debug build, 3 runs per size)
#   LATENCY=0.25 PROPAGATION=1 SIZES="1 3 5 9" DNS="cloudflare route53 rfc2136" bench/cloud.sh
#
# Everything listens on, and talks to, loopback only. Needs .venv/bin/moto_server
# (./setup.sh), jq and curl; no root.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
cargo_flags=()
if [[ ${1:-} == --release ]]; then
  profile=release
  cargo_flags=(--release)
  shift
fi
runs=${1:-3}
latency=${LATENCY:-0.25}
propagation=${PROPAGATION:-1}
sizes=${SIZES:-1 3 5 9}
providers=${DNS:-cloudflare route53 rfc2136}
moto_server=$PWD/.venv/bin/moto_server
[[ -x $moto_server ]] || { echo "cloud.sh: $moto_server is missing: run ./setup.sh" >&2; exit 1; }
for tool in jq curl; do
  command -v "$tool" >/dev/null || { echo "cloud.sh: needs $tool" >&2; exit 1; }
done

cargo build "${cargo_flags[@]}" --locked --quiet --bin rigger --example latency-proxy --example stand-ins
target_dir=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
rigger=$target_dir/$profile/rigger
examples=$target_dir/$profile/examples

work=$(mktemp -d -t rigger-cloud-bench.XXXXXX)
# What this script started and has not ended yet; ended by its pid only.
pids=()
stop() {
  local pid
  for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}
# A rigger stopped at its rollback hook (measure) would not act on SIGTERM.
stopped=
cleanup() {
  [[ -n $stopped ]] && kill -KILL "$stopped" 2>/dev/null
  stop "${pids[@]}"
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
# Whether more than $2 seconds have passed since $1.
over() { awk -v a="$1" -v b="$(now)" -v m="$2" 'BEGIN { exit !(b - a > m) }'; }

# Waits for a ready file that a helper writes (by rename) once it listens.
wait_ready() {
  local file=$1 pid=$2 i
  for i in $(seq 1 600); do
    [[ -s $file ]] && return 0
    kill -0 "$pid" 2>/dev/null || { echo "cloud.sh: $3 did not start" >&2; exit 1; }
    sleep 0.05
  done
  echo "cloud.sh: $3 did not get ready" >&2
  exit 1
}
value() { sed -n "s/^$2=//p" "$1"; }

free_port() {
  "$PWD/.venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port=$(free_port)
# moto with Route 53's refusal of a CREATE over an existing set (tests/moto_server.py).
"$PWD/.venv/bin/python" tests/moto_server.py -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
pids=("$moto_pid")
moto=http://127.0.0.1:$port
for _ in $(seq 1 600); do curl -s -o /dev/null "$moto" && break; sleep 0.05; done

# The Cloudflare stand-in accepts this token (tests/rigger/cloudflare_api.rs).
token=test-token-0123456789
# What each rigger sees: a clean environment, fake AWS credentials and a region (the
# SDK's own chain would ask the instance metadata service, outside this machine).
# An array, not a function: started in the background, the command is then rigger's own
# process (env execs it), whose state the rollback measurement watches.
rig_env() {
  rig=(env -i PATH="$PATH" HOME="$work" NO_COLOR=1 RIGGER_STATE_DIR="$work/state"
    AWS_ENDPOINT_URL="$aws" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
    AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
    CLOUDFLARE_API_TOKEN=$token CLOUDFLARE_API_BASE_URL="$cf" RIGGER_NAME_SERVERS="$ns"
    RIGGER_TSIG_KEY_FILE="$work/bind/rigger-key.key")
}

# RFC 2136: BIND 9 as the zone's primary on a loopback port, updated with a TSIG key.
# Its updates show at once (it is the server asked), so there is no propagation here.
start_bind() {
  local d=$work/bind
  mkdir -p "$d"
  tsig-keygen -a hmac-sha256 rigger-key >"$d/rigger-key.key"
  chmod 600 "$d/rigger-key.key"
  printf '$TTL 300\n@ SOA ns1.example.test. hostmaster.example.test. (1 3600 600 86400 60)\n@ NS ns1.example.test.\nns1 A 127.0.0.1\n' >"$d/example.test.zone"
  bind_port=$(free_port)
  cat >"$d/named.conf" <<CONF
options { directory "$d"; pid-file "$d/named.pid"; lock-file "$d/named.lock";
  session-keyfile "$d/session.key"; managed-keys-directory "$d";
  listen-on port $bind_port { 127.0.0.1; }; listen-on-v6 { none; }; recursion no;
  notify no; allow-transfer { none; }; dnssec-validation no; };
controls { };
include "$d/rigger-key.key";
zone "example.test" { type primary; file "$d/example.test.zone";
  update-policy { grant rigger-key zonesub ANY; }; };
CONF
  named -g -4 -c "$d/named.conf" 2>"$d/named.log" &
  bind_pid=$!
  local i
  for i in $(seq 1 200); do
    dig +time=1 +tries=1 @127.0.0.1 -p "$bind_port" example.test SOA 2>/dev/null | grep -q 'status: NOERROR' && return 0
    kill -0 "$bind_pid" 2>/dev/null || { echo "cloud.sh: named did not start:" >&2; cat "$d/named.log" >&2; exit 1; }
    sleep 0.05
  done
  echo "cloud.sh: named did not answer" >&2
  exit 1
}
# The default stagger: it spaces only the etcd starts, which come after every node was
# made ready, and against moto the run stops at the first command to a node, before any.
cluster=(run cluster -q --target aws --set domain=example.test --set ami=ami-12c6146b)

reset() { curl -sf -X POST "$control/reset" >/dev/null; }
# Appends one measurement: provider, members, phase, wall time and the proxy's stats.
# $4 is when the phase began (seconds since the epoch, as the proxy's times are).
record() {
  curl -sf "$control/stats" | jq -c --arg dns "$dns" --argjson n "$1" --arg phase "$2" \
    --argjson wall "$3" --argjson began "$4" \
    '{dns: $dns, n: $n, phase: $phase, wall: $wall, began: $began, stats: .}' >>"$work/results.jsonl"
}
state_of() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }

# One run kept at the bootstrap and destroyed, one rolled back; $2 says whether to record.
measure() {
  local n=$1 keep=$2 t status pid
  reset
  t=$(now)
  status=0
  "${rig[@]}" "$rigger" "${cluster[@]}" --dns "$dns" "${dns_args[@]}" --set "size=$n" --keep-on-error 2>"$work/err" || status=$?
  local wall
  wall=$(since "$t")
  if [[ $status != 1 ]] || ! grep -q bootstrap_parallel "$work/err"; then
    echo "cloud.sh: the $dns run of $n did not stop at the bootstrap (exit $status):" >&2
    cat "$work/err" >&2
    exit 1
  fi
  [[ $keep == yes ]] && record "$n" run "$wall" "$t"

  reset
  t=$(now)
  "${rig[@]}" "$rigger" destroy -q || { echo "cloud.sh: destroy failed ($dns, $n)" >&2; exit 1; }
  wall=$(since "$t")
  [[ $keep == yes ]] && record "$n" destroy "$wall" "$t"

  reset
  "${rig[@]}" RIGGER_TEST_STOP_AT=rollback "$rigger" "${cluster[@]}" --dns "$dns" "${dns_args[@]}" --set "size=$n" 2>"$work/err" &
  pid=$!
  stopped=$pid
  t=$(now)
  until [[ $(state_of "$pid") == T ]]; do
    kill -0 "$pid" 2>/dev/null || { echo "cloud.sh: the $dns run of $n ended before its rollback:" >&2; cat "$work/err" >&2; exit 1; }
    ! over "$t" 300 || { echo "cloud.sh: the $dns run of $n never reached its rollback" >&2; exit 1; }
    sleep 0.005
  done
  reset
  t=$(now)
  kill -CONT "$pid"
  status=0
  wait "$pid" || status=$?
  stopped=
  wall=$(since "$t")
  [[ $status == 1 ]] || { echo "cloud.sh: the rolled-back $dns run of $n exited $status:" >&2; cat "$work/err" >&2; exit 1; }
  if compgen -G "$work/state/runs/*.jsonl" >/dev/null; then
    echo "cloud.sh: the rollback of the $dns run of $n left a journal behind" >&2
    exit 1
  fi
  [[ $keep == yes ]] && record "$n" rollback "$wall" "$t"
  return 0
}

for dns in $providers; do
  rm -f "$work/stand-ins.env" "$work/proxy.env"
  pids=("$moto_pid")
  dns_args=()
  forwards=(--forward "aws=$moto")
  ns=
  case $dns in
    cloudflare | route53)
      if [[ $dns == cloudflare ]]; then stand_in_args=(--cloudflare); else stand_in_args=(--route53 "$moto"); fi
      "$examples/stand-ins" --propagation "$propagation" "${stand_in_args[@]}" --ready "$work/stand-ins.env" 2>>"$work/helpers.log" &
      helper=$!
      pids+=("$helper")
      wait_ready "$work/stand-ins.env" "$helper" stand-ins
      if [[ $dns == cloudflare ]]; then
        forwards+=(--forward "cloudflare=$(value "$work/stand-ins.env" cloudflare | sed 's#/client/v4$##')")
        ns=$(value "$work/stand-ins.env" cloudflare_ns)
      else
        ns=$(value "$work/stand-ins.env" route53_ns)
      fi
      ;;
    rfc2136)
      command -v named >/dev/null || { echo "cloud.sh: DNS=rfc2136 needs BIND's named (./setup.sh)" >&2; exit 1; }
      start_bind
      helper=$bind_pid
      pids+=("$helper")
      forwards+=(--forward-dns "bind=127.0.0.1:$bind_port")
      ;;
    *) echo "cloud.sh: DNS=$dns: cloudflare, route53 or rfc2136" >&2; exit 1 ;;
  esac
  "$examples/latency-proxy" --latency "$latency" "${forwards[@]}" --ready "$work/proxy.env" 2>>"$work/helpers.log" &
  proxy=$!
  pids+=("$proxy")
  wait_ready "$work/proxy.env" "$proxy" latency-proxy
  aws=$(value "$work/proxy.env" aws)
  control=$(value "$work/proxy.env" control)
  cf=http://127.0.0.1:9
  if [[ $dns == cloudflare ]]; then
    cf=$(value "$work/proxy.env" cloudflare)/client/v4
  elif [[ $dns == rfc2136 ]]; then
    # Every message to BIND goes through the relay: the updates, and the wait's queries
    # (which are counted with them).
    dns_args=(--dns-server "$(value "$work/proxy.env" bind)")
  fi
  rig_env

  # moto builds its EC2 backend on the first RunInstances (seconds): not rigger's time.
  measure 1 no
  for n in $sizes; do
    for r in $(seq 1 "$runs"); do
      echo "cloud.sh: $dns, $n members, run $r of $runs" >&2
      measure "$n" yes
    done
  done
  stop "$proxy" "$helper"
  rm -rf "$work/bind" "$work/state"
  pids=("$moto_pid")
done

# The measurements, kept where RESULTS says (bench/cloud-table.jq renders them again).
[[ -n ${RESULTS:-} ]] && cp "$work/results.jsonl" "$RESULTS"
jq -rs --argjson latency "$latency" --argjson propagation "$propagation" --arg profile "$profile" \
  --argjson runs "$runs" -f bench/cloud-table.jq "$work/results.jsonl"
