#!/usr/bin/env bash
# An emulated cluster on one machine: N network namespaces ("hosts"), each with one
# veth link into a bridge that lives in a namespace of its own ("switch"), so nothing is
# added to the machine's own network. Hosts get addresses in 198.18.0.0/15 (the
# benchmarking range), which exist only inside these namespaces. Each link is shaped
# in both directions with tbf (rate); --delay/--loss add a one-way delay and a loss rate to
# what each host receives: with netem on the switch's side of the link where the kernel
# has it, otherwise with iptables in the host (loss: the statistic match; delay: NFQUEUE
# and one `syncbed link-delay` process per host, README "Emulated cluster networks"). Links
# use jumbo frames (MTU 9000, as cluster networks do): with 1500-byte frames the
# per-packet work of N emulated hosts saturates a small machine's cores long before
# the links, and the emulation would measure the CPU instead of the network.
#
#   scripts/netns_cluster.sh up N [--rate 10gbit] [--delay 50us] [--loss 0.01%] [--mtu 9000] [--name sb]
#                                 [--syncbed PATH]   # without netem, for --delay (default: build/)
#   scripts/netns_cluster.sh down [--name sb]
#   scripts/netns_cluster.sh list [--name sb]     # "rank namespace address" per host
#
# Namespaces are NAME-h0 .. NAME-h<N-1> and NAME-sw, delay processes are recorded in
# /run/syncbed-netns/NAME; `down` removes those and nothing else.
set -euo pipefail

usage() { sed -n '14,20s/^# \{0,1\}//p' "$0"; }
die() { echo "netns_cluster.sh: $*" >&2; exit 2; }

action="${1:-}"
[ -n "$action" ] || { usage >&2; exit 2; }
shift
hosts=0
if [ "$action" = up ]; then
  hosts="${1:-}"
  [[ "$hosts" =~ ^[0-9]+$ ]] && [ "$hosts" -ge 1 ] && [ "$hosts" -le 1024 ] ||
    die "up needs a host count between 1 and 1024, got '${hosts}'"
  shift
fi
name=sb rate=10gbit delay=0 loss=0 mtu=9000
syncbed="${SYNCBED:-$(cd "$(dirname "$0")/.." && pwd)/build/experiments/syncbed}"
while [ $# -gt 0 ]; do
  case "$1" in
    --syncbed) syncbed="${2:-}"; shift 2 || die "--syncbed needs a value" ;;
    --name) name="${2:-}"; shift 2 || die "--name needs a value" ;;
    --rate) rate="${2:-}"; shift 2 || die "--rate needs a value" ;;
    --delay) delay="${2:-}"; shift 2 || die "--delay needs a value" ;;
    --loss) loss="${2:-}"; shift 2 || die "--loss needs a value" ;;
    --mtu) mtu="${2:-}"; shift 2 || die "--mtu needs a value" ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
[[ "$name" =~ ^[a-z][a-z0-9]{0,11}$ ]] || die "--name must be 1-12 lower-case letters or digits, starting with a letter"
[[ "$rate" =~ ^[0-9]+(\.[0-9]+)?([kmgt]?bit)$ ]] || die "--rate must look like 10gbit, 500mbit or 100kbit, got '$rate'"
[[ "$delay" = 0 || "$delay" =~ ^[0-9]+(\.[0-9]+)?(us|ms|s)$ ]] || die "--delay must look like 50us or 1ms, got '$delay'"
[[ "$loss" =~ ^[0-9]+(\.[0-9]+)?%?$ ]] || die "--loss must be a percentage like 0.01%, got '$loss'"
[[ "$mtu" =~ ^[0-9]+$ ]] && [ "$mtu" -ge 576 ] && [ "$mtu" -le 65535 ] || die "--mtu must be between 576 and 65535, got '$mtu'"
[ "$(id -u)" = 0 ] || die "must be run as root: it creates network namespaces, veth links and tc qdiscs"
command -v ip >/dev/null && command -v tc >/dev/null || die "needs ip and tc (Debian package iproute2)"

switch="$name-sw"
rundir="/run/syncbed-netns/$name"
mine() { ip netns list | awk '{print $1}' | grep -E "^$name-(sw|h[0-9]+)\$" || true; }
address() { local n=$(($1 + 1)); echo "198.18.$((n / 256)).$((n % 256))"; }

# The delay processes first: a namespace outlives `ip netns delete` while one runs in it.
stop_delays() {
  [ -d "$rundir" ] || return 0
  local file pid pids=()
  for file in "$rundir"/*.pid; do
    [ -e "$file" ] || continue
    pid=$(cat "$file")
    if grep -qa link-delay "/proc/$pid/cmdline" 2>/dev/null && kill "$pid" 2>/dev/null; then pids+=("$pid"); fi
  done
  for _ in $(seq 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$rundir"
  rmdir /run/syncbed-netns 2>/dev/null || true
}

down() {
  local ns
  stop_delays
  for ns in $(mine); do ip netns delete "$ns"; done
}

list() {
  local ns
  for ns in $(mine | grep -v -- -sw | sort -t h -k2 -n); do
    local rank="${ns##*-h}"
    echo "$rank $ns $(address "$rank")"
  done
}

is_zero() { [[ "$1" =~ ^0*(\.0*)?(us|ms|s|%)?$ ]]; }

# tbf on one side of a link. The bucket holds about 1 ms of traffic (at least 64 KiB, so
# a GSO burst fits); the queue holds up to 100 ms, deep enough that many senders into
# one port (incast) lose throughput to the port's rate, not to TCP timeouts.
shape() {
  local ns="$1" dev="$2" parent="$3"
  local bits
  bits=$(awk -v r="$rate" 'BEGIN { m = 1; if (r ~ /kbit/) m = 1e3; if (r ~ /mbit/) m = 1e6;
                                  if (r ~ /gbit/) m = 1e9; if (r ~ /tbit/) m = 1e12; printf "%d", r * m }')
  local burst=$((bits / 8 / 1000))
  [ "$burst" -ge 65536 ] || burst=65536
  ip netns exec "$ns" tc qdisc add dev "$dev" $parent tbf rate "$rate" burst "$burst" latency 100ms
}

# Without netem: loss by iptables' statistic match, delay by NFQUEUE and a syncbed
# link-delay process holding the host's queue, both on the packets the host receives
# (held outgoing packets would count against the sender's socket and throttle TCP).
impair_without_netem() {
  local host="$1"
  if ! is_zero "$loss"; then
    local probability
    probability=$(awk -v l="${loss%\%}" 'BEGIN { printf "%.6f", l / 100 }')
    ip netns exec "$host" iptables -A INPUT -i eth0 -m statistic --mode random --probability "$probability" -j DROP
  fi
  is_zero "$delay" && return 0
  mkdir -p "$rundir"
  ip netns exec "$host" "$syncbed" link-delay --delay "$delay" >"$rundir/$host.out" 2>"$rundir/$host.log" </dev/null &
  echo $! >"$rundir/$host.pid"
  for _ in $(seq 100); do
    grep -q ready "$rundir/$host.out" 2>/dev/null && break
    kill -0 "$(cat "$rundir/$host.pid")" 2>/dev/null || die "syncbed link-delay failed on $host: $(cat "$rundir/$host.log")"
    sleep 0.05
  done
  grep -q ready "$rundir/$host.out" || die "syncbed link-delay did not start on $host within 5 s"
  ip netns exec "$host" iptables -A INPUT -i eth0 -j NFQUEUE --queue-num 0
}

# netem where the kernel has it; otherwise iptables and syncbed, if they are here.
choose_impairment() {
  if is_zero "$delay" && is_zero "$loss"; then echo none; return; fi
  local said
  if said=$(ip netns exec "$switch" tc qdisc add dev br0 root netem delay 1ms 2>&1); then
    ip netns exec "$switch" tc qdisc del dev br0 root
    echo netem
    return
  fi
  [[ "$said" == *unknown* ]] || die "tc refused a netem qdisc: $said"
  command -v iptables >/dev/null ||
    die "this kernel has no netem qdisc (sch_netem), and --delay/--loss then need iptables (Debian package iptables)"
  is_zero "$delay" || [ -x "$syncbed" ] ||
    die "this kernel has no netem qdisc (sch_netem), and --delay then needs the syncbed binary at $syncbed (--syncbed PATH; build it with scripts/build.sh build)"
  echo iptables
}

up() {
  [ -z "$(mine)" ] || die "a cluster named '$name' exists already; run: $0 down --name $name"
  local made=0
  trap '[ "$made" = 1 ] || { echo "netns_cluster.sh: setup failed, removing what was made" >&2; down; }' EXIT
  ip netns add "$switch"
  ip -n "$switch" link add br0 type bridge
  ip -n "$switch" link set br0 up
  local impairment
  impairment=$(choose_impairment)
  for ((i = 0; i < hosts; i++)); do
    local host="$name-h$i"
    ip netns add "$host"
    ip -n "$switch" link add "p$i" type veth peer name eth0 netns "$host"
    ip -n "$switch" link set "p$i" mtu "$mtu"
    ip -n "$host" link set eth0 mtu "$mtu"
    ip -n "$switch" link set "p$i" master br0 up
    ip -n "$host" addr add "$(address "$i")/15" dev eth0
    ip -n "$host" link set eth0 up
    ip -n "$host" link set lo up
    shape "$host" eth0 root
    # Delay and loss on what the host receives: on the switch's side of its link (netem),
    # or in the host (iptables).
    if [ "$impairment" = netem ]; then
      local said
      said=$(ip netns exec "$switch" tc qdisc add dev "p$i" root handle 1: netem delay "$delay" loss "$loss" 2>&1) ||
        die "tc refused netem delay '$delay' loss '$loss': $said"
      shape "$switch" "p$i" "parent 1:1"
    else
      shape "$switch" "p$i" root
      if [ "$impairment" = iptables ]; then impair_without_netem "$host"; fi
    fi
  done
  made=1
  trap - EXIT
  list
}

case "$action" in
  up) up ;;
  down) down ;;
  list) list ;;
  -h|--help) usage ;;
  *) die "unknown action '$action' (up, down or list)" ;;
esac
