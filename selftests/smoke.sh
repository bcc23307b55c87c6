#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every reproducer of this folder once, and the two measurement tools of
# ../tools/ that make demo runs on a stock kernel (tcp_tw_race,
# tcp_rcvbuf_growth: exit 0 when they measured), with the smallest settings
# that still reach the scenario: what make check runs on Debian's own kernel to
# show that the reproducers keep working on a stock kernel, in about a
# minute instead of the four of make run_tests (their defaults, which
# make check-full keeps).  tcp_bad_segments is left out: make check runs
# all of it on both patched kernels.  TAP, one result per program; exit 1
# if any failed.
#
#   selftests/smoke.sh
set -uo pipefail

cd "$(dirname "$0")" || exit 1

# program and its short settings; both address families each.
runs=(
	"../tools/tcp_tw_race -n 200 -t 10"
	"tcp_stale_peer -n 100 -t 10"
	"tcp_lo_stall -t 2 -c 16"
	"../tools/tcp_rcvbuf_growth -t 3"
	"tcp_synq_full -t 30"
	"tcp_acceptq_full -t 30"
	"tcp_port_exhaust -n 50 -t 30"
)

echo "TAP version 13"
echo "1..${#runs[@]}"
n=0 failed=0
for r in "${runs[@]}"; do
	n=$((n + 1))
	t0=$(date +%s)
	# shellcheck disable=SC2086 # the settings are words
	out=$(./$r 2>&1)
	rc=$?
	secs=$(($(date +%s) - t0))
	printf '%s\n' "$out" | sed 's/^/# /'
	case $rc in
	0) echo "ok $n $r # ${secs}s" ;;
	4) echo "ok $n $r # SKIP ${secs}s" ;;
	*)
		echo "not ok $n $r # exit $rc, ${secs}s"
		failed=$((failed + 1))
		;;
	esac
done
[ "$failed" -eq 0 ]
