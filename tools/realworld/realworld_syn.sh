#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: patch 0003 of the series (a closed socket answers
# a SYN that it takes from its backlog, tcplat "syn_closed_ack") met by
# real programs from Debian's archive instead of the series' own loop:
# nginx serves, httperf and HAProxy connect.  One run of one workload: it
# measures and never judges; scripts/measure/ab realworld switches the fix
# off and on between runs and sums them up.
#
#   tools/realworld/realworld_syn.sh -w WORKLOAD [-N veth|lo] [-c CONNS]
#       [-p PORTS] [-S SERVERS] [-t SECS] [-C [-o DIR]]
#
#   -w  keepalive, proxy or checks (one file each beside this one):
#       keepalive  httperf --close-with-reset (SO_LINGER {1, 0}), 2
#                  requests per connection, one connection at a time,
#                  against nginx, the client's ip_local_port_range
#                  narrowed to PORTS ports
#       proxy      httperf -> HAProxy -> nginx; the backend has "option
#                  nolinger", "option http-server-close" and a source
#                  port range of PORTS ports
#       checks     HAProxy health checks of SERVERS servers (half layer-4
#                  connect checks, half "option httpchk"), one source port
#                  each, at HAProxy's default interval (2 s), for SECS
#   -N  veth (default): a client and a server namespace joined by a veth
#       pair; lo: one namespace over loopback
#   -c  connections of keepalive and proxy (default 1500)
#   -p  client ports (default 1: port exhaustion; at most 1000)
#   -S  servers of checks (default 400, at most 1000)
#   -t  seconds of checks (default 30, at least 5)
#   -C  capture instead of measure: the workload under tcpdump (default
#       -c 200, -t 5), counting how its connections to port 80 close;
#       -o DIR keeps the capture there (W.pcap, W.txt its first 60 lines)
# An option given twice: the last one wins (scripts/measure/ab appends).
#
# Each run sets up its own namespaces, nginx and HAProxy, and tears them
# down: the driver runs the tool once per side and pair and has no hook to
# start or stop a server around its runs, and a fresh namespace per run
# carries no socket of the other side's run into the next one.  nginx has
# Debian's defaults where they matter (worker_processes auto, 768
# connections, sendfile, tcp_nopush, keep-alive 65 s; nginx.conf here) and
# serves the page that nginx-common ships.
#
# Measure prints one line:
#   realworld_syn: workload=W net=N ports=P syn_closed_ack=V conns= stalls_1s=
#     [p50_ms= p99_ms= max_ms= http5xx= errors=] syn_challenge= syn_rto=
#     syn_retrans= stale_resend= listen_drops= retrans_segs_cli=
#     retrans_segs_srv= guest_pauses= pause_max_ms=
#     [haproxy_conn_errors= haproxy_retries= | servers= failed_checks=]
# conns: connections (checks: the client's TcpActiveOpens, one per check);
# stalls_1s: connections of 1 s or more in httperf's 1-ms lifetime
# histogram (checks, which HAProxy does not time one by one: syn_rto);
# p50/p99 the upper edges of their 1-ms bins; syn_challenge the server's
# TcpExtTCPSYNChallenge (SYNs answered with an ACK by the connection's
# socket, where patch 0003 counts its closed-socket ACK); syn_rto the
# client's TcpExtTCPTimeouts (SYNs resent by the timer: each a connect()
# that waited for the initial RTO, 1 s); stale_resend TCPSynRetrans -
# TCPTimeouts (SYNs resent right behind a RST, patch 0004); guest_pauses
# and pause_max_ms: wake-ups of a 20-ms sleep loop that came more than
# 100 ms late (the guest not run by a busy host: stalls_1s counts those
# too, syn_rto does not).  With -N lo client and server counters are one
# namespace's.  syn_closed_ack is tcplat's knob, "-" without tcplat.
# Capture prints "realworld_syn: capture workload=W ..." lines instead.
#
# Exit 0 measured, 1 could not (why on stderr), 2 bad usage.  Runs as root
# inside a scripts/vm-run VM only, whose guest uses the host's haproxy,
# nginx and httperf (apt-get install haproxy nginx-light httperf there).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export PATH=$PATH:/usr/sbin:/sbin
name=realworld_syn
w='' net=veth conns='' ports=1 servers=400 secs='' capture=0 capdir=''

usage() { echo "$name: $*" >&2; exit 2; }
fail() { echo "$name: $*" >&2; exit 1; }
uint() { [[ "$1" =~ ^[1-9][0-9]{0,6}$ ]] || usage "-$2 wants a positive integer, not '$1'"; }

while getopts ':w:N:c:p:S:t:Co:h' o; do
	case "$o" in
	w) w=$OPTARG ;;
	N) net=$OPTARG ;;
	c) uint "$OPTARG" c; conns=$OPTARG ;;
	p) uint "$OPTARG" p; ports=$OPTARG ;;
	S) uint "$OPTARG" S; servers=$OPTARG ;;
	t) uint "$OPTARG" t; secs=$OPTARG ;;
	C) capture=1 ;;
	o) capdir=$OPTARG ;;
	h) sed -n '4,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
	:) usage "-$OPTARG needs a value" ;;
	*) usage "unknown option '-$OPTARG' (see -h)" ;;
	esac
done
[ $OPTIND -gt $# ] || usage "unexpected argument '${!OPTIND}'"
case "$w" in
keepalive | proxy | checks) ;;
'') usage "which workload? -w keepalive, proxy or checks" ;;
*) usage "-w wants keepalive, proxy or checks, not '$w'" ;;
esac
case "$net" in veth | lo) ;; *) usage "-N wants veth or lo, not '$net'" ;; esac
[ "$ports" -le 1000 ] || usage "-p: at most 1000 ports"
[ "$servers" -le 1000 ] || usage "-S: at most 1000 servers"
[ -z "$capdir" ] || [ "$capture" -eq 1 ] || usage "-o goes with -C"
if [ "$capture" -eq 1 ]; then conns=${conns:-200} secs=${secs:-5}; fi
conns=${conns:-1500} secs=${secs:-30}
[ "$secs" -ge 5 ] || usage "-t: at least 5 s (the check interval is 2 s)"
[ "$(id -u)" -eq 0 ] || usage "must run as root (in a test VM: scripts/vm-run)"
# vm-run boots with init=<top>/build/vm/run.*/init: refuse anywhere else.
grep -q 'init=[^ ]*/build/vm/run\.[^ ]*/init' /proc/cmdline ||
	usage "runs only inside a scripts/vm-run VM, never on a host"

need=(nginx nstat python3 ip timeout)
[ "$w" = keepalive ] || need+=(haproxy curl)
[ "$w" = checks ] || need+=(httperf)
[ "$capture" -eq 0 ] || need+=(tcpdump)
for p in "${need[@]}"; do
	command -v "$p" > /dev/null ||
		fail "$p not found (on the host, whose root the guest shares: apt-get install haproxy nginx-light httperf tcpdump iproute2 curl)"
done
uri=/index.html
[ -f /usr/share/nginx/html$uri ] || fail "/usr/share/nginx/html$uri missing (nginx-common)"

# ------------------------------------------------------------------ setup
work=$(mktemp -d /tmp/realworld.XXXXXX) || fail "mktemp failed"
sns=rw-srv-$$ cns=rw-cli-$$ saddr=10.208.7.1 caddr=10.208.7.2 cif=veth0
[ "$net" = lo ] && sns=rw-lo-$$ cns=rw-lo-$$ saddr=127.0.0.1 caddr=127.0.0.1 cif=lo
pause_pid=''

# cleanup: every process in our namespaces (nginx, HAProxy, tcpdump) and
# the pause meter stopped and waited for, the namespaces deleted
cleanup() {
	local ns i pids
	[ -n "$pause_pid" ] && kill "$pause_pid" 2>/dev/null
	for ns in "$cns" "$sns"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
	done
	for i in $(seq 50); do
		pids=$( (ip netns pids "$cns"; ip netns pids "$sns") 2>/dev/null)
		[ -z "$pids" ] && break
		sleep 0.1
	done
	[ -n "$pids" ] && echo "$pids" | xargs -r kill -KILL 2>/dev/null
	ip netns del "$cns" 2>/dev/null
	[ "$sns" = "$cns" ] || ip netns del "$sns" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cx() { ip netns exec "$cns" "$@"; }
sx() { ip netns exec "$sns" "$@"; }
# cxb CMD...: a client command, bounded (no run may hang the driver)
cxb() { timeout -k 5 $((conns / 5 + 120)) ip netns exec "$cns" "$@"; }

{ ip netns add "$sns" && ip -n "$sns" link set lo up; } || fail "cannot set up namespace $sns"
if [ "$net" = veth ]; then
	{ ip netns add "$cns" && ip -n "$cns" link set lo up &&
	  ip -n "$cns" link add veth0 type veth peer name veth0 netns "$sns" &&
	  ip -n "$cns" addr add "$caddr/24" dev veth0 &&
	  ip -n "$sns" addr add "$saddr/24" dev veth0 &&
	  ip -n "$cns" link set veth0 up && ip -n "$sns" link set veth0 up; } ||
		fail "cannot set up the veth pair between $cns and $sns"
fi

# render FILE NAME=VALUE...: a template beside this script with each
# @NAME@ replaced
render() {
	local f=$1 e=() kv
	shift
	for kv; do e+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
	sed "${e[@]}" "$here/$f"
}
render nginx.conf WORK="$work" SADDR="$saddr" > "$work/nginx.conf"
mkdir -p "$work/ng"
sx nginx -e "$work/nginx-error.log" -c "$work/nginx.conf" ||
	fail "nginx did not start: $(tail -n 3 "$work/nginx-error.log" 2>/dev/null)"

# haproxy_start CFG: HAProxy in the client namespace, up when its stats answer
haproxy_start() {
	local i pid
	ip netns exec "$cns" haproxy -db -f "$1" > "$work/haproxy.log" 2>&1 &
	pid=$!
	for i in $(seq 50); do
		cx curl -fs -m 2 -o /dev/null "http://127.0.0.1:9000/;csv" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	fail "HAProxy did not start: $(tail -n 3 "$work/haproxy.log")"
}
# stats FILE: HAProxy's stats CSV
stats() {
	cx curl -fs -m 5 "http://127.0.0.1:9000/;csv" > "$1" || fail "HAProxy's stats did not answer"
}

# httperf_run SERVER PORT ARGS...: httperf (-v -v: its lifetime histogram)
# of CONNS connections, its output in run.out
httperf_run() {
	cxb httperf --server "$1" --port "$2" --uri "$uri" --num-conns "$conns" \
		--timeout 5 -v -v "${@:3}" > "$work/run.out" 2>&1
}
# httperf_summary: "conns= stalls_1s= p50_ms= p99_ms= max_ms= http5xx=
# errors=" of run.out (p50/p99: upper edges of the 1-ms bins); fails
# without httperf's totals
httperf_summary() {
	awk '
	/^Connection lifetime histogram/ { h = 1; next }
	/^Total:/ { h = 0; conns = $3; total = 1 }
	h && /^ *[0-9.]+ +[0-9]+$/ { n++; b[n] = $1; c[n] = $2; tot += $2; if ($1 >= 1000) st += $2 }
	/^Connection time \[ms\]: min/ { max = $9 }
	/^Reply status:/ { split($7, f, "="); x5 = f[2] }
	/^Errors: total/ { err = $3 }
	END {
		if (!total || !tot) exit 1
		for (i = 1; i <= n; i++) {
			cum += c[i]
			if (p50 == "" && cum >= 0.50 * tot) p50 = b[i] + 0.5
			if (p99 == "" && cum >= 0.99 * tot) p99 = b[i] + 0.5
		}
		printf "conns=%d stalls_1s=%d p50_ms=%s p99_ms=%s max_ms=%s http5xx=%d errors=%d",
		       conns, st, p50, p99, max, x5, err
	}' "$work/run.out"
}

# Pause meter: a 20-ms sleep loop that logs every wake-up more than 100 ms
# late ("boottime_s late_ms"), so that stalls of the whole guest (vCPUs not
# run by a busy host) can be told from lost SYNs.
python3 -c '
import time
while True:
    t = time.clock_gettime(time.CLOCK_BOOTTIME)
    time.sleep(0.02)
    late = time.clock_gettime(time.CLOCK_BOOTTIME) - t - 0.02
    if late > 0.1:
        print("%.3f %d" % (time.clock_gettime(time.CLOCK_BOOTTIME), late * 1000), flush=True)
' > "$work/pauses" 2>/dev/null &
pause_pid=$!

# shellcheck source=tools/realworld/keepalive.sh
. "$here/keepalive.sh"
# shellcheck source=tools/realworld/proxy.sh
. "$here/proxy.sh"
# shellcheck source=tools/realworld/checks.sh
. "$here/checks.sh"

pkgver() { dpkg-query -W -f '${Package} ${Version}' "$1" 2>/dev/null || echo "$1 (not a package)"; }
echo "# $name: kernel $(uname -r); $(pkgver haproxy); $(pkgver nginx-light); $(pkgver httperf); $(pkgver tcpdump)"
knob=$(cat /proc/sys/net/ipv4/tcplat/syn_closed_ack 2>/dev/null || echo -)
"${w}_setup"

# ---------------------------------------------------------------- capture
# flags FILTER: the SYNs, RSTs and FINs the client sent to port 80
flags() {
	local f="$1 and dst port 80 and tcp[tcpflags]" x
	for x in "syn=& (tcp-syn|tcp-ack) == tcp-syn" "client_rst=& tcp-rst != 0" \
		 "client_fin=& tcp-fin != 0"; do
		printf ' %s=%s' "${x%%=*}" "$(tcpdump -nn -r "$work/c.pcap" "$f ${x#*=}" 2>/dev/null | wc -l)"
	done
}
if [ "$capture" -eq 1 ]; then
	ip netns exec "$cns" tcpdump -i "$cif" -nn -s 128 -U -w "$work/c.pcap" "tcp port 80" 2>/dev/null &
	tpid=$!
	sleep 2
	"${w}_run" || fail "the $w workload failed under the capture"
	sleep 1
	kill -INT "$tpid" 2>/dev/null
	wait "$tpid"
	echo "$name: capture workload=$w net=$net syn_closed_ack=$knob$(flags tcp)" \
		"server_rst=$(tcpdump -nn -r "$work/c.pcap" 'src port 80 and tcp[tcpflags] & tcp-rst != 0' 2>/dev/null | wc -l)" \
		"server_fin=$(tcpdump -nn -r "$work/c.pcap" 'src port 80 and tcp[tcpflags] & tcp-fin != 0' 2>/dev/null | wc -l)"
	"${w}_capture_parts" | while read -r part filter; do
		echo "$name: capture workload=$w net=$net part=$part$(flags "$filter")"
	done
	if [ -n "$capdir" ]; then
		{ mkdir -p "$capdir" && cp "$work/c.pcap" "$capdir/$w.pcap" &&
		  tcpdump -c 60 -nn -r "$work/c.pcap" > "$capdir/$w.txt" 2>/dev/null; } ||
			fail "cannot keep the capture in $capdir"
	fi
	exit 0
fi

# ---------------------------------------------------------------- measure
# snap N: counters of both namespaces (and HAProxy's stats) to c<N>, s<N>,
# h<N>; the stats are read outside the counters' window (their connection
# is not the workload's)
ctrs=(TcpExtTCPSYNChallenge TcpExtTCPSynRetrans TcpExtTCPTimeouts TcpExtListenDrops
      TcpActiveOpens TcpRetransSegs)
snap() {
	[ "$w" = keepalive ] || [ "$1" -eq 1 ] || stats "$work/h0"
	{ cx nstat -saz "${ctrs[@]}" > "$work/c$1" && sx nstat -saz "${ctrs[@]}" > "$work/s$1"; } ||
		fail "nstat failed"
	[ "$w" = keepalive ] || [ "$1" -eq 0 ] || stats "$work/h1"
	cut -d' ' -f1 /proc/uptime > "$work/t$1"
}
# d c|s NAME: the change of counter NAME in the client or server namespace
d() { awk -v n="$2" '$1 == n { v[++i] = $2 } END { print v[2] - v[1] }' "$work/${1}0" "$work/${1}1"; }

snap 0
"${w}_run" || fail "the $w workload failed: $(tail -n 3 "$work/run.out" 2>/dev/null | tr '\n' ' ')"
snap 1
fields=$("${w}_fields") || fail "no figures from the $w workload: $(tail -n 3 "$work/run.out" 2>/dev/null | tr '\n' ' ')"
extra=$("${w}_extra")
rto=$(d c TcpExtTCPTimeouts) syn=$(d c TcpExtTCPSynRetrans)
echo "$name: workload=$w net=$net ports=$ports syn_closed_ack=$knob $fields" \
	"syn_challenge=$(d s TcpExtTCPSYNChallenge) syn_rto=$rto syn_retrans=$syn" \
	"stale_resend=$((syn - rto)) listen_drops=$(d s TcpExtListenDrops)" \
	"retrans_segs_cli=$(d c TcpRetransSegs) retrans_segs_srv=$(d s TcpRetransSegs)" \
	"$(awk -v a="$(cat "$work/t0")" -v b="$(cat "$work/t1")" '$1 >= a && $1 <= b { n++; if ($2 > m) m = $2 }
		END { printf "guest_pauses=%d pause_max_ms=%d", n, m }' "$work/pauses")${extra:+ $extra}"
