#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: a reader that keeps up should never reach
# tcp_clamp_window(), so a bulk transfer must not be slowed by what the
# series changes there.  This is that workload, one run of it for
# scripts/measure/ab (profiles bulk and bulk-sw): an iperf3 transfer over
# a veth pair between two network namespaces of its own with netem delay
# on both ends (or, -L, over the loopback of one namespace), and one line
#
#   tcp_bulk: family=ipv4 net=veth rtt_ms=20 loss_pct=0 every=0 gro=off
#     shrink_window=2 time_s=10 iperf3=3.12 mbit_per_s=R retransmits=N
#     rtos=N stalls=N dropped=N PruneCalled=N TCPRcvWndShrink=N
#     TCPZeroWindowDrop=N OfoPruned=N
#
# mbit_per_s is what the receiver got, retransmits the sender's (iperf3),
# rtos its TcpExtTCPTimeouts, stalls the 1-second intervals in which it
# sent nothing, dropped the segments the loss router dropped, then the
# receiver's TcpExt counters of the run.  It judges nothing: without loss
# the receiver should never reach the prune path (PruneCalled 0), and
# scripts/bench-report says when it did.
#
#   tools/tcp_bulk.sh [-4|-6] [-t S] [-r RTT_MS] [-l PCT] [-g] [-L] [-W 0|1|2]
#
#   -t  seconds of transfer (default 10)
#   -r  netem round-trip time in ms, half on each end (default 20; 0: no
#       netem qdisc at all)
#   -L  loopback: sender and receiver in one namespace over lo, no netem,
#       no veth (not with -l, -g or an -r other than 0)
#   -l  a router namespace on the path drops every (100 / PCT)-th data
#       segment it forwards (nftables numgen): the same losses in every
#       run, where netem's random loss made one run of a pair lose in slow
#       start and the other not
#   -g  GRO on the receiving veth (ethtool), as a NIC would
#   -W  net.ipv4.tcp_shrink_window in both namespaces (default: theirs)
#
# Exit 0 measured, 1 could not (setup, iperf3), 2 bad arguments.  Needs
# root, ip, tc, iperf3, python3 (and nft, ethtool for -l, -g): run it in
# a test VM (scripts/vm-run), never on a host.
set -uo pipefail

family=4 time_s=10 rtt_ms=20 loss='' every=0 gro=0 sw='' net=veth rtt_set=0
snd=tbs$$ rcv=tbr$$ rtr=tbx$$

usage() { echo "tcp_bulk: $*" >&2; exit 2; }
fail() { echo "tcp_bulk: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	-4) family=4; shift ;;
	-6) family=6; shift ;;
	-t) time_s=${2:-}; shift 2 || usage "-t needs seconds" ;;
	-r) rtt_ms=${2:-} rtt_set=1; shift 2 || usage "-r needs milliseconds" ;;
	-l) loss=${2:-}; shift 2 || usage "-l needs a percentage" ;;
	-g) gro=1; shift ;;
	-L) net=lo; shift ;;
	-W) sw=${2:-}; shift 2 || usage "-W needs 0, 1 or 2" ;;
	-h | --help) sed -n '3,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) usage "unknown option '$1' (see tools/tcp_bulk.sh -h)" ;;
	esac
done
[[ "$time_s" =~ ^[1-9][0-9]{0,3}$ ]] || usage "-t wants 1..9999 seconds, not '$time_s'"
[[ "$rtt_ms" =~ ^[0-9]{1,4}$ ]] || usage "-r wants 0..9999 ms, not '$rtt_ms'"
[[ "$sw" =~ ^[012]?$ ]] || usage "-W wants 0, 1 or 2, not '$sw'"
if [ "$net" = lo ]; then
	[ "$rtt_ms" = 0 ] || [ "$rtt_set" = 0 ] || usage "-L takes no -r other than 0"
	if [ -n "$loss" ] || [ "$gro" = 1 ]; then usage "-L takes no -l or -g"; fi
	rtt_ms=0
fi
if [ -n "$loss" ]; then
	[[ "$loss" =~ ^[0-9]{1,2}(\.[0-9]{1,3})?$ ]] && every=$(awk -v p="$loss" \
		'BEGIN { if (p > 0) printf "%d", 100 / p + 0.5 }')
	[ "${every:-0}" -ge 2 ] || usage "-l wants a percentage in 0.001..50, not '$loss'"
fi

[ "$(id -u)" -eq 0 ] || fail "needs root (network namespaces): run it in a test VM"
need=(ip tc ss iperf3 python3)
[ -z "$loss" ] || need+=(nft ethtool)
[ "$gro" = 0 ] || need+=(ethtool)
for t in "${need[@]}"; do
	command -v "$t" > /dev/null || fail "$t not found (make deps)"
done
[ -z "$sw" ] || [ -e /proc/sys/net/ipv4/tcp_shrink_window ] ||
	fail "no net.ipv4.tcp_shrink_window on this kernel"

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	local ns
	for ns in "$rcv" "$snd" "$rtr"; do
		ip netns pids "$ns" 2> /dev/null | xargs -r kill 2> /dev/null
		ip netns del "$ns" 2> /dev/null
	done
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The path: veth between the two namespaces, netem delay on both ends.
# With -l, a router namespace between them drops the segments: TCP hands
# GSO packets to the sender's veth, which are split only after the qdisc
# and netfilter hooks of that namespace, so only a hop that forwards the
# segments one by one (no GRO on its input) can drop one.
setup_net() {
	local ns s4=10.208.0.2 s6=fd00:208::2
	if [ "$net" = lo ]; then
		# one namespace: the sender's name is the receiver's
		snd=$rcv
		ip netns add "$rcv" && ip -n "$rcv" link set lo up || return 1
		[ -z "$sw" ] || ip netns exec "$rcv" sysctl -qw net.ipv4.tcp_shrink_window="$sw"
		return
	fi
	ip netns add "$snd" && ip netns add "$rcv" || return 1
	if [ -n "$loss" ]; then
		ip netns add "$rtr" &&
		ip -n "$rtr" link add vs type veth peer name veth0 netns "$snd" &&
		ip -n "$rtr" link add vr type veth peer name veth0 netns "$rcv" &&
		ip -n "$rtr" addr add 10.208.1.1/24 dev vs &&
		ip -n "$rtr" addr add fd00:208:1::1/64 dev vs nodad &&
		ip -n "$rtr" addr add 10.208.0.2/24 dev vr &&
		ip -n "$rtr" addr add fd00:208::2/64 dev vr nodad &&
		ip -n "$rtr" link set lo up && ip -n "$rtr" link set vs up &&
		ip -n "$rtr" link set vr up &&
		ip netns exec "$rtr" sysctl -qw net.ipv4.ip_forward=1 &&
		ip netns exec "$rtr" sysctl -qw net.ipv6.conf.all.forwarding=1 &&
		ip netns exec "$rtr" ethtool -K vs gro off > /dev/null || return 1
		s4=10.208.1.2 s6=fd00:208:1::2
	else
		ip -n "$snd" link add veth0 type veth peer name veth0 netns "$rcv" || return 1
	fi
	ip -n "$snd" addr add "$s4/24" dev veth0 &&
	ip -n "$snd" addr add "$s6/64" dev veth0 nodad &&
	ip -n "$rcv" addr add 10.208.0.1/24 dev veth0 &&
	ip -n "$rcv" addr add fd00:208::1/64 dev veth0 nodad || return 1
	for ns in "$snd" "$rcv"; do
		ip -n "$ns" link set lo up && ip -n "$ns" link set veth0 up || return 1
		[ "$rtt_ms" = 0 ] || tc -n "$ns" qdisc add dev veth0 root netem \
			delay "$((rtt_ms * 500))us" limit 100000 || return 1
		[ -z "$sw" ] ||
			ip netns exec "$ns" sysctl -qw net.ipv4.tcp_shrink_window="$sw" || return 1
	done
	[ "$gro" = 0 ] || ip netns exec "$rcv" ethtool -K veth0 gro on > /dev/null || return 1
	[ -n "$loss" ] || return 0
	ip -n "$snd" route add default via 10.208.1.1 &&
	ip -n "$snd" -6 route add default via fd00:208:1::1 &&
	ip -n "$rcv" route add default via 10.208.0.2 &&
	ip -n "$rcv" -6 route add default via fd00:208::2 || return 1
	# every $every-th data segment to the iperf3 port, from the first on
	ip netns exec "$rtr" nft -f - <<-EOF
		table inet loss {
			chain drops {
				type filter hook forward priority 0; policy accept;
				iifname "vs" tcp dport 5201 meta length > 1000 numgen inc mod $every 0 counter drop
			}
		}
	EOF
}

# counters NS NAME...: those TcpExt counters of namespace NS, in order
counters() {
	local ns=$1
	shift
	# shellcheck disable=SC2016  # awk's own fields
	ip netns exec "$ns" awk -v keys="$*" '
		/^TcpExt:/ && !h { for (i = 2; i <= NF; i++) n[$i] = i; h = 1; next }
		/^TcpExt:/ { k = split(keys, w, " ")
			     for (j = 1; j <= k; j++) printf "%s ", (w[j] in n) ? $(n[w[j]]) : 0 }
		' /proc/net/netstat
}

setup_net || fail "network setup failed (veth, netem${loss:+, nft numgen}${sw:+, tcp_shrink_window=$sw}$([ "$gro" = 0 ] || echo ", GRO"))"
if [ "$family" = 6 ]; then addr=fd00:208::1; else addr=10.208.0.1; fi
if [ "$net" = lo ]; then
	if [ "$family" = 6 ]; then addr=::1; else addr=127.0.0.1; fi
fi
ip netns exec "$rcv" iperf3 -s -1 -D -B "$addr" > /dev/null || fail "iperf3 server did not start"
for _ in $(seq 50); do
	ip netns exec "$rcv" ss -Hltn 'sport = :5201' | grep -q . && break
	sleep 0.1
done

keys="PruneCalled TCPRcvWndShrink TCPZeroWindowDrop OfoPruned"
read -ra r0 <<< "$(counters "$rcv" "$keys")"
t0=$(counters "$snd" TCPTimeouts)
json=$(ip netns exec "$snd" iperf3 -c "$addr" -t "$time_s" -J 2>&1)
res=$(python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
e = d["end"]
stalls = sum(1 for i in d["intervals"] if i["sum"]["bytes"] == 0)
print("%.2f %d %d" % (e["sum_received"]["bits_per_second"] / 1e6,
                     e["sum_sent"].get("retransmits", -1), stalls))' <<< "$json" 2> /dev/null)
if [ -z "$res" ]; then
	printf '%s\n' "$json" | head -n 20 >&2
	fail "iperf3 gave no result"
fi
read -ra r1 <<< "$(counters "$rcv" "$keys")"
t1=$(counters "$snd" TCPTimeouts)
read -r rate retr stalls <<< "$res"
dropped=0
[ -z "$loss" ] || dropped=$(ip netns exec "$rtr" nft list chain inet loss drops |
	grep -o 'packets [0-9]*' | cut -d' ' -f2)
line="tcp_bulk: family=ipv$family net=$net rtt_ms=$rtt_ms loss_pct=${loss:-0} every=$every"
line+=" gro=$([ "$gro" = 1 ] && echo on || echo off)"
line+=" shrink_window=$(ip netns exec "$rcv" cat /proc/sys/net/ipv4/tcp_shrink_window 2> /dev/null || echo na)"
line+=" time_s=$time_s iperf3=$(iperf3 -v | head -n1 | cut -d' ' -f2)"
line+=" mbit_per_s=$rate retransmits=$retr rtos=$((t1 - t0)) stalls=$stalls dropped=${dropped:-0}"
i=0
for k in $keys; do
	line+=" $k=$((r1[i] - r0[i]))"
	i=$((i + 1))
done
echo "$line"
