# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: the bpftrace tools of this folder need numbers that
# differ between kernels (drop reasons, RST reasons) and probes that exist
# only on some kernels (functions of the series' patches).  Hard-coded
# tables go stale; these helpers read both from the running kernel.
# Sourced by the tools; not a program.

tracefs=/sys/kernel/tracing
[ -d "$tracefs/events" ] || mount -t tracefs nodev "$tracefs" 2>/dev/null

bt_die() { echo "${0##*/}: $*" >&2; exit 2; }

# shellcheck disable=SC2034 # port, thresh, quiet and cmd are the callers' variables
# bt_options ALLOWED "$@": the options every tool takes, into port (0:
# all), thresh (0: none), quiet and cmd (bpftrace -c COMMAND); -p only if
# ALLOWED has a p (or is 1), -t MS only if it has a t.  -h prints the
# tool's header comment.
bt_options() {
	local allowed=$1
	shift
	[ "$allowed" = 1 ] && allowed=p
	port=0 thresh=0 quiet=0 cmd=()
	while [ $# -gt 0 ]; do
		case "$1" in
		-p) [[ "$allowed" == *p* ]] || bt_die "unknown option '-p' (see --help)"
		    port=${2:-}; shift 2 || bt_die "-p needs a port" ;;
		-t) [[ "$allowed" == *t* ]] || bt_die "unknown option '-t' (see --help)"
		    thresh=${2:-}; shift 2 || bt_die "-t needs a time in ms" ;;
		-q) quiet=1; shift ;;
		-c) cmd=(-c "${2:-}"); shift 2 || bt_die "-c needs a command" ;;
		-h | --help) awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0"; exit 0 ;;
		*) bt_die "unknown option '$1' (see --help)" ;;
		esac
	done
	if ! [[ "$port" =~ ^[0-9]{1,5}$ ]] || [ "$port" -gt 65535 ]; then
		bt_die "-p wants a port 0..65535, not '$port'"
	fi
	if ! [[ "$thresh" =~ ^[0-9]{1,9}$ ]]; then
		bt_die "-t wants a time in ms, 0..999999999, not '$thresh'"
	fi
}

# bt_enum EVENT NAME: the number printed as NAME by EVENT's format
# (__print_symbolic(..., { 4, "TCP_CLOSE" }, ...)), e.g.
#   bt_enum skb/kfree_skb TCP_CLOSE -> 4
bt_enum() {
	local fmt=$tracefs/events/$1/format v
	[ -r "$fmt" ] || bt_die "no $fmt (tracefs mounted? CONFIG_TRACEPOINTS?)"
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
	echo "${0##*/}: $v, sizeof(struct slock_owned) $size: reading struct sock fields after sk_lock $((size - 8)) bytes further on (see scripts/bpftrace/lib.sh)" >&2
	echo $((size - 8))
}

# bt_run PROGRAM [bpftrace options] -- [positional parameters]: run PROGRAM.
bt_run() {
	local prog=$1
	shift
	command -v bpftrace >/dev/null || bt_die "bpftrace not installed (apt-get install bpftrace)"
	[ "$(id -u)" -eq 0 ] || bt_die "needs root"
	bpftrace -e "$prog" "$@"
}
