# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: the A/B scripts of patch 0006 (rcvbuf-ab,
# rcvbuf-bulk-ab) load tcplat, check that the kernel lets it switch the
# clamp policy, switch it between runs, and read key=value summary lines,
# all the same way.  Sourced; the caller defines die() and
# sets an EXIT trap that unloads tcplat before it calls clamp_load.

clamp_sys=/proc/sys/net/ipv4/tcplat

# clamp_load KO: load tcplat from KO; it must be able to switch clamp_window.
clamp_load() {
	insmod "$1" || die "insmod $1 failed"
	grep -q '^clamp_window: available' "$clamp_sys/status" ||
		die "tcplat cannot switch clamp_window: needs the patched kernel with the hook patch"
}

# clamp_set POLICY: grow or shrink for the connections that start next.
clamp_set() {
	echo "$1" > "$clamp_sys/clamp_window" || die "cannot set clamp_window=$1"
}

# key LINE KEY: KEY's value in the key=value summary LINE.
key() { grep -o " $2=[^ ]*" <<<"$1" | head -n1 | cut -d= -f2; }
