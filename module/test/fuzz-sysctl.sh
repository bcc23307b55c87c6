#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: test-sysctl.sh checks a fixed list of bad values per
# writable tcplat sysctl.  This fuzzes every writable entry under
# /proc/sys/net/ipv4/tcplat/ far beyond that list (issue #17, "bad input"):
# negative and huge numbers (2^31, 2^63, 2^64+1), non-numeric text, empty,
# whitespace-only and overlong writes (page size and more), NUL bytes,
# several numbers, a leading '+', hex and octal forms, writes at a non-zero
# offset, split writes, and several hundred buffers of random bytes from a
# fixed, printed seed.  Every bad write must fail with an error and leave
# the value unchanged, and the status text must still agree with the knobs.
# Then 8 writers race valid and invalid writes on the same and on different
# knobs (the kprobe-placing race_widen_* and observe_port ones included):
# afterwards every knob holds a value some writer wrote successfully, the
# status agrees, the kprobes placed are exactly those the knobs arm, and the
# module unloads cleanly.  Read-only entries refuse every write, and root of
# a new user namespace cannot write the knobs (see userns_checks below).
#
#   $0 [path/to/tcplat.ko]
#
# Run as root in a test VM, e.g. from the top of the repository:
#   scripts/vm-run --tcg-single -k build/7.3/bzImage-patched -- \
#           module/test/fuzz-sysctl.sh build/7.3/mod-patched/tcplat.ko
# The module defaults to ../tcplat.ko from this script (module/tcplat.ko of
# "make -C module").  The byte-exact writes (one write(2) per buffer, NUL
# bytes, offsets) and the random buffers go through tcplat_sysctl_write.c
# (built by "make -C module testprogs", or here with ${CC:-cc}).
# Environment: TCPLAT_FUZZ_SEED (seed of the random trials, default 17;
# printed, set it to replay a failure), TCPLAT_FUZZ_TRIALS (random buffers
# per knob, default 300), TCPLAT_FUZZ_WRITERS (concurrent writers, default
# 8), TCPLAT_FUZZ_SECS (seconds they run, default 10), TCPLAT_SYSCTL_WRITE
# (the byte writer to use instead of finding or building one), CC.
# TAP output, ending with "# N passed, N failed, N skipped"; exits 1 on any
# failure, 4 (with "1..0 # SKIP") when not run as root.

# The helpers are called through check "$@", which shellcheck cannot see.
# shellcheck disable=SC2317
set -u

me=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
ko=${1:-$here/../tcplat.ko}
seed=${TCPLAT_FUZZ_SEED:-17}
trials=${TCPLAT_FUZZ_TRIALS:-300}
writers=${TCPLAT_FUZZ_WRITERS:-8}
secs=${TCPLAT_FUZZ_SECS:-10}
dir=/proc/sys/net/ipv4/tcplat
kprobe_list=/sys/kernel/debug/kprobes/list
tmp=

# shellcheck source=module/test/tap.sh
. "$here/tap.sh"

for v in seed trials writers secs; do
	if ! [[ "${!v}" =~ ^[0-9]{1,6}$ ]]; then
		echo "$me: $v must be a small non-negative integer, not '${!v}'" >&2
		exit 2
	fi
done
need_root
need_ko "$ko"
# The byte-level writer, tcplat_sysctl_write (see its source for the
# details); buffers are given as C escapes ('\x00', '\n'), so NUL bytes
# survive the command line.
#   write FILE OFFSET BUF...  open FILE once, seek to OFFSET, one write(2)
#                             per BUF; prints "ok" or the errno name per BUF
#   batch FILE                the same for each case on stdin (see bad())
#   random FILE SEED TRIALS int MIN MAX | names NAME,NAME...
#                             TRIALS random buffers, one write(2) each;
#                             prints a summary and the offending buffers
# It is $TCPLAT_SYSCTL_WRITE, or found or built below (test_prog, tap.sh).
sw=

sysw() {
	"$sw" "$@"
}

# wr NAME OFFSET BUF...: the results are left in $res.
res=
wr() {
	local name=$1

	shift
	res=$(sysw write "$dir/$name" "$@" 2>&1)
}

val() {
	cat "$dir/$1" 2>/dev/null
}

loaded() {
	grep -q '^tcplat ' /proc/modules
}

show() {
	local v=$1

	if [ ${#v} -gt 24 ]; then
		echo "<${#v} chars: ${v:0:8}...>"
	else
		echo "'$v'"
	fi
}

# range NAME -> "int MIN MAX" or "names A,B,..."; empty for an unknown knob.
range() {
	case "$1" in
	tw_relookup | syn_relookup | syn_closed_ack) echo int 0 1 ;;
	race_widen_us) echo int 0 100000 ;;
	race_widen_port | observe_port) echo int 0 65535 ;;
	race_widen_mode) echo int 0 2 ;;
	syn_stale_resend) echo names legacy,upstream,fast ;;
	clamp_window) echo names grow,shrink ;;
	esac
}

status_line() {
	val status | grep -E "^$1: " | head -n 1
}

# --- status and kprobes against the knob values ----------------------

probes_placed() {
	[ -r "$kprobe_list" ] || { echo "?"; return; }
	grep -Eo 'tcp_time_wait|sk_filter_trim_cap|tcp_rcv_state_process' "$kprobe_list" |
		sort | tr '\n' ' ' | sed 's/ $//'
}

# The kprobes the current knob values arm, as probes_placed lists them.
probes_expected() {
	local us port mode obs

	us=$(val race_widen_us) port=$(val race_widen_port)
	mode=$(val race_widen_mode) obs=$(val observe_port)
	{
		if [ "$us" != 0 ] && [ "$port" != 0 ]; then
			[ "$mode" = 1 ] && echo tcp_time_wait
			[ "$mode" = 2 ] && echo sk_filter_trim_cap
		fi
		if [ "$obs" != 0 ]; then
			echo tcp_rcv_state_process
			echo tcp_time_wait
		fi
	} | sort | tr '\n' ' ' | sed 's/ $//'
}

# consistent: the status text says what the knob values mean, and the
# kprobe list holds what they arm.  Prints what disagrees.
consistent() {
	local us port mode obs want got t v rc=0

	us=$(val race_widen_us) port=$(val race_widen_port)
	mode=$(val race_widen_mode) obs=$(val observe_port)
	if [ "$mode" = 0 ]; then
		want='race_widen: idle (race_widen_mode is 0)'
	elif [ "$port" = 0 ]; then
		want='race_widen: idle (race_widen_port is 0)'
	elif [ "$us" = 0 ]; then
		want='race_widen: idle (race_widen_us is 0)'
	else
		t=waiter
		[ "$mode" = 1 ] && t='lock holder'
		want="race_widen: armed (mode $mode: delay the $t, local port $port in netns"
	fi
	got=$(status_line race_widen)
	[ "${got:0:${#want}}" = "$want" ] ||
		{ echo "# status '$got', knobs us=$us port=$port mode=$mode"; rc=1; }
	if [ "$obs" = 0 ]; then
		want='closed_sk_segments: off ('
	else
		want='closed_sk_segments: active ('
	fi
	got=$(status_line closed_sk_segments)
	[ "${got:0:${#want}}" = "$want" ] ||
		{ echo "# status '$got', observe_port=$obs"; rc=1; }
	if [ "$obs" != 0 ] && ! grep -q ", local port $obs in netns" <<<"$got"; then
		echo "# status '$got' does not name observe_port $obs"
		rc=1
	fi
	for t in tw_relookup syn_relookup syn_closed_ack; do
		got=$(status_line "$t")
		v=$(val "$t")
		case "$got" in
		*": available, enabled"*) [ "$v" = 1 ] ;;
		*": available, disabled"*) [ "$v" = 0 ] ;;
		*": unavailable"*) [ "$v" = 0 ] ;;
		*) false ;;
		esac || { echo "# $t reads '$v', status '$got'"; rc=1; }
	done
	want=$(probes_expected)
	got=$(probes_placed)
	if [ "$got" != "?" ] && [ "$got" != "$want" ]; then
		echo "# kprobes placed '$got', the knobs arm '$want'"
		rc=1
	fi
	return "$rc"
}

# --- one bad write -----------------------------------------------------

# bad NAME LABEL OFFSET BUF...: queue a bad write (one open, a seek to
# OFFSET, one write(2) per BUF; BUF "@FILE" is FILE's contents) for
# bad_run, which does the queued ones in one go.
bad() {
	local IFS=$'\t'

	shift
	echo "$*" >> "$tmp/cases"
}

# bad_run NAME [WHAT]: the queued bad writes on NAME; each must fail with
# an error and leave the value as it was.
bad_run() {
	local name=$1 what=${2:-} label r before after

	while IFS=$'\t' read -r label r before after; do
		if [[ "$r" =~ (^| )ok$ ]] || [ -z "$r" ]; then
			fail "$name$what: bad write $label accepted ($r)"
		else
			ok "$name$what: bad write $label refused ($r)"
		fi
		[ "$after" = "$before" ] ||
			fail "$name$what: value changed by bad write $label: '${before#=}' -> '${after#=}'"
	done <<<"$(sysw batch "$dir/$name" < "$tmp/cases")"
	: > "$tmp/cases"
}

# good NAME LABEL BUF WANT: a well-formed write takes and reads back WANT.
good() {
	local name=$1 label=$2

	if wr "$name" 0 "$3" && [ "$(val "$name")" = "$4" ]; then
		ok "$name: write $label takes, reads $4"
	else
		fail "$name: write $label: $res, reads '$(val "$name")', want $4"
	fi
}

# C escapes of the bad buffers common to every integer knob.
page=$(getconf PAGESIZE 2>/dev/null || echo 4096)
int_bad=(
	'-1\n' '-2147483648\n' '-2147483649\n' '-9223372036854775808\n'
	'-18446744073709551617\n'
	'2147483648\n' '4294967296\n' '4294967297\n' '9223372036854775808\n'
	'18446744073709551616\n' '18446744073709551617\n'
	'99999999999999999999\n' '0000000000000000000001\n'
	'abc\n' 'x' '1e3\n' '1.5\n' '5abc\n' 'five\n' '--1\n' '- 1\n' '1-\n'
	'' '\n' ' ' '\t' '  \n' '\n\n' '\v\f\r' ' \t \n '
	'\x00' '\x001' '1\x00' '1\x000' '\x00\n' '1\n\x00'
	'1 2\n' '1\n2\n' '1\t2' '0 0' '1,2' '1;2'
	'+1\n' '+0' '++1'
	'0x\n' '0xg\n' '0x1g\n' '08\n' '09\n' '0b1\n' '1h\n' '0X\n'
	'0x80000000\n' '0xffffffff\n' '0x7fffffffffffffff\n' '040000000000\n'
	'\xff\xfe1' '1\xff' '\xc2\xa01'
)

# int_fuzz NAME MIN MAX
int_fuzz() {
	local name=$1 min=$2 max=$3 orig b i long

	orig=$(val "$name")
	echo "# $name: integer $min..$max, reads $orig"
	for b in "${int_bad[@]}"; do
		bad "$name" "$(show "$b")" 0 "$b"
	done
	bad "$name" "max+1 $((max + 1))" 0 "$((max + 1))\n"
	[ "$min" -gt 0 ] && bad "$name" "min-1 $((min - 1))" 0 "$((min - 1))\n"
	for i in $((page - 1)) "$page" $((page + 1)) $((4 * page)) 1048576; do
		bad "$name" "$i digits" 0 "@$tmp/digits.$i"
	done
	# A valid number, then enough blanks that the junk after them lies
	# beyond the first page proc_dointvec() parses.
	for i in $((page - 2)) $((page - 1)) "$page" $((2 * page)); do
		bad "$name" "'1', $i blanks, '2'" 0 "@$tmp/blanks2.$i"
		bad "$name" "'1', $i blanks, 'x'" 0 "@$tmp/blanksx.$i"
	done
	bad "$name" "'1' at offset 1" 1 '1\n'
	bad "$name" "'0' at offset 1 (dd seek=1 conv=notrunc)" 1 '0'
	bad "$name" "'1' at offset $page" "$page" '1\n'
	bad_run "$name"
	dd_seek "$name"
	if wr "$name" 0 "$min"; then
		# The knob takes writes: the forms that are valid, and a split
		# write whose first chunk is a whole number by itself.
		good "$name" "'$max'" "$max" "$max"
		good "$name" "' $min '" " $min \n" "$min"
		good "$name" "'0x1'" '0x1\n' 1
		good "$name" "'01'" '01' 1
		[ "$max" -ge 8 ] && good "$name" "'010' (octal)" '010\n' 8
		wr "$name" 0 "$min"
		if wr "$name" 0 '1' '0\n'; then
			fail "$name: split write '1' + '0': both chunks accepted"
		else
			ok "$name: split write '1' + '0': second chunk refused ($res)"
		fi
		check "$name: ... reads 1, not 10" [ "$(val "$name")" = 1 ]
		wr "$name" 0 "$min"
		check "$name: $trials random buffers (seed $seed)" \
			random_bufs "$name" int "$min" "$max"
		wr "$name" 0 "$orig"
		check "$name: restored to $orig" [ "$(val "$name")" = "$orig" ]
	else
		echo "# $name refuses every write here ($res)"
		bad "$name" "split '1' + '0'" 0 '1' '0\n'
		bad_run "$name"
		check "$name: $trials random buffers (seed $seed)" \
			random_bufs "$name" int "$min" "$max"
	fi
	check "$name: status and kprobes agree with the knobs" consistent
}

# dd_seek NAME: "0" written at offset 1, as dd seek=1 conv=notrunc does.
dd_seek() {
	local name=$1 before out

	before=$(val "$name")
	if out=$(printf 0 | dd of="$dir/$name" bs=1 seek=1 conv=notrunc status=none 2>&1); then
		fail "$name: dd seek=1 conv=notrunc accepted"
	else
		ok "$name: dd seek=1 conv=notrunc refused (${out##*: })"
	fi
	[ "$(val "$name")" = "$before" ] ||
		fail "$name: value changed by dd seek=1: '$before' -> '$(val "$name")'"
}

random_bufs() {
	local name=$1 out rc line

	shift
	out=$(sysw random "$dir/$name" "$seed" "$trials" "$@" 2>&1)
	rc=$?
	while IFS= read -r line; do echo "#   $line"; done <<<"$out"
	return "$rc"
}

# policy_fuzz NAME A,B,...
policy_fuzz() {
	local name=$1 names=$2 orig first b long
	local -a bads

	first=${names%%,*}
	orig=$(val "$name")
	echo "# $name: one of $names, reads '$orig'"
	bads=(
		'' '\n' ' ' '\t\n' '\x00' "$first\\x00" "$first\\x00x"
		"\\x00$first" "$first\\n$first" "$first\\nx" "$first\\n\\n"
		"$first$first" "${first}x" "x$first" "${first^^}" "${first:0:2}"
		"$first ${names#*,}" "$first,$first" "+$first" '0' '1' '-1'
		'0x1' "$first\\xff" "\\xff$first"
	)
	for b in "${bads[@]}"; do
		bad "$name" "$(show "$b")" 0 "$b"
	done
	long=$(printf '%*s' 15 '')
	bad "$name" "'$first' + 15 blanks" 0 "$first$long"
	bad "$name" "$page letters" 0 "@$tmp/letters"
	bad "$name" "1048576 digits" 0 "@$tmp/digits.1048576"
	bad "$name" "'$first' at offset 1" 1 "$first"
	bad_run "$name"
	if wr "$name" 0 "$first"; then
		good "$name" "' $first '" " $first \n" "$first"
		check "$name: $trials random buffers (seed $seed)" \
			random_bufs "$name" names "$names"
		wr "$name" 0 "$orig"
		check "$name: restored to $orig" [ "$(val "$name")" = "$orig" ]
	else
		echo "# $name refuses every write here ($res)"
		check "$name: $trials random buffers (seed $seed)" \
			random_bufs "$name" names "$names"
	fi
}

# --- concurrent writers ------------------------------------------------

# writer I KNOBS...: until $deadline, valid and invalid writes to random
# KNOBS; each successful write "KNOB VALUE" goes to $tmp/ok.I, each
# accepted invalid one to $tmp/bad.I.  No command is forked in the loop:
# under TCG a fork costs more than a write.
writer() {
	local i=$1 k v r now min max
	local -a knobs vals bads=(-1 abc '' 5abc '1 2' 99999999999999999999 0x '+1')
	local -A lo hi names

	shift
	knobs=("$@")
	for k in "${knobs[@]}"; do
		r=$(range "$k")
		case "$r" in
		int*)
			r=${r#int }
			lo[$k]=${r% *} hi[$k]=${r#* }
			;;
		names*) names[$k]=${r#names } ;;
		esac
	done
	RANDOM=$((seed + i))
	exec 3> "$tmp/ok.$i" 4> "$tmp/bad.$i"
	while printf -v now '%(%s)T' -1 && [ "$now" -lt "$deadline" ]; do
		k=${knobs[RANDOM % ${#knobs[@]}]}
		if [ $((RANDOM % 3)) = 0 ]; then
			v=${bads[RANDOM % ${#bads[@]}]}
			if { printf '%s\n' "$v" > "$dir/$k"; } 2>/dev/null; then
				echo "$k '$v'" >&4
			fi
			continue
		fi
		if [ -n "${names[$k]:-}" ]; then
			IFS=, read -r -a vals <<<"${names[$k]}"
			v=${vals[RANDOM % ${#vals[@]}]}
		else
			min=${lo[$k]} max=${hi[$k]}
			# mostly small values, so that the widener gets armed
			if [ $((RANDOM % 2)) = 0 ]; then
				v=$((min + RANDOM % 3))
				[ "$v" -gt "$max" ] && v=$max
			else
				v=$(((RANDOM * 32768 + RANDOM) % (max - min + 1) + min))
			fi
		fi
		if { printf '%s\n' "$v" > "$dir/$k"; } 2>/dev/null; then
			echo "$k $v" >&3
		fi
	done
	exec 3>&- 4>&-
}

concurrent() {
	local knobs=() shared=() own=() k i j nok nbad pids=() init mine least

	for k in race_widen_us race_widen_port race_widen_mode observe_port \
		 tw_relookup syn_relookup syn_closed_ack syn_stale_resend \
		 clamp_window; do
		[ -w "$dir/$k" ] && wr "$k" 0 "$(val "$k")" && knobs+=("$k")
	done
	# The kprobe-placing knobs, written by the even writers all at once;
	# the odd writers share out the other knobs, one set each (or, when
	# none of those takes writes here, one kprobe knob each).
	shared=(race_widen_us race_widen_port race_widen_mode observe_port)
	for k in "${knobs[@]}"; do
		[[ " ${shared[*]} " = *" $k "* ]] || own+=("$k")
	done
	[ ${#own[@]} -gt 0 ] || own=("${shared[@]}")
	echo "# concurrent: $writers writers for ${secs}s; knobs that take writes here: ${knobs[*]}"
	for k in "${knobs[@]}"; do
		echo "$k $(val "$k")" >> "$tmp/init"
	done
	deadline=$(($(date +%s) + secs))
	for ((i = 0; i < writers; i++)); do
		if [ $((i % 2)) = 0 ]; then
			mine=("${shared[@]}")
		else
			mine=()
			for ((j = i / 2; j < ${#own[@]}; j += (writers + 1) / 2)); do
				mine+=("${own[j]}")
			done
			[ ${#mine[@]} -gt 0 ] || mine=("${own[(i / 2) % ${#own[@]}]}")
		fi
		echo "# writer $i: ${mine[*]}"
		writer "$i" "${mine[@]}" &
		pids+=($!)
	done
	wait "${pids[@]}"
	cat "$tmp"/ok.* > "$tmp/ok"
	cat "$tmp"/bad.* > "$tmp/bad"
	nok=$(wc -l < "$tmp/ok")
	nbad=$(wc -l < "$tmp/bad")
	echo "# concurrent: $nok successful valid writes, $nbad accepted invalid ones"
	least=$(wc -l "$tmp"/ok.* | grep -v ' total$' | sort -n | head -n 1 | awk '{print $1}')
	# The scenario: the writers really overlapped, each got writes through.
	check "concurrent: every writer's valid writes took (at least $least each, $nok in all)" \
		[ "${least:-0}" -ge 1 ]
	check "concurrent: every invalid write refused ($nbad accepted)" [ "$nbad" = 0 ]
	head -n 5 "$tmp/bad" | while IFS= read -r k; do echo "# accepted: $k"; done
	for k in "${knobs[@]}"; do
		v=$(val "$k")
		init=$(grep -c "^$k " "$tmp/ok")
		if [ "$init" = 0 ]; then
			check "concurrent: $k kept its value $v (no write to it took)" \
				grep -qx "$k $v" "$tmp/init"
		else
			check "concurrent: $k holds $v, a value written to it ($init writes)" \
				grep -qx "$k $v" "$tmp/ok"
		fi
	done
	check "concurrent: status and kprobes agree with the knobs" consistent
}

# --- user namespaces ----------------------------------------------------

# The table is registered with register_net_sysctl_sz(&init_net, ...):
# /proc/sys/net shows the sysctls of the reader's network namespace, so a
# new one (unshare -n) has no tcplat entries at all.  In the initial one,
# root of a new user namespace (unshare -U) may still open the files (its
# uid is 0), but the write handler asks capable(CAP_NET_ADMIN), a check
# in the initial user namespace, and fails with EPERM.
userns_checks() {
	local out before

	if ! out=$(unshare -Urn true 2>&1); then
		skip "unshare -Urn: ${out:-failed} (kernel without CONFIG_USER_NS?)"
		return
	fi
	check "unshare -Urn: the new netns has its own /proc/sys/net/ipv4" \
		unshare -Urn test -e /proc/sys/net/ipv4/tcp_syncookies
	check "unshare -Urn: no tcplat sysctls in it (table in init_net only)" \
		unshare -Urn bash -c "! test -e $dir"
	before=$(val race_widen_port)
	out=$(unshare -Ur bash -c "printf '7\n' > $dir/race_widen_port" 2>&1)
	check "unshare -Ur (init netns): root of a user ns cannot write" [ $? -ne 0 ]
	echo "# unshare -Ur: ${out##*: }"
	check "unshare -Ur: ... refused with EPERM (capable(CAP_NET_ADMIN))" \
		grep -q 'Operation not permitted' <<<"$out"
	check "unshare -Ur: ... value unchanged" [ "$(val race_widen_port)" = "$before" ]
}

# ---------------------------------------------------------------------

echo "TAP version 13"
echo "# $me: kernel $(uname -r), module $ko, seed $seed, $trials random buffers per knob"
echo "# replay: TCPLAT_FUZZ_SEED=$seed TCPLAT_FUZZ_TRIALS=$trials $0 $ko"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
test_prog sw tcplat_sysctl_write "${TCPLAT_SYSCTL_WRITE:-}" "$ko" "$tmp"
echo "# byte writer: $sw"
if [ ! -x "$sw" ]; then
	fail "no byte writer $sw: nothing can be fuzzed"
	finish
fi
# The long buffers, passed to the writer on stdin.
for i in $((page - 1)) "$page" $((page + 1)) $((4 * page)) 1048576; do
	head -c "$i" /dev/zero | tr '\0' 7 > "$tmp/digits.$i"
done
for i in $((page - 2)) $((page - 1)) "$page" $((2 * page)); do
	{ printf 1; head -c "$i" /dev/zero | tr '\0' ' '; printf 2; } > "$tmp/blanks2.$i"
	{ printf 1; head -c "$i" /dev/zero | tr '\0' ' '; printf x; } > "$tmp/blanksx.$i"
done
head -c "$page" /dev/zero | tr '\0' a > "$tmp/letters"
[ -r "$kprobe_list" ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
[ -r "$kprobe_list" ] || skip "no $kprobe_list: kprobes checked through status only"
loaded && rmmod tcplat
dmesg -C 2>/dev/null
check "insmod $(basename "$ko")" insmod "$ko"
loaded || finish

# (No process substitution: the test VM may lack /dev/fd.)
read -r -a rw <<<"$(find "$dir" -maxdepth 1 -type f -perm -u+w -printf '%f\n' | sort | tr '\n' ' ')"
read -r -a ro <<<"$(find "$dir" -maxdepth 1 -type f ! -perm -u+w -printf '%f\n' | sort | tr '\n' ' ')"
echo "# writable: ${rw[*]}"
echo "# read-only: ${ro[*]}"
check "found writable sysctls (${#rw[@]})" [ "${#rw[@]}" -ge 8 ]
check "found read-only sysctls (${#ro[@]})" [ "${#ro[@]}" -ge 6 ]
check "status and kprobes agree with the knobs after loading" consistent

for s in "${rw[@]}"; do
	r=$(range "$s")
	case "$r" in
	int*)
		r=${r#int }
		int_fuzz "$s" "${r% *}" "${r#* }"
		;;
	names*) policy_fuzz "$s" "${r#names }" ;;
	*) fail "$s: writable, but the fuzz knows no range for it (add it to range())" ;;
	esac
done

# With the widener and the observers armed, the bad writes above again.
if wr race_widen_us 0 '50' && wr race_widen_port 0 '5001' &&
   wr race_widen_mode 0 '2' && wr observe_port 0 '5002'; then
	check "armed: status and kprobes agree" consistent
	for s in race_widen_us race_widen_port race_widen_mode observe_port; do
		for b in "${int_bad[@]}"; do
			bad "$s" "$(show "$b")" 0 "$b"
		done
		bad_run "$s" " (armed)"
	done
	check "armed, after the bad writes: status and kprobes agree" consistent
	for s in race_widen_us race_widen_port observe_port; do
		wr "$s" 0 0
	done
	wr race_widen_mode 0 1
else
	fail "could not arm the widener and the observers ($res)"
fi

for s in "${ro[@]}"; do
	for b in '1\n' '0\n' '' '\x00' 'abc' '-1' '99999999999999999999'; do
		bad "$s" "$(show "$b")" 0 "$b"
	done
	bad "$s" "'1' at offset 1" 1 '1'
	bad_run "$s" " (read-only)"
done

concurrent
userns_checks
check "status reads, and starts with the kernel release" \
	[ "$(val status | head -n 1)" = "kernel: $(uname -r)" ]
check "rmmod tcplat" rmmod tcplat
check "module gone" bash -c '! grep -q "^tcplat " /proc/modules'
if [ -r "$kprobe_list" ]; then
	check "no kprobe left after unload" bash -c \
		"! grep -Eq 'tcp_time_wait|sk_filter_trim_cap|tcp_rcv_state_process' $kprobe_list"
fi
check_no_splat
finish
