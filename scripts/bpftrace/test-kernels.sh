#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: an operator runs these tools on the kernel they
# have, installed, by name.  On each kernel a tool must work, work without
# a column (and say which), or refuse in one line saying what the kernel
# lacks; a raw bpftrace or tracefs error is a failure.  This installs the
# tools with make install into a temporary PREFIX, runs each by name
# (first -h, then attached for a short -c command) and prints one line per
# tool:
#
#   RESULT <tool> <kernel> works
#   RESULT <tool> <kernel> degraded: <what it said it lacks>
#   RESULT <tool> <kernel> refuses: <its one line>
#   RESULT <tool> <kernel> FAIL: <why>
#
# It also checks that no tracefs mount is left behind: each tool runs with
# /sys/kernel/tracing unmounted (the tool mounts it) and debugfs mounted
# (whose tracing/ automount bpftrace may trigger), and once more with
# tracefs mounted, which must stay.
#
#   test-kernels.sh [-c COMMAND]    default COMMAND: "sleep 2"
#
# Runs as root in a test VM (scripts/vm-run), never on a host: it
# unmounts and mounts tracefs.  Exit 0 when no tool failed, 1 when one
# did, 2 on a usage error.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tools=(tcp-overview tcp-close-race tcp-stale-ack tcp-rcvbuf-growth
       tcp-listen-drops tcp-connect-cost tcp-lo-stall)
run="sleep 2"

die() { echo "test-kernels: $*" >&2; exit 2; }
while getopts ':c:h' opt; do
	case "$opt" in
	c) run=$OPTARG ;;
	h) awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0"; exit 0 ;;
	:) die "-$OPTARG needs a value" ;;
	*) die "unknown option -$OPTARG" ;;
	esac
done
[ $OPTIND -gt $# ] || die "unexpected argument '${!OPTIND}'"
[ "$(id -u)" -eq 0 ] || die "runs as root, in a test VM"
grep -q 'rootfstype=9p' /proc/cmdline || die "runs in a scripts/vm-run guest only (it unmounts tracefs)"

tmp=$(mktemp -d /tmp/test-kernels.XXXXXX) || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
make -s -C "$here" install PREFIX="$tmp/p" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log" >&2; die "make install failed"; }
export PATH=$tmp/p/bin:$PATH
kernel=$(uname -r)
echo "# kernel $kernel, $(bpftrace --version 2>&1), installed in $tmp/p (make install)"

tracefs_mounts() { awk '$3 == "tracefs" { print $2 }' /proc/mounts | sort; }
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

failed=0
result() {
	echo "RESULT $1 $kernel $2"
	case "$2" in FAIL*) failed=1 ;; esac
}

# one TOOL: classify one tool; its output is kept, indented, for the log.
one() {
	local t=$1 rc out err other lacks line
	out=$tmp/$t.out err=$tmp/$t.err
	if ! "$t" -h >"$out" 2>"$err" || ! head -n1 "$out" | grep -q "^usage: $t "; then
		result "$t" "FAIL: -h: $(head -n1 "$err" "$out" | tr '\n' ' ')"
		return
	fi
	# The path that mounts: tracefs off, debugfs (and its automount point) on.
	while read -r line; do umount "$line" 2>/dev/null; done < <(tracefs_mounts)
	local before after
	before=$(tracefs_mounts)
	timeout 600 "$t" -c "$run" >"$out" 2>"$err"
	rc=$?
	after=$(tracefs_mounts)
	sed 's/^/#   out: /' "$out" | grep -v '^#   out: $' | head -n 40
	sed 's/^/#   err: /' "$err" | head -n 20
	if [ "$after" != "$before" ]; then
		result "$t" "FAIL: left tracefs mounted on $(comm -13 <(echo "$before") <(echo "$after") | tr '\n' ' ')"
		return
	fi
	lacks=$(grep -E "^$t: kernel [^ ]+ has no .+: .+" "$err" | sed "s/^$t: kernel [^ ]* has no //")
	other=$(grep -Ev "^$t: kernel [^ ]+ has no |^$t: .*bytes further on \\(see lib.sh\\)$" "$err")
	if [ $rc -eq 2 ] && [ "$(grep -c . "$err")" = 1 ] &&
	   grep -Eq "^$t: needs .+ \\(kernel $kernel has no .+\\)$" "$err"; then
		result "$t" "refuses: $(cat "$err")"
	elif [ $rc -ne 0 ]; then
		result "$t" "FAIL: exit $rc: $(head -n 3 "$err" | tr '\n' ' ')"
	elif ! grep -q '^Attaching ' "$out"; then
		result "$t" "FAIL: exit 0 but never attached: $(head -n 3 "$err" | tr '\n' ' ')"
	elif [ -n "$other" ]; then
		result "$t" "FAIL: unexpected on stderr: $(head -n 3 <<<"$other" | tr '\n' ' ')"
	elif [ -n "$lacks" ]; then
		result "$t" "degraded: $(paste -sd ';' <<<"$lacks")"
	else
		result "$t" works
	fi
}

for t in "${tools[@]}"; do
	one "$t"
done

# tracefs already mounted: it stays (the tool did not mount it).
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing
before=$(tracefs_mounts)
tcp-connect-cost -q -c "$run" >/dev/null 2>&1
after=$(tracefs_mounts)
if grep -qx /sys/kernel/tracing <<<"$after" && [ "$after" = "$before" ]; then
	echo "RESULT tracefs $kernel works: mounted before, mounted after; nothing else left"
else
	echo "RESULT tracefs $kernel FAIL: before [$(echo "$before" | tr '\n' ' ')] after [$(echo "$after" | tr '\n' ' ')]"
	failed=1
fi
exit $failed
