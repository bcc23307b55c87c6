#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: every tool of tools/ once, with the smallest
# settings that still reach its scenario (both families; tcp_rr,
# tcp_stream and tcp_rcvbuf_scale test one per run, so they run twice),
# as make demo and make bench run them: each must measure (exit 0) and
# print its
# "<tool>: " lines.  make check runs it on Debian's own kernel, to show
# the tools keep working on a kernel without the series.
# Runs as root in a test VM; exit 0 pass, 1 fail.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1

runs=(
	"tcp_tw_race -n 200 -t 10"
	"tcp_rcvbuf_growth -t 3"
	"tcp_lo_stall -t 2 -c 16"
	"tcp_setup_exc -S synq -t 30"
	"tcp_setup_exc -S acceptq -t 30"
	"tcp_setup_exc -S ports -n 50 -t 30"
	"tcp_rr -m crr -t 1"
	"tcp_rr -m rr -6 -t 1"
	"tcp_stream -t 0.5"
	"tcp_stream -L -6 -T -B 16777216 -W 1 -t 0.5"
	"tcp_stale_peer -n 20 -t 60"
	"tcp_rcvbuf_scale -n 20 -t 5"
	"tcp_rcvbuf_scale -6 -n 20 -t 5 -w 2"
)
failed=0
for r in "${runs[@]}"; do
	t0=$(date +%s)
	# shellcheck disable=SC2086  # the settings are words
	out=$(./$r 2>&1)
	rc=$?
	lines=$(grep -c "^${r%% *}: " <<< "$out")
	printf '%s\n' "$out" | sed 's/^/  | /'
	if [ "$rc" -eq 0 ] && [ "$lines" -gt 0 ]; then
		echo "ok: $r ($lines lines, $(($(date +%s) - t0)) s)"
		continue
	fi
	echo "FAIL: $r: exit $rc, $lines '${r%% *}:' lines"
	failed=$((failed + 1))
done
echo "smoke: ${#runs[@]} runs, $failed failed"
[ "$failed" -eq 0 ]
