# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: the seven tools of this folder share their command
# line (one set of options, parsed the same way), their start-up (root,
# bpftrace, tracefs) and the readers of what differs between kernels:
# drop and RST reason numbers and probes that exist only on some kernels.
# Hard-coded tables go stale; these helpers read both from the running
# kernel.  Sourced by the tools, from the repository or from the folder
# make install puts them in; not a program.  Sourcing it changes nothing
# on the system: bt_start does, after the options are parsed.

tracefs=/sys/kernel/tracing
bt_mounts_before=''

bt_die() { echo "${0##*/}: $*" >&2; exit 2; }

# bt_needs WHAT LACK: refuse to run, in one line (exit 2): this kernel
# has no LACK, which the tool needs for WHAT.
bt_needs() { bt_die "needs $1 (kernel $(uname -r) has no $2)"; }

# bt_lacks LACK WHAT: say on stderr that this kernel has no LACK, so WHAT
# (a column, a count) is not shown; the tool runs without it.
bt_lacks() { echo "${0##*/}: kernel $(uname -r) has no $1: $2" >&2; }

# shellcheck disable=SC2034 # the variables below are the callers'
# bt_options ALLOWED "$@": the options of every tool, into
#   family  0 (both), 2 (-4) or 10 (-6)
#   lport   -p PORT, local port, 0: all      rport  -P PORT, remote port
#   nlport, nrport  the same in network byte order (as skc_dport)
#   min_us  -m MS as microseconds, has_min 1 when -m was given
#   reltime 1 for -t (TIME_S, seconds since the start, not HH:MM:SS)
#   quiet   -q      cmd  (-c COMMAND) for bpftrace
# -p, -P and -m only where ALLOWED has p, P or m.  -h prints $usage.
bt_options() {
	local allowed=$1 opt ms
	shift
	family=0 lport=0 rport=0 min_us=0 has_min=0 reltime=0 quiet=0 cmd=()
	OPTIND=1
	while getopts ':46p:P:m:tqc:h-:' opt; do
		case "$opt" in
		4) family=2 ;;
		6) family=10 ;;
		p | P | m)
			[[ "$allowed" == *"$opt"* ]] || bt_die "no option -$opt here (-h for the options)"
			case "$opt" in
			p) lport=$OPTARG ;;
			P) rport=$OPTARG ;;
			m) ms=$OPTARG; has_min=1 ;;
			esac ;;
		t) reltime=1 ;;
		q) quiet=1 ;;
		c) cmd=(-c "$(bt_command "$OPTARG")") ;;
		h) echo "$usage"; exit 0 ;;
		-) [ "$OPTARG" = help ] || bt_die "unknown option --$OPTARG (-h for the options)"
		   echo "$usage"; exit 0 ;;
		:) bt_die "-$OPTARG needs a value (-h for the options)" ;;
		*) bt_die "unknown option -$OPTARG (-h for the options)" ;;
		esac
	done
	[ $OPTIND -gt $# ] || bt_die "unexpected argument '${!OPTIND}' (-h for the options)"
	for opt in "$lport" "$rport"; do
		if ! [[ "$opt" =~ ^[0-9]{1,5}$ ]] || [ "$opt" -gt 65535 ]; then
			bt_die "a port is 0..65535 (0: all), not '$opt'"
		fi
	done
	nlport=$(( ((lport & 0xff) << 8) | (lport >> 8) ))
	nrport=$(( ((rport & 0xff) << 8) | (rport >> 8) ))
	if [ $has_min = 1 ]; then
		[[ "$ms" =~ ^([0-9]{1,6})(\.([0-9]{1,3}))?$ ]] ||
			bt_die "-m wants milliseconds (0..999999, up to 3 decimals), not '$ms'"
		local frac=${BASH_REMATCH[3]}000
		min_us=$((10#${BASH_REMATCH[1]} * 1000 + 10#${frac:0:3}))
	fi
}

# bt_command COMMAND: COMMAND with its program as an absolute path.
# bpftrace 0.17 looks a bare name up in every folder of PATH and refuses
# one found twice: "sleep" is /bin/sleep and /usr/bin/sleep on a
# merged-/usr system.
bt_command() {
	local w=${1%% *} p
	if [[ -n "$w" && "$w" != */* ]] && p=$(type -P "$w"); then
		echo "$p${1:${#w}}"
	else
		echo "$1"
	fi
}

# bt_start: what a run needs, once the options are parsed: bpftrace, root,
# and tracefs - mounted only if it is missing, and then unmounted again
# when the tool exits, with any other tracefs mount the run made.  That
# is not only ours: where debugfs is mounted, /sys/kernel/debug/tracing is
# an automount point of tracefs, and bpftrace (0.17, Debian 12's) uses that
# path whenever it exists, which mounts tracefs there until someone
# unmounts it: the mount seen left behind on Debian's kernels.
bt_start() {
	command -v bpftrace >/dev/null || bt_die "needs bpftrace (apt-get install bpftrace)"
	[ "$(id -u)" -eq 0 ] || bt_die "needs root"
	bt_mounts_before=$(bt_tracefs_mounts)
	trap bt_cleanup EXIT
	if [ ! -d "$tracefs/events" ]; then
		mount -t tracefs nodev "$tracefs" || bt_die "cannot mount tracefs on $tracefs"
	fi
}

# bt_tracefs_mounts: the mount points of tracefs, one a line.
bt_tracefs_mounts() {
	awk '$3 == "tracefs" { print $2 }' /proc/mounts 2>/dev/null
}

# bt_cleanup: unmount every tracefs mount that was not there at bt_start
# (a busy one stays, silently: someone else uses it).
bt_cleanup() {
	local m
	while IFS= read -r m; do
		[ -n "$m" ] || continue
		grep -qxF -- "$m" <<<"$bt_mounts_before" && continue
		# /proc/mounts writes a space as \040.
		umount "$(printf '%b' "$m")" 2>/dev/null || true
	done < <(bt_tracefs_mounts)
}

# bt_program NAME: the text of $bt_libdir/NAME.bt, with its TIME column
# set: the placeholders _TIME_HDR_ (in a format string: the column's
# title), _TIME_FMT_ (in a format string: its conversion) and _TIME_ARGS_
# (its values) become HH:MM:SS wall-clock time (strftime) or, with -t,
# seconds since the start, to the millisecond (@t0, set in BEGIN).
bt_program() {
	local hdr fmt args
	if [ "$reltime" = 1 ]; then
		hdr='TIME_S     ' fmt='%6d.%03d ' args='(nsecs - @t0) \/ 1000000000, (nsecs - @t0) \/ 1000000 % 1000'
	else
		hdr='TIME    ' fmt='%-8s' args='strftime("%H:%M:%S", nsecs)'
	fi
	sed -e "s/_TIME_HDR_/$hdr/g" -e "s/_TIME_FMT_/$fmt/g" -e "s/_TIME_ARGS_/$args/g" \
		"$bt_libdir/$1.bt" || bt_die "cannot read $bt_libdir/$1.bt"
}

# bt_enum EVENT NAME: the number printed as NAME by EVENT's format
# (__print_symbolic(..., { 4, "TCP_CLOSE" }, ...)), e.g.
#   bt_enum skb/kfree_skb TCP_CLOSE -> 4
bt_enum() {
	local fmt=$tracefs/events/$1/format v
	[ -r "$fmt" ] || bt_die "no $fmt (CONFIG_TRACEPOINTS?)"
	v=$(grep -o "{ *[0-9]*, *\"$2\" *}" "$fmt" | grep -o '[0-9]\+' | head -n1)
	[ -n "$v" ] || bt_die "$2 not found in $fmt"
	echo "$v"
}

# bt_has_enum EVENT NAME: EVENT's format prints NAME (see bt_enum).
bt_has_enum() {
	grep -q "{ *[0-9]*, *\"$2\" *}" "$tracefs/events/$1/format" 2>/dev/null
}

# bt_has_field EVENT FIELD: EVENT (skb/kfree_skb) has the field FIELD.
bt_has_field() {
	grep -Eq "^[[:space:]]*field:[^;]*[ *]$2(\[[^]]*\])?;" "$tracefs/events/$1/format" 2>/dev/null
}

# bt_has_func NAME: the kernel has a probe-able function NAME.
bt_has_func() {
	grep -q " [tT] $1\$" /proc/kallsyms 2>/dev/null
}

# bt_sock_shift: the number of bytes to add to a struct sock pointer before
# reading, with this bpftrace on this kernel, a struct sock field that
# follows sk_lock (sk_ack_backlog, sk_max_ack_backlog, sk_protocol); 0 on
# almost every system.  Why: since 7.x the kernel is built with
# -fms-extensions (CONFIG_CC_MS_EXTENSIONS) and socket_lock_t holds an
# unnamed "struct slock_owned" (owned, slock) in a union with a long.
# BTF records that member, but bpftrace before 0.21 takes struct sock's
# later fields from clang, which parses the C that libbpf writes from BTF
# without -fms-extensions and drops the member: the union shrinks to a
# long.  Where slock_owned is larger than a long (lockdep, spinlock
# debugging, PREEMPT_RT) every field after sk_lock is then read that many
# bytes early: 64 on our 7.3 debug kernel, where sk_ack_backlog read
# sk_callback_lock.  Dies if the size cannot be read.
bt_sock_shift() {
	local v size
	grep -qa slock_owned /sys/kernel/btf/vmlinux 2>/dev/null || { echo 0; return; }
	v=$(bpftrace --version 2>/dev/null)
	# 0.21 and later take every field from BTF.
	if ! [[ "$v" =~ v0\.([0-9]+)\. ]] || [ "${BASH_REMATCH[1]}" -ge 21 ]; then
		echo 0
		return
	fi
	# bpftrace prints "Attaching 1 probe..." before and blank lines after.
	size=$(bpftrace -e 'BEGIN { printf("slock_owned %d\n", sizeof(struct slock_owned)); exit(); }' \
		2>/dev/null | sed -n 's/^slock_owned \([0-9]\{1,5\}\)$/\1/p')
	[[ "$size" =~ ^[0-9]+$ ]] || bt_die "cannot read sizeof(struct slock_owned) with $v"
	# The union is a long and slock_owned, rounded to 8 bytes.
	size=$(((size + 7) / 8 * 8))
	[ "$size" -gt 8 ] || { echo 0; return; }
	echo "${0##*/}: $v, sizeof(struct slock_owned) $size: reading struct sock fields after sk_lock $((size - 8)) bytes further on (see lib.sh)" >&2
	echo $((size - 8))
}

# bt_cut PROGRAM PROBE...: PROGRAM without the blocks of PROBE ("kprobe:f"),
# each from its line to the next "}" at the start of a line.  A PROBE in
# a list of probes ("kprobe:f,") cannot be cut alone: dies.
bt_cut() {
	local prog=$1 p
	shift
	for p in "$@"; do
		! grep -qxF "$p," <<<"$prog" || bt_die "cannot cut $p from a list of probes"
	done
	awk -v cut="$(printf '%s\n' "$@")" '
		BEGIN { n = split(cut, c, "\n"); for (i = 1; i <= n; i++) if (c[i] != "") drop[c[i]] = 1 }
		skip { if ($0 == "}") skip = 0; next }
		$0 in drop { skip = 1; next }
		{ print }' <<<"$prog"
}

# bt_run PROGRAM [bpftrace options] -- [positional parameters]: run PROGRAM.
bt_run() {
	local prog=$1
	shift
	bpftrace -e "$prog" "$@"
}
