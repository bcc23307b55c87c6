#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# One of the upstream series' selftests on a kernel WITHOUT the fixes,
# no module loaded: the selftest must fail, and for the right reason.
# Every trial of every variant was forced and lost its segment
# (tcp_rcvbuf_bound: the slow reader's sk_rcvbuf grew past the bound), and
# the fix's counter is missing (tcp_syn_closed: in its two softirq
# variants; the backlog ones watch TcpExtTCPChallengeACK, which every
# kernel has).  Any other failure (the race not forced, the BPF program
# not loaded, the scenario not reached, data lost, a timeout) or a skip
# fails this script.  On a kernel with the fixes, run the selftest itself
# (selftests/net/<test>): it passes.
#
#   series_xfail.sh tcp_tw_relookup|tcp_syn_closed|tcp_rcvbuf_bound
#
#   tcp_tw_relookup   patch 0002: FIN/RST lost to a socket that became
#                     TIME_WAIT (IPv4/IPv6 x RST/FIN)
#   tcp_syn_closed    patch 0005: SYN lost to a socket that a RST closed
#                     (IPv4/IPv6 x softirq/backlog)
#   tcp_rcvbuf_bound  patch 0009: sk_rcvbuf of a slow reader (IPv4/IPv6)
#
# Used by make check; runs as root in a throwaway VM (scripts/vm-run).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
test=${1:-}
# Four variants each (two for tcp_rcvbuf_bound); lost_want: the lost trials
# a kernel without the fix shows at least (every trial of every variant).
variants=4 trials=3 lost_want=12 nocounter_want=4
race_msg='forced the race in every trial and every segment was lost'

die() { echo "series_xfail: $*" >&2; exit 2; }

[ $# -le 1 ] || die "one argument, the selftest's name"
# What a lost trial, a harness failure and a missing counter print.
case "$test" in
tcp_tw_relookup)
	lost_re='lost, timewait socket left in FIN_WAIT2'
	bad_re='attempts forced\|never held\|never released\|did not load\|never reached FIN_WAIT2\|client:'
	nocounter_re='no TcpExtTCPClosedRelookup'
	;;
tcp_syn_closed)
	lost_re='SYN lost, connect() took'
	bad_re='attempts forced\|never held\|did not load\|raw tracepoint\|client:'
	nocounter_re='no TcpExtTCPClosedRelookup: kernel without the fix'
	nocounter_want=2
	;;
tcp_rcvbuf_bound)
	# One connection per variant (IPv4, IPv6).
	variants=2 trials=1 lost_want=2 nocounter_want=2
	race_msg="reached the prune path in both variants, and sk_rcvbuf grew past the bound"
	lost_re='sk_rcvbuf grew to'
	bad_re='scenario not reached\|setup failed\|byte stream corrupted\|sender:\|accept:'
	nocounter_re='no TcpExtTCPRcvWndShrink: kernel without the policy'
	;;
-h | --help) sed -n '3,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
*) die "first argument: tcp_tw_relookup, tcp_syn_closed or tcp_rcvbuf_bound, not '$test'" ;;
esac
prog=$here/net/$test
[ -x "$prog" ] || die "$prog not built (make -C selftests)"

if grep -q '^tcplat ' /proc/modules; then
	echo "not ok: tcplat is loaded; this check runs without any module"
	exit 1
fi

out=$(cd /tmp && "$prog" 2>&1)
rc=$?
echo "$out"
echo "# $(uname -r): $test exit $rc"

count() { grep -c -- "$1" <<<"$out"; }

# The harness counts a skipped test as passed: a kernel that cannot run
# the test (no BTF, no CONFIG_BPF_EVENTS, one CPU) has not shown the race.
skipped=$(grep -c '^ok .* # SKIP' <<<"$out")
if [ "$skipped" -gt 0 ]; then
	echo "not ok: $test skipped $skipped variants on this kernel: $(grep -m1 -o '# SKIP.*' <<<"$out")"
	exit 1
fi

lost=$(count "$lost_re")
bad=$(count "$bad_re")
nocounter=$(count "$nocounter_re")
echo "# lost: $lost of $((variants * trials)) trials (want at least $lost_want); harness failures: $bad; counter missing: $nocounter (want $nocounter_want)"
if [ $rc -ne 0 ] && [ "$lost" -ge "$lost_want" ] && [ "$bad" -eq 0 ] &&
   [ "$nocounter" -eq "$nocounter_want" ]; then
	echo "ok: kernel without the fix: $test $race_msg (expected failure)"
	exit 0
fi
echo "not ok: expected every trial of $test to be forced and lost on this kernel"
exit 1
