# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: the module's VM tests (test-sysctl.sh,
# test/dkms-cycle.sh) report in TAP the same way; sourced by both.  One
# "ok N - ..." or "not ok N - ..." line per check, skips as
# "ok N - # SKIP ...", everything else as "# " comments; finish prints the
# plan and "# N passed, N failed, N skipped" and exits 1 on any failure.
# shellcheck shell=bash

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

finish() {
	echo "1..$n"
	echo "# $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit $?
}
