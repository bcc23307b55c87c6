#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: the race widener spins with preemption off, and
# its budget is what bounds that: at most 500 ms of spinning in any
# one-second interval (tcplat_widen.c).  This test fails on the budget
# alone: nothing else in it can refuse a delay (one sending thread, so
# the one-spinner bound never acts; every RST in the armed namespace, at
# the armed port, in the window).  A fixed window restarted each second
# lets 450 ms at the end of one window and 500 ms at the start of the next
# through within one second; a sliding bound does not.
#
#   module/test/widen-budget.sh [path/to/tcplat.ko]
#
# The widener is armed in mode 2 (delay the waiter) with 100 ms on a
# FIN_WAIT2 server end; tcplat_conn budget (test/tcplat_conn.c) sends it
# one in-window RST (rcv_nxt + 1: a challenge ACK, the socket lives),
# nothing for 550 ms, then one RST every millisecond until 2.1 s after the
# first, and times every sendto(): a delay is spun inside it, in the
# softirq of the sending CPU.  Checked: the counters' moves during the
# burst account for every RST (hits + skipped = RSTs) and for every timed
# delay (hits = sendto()s of 90 ms or more), the budget refused some, and
# the most any 1-s window spun, at most (the measured intervals, see
# max_window_ms()), is 500 ms or less.  The module of the commit before the
# sliding budget fails the last check (613-678 ms on 7.3.4, issue 36).
#
# Runs as root in a throwaway VM (scripts/vm-run -k <bzImage> --
# module/test/widen-budget.sh <tcplat.ko>) on any kernel the module was
# built for, stock or patched.  Environment: TCPLAT_PORT (default 47133),
# TCPLAT_CONN (the helper; else found or built as by test-sysctl.sh).
# TAP output (module/test/tap.sh); exits 1 on any failure, 2 on bad
# input, 4 when not root.

# The helpers are called through check "$@", which shellcheck cannot see.
# shellcheck disable=SC2317
set -u

me=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
ko=${1:-$here/../tcplat.ko}
port=${TCPLAT_PORT:-47133}
dir=/proc/sys/net/ipv4/tcplat
us=100000

# shellcheck source=module/test/tap.sh
. "$here/tap.sh"

if ! [[ "$port" =~ ^[0-9]{1,5}$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
	echo "$me: TCPLAT_PORT must be a port number, not '$port'" >&2
	exit 2
fi
need_root
need_ko "$ko"

# rd NAME: the value of sysctl NAME, or -1.
rd() {
	local v

	read -r v < "$dir/$1" 2>/dev/null || v=
	[[ "$v" =~ ^[0-9]+$ ]] && echo "$v" || echo -1
}

# counters: "hits busy budget" now.
counters() {
	echo "$(rd widen_hits) $(rd widen_skip_busy) $(rd widen_skip_budget)"
}

# ran RC: the helper exited 0 and its report was complete.
ran() {
	[ "$1" -eq 0 ] && [ -z "$unread" ]
}

# le_ms A B: A <= B, both decimal milliseconds.
le_ms() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'
}

echo "TAP version 13"
conn='' unread=''
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
test_prog conn tcplat_conn "${TCPLAT_CONN:-}" "$ko" "$tmp"
echo "# connection helper: $conn"
[ -x "$conn" ] || echo "# $conn missing: the burst cannot run"
grep -q '^tcplat ' /proc/modules && rmmod tcplat
check "insmod $(basename "$ko")" insmod "$ko"
grep -q '^tcplat ' /proc/modules || finish
grep '^race_widen_bound:' "$dir/status" | sed 's/^/# /'

echo 2 > "$dir/race_widen_mode"
echo "$us" > "$dir/race_widen_us"
echo "$port" > "$dir/race_widen_port"
read -r h0 b0 g0 <<<"$(counters)"
[ "$h0" -ge 0 ] && [ "$b0" -ge 0 ] && [ "$g0" -ge 0 ] || unread=1
out=$("$conn" budget "$port" "$us" 2100)
rc=$?
echo 0 > "$dir/race_widen_port"
echo 0 > "$dir/race_widen_us"
grep '^# ' <<<"$out"
# "sends N spins N max_lo MS max_hi MS widen_hits N widen_skip_busy N
# widen_skip_budget N": the counters' moves during the burst, read by the
# helper before its client closes (that FIN is in the window too).
read -r _ sends _ spins _ lo _ hi _ hits _ busy _ budget <<<"$(grep '^sends ' <<<"$out")"
echo "# burst: ${sends:-?} RSTs, ${spins:-?} timed delays; widen_hits +${hits:-?}," \
	"widen_skip_busy +${busy:-?}, widen_skip_budget +${budget:-?}"
echo "# most spun in any 1-s window: ${lo:-?} ms at least, ${hi:-?} ms at most"
for v in sends spins hits busy budget; do
	[[ "${!v:-}" =~ ^[0-9]+$ ]] || unread=1
done
[[ "${hi:-}" =~ ^[0-9]+\.[0-9]$ ]] || unread=1

check "widen_hits, widen_skip_busy, widen_skip_budget readable" [ "$h0" -ge 0 ]
check "scenario: the burst ran and reported (tcplat_conn budget, exit $rc)" ran "$rc"
[ -z "$unread" ] || finish
check "scenario: the first RST was delayed, the burst's were too" \
	[ "$spins" -ge 2 ]
check "counters: every RST delayed or refused (hits + skipped = $sends)" \
	[ "$((hits + busy + budget))" = "$sends" ]
check "counters: widen_hits = the delays timed ($spins)" [ "$hits" = "$spins" ]
check "the budget refused delays (widen_skip_budget +$budget)" [ "$budget" -ge 1 ]
check "no 1-s window spun more than 500 ms (at most $hi ms)" le_ms "$hi" 500
check "rmmod tcplat" rmmod tcplat
check_no_splat
finish
