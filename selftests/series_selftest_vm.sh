#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run one of the upstream series' selftests inside a test VM, with no
# module loaded, and check its outcome against what the kernel under test
# should do:
#
#   --expect fixed   a kernel with the fixes: the selftest passes, 4/4
#   --expect race    a kernel without them: the selftest fails, and for the
#                    right reason: every trial of every variant was forced
#                    and lost its segment, and the fix's counter is
#                    missing.  Any other failure (the race not forced, the
#                    BPF program not loaded, a timeout) fails this check.
#
#   series_selftest_vm.sh tcp_tw_relookup|tcp_syn_closed --expect fixed|race
#                         [--results DIR]
#
#   tcp_tw_relookup  patch 0002: FIN/RST lost to a socket that became
#                    TIME_WAIT (IPv4/IPv6 x RST/FIN)
#   tcp_syn_closed   patch 0006: SYN lost to a socket that a RST closed
#                    (IPv4/IPv6 x softirq/backlog)
#
# Used by make check; runs as root in a throwaway VM (scripts/vm-run).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
test='' expect='' results=''
# Both selftests have the same shape: four variants, three trials each.
variants=4 trials=3

die() { echo "series_selftest_vm: $*" >&2; exit 2; }

test=${1:-}
[ $# -gt 0 ] && shift
while [ $# -gt 0 ]; do
	case "$1" in
	--expect) expect=${2:-}; shift 2 || die "--expect needs fixed or race" ;;
	--results) results=${2:-}; shift 2 || die "--results needs a folder" ;;
	-h | --help) sed -n '3,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option '$1'" ;;
	esac
done
# What a lost trial, a harness failure and a missing counter print.
case "$test" in
tcp_tw_relookup)
	lost_re='lost, timewait socket left in FIN_WAIT2'
	bad_re='not forced\|never held\|never released\|did not load\|never reached FIN_WAIT2\|client:'
	nocounter_re='no TcpExtTCPTWRelookup'
	;;
tcp_syn_closed)
	lost_re='SYN lost, connect() took'
	bad_re='attempts forced\|never held\|did not load\|RAW_TRACEPOINT_OPEN\|client:'
	nocounter_re='no TcpExtTCPSyn\(Relookup\|ClosedAck\): kernel without the fix'
	;;
-h | --help) sed -n '3,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
*) die "first argument: tcp_tw_relookup or tcp_syn_closed, not '$test'" ;;
esac
case "$expect" in fixed | race) ;; *) die "--expect wants fixed or race, not '$expect'" ;; esac
prog=$here/$test
[ -x "$prog" ] || die "$prog not built (make -C selftests)"

if grep -q '^tcplat ' /proc/modules; then
	echo "not ok: tcplat is loaded; this check runs without any module"
	exit 1
fi

out=$(cd /tmp && "$prog" 2>&1)
rc=$?
echo "$out"
echo "# $(uname -r): $test exit $rc"
[ -n "$results" ] && mkdir -p "$results" && echo "$out" > "$results/$test.txt"

count() { grep -c -- "$1" <<<"$out"; }

if [ "$expect" = fixed ]; then
	if [ $rc -eq 0 ] && grep -q "^# PASSED: $variants / $variants tests passed" <<<"$out"; then
		echo "ok: fixed kernel: $test $variants/$variants variants, no trial lost its segment"
		exit 0
	fi
	echo "not ok: expected $test to pass on this kernel (exit $rc)"
	exit 1
fi

lost=$(count "$lost_re")
bad=$(count "$bad_re")
nocounter=$(count "$nocounter_re")
echo "# lost: $lost of $((variants * trials)) trials; harness failures: $bad; counter missing: $nocounter of $variants"
if [ $rc -ne 0 ] && [ "$lost" -eq $((variants * trials)) ] && [ "$bad" -eq 0 ] &&
   [ "$nocounter" -eq "$variants" ]; then
	echo "ok: kernel without the fix: $test forced the race in every trial and every segment was lost (expected failure)"
	exit 0
fi
echo "not ok: expected every trial of $test to be forced and lost on this kernel"
exit 1
