#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: every program of this folder parses its command
# line before it does anything else, and a usage error must end it at once
# with exit status 2 for a tool of tools/ (lib/opt.h), 1 for a test (the
# kselftest harness' parser), a message on stderr, no signal or core, and
# no network work started (issue #17, "bad input").  This fuzzes the
# options of every program that "make -C selftests" and "make -C tools"
# build (TEST_GEN_PROGS and SERIES_TESTS of selftests/Makefile, TOOLS of
# tools/Makefile): unknown options, a missing value, non-numeric,
# negative, zero where the program does not allow it, just out of range,
# overflowing (99999999999999999999), empty, " 5", "+5", "0x10", trailing
# garbage ("10abc"), unwritable files, operands, and -4 with -6 where the
# help says they exclude each other.  The options and their value kinds
# come from each program's -h (for the kselftest_harness programs, from
# the harness's usage text); the range of a numeric option from the
# program's own message for a non-numeric value ("need an integer
# MIN..MAX").
#
#   selftests/fuzz_options.sh [PROGRAM...]
#
# A PROGRAM is a name in this folder or, with a '/', a path (e.g. an older
# build of one, to show the fuzz catches what was fixed).
#
# Run it in a test VM (the programs need root, and one that wrongly accepts
# a bad option starts its test), e.g. from the top of the repository:
#   scripts/vm-run -k build/7.3/bzImage-patched -- selftests/fuzz_options.sh
# With strace installed each case runs under it and must make no socket(),
# unshare(), setns(), bind(), connect() or listen() call and run no other
# program (a second execve(): system("ip -V") is work started too).
# Environment: FUZZ_OPTIONS_SLOW (seconds a usage error may take, default
# 20: milliseconds normally, but under strace in a TCG VM sharing two host
# cores with others, cases took up to 6 s).  KTAP output, one line per case; exits 1 on any failure.

set -u

me=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
slow=${FUZZ_OPTIONS_SLOW:-20}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 passed=0 failed=0

ok() {
	n=$((n + 1)) passed=$((passed + 1))
	echo "ok $n $*"
}

fail() {
	n=$((n + 1)) failed=$((failed + 1))
	echo "not ok $n $*"
}

# The programs "make -C selftests" and "make -C tools" build.
programs() {
	sed -n 's/^TEST_GEN_PROGS *:= *//p' "$here/Makefile" | tr ' ' '\n' | grep .
	sed -n 's/^SERIES_TESTS *:= *//p' "$here/Makefile" | tr ' ' '\n' | grep . |
		sed "s|^|$here/net/|"
	sed -n 's/^TOOLS *:= *//p' "$here/../tools/Makefile" | tr ' ' '\n' | grep . |
		sed "s|^|$(cd "$here/../tools" && pwd)/|"
}

use_strace=0
command -v strace >/dev/null && use_strace=1
net_calls='socket|socketpair|unshare|setns|bind|connect|listen'

path() {
	if [[ "$1" = */* ]]; then
		echo "$1"
	else
		echo "$here/$1"
	fi
}

# run PROG ARGS...: runs one case; leaves rc, elapsed ms, stdout, stderr
# and the network calls made in $rc, $ms, $tmp/out, $tmp/err, $calls.
rc='' ms='' calls=''
run() {
	local t0 t1

	t0=$(date +%s%N)
	if [ "$use_strace" = 1 ]; then
		(ulimit -c 0; timeout -s KILL $((slow * 4)) strace -f -qq -o "$tmp/trace" \
			-e trace=socket,socketpair,unshare,setns,bind,connect,listen,execve \
			"$@" > "$tmp/out" 2> "$tmp/err")
	else
		(ulimit -c 0; timeout -s KILL $((slow * 4)) "$@" > "$tmp/out" 2> "$tmp/err")
	fi
	rc=$?
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	calls=''
	[ "$use_strace" = 1 ] || return 0
	calls=$(grep -Eo "($net_calls)\(" "$tmp/trace" 2>/dev/null | sort -u | tr -d '(' | tr '\n' ' ')
	# the program's own execve() is the first; any other one is a command
	# it ran (system(), popen())
	[ "$(grep -c 'execve(' "$tmp/trace")" -gt 1 ] &&
		calls+="execve $(grep -o 'execve("[^"]*"' "$tmp/trace" | sed -n '2p' | cut -d'"' -f2) "
	return 0
}

# usage_error PROG WHAT ARGS...: ARGS is a usage error; check how PROG
# takes it.
usage_error() {
	local prog=$1 what=$2 why='' want=1

	shift 2
	# A tool of tools/ exits 2 (lib/opt.h); the harness' parser 1.
	[[ "$prog" = */tools/* ]] && want=2
	run "$(path "$prog")" "$@"
	if [ "$rc" -ge 128 ]; then
		why+=" killed by signal $((rc - 128))$([ "$rc" = 137 ] && echo ' (timeout?)'),"
	elif [ "$rc" != "$want" ]; then
		why+=" exit $rc, not $want,"
	fi
	[ -s "$tmp/err" ] || why+=" nothing on stderr,"
	[ "$ms" -le $((slow * 1000)) ] || why+=" took $ms ms,"
	[ -n "$calls" ] && why+=" made network calls or ran commands ($calls),"
	grep -q '^TAP version\|^1\.\.' "$tmp/out" && why+=" started its tests,"
	if [ -z "$why" ]; then
		ok "$prog $what: exit $rc in $ms ms: $(head -n 1 "$tmp/err")"
	else
		fail "$prog $what:${why%,}"
		sed 's/^/#   stdout| /' "$tmp/out" | head -n 3
		sed 's/^/#   stderr| /' "$tmp/err" | head -n 3
	fi
}

# The options in PROG's help text, one "OPT[,ALIAS] KIND" line each: KIND
# is none, num, word or file.  A help line starts with blanks and the
# option spec, then two or more blanks and the description.  "-4, -6" and
# "-4 | -6" are two options without a value, "-n, --count N" one with two
# names.
options_of() {
	local spec opt arg kind names

	grep -E '^[[:space:]]+-' "$tmp/help" | sed -E 's/^[[:space:]]+//; s/[[:space:]]{2,}.*//' |
	while IFS= read -r spec; do
		# a continuation line that starts with an option name
		[ "$(wc -w <<<"$spec")" -le 3 ] || continue
		arg=${spec##* }
		[[ "$arg" = -* ]] && arg=''
		case "$arg" in
		'') kind=none ;;
		FILE) kind='file' ;;
		MODE | WHAT | *[a-z]*\|*) kind=word ;;
		name) kind=word ;;
		*) kind=num ;;
		esac
		names=''
		for opt in $spec; do
			opt=${opt%,}
			[[ "$opt" =~ ^--?[[:alnum:]][-[:alnum:]]*$ ]] || continue
			if [ "$kind" = none ]; then
				echo "$opt $kind"
			else
				names+=${names:+,}$opt
			fi
		done
		[ -n "$names" ] && echo "$names $kind"
	done | sort -u
}

# min_max PROG OPT: the range PROG names for OPT's values, "MIN MAX", and
# "even" when it wants an even number, from its message for a
# non-numeric value ("need an integer 1..3600", "expected an even number,
# 64..20000"); empty when it names none.
min_max() {
	run "$(path "$1")" "$2" abc
	sed -nE 's/.*[^0-9]([0-9]+)\.\.([0-9]+).*/\1 \2/p' "$tmp/err" | head -n 1 | tr '\n' ' '
	grep -qw even "$tmp/err" && echo even
}

# Options whose value 0 makes no sense: a duration, a count, a size.
no_zero() {
	case "$1" in
	-t | --time | -n | --count | --conns | -c | --clients | -s | --size) return 0 ;;
	esac
	return 1
}

fuzz_prog() {
	local prog=$1 harness=0 opts o kind r min max even v letter

	if [ ! -x "$(path "$prog")" ]; then
		fail "$prog: not built (make -C selftests)"
		return
	fi
	run "$(path "$prog")" -h
	cat "$tmp/out" "$tmp/err" > "$tmp/help"
	if grep -q 'list all tests' "$tmp/help"; then
		harness=1
	elif [ "$rc" != 0 ] || ! grep -q '^Usage:' "$tmp/help"; then
		fail "$prog -h: exit $rc, no usage text"
		return
	fi
	opts=$(options_of)
	# e.g. "Usage: tcp_bad_segments [-4|-6]" and no option lines: the
	# generic cases and -4 -6 only
	[ -n "$opts" ] || echo "# $prog: no option lines in its help text"
	echo "# $prog$([ "$harness" = 1 ] && echo ' (kselftest_harness)'): $(tr '\n' ' ' <<<"$opts")"

	# Unknown options and operands.
	for letter in Z Q Y X; do
		grep -q "^-$letter " <<<"$opts" || break
	done
	usage_error "$prog" "unknown option -$letter" "-$letter"
	usage_error "$prog" "unknown option --no-such-option" --no-such-option
	usage_error "$prog" "unknown option --no-such-option=1" --no-such-option=1
	if [ "$harness" = 0 ]; then
		# kselftest_harness ignores operands: upstream's, not ours.
		usage_error "$prog" "operand 'extra'" extra
		usage_error "$prog" "operand '-'" -
		usage_error "$prog" "operand after --" -- extra
	fi

	while read -r names kind; do
		[ -z "$names" ] || [ "$kind" = none ] && continue
		# every name without its value; the bad values on the last one
		# (the long name, when there is one)
		for o in ${names//,/ }; do
			usage_error "$prog" "$o without its value" "$o"
			[[ "$o" = --* ]] && usage_error "$prog" "$o= (empty)" "$o="
		done
		[ "$harness" = 1 ] && continue
		usage_error "$prog" "$o '' (empty)" "$o" ''
		case "$kind" in
		num)
			for v in abc -1 99999999999999999999 18446744073709551617 \
				 10abc ' 5' '5 ' +5 0x10 1.5 1e3 -- '-0' '5,6'; do
				usage_error "$prog" "$o '$v'" "$o" "$v"
			done
			r=$(min_max "$prog" "$o")
			if [ -z "$r" ]; then
				fail "$prog $o abc: its message names no range MIN..MAX"
				continue
			fi
			read -r min max even <<<"$r"
			[ -n "$even" ] && usage_error "$prog" "$o $((min + 1)) (odd)" "$o" $((min + 1))
			[ "$min" -gt 0 ] && usage_error "$prog" "$o $((min - 1)) (below $min)" "$o" $((min - 1))
			usage_error "$prog" "$o $((max + 1)) (above $max)" "$o" $((max + 1))
			if no_zero "$o"; then
				if [ "$min" -gt 0 ]; then
					ok "$prog $o: 0 refused (range $min..$max)"
				else
					fail "$prog $o: accepts 0 (range $min..$max)"
				fi
			fi
			;;
		word)
			for v in bogus ' ' -1 0; do
				usage_error "$prog" "$o '$v'" "$o" "$v"
			done
			;;
		file)
			usage_error "$prog" "$o in a missing folder" "$o" /nonexistent-dir/x
			usage_error "$prog" "$o a folder" "$o" /
			;;
		esac
	done <<<"$opts"

	# -4 and -6 together, where the help says they exclude each other.
	if grep -Eq -- '-4 ?\| ?-6|-4, -6 +one|one address family only' "$tmp/help"; then
		usage_error "$prog" "-4 -6 (exclusive)" -4 -6
		usage_error "$prog" "-6 -4 (exclusive)" -6 -4
	fi
}

echo "TAP version 13"
echo "# $me: kernel $(uname -r), strace $([ "$use_strace" = 1 ] && echo yes || echo no)"
[ "$use_strace" = 1 ] || echo "# strace missing: network calls not checked (only that no test started)"
progs=("$@")
[ ${#progs[@]} -gt 0 ] || read -r -a progs <<<"$(programs | tr '\n' ' ')"
for p in "${progs[@]}"; do
	fuzz_prog "$p"
done
echo "1..$n"
echo "# $passed passed, $failed failed"
[ "$failed" -eq 0 ]
