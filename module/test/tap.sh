# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: the module's VM tests (test-sysctl.sh,
# test/fuzz-sysctl.sh, test/dkms-cycle.sh, test/widen-budget.sh) report
# in TAP the same way and share their preamble; sourced by all of them.  One "ok N - ..." or
# "not ok N - ..." line per check, skips as "ok N - # SKIP ...", everything
# else as "# " comments; finish prints the plan and "# N passed, N failed,
# N skipped" and exits 1 on any failure.  skip_all, need_root, need_ko and
# test_prog are the common start of a test script; check_no_splat is the
# last check of test-sysctl.sh and fuzz-sysctl.sh.
# shellcheck shell=bash

tap_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

n=0
passed=0
failed=0
skipped=0

ok() {
	n=$((n + 1)) passed=$((passed + 1))
	echo "ok $n - $*"
}

fail() {
	n=$((n + 1)) failed=$((failed + 1))
	echo "not ok $n - $*"
}

skip() {
	n=$((n + 1)) skipped=$((skipped + 1))
	echo "ok $n - # SKIP $*"
}

# check WHAT CMD...: ok when CMD succeeds, else not ok.
check() {
	local what=$1

	shift
	if "$@"; then
		ok "$what"
	else
		fail "$what"
	fi
}

# check_no_splat: one check that the kernel log has no splat.  KCSAN's
# data-race reports are left to scripts/kcsan-report (vm-run --kcsan): a
# KCSAN kernel reports races all over the kernel.  The first lines found
# follow as comments.
check_no_splat() {
	local re='BUG:|WARNING:|Oops|Call Trace|general protection|refcount_t|suspected memory leak'
	local splat line

	splat=$(dmesg 2>/dev/null | grep -v 'BUG: KCSAN: ' | grep -E "$re" | head -n 5)
	check "no splat in the kernel log" [ -z "$splat" ]
	[ -n "$splat" ] && while IFS= read -r line; do echo "# $line"; done <<<"$splat"
	return 0
}

finish() {
	echo "1..$n"
	echo "# $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit $?
}

# skip_all WHY: the whole script cannot run here (exit 4, kselftest's skip).
skip_all() {
	echo "1..0 # SKIP ${me:-${0##*/}}: $*"
	exit 4
}

need_root() {
	[ "$(id -u)" -eq 0 ] || skip_all "must run as root"
}

# need_ko KO: a usage error (exit 2) when the module file is missing.
need_ko() {
	[ -r "$1" ] && return
	echo "${me:-${0##*/}}: module '$1' not found (make -C module KDIR=...)" >&2
	exit 2
}

# test_prog VAR NAME OVERRIDE KO TMPDIR: sets VAR to the helper program
# NAME (source module/test/NAME.c): OVERRIDE when given; else one built next
# to the module KO (make -C module testprogs) or in module/test/ that is
# newer than its source; else one compiled here with ${CC:-cc} into TMPDIR
# (the source tree may be read-only, as in the VM), its messages as
# "# cc| " comments.  The caller checks that VAR is executable.
test_prog() {
	local var=$1 name=$2 prog=$3 ko=$4 tmpdir=$5 src c

	src=$tap_dir/$name.c
	if [ -z "$prog" ]; then
		for c in "$(dirname "$ko")/test/$name" "$tap_dir/$name"; do
			if [ -x "$c" ] && ! [ "$src" -nt "$c" ]; then
				prog=$c
				break
			fi
		done
	fi
	if [ -z "$prog" ]; then
		prog=$tmpdir/$name
		"${CC:-cc}" -O2 -Wall -pthread -o "$prog" "$src" 2>&1 | sed 's/^/# cc| /'
	fi
	printf -v "$var" '%s' "$prog"
}
