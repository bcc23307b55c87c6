/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the TCP race selftests and their BPF programs (tcp_hold.bpf.c)
 * share: the value of the one-entry array map through which a test arms a
 * hold and reads when it happened, and how long a hold lasts.
 */
#ifndef TCP_HOLD_COMMON_H
#define TCP_HOLD_COMMON_H

#include <linux/types.h>

#define HOLD_NS		(100 * 1000 * 1000ULL)	/* how long a hold lasts */

struct hold {
	__u64 armed;	/* set by userspace, cleared by the program */
	__u64 held;	/* holds done */
	__u64 start_ns;	/* CLOCK_MONOTONIC, like bpf_ktime_get_ns() */
	__u64 end_ns;
	__u64 port;	/* local port of the socket to hold, if checked */
};

#endif /* TCP_HOLD_COMMON_H */
