#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A/B of the SYN fixes in one boot, inside a test VM, with the tcplat module
# driving the hook patch's switches (syn_relookup, syn_closed_ack,
# syn_stale_resend) and the series' selftest tcp_syn_closed giving the
# verdict per variant.  Each configuration has an expected outcome for each
# of the four variants, and the lost ones must be lost for the right
# reason (the 1-second SYN retransmission, printed by the selftest):
#
#   configuration                 softirq variants    backlog variants
#   all on (the patched kernel)   pass                pass
#   syn_relookup=0                SYN lost (1)        pass
#   syn_relookup=0,               SYN lost            SYN lost
#     syn_closed_ack=0
#   syn_closed_ack=0              pass                SYN lost
#   syn_stale_resend=legacy       pass                SYN lost (no resend
#                                                     before the RTO)
#   syn_stale_resend=upstream     pass                counter (2)
#
# (1) the SYN that the re-lookup no longer rescues is processed by the
# closed socket in softirq, which patch 0003 does not answer (it answers
# only a SYN taken from the backlog).  "counter": connect() was fast, only
# a counter check failed.  (2) the SYN is resent by the timer 2 jiffies
# after the RST instead of right behind it: the client socket's
# tcpi_total_rto is 1.
#
#   syn_toggle_vm.sh --ko tcplat.ko [--results DIR]
#
# Used by make check; runs as root in a throwaway VM (scripts/vm-run).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
prog=$here/net/tcp_syn_closed
ko='' results=''
sys=/proc/sys/net/ipv4/tcplat

die() { echo "syn_toggle_vm: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case "$1" in
	--ko) ko=${2:-}; shift 2 || die "--ko needs a file" ;;
	--results) results=${2:-}; shift 2 || die "--results needs a folder" ;;
	-h | --help) sed -n '3,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option '$1'" ;;
	esac
done
[ -f "$ko" ] || die "--ko: module '$ko' not found"
[ -x "$prog" ] || die "$prog not built (make -C selftests)"
[ -n "$results" ] && mkdir -p "$results"

pass=0 fail=0

# The outcome of one variant in the selftest's output: ok, lost (a trial
# waited for the 1-second retransmission), counter (no trial lost, only a
# counter check failed) or fail (anything else).
outcome() {
	local out=$1 v=$2 block
	block=$(sed -n "/RUN  *syn\.$v\./,/^\(not \)\{0,1\}ok [0-9]* syn\.$v\./p" <<<"$out")
	if grep -q "^ok [0-9]* syn\.$v\." <<<"$block"; then
		echo ok
	elif grep -q "SYN lost, connect() took" <<<"$block"; then
		echo lost
	elif grep -q "rose by\|tcpi_total_" <<<"$block" &&
	     ! grep -q "attempts forced\|never held\|client:\|did not load" <<<"$block"; then
		echo counter
	else
		echo fail
	fi
}

# run NAME SOFTIRQ BACKLOG: run the selftest, compare each variant's outcome.
run() {
	local name=$1 want_s=$2 want_b=$3 out v got want
	out=$(cd /tmp && "$prog" 2>&1)
	[ -n "$results" ] && echo "$out" > "$results/$name.txt"
	for v in ipv4_softirq ipv4_backlog ipv6_softirq ipv6_backlog; do
		got=$(outcome "$out" "$v")
		case "$v" in *softirq) want=$want_s ;; *) want=$want_b ;; esac
		if [ "$got" = "$want" ]; then
			pass=$((pass + 1)); echo "ok $name $v: $got"
		else
			fail=$((fail + 1)); echo "not ok $name $v: $got, want $want"
			printf '#   %s\n' "${out//$'\n'/$'\n'#   }"
		fi
	done
}

set_sys() {
	echo "$2" > "$sys/$1" || { echo "not ok cannot set $1=$2 (hook patch missing?)"; exit 1; }
}

insmod "$ko" || { echo "not ok insmod $ko"; exit 1; }
echo "# $(uname -r): $(tr '\n' ';' < $sys/status)"

run all-on ok ok
set_sys syn_relookup 0
run syn_relookup-off lost ok
set_sys syn_closed_ack 0
run both-off lost lost
set_sys syn_relookup 1
run syn_closed_ack-off ok lost
set_sys syn_closed_ack 1
set_sys syn_stale_resend legacy
run stale-legacy ok lost
set_sys syn_stale_resend upstream
run stale-upstream ok counter
set_sys syn_stale_resend fast

rmmod tcplat || { echo "not ok rmmod"; fail=$((fail + 1)); }
echo "# syn_toggle_vm: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
