#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the upstream series' selftest (tcp_tw_relookup, patch 0002) inside a
# test VM, with no module loaded, and check its outcome against what the
# kernel under test should do:
#
#   --expect fixed   a kernel with the fix: the selftest passes, 4/4
#   --expect race    a kernel without it: the selftest fails, and for the
#                    right reason: every trial of every variant (IPv4/IPv6 x
#                    RST/FIN) was forced and lost its segment, and the
#                    TcpExtTCPTWRelookup counter is missing.  Any other
#                    failure (the race not forced, the filter not loaded,
#                    a timeout) is a failure of this check.
#
#   tw_relookup_vm.sh --expect fixed|race [--results DIR]
#
# Used by make check; runs as root in a throwaway VM (scripts/vm-run).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
prog=$here/tcp_tw_relookup
expect='' results=''
# The selftest's fixed shape: four variants, three trials each.
variants=4 trials=3

die() { echo "tw_relookup_vm: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case "$1" in
	--expect) expect=${2:-}; shift 2 || die "--expect needs fixed or race" ;;
	--results) results=${2:-}; shift 2 || die "--results needs a folder" ;;
	-h | --help) sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option '$1'" ;;
	esac
done
case "$expect" in fixed | race) ;; *) die "--expect wants fixed or race, not '$expect'" ;; esac
[ -x "$prog" ] || die "$prog not built (make -C selftests)"

if grep -q '^tcplat ' /proc/modules; then
	echo "not ok: tcplat is loaded; this check runs without any module"
	exit 1
fi

out=$(cd /tmp && "$prog" 2>&1)
rc=$?
echo "$out"
echo "# $(uname -r): tcp_tw_relookup exit $rc"
[ -n "$results" ] && mkdir -p "$results" && echo "$out" > "$results/tcp_tw_relookup.txt"

count() { grep -c -- "$1" <<<"$out"; }

if [ "$expect" = fixed ]; then
	if [ $rc -eq 0 ] && grep -q "^# PASSED: $variants / $variants tests passed" <<<"$out"; then
		echo "ok: fixed kernel: $variants/$variants variants, every trial's segment reached the timewait socket"
		exit 0
	fi
	echo "not ok: expected the selftest to pass on this kernel (exit $rc)"
	exit 1
fi

lost=$(count 'lost, timewait socket left in FIN_WAIT2')
bad=$(count 'not forced\|never held\|never released\|did not load\|never reached FIN_WAIT2\|client:')
nocounter=$(count 'no TcpExtTCPTWRelookup')
echo "# lost: $lost of $((variants * trials)) trials; harness failures: $bad; counter missing: $nocounter of $variants"
if [ $rc -ne 0 ] && [ "$lost" -eq $((variants * trials)) ] && [ "$bad" -eq 0 ] &&
   [ "$nocounter" -eq "$variants" ]; then
	echo "ok: kernel without the fix: the race was forced in every trial and every segment was lost (expected failure)"
	exit 0
fi
echo "not ok: expected every trial to be forced and lost on this kernel"
exit 1
