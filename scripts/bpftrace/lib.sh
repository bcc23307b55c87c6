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
bt_mounted=''

bt_die() { echo "${0##*/}: $*" >&2; exit 2; }

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
# when the tool exits.
bt_start() {
	command -v bpftrace >/dev/null || bt_die "needs bpftrace (apt-get install bpftrace)"
	[ "$(id -u)" -eq 0 ] || bt_die "needs root"
	if [ ! -d "$tracefs/events" ]; then
		mount -t tracefs nodev "$tracefs" || bt_die "cannot mount tracefs on $tracefs"
		bt_mounted=$tracefs
		trap bt_cleanup EXIT
	fi
}

bt_cleanup() {
	[ -z "$bt_mounted" ] || umount "$bt_mounted" 2>/dev/null || true
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

# bt_run PROGRAM [bpftrace options] -- [positional parameters]: run PROGRAM.
bt_run() {
	local prog=$1
	shift
	bpftrace -e "$prog" "$@"
}
