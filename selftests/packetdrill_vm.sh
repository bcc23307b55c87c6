#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run packetdrill scripts on the kernel this VM booted, once per value of
# net.ipv4.tcp_shrink_window asked for, with the kernel's own runner
# (tools/testing/selftests/net/packetdrill/ksft_runner.sh of the kernel's
# source tree): the series' scripts and the kernel's tcp_rcv_* scripts.
#
#   packetdrill_vm.sh <source tree> [--policies "0 2"] [script.pkt ...]
#
# Without scripts: every tcp_rcv_*.pkt of the tree (the series adds its
# tcp_rcv_wnd_shrink_*.pkt) and the series' tcp_syn_stale_ack_*.pkt.
# Each policy is set for the netns of every script by appending it to a
# copy of defaults.sh; a script that sets tcp_shrink_window itself keeps
# its own value.  KSFT_MACHINE_SLOW widens packetdrill's timing tolerance
# for TCG, and turns failures into XFAIL, which this script counts as
# failures: no script here checks timing.  A script that reads tcp_info
# is skipped, saying so, where packetdrill's struct tcp_info is newer than
# the kernel's (packetdrill refuses to read it).
#
# packetdrill is not packaged by Debian: build it from its public source
# and put it on PATH or in $PACKETDRILL.  Without it: exit 4 (skip), with
# the reason.  Exit 0 when every script passed for every family and policy.
set -uo pipefail

die() { echo "packetdrill_vm: $*" >&2; exit 2; }

tree=${1:-}
[ -n "$tree" ] || die "usage: packetdrill_vm.sh <source tree> [--policies LIST] [script.pkt ...]"
shift
policies='0 2'
if [ "${1:-}" = --policies ]; then
	policies=${2:-}
	shift 2 || die "--policies needs a list"
fi
for p in $policies; do
	case "$p" in 0 | 1 | 2) ;; *) die "policy '$p': 0, 1 or 2" ;; esac
done
src=$tree/tools/testing/selftests/net/packetdrill
[ -f "$src/ksft_runner.sh" ] || die "$src/ksft_runner.sh: no such file"

if [ -n "${PACKETDRILL:-}" ]; then
	[ -x "$PACKETDRILL" ] || die "PACKETDRILL=$PACKETDRILL is not executable"
	PATH=$(dirname "$PACKETDRILL"):$PATH
fi
if ! command -v packetdrill >/dev/null; then
	echo "SKIP: packetdrill not found (not a Debian package; build it from its public source, set PACKETDRILL)"
	exit 4
fi

scripts=("$@")
if [ ${#scripts[@]} -eq 0 ]; then
	for f in "$src"/tcp_rcv_*.pkt "$src"/tcp_syn_stale_ack_*.pkt; do
		scripts+=("$(basename "$f")")
	done
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# ksft_runner.sh sources ../../kselftest/ktap_helpers.sh: keep the layout.
mkdir -p "$work/net" "$work/kselftest"
cp "$tree/tools/testing/selftests/kselftest/ktap_helpers.sh" "$work/kselftest/"

fails=0 runs=0 skips=0
for p in $policies; do
	rm -rf "$work/net/packetdrill"
	cp -r "$src" "$work/net/packetdrill"
	echo "sysctl -q net.ipv4.tcp_shrink_window=$p" >> "$work/net/packetdrill/defaults.sh"
	for s in "${scripts[@]}"; do
		[ -f "$work/net/packetdrill/$s" ] || die "$s: not in $src"
		out=$(cd "$work/net/packetdrill" &&
		      KSFT_MACHINE_SLOW=yes ./ksft_runner.sh "$s" 2>&1)
		rc=$?
		runs=$((runs + 1))
		# One KTAP line per family; XFAIL is a failure here.
		bad=$(grep -E '^not ok|# XFAIL' <<<"$out")
		if grep -q 'assertion len >= sizeof(struct _tcp_info) failed' <<<"$out"; then
			# packetdrill reads tcp_info as its own, newer, struct.
			skips=$((skips + 1))
			echo "SKIP tcp_shrink_window=$p $s: this packetdrill's struct tcp_info is larger than the kernel's"
		elif [ $rc -ne 0 ] || [ -n "$bad" ] || ! grep -q '^ok ' <<<"$out"; then
			fails=$((fails + 1))
			echo "FAIL tcp_shrink_window=$p $s"
			grep -v '^TAP version\|^1\.\.' <<<"$out" | tail -12 | sed 's/^/    /'
		else
			echo "ok   tcp_shrink_window=$p $s ($(grep -c '^ok ' <<<"$out") families)"
		fi
	done
done
echo "packetdrill: $((runs - fails - skips))/$runs passed, $skips skipped (policies: $policies)"
[ $fails -eq 0 ]
