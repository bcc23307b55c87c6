#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the TIME_WAIT close-race tests inside a test VM with the tcplat module:
# the deterministic (widened) race for IPv4/IPv6 x RST/FIN with an expected
# outcome, or the tw_relookup toggle A/B in one boot.  Used by make check;
# runs as root in a throwaway VM (scripts/vm-run), never on a host.
#
#   tw_race_vm.sh --ko tcplat.ko --expect race|fixed|report [--count N] [--widen-us N] [--results DIR]
#   tw_race_vm.sh --ko tcplat.ko --toggle [--count N] [--widen-us N] [--results DIR]
#   tw_race_vm.sh --ko tcplat.ko --natural N [--results DIR]
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
prog=$here/tcp_tw_race
ko='' expect='' toggle=0 count=100 widen=10000 results='' natural=0

die() { echo "tw_race_vm: $*" >&2; exit 2; }
uint() { [[ "$1" =~ ^[0-9]+$ ]] || die "$2 wants a non-negative integer, not '$1'"; }

while [ $# -gt 0 ]; do
	case "$1" in
	--ko) ko=${2:-}; shift 2 || die "--ko needs a file" ;;
	--expect) expect=${2:-}; shift 2 || die "--expect needs race or fixed" ;;
	--toggle) toggle=1; shift ;;
	--natural) natural=${2:-}; uint "$natural" --natural; shift 2 ;;
	--count) count=${2:-}; uint "$count" --count; shift 2 ;;
	--widen-us) widen=${2:-}; uint "$widen" --widen-us; shift 2 ;;
	--results) results=${2:-}; shift 2 || die "--results needs a folder" ;;
	-h | --help) sed -n '3,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option '$1'" ;;
	esac
done
[ -f "$ko" ] || die "--ko: module '$ko' not found"
[ -x "$prog" ] || die "$prog not built (make -C selftests)"
case "$expect" in race | fixed | report | '') ;; *) die "--expect wants race, fixed or report, not '$expect'" ;; esac
[ "$toggle" -eq 1 ] || [ -n "$expect" ] || [ "$natural" -gt 0 ] || die "give --expect, --toggle or --natural"
[ -n "$results" ] && mkdir -p "$results"

pass=0 fail=0
sys=/proc/sys/net/ipv4/tcplat

# One test: a name and the tcp_tw_race arguments.  Summary lines are kept.
t() {
	local name=$1 rc
	shift
	echo "# --- $name: tcp_tw_race $*"
	"$prog" "$@" > "/tmp/$name.out" 2>&1
	rc=$?
	cat "/tmp/$name.out"
	[ -n "$results" ] && cp "/tmp/$name.out" "$results/$name.txt"
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1)); echo "ok $name"
	else
		fail=$((fail + 1)); echo "not ok $name (exit $rc)"
	fi
}

insmod "$ko" || { echo "not ok insmod $ko"; exit 1; }
echo "# $(uname -r): $(tr '\n' ';' < $sys/status)"

if [ "$natural" -gt 0 ]; then
	for fam in 4 6; do
		t "natural-ipv$fam-rst" -"$fam" -m rst -n "$natural" -t 600
	done
fi

if [ -n "$expect" ]; then
	for fam in 4 6; do
		for mode in rst fin; do
			t "widened-ipv$fam-$mode-expect-$expect" -"$fam" -m "$mode" \
				-n "$count" --widen-us "$widen" --expect "$expect"
		done
	done
fi

if [ "$toggle" -eq 1 ]; then
	if ! echo 0 > $sys/tw_relookup 2>/dev/null; then
		echo "not ok toggle: cannot write $sys/tw_relookup (hook patch missing?)"
		fail=$((fail + 1))
	else
		for fam in 4 6; do
			echo 0 > $sys/tw_relookup
			t "toggle-off-ipv$fam" -"$fam" -m rst -n "$count" --widen-us "$widen" --expect race
			echo 1 > $sys/tw_relookup
			t "toggle-on-ipv$fam" -"$fam" -m rst -n "$count" --widen-us "$widen" --expect fixed
		done
	fi
fi

rmmod tcplat || { echo "not ok rmmod"; fail=$((fail + 1)); }
echo "# tw_race_vm: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
