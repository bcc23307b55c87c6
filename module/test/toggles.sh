#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: every switch of the hook patch, driven through
# tcplat, must bring its bug back, and switching it on again must fix it,
# in one boot of a kernel with the series.  The verdicts are the series'
# own selftests (selftests/net/), one harness variant at a time (-v),
# judged by their exit status only: 0 pass, 1 fail.  A skip or any other
# status is a failure of this script.
#
#   module/test/toggles.sh tcplat.ko tw|syn
#
# Each row of the table starts from the defaults (every fix on,
# syn_stale_resend=fast), applies its settings ("-": none) and runs one
# variant of one selftest.  The softirq variants of tcp_syn_closed need the
# SYN re-lookup, the backlog ones the closed socket's answer to a SYN
# (syn_closed_ack) and the resend right behind the stale ACK's RST
# (syn_stale_resend=fast: "upstream" resends from the timer, "legacy" not
# before the RTO).
#
# Runs as root in a throwaway VM (scripts/vm-run) on the patched kernel;
# TAP output, exits 1 on any failure (module/test/tap.sh).

# The helpers are called through check "$@", which shellcheck cannot see.
# shellcheck disable=SC2317
set -u

me=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
net=$here/../../selftests/net
sys=/proc/sys/net/ipv4/tcplat
ko=${1:-}
group=${2:-}

# shellcheck source=module/test/tap.sh
. "$here/tap.sh"

defaults=(tw_relookup=1 syn_relookup=1 syn_closed_ack=1 syn_stale_resend=fast)

# group  settings                 selftest         variant       want
table="
tw       -                        tcp_tw_relookup  ipv4_rst      pass
tw       -                        tcp_tw_relookup  ipv6_fin      pass
tw       tw_relookup=0            tcp_tw_relookup  ipv4_rst      fail
tw       tw_relookup=0            tcp_tw_relookup  ipv4_fin      fail
tw       tw_relookup=0            tcp_tw_relookup  ipv6_rst      fail
tw       tw_relookup=0            tcp_tw_relookup  ipv6_fin      fail
tw       -                        tcp_tw_relookup  ipv4_fin      pass
tw       -                        tcp_tw_relookup  ipv6_rst      pass
syn      -                        tcp_syn_closed   ipv4_softirq  pass
syn      -                        tcp_syn_closed   ipv6_backlog  pass
syn      syn_relookup=0           tcp_syn_closed   ipv4_softirq  fail
syn      syn_relookup=0           tcp_syn_closed   ipv6_softirq  fail
syn      syn_relookup=0           tcp_syn_closed   ipv4_backlog  pass
syn      syn_closed_ack=0         tcp_syn_closed   ipv4_backlog  fail
syn      syn_closed_ack=0         tcp_syn_closed   ipv6_backlog  fail
syn      syn_closed_ack=0         tcp_syn_closed   ipv4_softirq  pass
syn      syn_stale_resend=legacy  tcp_syn_closed   ipv4_backlog  fail
syn      syn_stale_resend=upstream tcp_syn_closed  ipv6_backlog  fail
syn      -                        tcp_syn_closed   ipv6_softirq  pass
syn      -                        tcp_syn_closed   ipv4_backlog  pass
"

# apply SETTINGS...: write each NAME=VALUE under $sys; 0 or 1.
apply() {
	local kv

	for kv in "$@"; do
		[ "$kv" = - ] && continue
		echo "${kv#*=}" > "$sys/${kv%%=*}" 2>/dev/null || {
			echo "# cannot set ${kv%%=*}=${kv#*=} (hook patch missing?)"
			return 1
		}
	done
}

# row SETTINGS TEST VARIANT WANT: one variant under one setting.
row() {
	local settings=$1 test=$2 variant=$3 want=$4 out rc got

	if ! apply "${defaults[@]}" "$settings"; then
		fail "$settings: tcplat refused the setting"
		return
	fi
	out=$(cd /tmp && "$net/$test" -v "$variant" 2>&1)
	rc=$?
	case $rc in 0) got=pass ;; 1) got=fail ;; 4) got=skip ;; *) got="exit $rc" ;; esac
	check "$settings: $test $variant: $got (want $want)" [ "$got" = "$want" ]
	[ "$got" = "$want" ] || printf '#   %s\n' "${out//$'\n'/$'\n'#   }"
}

need_root
[ "$group" = tw ] || [ "$group" = syn ] || { echo "usage: $me tcplat.ko tw|syn" >&2; exit 2; }
need_ko "$ko"
insmod "$ko" || { fail "insmod $ko"; finish; }
echo "# $(uname -r): $(tr '\n' ';' < $sys/status)"
while read -r g settings test variant want; do
	[ "$g" = "$group" ] && row "$settings" "$test" "$variant" "$want"
done <<<"$table"
apply "${defaults[@]}" || fail "restore the defaults"
check "rmmod tcplat" rmmod tcplat
finish
