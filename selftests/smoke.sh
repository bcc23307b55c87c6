#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The regression tests of this folder once (tcp_bad_segments aside: make
# check runs all of it on both patched kernels) and the measurement tools
# of ../tools that make demo runs (a tool exits 0 when it measured), with
# the smallest settings that still reach the scenario: what make check
# runs on Debian's own kernel to show that they keep working on a stock
# kernel, in about a minute.  TAP, one result per program; exit 1 if any
# failed.
#
#   selftests/smoke.sh
set -uo pipefail

cd "$(dirname "$0")" || exit 1

# program and its short settings; both address families each.
runs=(
	"../tools/tcp_tw_race -n 200 -t 10"
	"tcp_stale_ack"
	"../tools/tcp_rcvbuf_growth -t 3"
	"tcp_listen_queues"
	"tcp_port_range"
	"../tools/tcp_lo_stall -t 2 -c 16"
	"../tools/tcp_setup_exc -S synq -t 30"
	"../tools/tcp_setup_exc -S acceptq -t 30"
	"../tools/tcp_setup_exc -S ports -n 50 -t 30"
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
