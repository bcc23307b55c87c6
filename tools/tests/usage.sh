#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: a tool given a bad command line must stop before
# it does anything: exit status 2, nothing on stdout, on stderr one line
# that starts with its name and then "Try '<tool> -h'." (lib/opt.c).  This
# feeds every tool of tools/Makefile the same bad lines (unknown options,
# GNU long options, which no tool takes, a missing or malformed value, a
# stray operand) plus a bad value of its own mode option, and with strace
# (scripts/deps installs it) checks that no socket, namespace or other
# program was made on the way.
# Runs as root in a test VM; exit 0 pass, 1 fail.
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
calls=socket,socketpair,unshare,setns,clone3,bind,connect,listen,execve
cases=0 failed=0

command -v strace > /dev/null || { echo "FAIL: strace not found (scripts/deps)"; exit 1; }

# check TOOL ARG...: one bad command line.
check() {
	local tool=$1 rc why=''
	shift
	cases=$((cases + 1))
	timeout -s KILL 60 strace -f -qq -o "$tmp/trace" -e trace=$calls \
		"$here/$tool" "$@" > "$tmp/out" 2> "$tmp/err"
	rc=$?
	[ "$rc" -eq 2 ] || why="exit $rc"
	[ ! -s "$tmp/out" ] || why+=" stdout not empty"
	[ "$(wc -l < "$tmp/err")" -eq 2 ] &&
		grep -q "^$tool: " "$tmp/err" &&
		[ "$(tail -n 1 "$tmp/err")" = "Try '$tool -h'." ] || why+=" stderr not the two lines"
	# the tool's own execve() is the first line of the trace
	[ "$(grep -cE "^[0-9]+ +(${calls//,/|})\(" "$tmp/trace")" -le 1 ] ||
		why+=" started work: $(grep -oE "(${calls//,/|})\(" "$tmp/trace" | sed 1d | sort -u | xargs)"
	[ -z "$why" ] && return
	failed=$((failed + 1))
	echo "FAIL: $tool $*:$why"
	sed 's/^/  | /' "$tmp/err" | head -n 3
}

tools=$(sed -n 's/^TOOLS *:= *//p' "$here/Makefile")
[ -n "$tools" ] || { echo "FAIL: no TOOLS in $here/Makefile"; exit 1; }
for t in $tools; do
	[ -x "$here/$t" ] || { echo "FAIL: $t not built (make -C tools)"; exit 1; }
	for a in --bogus --help "--time 5" -Z -t "-t abc" "-t -1" \
		 "-t 99999999999999999999" "-t 10abc" "-t +5" "-t 0x10" \
		 "-4 extra"; do
		# shellcheck disable=SC2086  # the case is a list of words
		check "$t" $a
	done
	check "$t" -t ""
	check "$t" -t " 5"
done
check tcp_rr -m bogus
check tcp_tw_race -m bogus
check tcp_setup_exc -S bogus
check tcp_setup_exc -t 5
echo "usage: $cases bad command lines, $failed not refused as they should be"
[ "$failed" -eq 0 ]
