// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF side of the TCP race selftests (tcp_hold.h): programs that hold
 * one armed segment or socket in a bounded bpf_loop() busy-wait, to widen
 * a race of a few hundred nanoseconds to HOLD_NS, and record in the map
 * when they held it.
 *
 *  hold_fin_rst      socket filter (SO_ATTACH_BPF): holds a FIN or RST in
 *                    tcp_filter(), before the socket lock is taken;
 *  hold_port_raw_tp  raw tracepoint whose first argument is a socket:
 *                    holds when that socket has the armed local port.
 *
 * A hold disarms the map, so each arming holds once.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "tcp_hold_common.h"

#define TCPHDR_FIN	0x01
#define TCPHDR_RST	0x04

char _license[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hold);
} hold_map SEC(".maps");

/* Only the local port, found by CO-RE in the running kernel's layout. */
struct sock_common {
	__u16 skc_num;
} __attribute__((preserve_access_index));

static struct hold *armed_hold(void)
{
	__u32 key = 0;
	struct hold *h;

	h = bpf_map_lookup_elem(&hold_map, &key);
	return h && h->armed ? h : NULL;
}

/* bpf_loop() callback: stop once the deadline at @ctx has passed. */
static long hold_wait(__u64 index, void *ctx)
{
	return bpf_ktime_get_ns() > *(__u64 *)ctx;
}

/*
 * Disarm, record the start, count the hold (after the start, so that a
 * thread that sees the count also sees a start_ns older than anything it
 * does next), busy-wait HOLD_NS, record the end.  The barriers keep the
 * compiler from reordering the stores that the test reads.
 */
static __always_inline void hold(struct hold *h)
{
	__u64 deadline;

	h->armed = 0;
	deadline = bpf_ktime_get_ns();
	h->start_ns = deadline;
	barrier();
	h->held++;
	deadline += HOLD_NS;
	bpf_loop(1 << 23, hold_wait, &deadline, 0);
	h->end_ns = bpf_ktime_get_ns();
}

/* For an armed map, a FIN or RST is held; every segment is kept whole. */
SEC("socket")
int hold_fin_rst(struct __sk_buff *skb)
{
	struct hold *h;
	__u8 flags;

	if (bpf_skb_load_bytes(skb, 13, &flags, 1))	/* TCP flags byte */
		return -1;
	if (!(flags & (TCPHDR_FIN | TCPHDR_RST)))
		return -1;
	h = armed_hold();
	if (h)
		hold(h);
	return -1;
}

/* For an armed map, @skc is held if it has the armed local port. */
static __always_inline int hold_port(const struct sock_common *skc)
{
	struct hold *h = armed_hold();
	__u16 num;

	if (!h || bpf_core_read(&num, sizeof(num), &skc->skc_num) ||
	    num != h->port)
		return 0;
	hold(h);
	return 0;
}

/* Attached by name (tcp:tcp_receive_reset, tcp:tcp_rcv_space_adjust). */
SEC("raw_tp")
int hold_port_raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	return hold_port((const struct sock_common *)ctx->args[0]);
}
