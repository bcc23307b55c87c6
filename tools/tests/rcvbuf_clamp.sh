#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: scripts/measure/ab rcvbuf measures the series'
# clamp policy (tools/tcp_rcvbuf_growth, clamp_window "grow" vs "shrink"
# in one boot) and judges nothing; this judges its raw.txt.  It fails
# when
#   - a "shrink" run of a slow or never-reading reader peaked above
#     BOUND bytes of sk_rcvbuf (default 2 x tcp_rmem[1] = 262144),
#   - a "shrink" run lost or corrupted data (data_ok=no),
#   - a "grow" run of the slow reader with tcp_shrink_window 2 stayed
#     within BOUND (then the switch did nothing and the A/B shows
#     nothing), or there is no such run,
#   - any reader's "shrink" peak is above both BOUND and its "grow" peak
#     of the same pair and slice (the policy must never cost memory; a
#     reader that never reads may end its one-time step a few per cent
#     above another connection's "grow" run, hence BOUND),
#   - a run has no counterpart on the other side, or there is no run.
# One "not ok:" line per failure, then "# rcvbuf_clamp: ok|FAILED".
#
#   tools/tests/rcvbuf_clamp.sh [-b BOUND] RAW
#
# Exit 0 pass, 1 fail, 2 bad arguments.  It only reads RAW.
set -uo pipefail

bound=262144 raw=''
usage() { echo "rcvbuf_clamp: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	-b) bound=${2:-}; shift 2 || usage "-b needs bytes" ;;
	-h | --help) sed -n '3,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) usage "unknown option '$1'" ;;
	*) [ -z "$raw" ] || usage "one raw.txt, not '$raw' and '$1'"; raw=$1; shift ;;
	esac
done
[[ "$bound" =~ ^[1-9][0-9]{0,10}$ ]] || usage "-b wants bytes, not '$bound'"
[ -n "$raw" ] || usage "which raw.txt? (scripts/measure/ab rcvbuf -o DIR writes DIR/raw.txt)"
[ -r "$raw" ] || usage "cannot read '$raw'"

# shellcheck disable=SC2016  # awk's own fields
awk -v bound="$bound" '
	function bad(msg) { print "not ok: " msg; fails++ }
	/^side=/ {
		split("", f)
		for (i = 1; i <= NF; i++)
			if ((p = index($i, "=")) > 1) f[substr($i, 1, p - 1)] = substr($i, p + 1)
		s = f["side"]; pk = f["peak_rcvbuf"]
		id = f["reader"] "/" f["size"] " " f["family"] " sw=" f["shrink_window"] \
		     " pair=" f["pair"] " slice=" f["slice"]
		runs++
		if (pk !~ /^[0-9]+$/) { bad(s " " id ": no peak_rcvbuf"); next }
		if (s == "grow") {
			grow[id] = pk
			if (f["reader"] != "slow" || f["shrink_window"] != 2) next
			switched++
			if (pk + 0 <= bound)
				bad("grow " id ": peak sk_rcvbuf " pk " within " bound \
				    ": clamp_window=grow had no effect")
		} else if (s == "shrink") {
			shrink[id] = pk
			if (f["data_ok"] != "yes") bad("shrink " id ": lost or corrupted data")
			if (f["reader"] != "alternate" && pk + 0 > bound)
				bad("shrink " id ": peak sk_rcvbuf " pk " above " bound)
		} else
			bad("unknown side \"" s "\" (not the rcvbuf profile?)")
	}
	END {
		for (id in shrink) {
			if (!(id in grow)) bad(id ": shrink without its grow run")
			else if (shrink[id] + 0 > grow[id] && shrink[id] + 0 > bound)
				bad(id ": peak sk_rcvbuf " shrink[id] " with shrink, above " \
				    grow[id] " with grow and " bound)
		}
		for (id in grow) if (!(id in shrink)) bad(id ": grow without its shrink run")
		if (!runs) bad("no run in the raw file")
		else if (!switched)
			bad("no grow run of the slow reader with tcp_shrink_window 2: nothing shows the switch works")
		printf "%d run(s), bound %d bytes\n# rcvbuf_clamp: %s\n", runs, bound, fails ? "FAILED" : "ok"
		exit (fails > 0)
	}' "$raw"
