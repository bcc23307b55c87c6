#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: a tracing tool that prints nothing looks the same
# as one that is broken.  This runs each bpftrace tool of this folder
# beside a scenario that must show in its output, inside a test VM, and
# checks the numbers: tcp-close-race beside the series selftest
# tcp_syn_closed (3 SYNs per way in: lost on a stock kernel, answered or
# looked up again on a patched one), tcp-stale-ack beside tcp_stale_peer
# (every reconnect meets a stale ACK and is followed to ESTABLISHED),
# tcp-rcvbuf-growth beside tcp_rcvbuf_growth (a slow reader: the prune
# path raises sk_rcvbuf, on the patched kernel at most once),
# tcp-listen-drops beside tcp_synq_full and tcp_acceptq_full (their
# refusals add up to the reproducers' TcpExt deltas) and beside clean
# connects (no refusal), tcp-connect-cost beside tcp_port_exhaust (its
# failures) and clean connects (none), tcp-overview beside the three
# connection-setup reproducers and
# tcp_stale_peer (its totals against theirs) and beside clean connects
# (zeros).
#
#   test-bpftrace.sh --expect stock|patched
#
# TAP output; exit 0 when every check passed.  Runs as root in a VM.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
expect=''
n=0 bad=0

die() { echo "test-bpftrace: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--expect) expect=${2:-}; shift 2 || die "--expect needs stock or patched" ;;
	-h | --help) sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option '$1'" ;;
	esac
done
case "$expect" in stock | patched) ;; *) die "--expect wants stock or patched, not '$expect'" ;; esac
for p in tcp_syn_closed tcp_stale_peer tcp_rcvbuf_growth tcp_synq_full tcp_acceptq_full tcp_port_exhaust; do
	[ -x "$top/selftests/$p" ] || die "$top/selftests/$p not built (make -C selftests)"
done

check() {
	local what=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n $what"
	else
		echo "not ok $n $what"
		bad=$((bad + 1))
	fi
}
# value OUTPUT KEY: the count printed for map entry KEY ("@drops[0, 1]: 3")
value() { grep -F "$2: " <<<"$1" | tail -n1 | sed 's/.*: //'; }
is() { [ "$(value "$1" "$2")" = "$3" ]; }
absent() { ! grep -qF "$2: " <<<"$1"; }

echo "TAP version 13"
# softirq variant (IPv4) and backlog variant (IPv6), 3 trials each
out=$("$here/tcp-close-race" -c "$top/selftests/tcp_syn_closed -r syn.ipv4_softirq.reaches_listener -r syn.ipv6_backlog.reaches_listener" 2>&1)
echo "$out" | grep -v '^#' | sed 's/^/# /'
check "tcp-close-race attached" grep -q '^Attaching' <<<"$out"
if [ "$expect" = stock ]; then
	check "tcp-close-race: 3 SYNs lost in softirq" is "$out" "@drops[0, 1]" 3
	check "tcp-close-race: 3 SYNs lost from the backlog" is "$out" "@drops[1, 1]" 3
	check "tcp-close-race: no rescue on a stock kernel" absent "$out" "@rescued["
else
	check "tcp-close-race: no SYN lost in softirq (looked up again)" absent "$out" "@drops[0, 1]"
	check "tcp-close-race: no SYN lost from the backlog" absent "$out" "@drops[1, 1]"
	check "tcp-close-race: 3 backlog SYNs answered by the closed socket" is "$out" "@drops[1, 5]" 3
	check "tcp-close-race: 3 rescues counted" \
		is "$out" "@rescued[SYN answered with an ACK by the closed socket (TCPSynClosedAck)]" 3
fi

out=$("$here/tcp-stale-ack" -c "$top/selftests/tcp_stale_peer -4 -n 5" 2>&1)
echo "$out" | grep -v '^#' | sed 's/^/# /'
check "tcp-stale-ack attached" grep -q '^Attaching' <<<"$out"
check "tcp-stale-ack: 5 stale ACKs" is "$out" "@n_stale" 5
check "tcp-stale-ack: 5 reconnects followed to ESTABLISHED" \
	[ "$(grep -c '^[0-9]* *connected ' <<<"$out")" = 5 ]
check "tcp-stale-ack: 5 SYN resends timed" \
	[ "$(grep -c '^[0-9]* *syn-resend ' <<<"$out")" = 5 ]
# Which path resent the SYN: the timer (stock: 2 jiffies later) or the
# receive path right behind the RST (the series).  No timing threshold:
# under TCG on a loaded host a fast resend can take milliseconds.
if [ "$expect" = stock ]; then
	check "tcp-stale-ack: stock resends by the retransmission timer (5)" \
		is "$out" "@syn_resend_by[retransmission timer]" 5
else
	check "tcp-stale-ack: patched resends right behind the RST (5)" \
		is "$out" "@syn_resend_by[right behind the RST]" 5
fi

# A slow reader (seed 003): on a stock kernel the prune path raises
# sk_rcvbuf again and again while the reader lags; with patch 0007 it does
# so at most once per connection (the one-time step at the switch to a
# shrinking window).
out=$("$here/tcp-rcvbuf-growth" -q -c "$top/selftests/tcp_rcvbuf_growth -4 -t 5" 2>&1)
echo "$out" | grep -v '^#' | sed 's/^/# /'
check "tcp-rcvbuf-growth attached" grep -q '^Attaching' <<<"$out"
raised=$(value "$out" "@raised[prune path (tcp_clamp_window)]")
if [ "$expect" = stock ]; then
	check "tcp-rcvbuf-growth: stock: the prune path raised sk_rcvbuf again and again (${raised:-0} times)" \
		[ "${raised:-0}" -gt 1 ]
else
	check "tcp-rcvbuf-growth: patched: the prune path raised sk_rcvbuf at most once (${raised:-0} times)" \
		[ "${raised:-0}" -le 1 ]
fi
check "tcp-rcvbuf-growth: a peak sk_rcvbuf reported" grep -q '^@peak_rcvbuf\[' <<<"$out"
# Full listen queues (seed 004): the three refusals per listener must add
# up to the reproducer's own TcpExt deltas, in every network namespace of
# the VM; then a clean workload must leave no refusal at all.
# total OUTPUT PATTERN: sum of the counts of map lines containing PATTERN.
total() { grep -F "$2" <<<"$1" | sed 's/.*: //' | awk '{ s += $1 } END { print s + 0 }'; }
# keysum OUTPUT KEY: sum of KEY=N over the reproducer's summary lines.
keysum() { grep -o " $2=[0-9]*" <<<"$1" | cut -d= -f2 | awk '{ s += $1 } END { print s + 0 }'; }
# zero_or_absent OUTPUT KEY: KEY printed as 0, or not printed at all.
zero_or_absent() { local v; v=$(value "$1" "$2"); [ -z "$v" ] || [ "$v" = 0 ]; }
# same_positive A B: A equals B and B is above 0.
same_positive() { [ "$1" = "$2" ] && [ "$2" -gt 0 ]; }
out=$(for p in tcp_synq_full tcp_acceptq_full; do "$here/tcp-listen-drops" -q -c "$top/selftests/$p"; done 2>&1)
echo "$out" | grep -v '^#' | sed 's/^/# /'
check "tcp-listen-drops attached" grep -q '^Attaching' <<<"$out"
check "tcp_synq_full and tcp_acceptq_full produced their scenarios" [ "$(grep -c '^ok [0-9]' <<<"$out")" = 4 ]
for pair in "SYN dropped: SYN queue full, no cookies=reqq_full_drop" \
	    "SYN dropped: accept queue full=syn_listen_overflows" \
	    "third ACK dropped: accept queue full=ack_listen_overflows"; do
	what=${pair%=*} key=${pair##*=}
	want=$(keysum "$out" "$key") got=$(total "$out" "$what")
	check "tcp-listen-drops: '$what' $got = $key $want (> 0)" same_positive "$got" "$want"
done
want=$(keysum "$out" reqq_full_do_cookies) got=$(total "$out" "@cookies[")
check "tcp-listen-drops: SYN cookies $got = reqq_full_do_cookies $want (> 0)" \
	same_positive "$got" "$want"
out=$("$here/tcp-listen-drops" -q -c "$top/selftests/tcp_stale_peer -4 -n 20 --no-drop" 2>&1)
check "tcp-listen-drops: a clean workload (20 connects) was seen" \
	[ "$(total "$out" "@syns[")" -ge 20 ]
check "tcp-listen-drops: ... and refused nothing" absent "$out" "@drops["

# Port exhaustion (seed 004): every EADDRNOTAVAIL of tcp_port_exhaust's full
# phase is a failed port search and a failed connect(); clean connects
# never fail one.
out=$("$here/tcp-connect-cost" -q -c "$top/selftests/tcp_port_exhaust" 2>&1)
echo "$out" | grep -v '^#' | grep -v '^$' | sed 's/^/# /'
check "tcp-connect-cost attached" grep -q '^Attaching' <<<"$out"
want=$(keysum "$out" full_eaddrnotavail)
got=$(value "$out" "@searches[EADDRNOTAVAIL: no free port]")
check "tcp-connect-cost: ${got:-0} failed port searches = full_eaddrnotavail $want (> 0)" \
	same_positive "${got:-0}" "$want"
got=$(value "$out" "@connect_eaddrnotavail")
check "tcp-connect-cost: ${got:-0} connect() EADDRNOTAVAIL = $want" same_positive "${got:-0}" "$want"
out=$("$here/tcp-connect-cost" -q -c "$top/selftests/tcp_stale_peer -4 -n 20 --no-drop" 2>&1)
check "tcp-connect-cost: clean connects found a port" \
	[ "$(value "$out" "@searches[port found]")" -ge 20 ]
check "tcp-connect-cost: ... and never failed" absent "$out" "@searches[EADDRNOTAVAIL"

# The overview: its totals against the reproducers' own figures.
out=$(for p in tcp_synq_full tcp_acceptq_full tcp_port_exhaust; do "$here/tcp-overview" -c "$top/selftests/$p -4"; done 2>&1)
echo "$out" | grep -v '^#' | grep -v '^$' | sed 's/^/# /'
check "tcp-overview attached" grep -q '^Attaching' <<<"$out"
for pair in t_synq=reqq_full_drop t_accq=syn_listen_overflows \
	    t_ackq=ack_listen_overflows t_noport=full_eaddrnotavail; do
	m=${pair%=*} key=${pair#*=}
	want=$(keysum "$out" "$key") got=$(total "$out" "@$m: ")
	check "tcp-overview: @$m $got = $key $want (> 0)" same_positive "$got" "$want"
done
out=$("$here/tcp-overview" -c "$top/selftests/tcp_stale_peer -4 -n 5" 2>&1)
check "tcp-overview: 5 stale ACKs beside tcp_stale_peer -n 5" is "$out" "@t_stale" 5
out=$("$here/tcp-overview" -c "$top/selftests/tcp_stale_peer -4 -n 20 --no-drop" 2>&1)
for m in t_stale t_synq t_accq t_ackq t_noport t_closed; do
	check "tcp-overview: clean connects leave @$m at 0" zero_or_absent "$out" "@$m"
done

echo "1..$n"
echo "# test-bpftrace ($expect, $(uname -r)): $((n - bad)) passed, $bad failed"
[ $bad -eq 0 ]
