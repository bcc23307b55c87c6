// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists: a test needs to see the race happen, not only
 * guess it from a missing RST or a hung peer.  Two kprobes count the two
 * halves of it for the local port chosen with net.ipv4.tcplat.observe_port,
 * in the network namespace of the process that wrote it.  The kprobes are
 * placed when observe_port becomes non-zero and removed when it goes back
 * to 0 (the default): a loaded but unused module probes nothing.
 *
 *  fw2_timewait:       tcp_time_wait(sk, TCP_FIN_WAIT2, tmo) calls, i.e. a
 *                      full socket being replaced by a FIN_WAIT2 timewait
 *                      socket (the lock holder's side of the race);
 *  closed_sk_segments: segments handed to tcp_rcv_state_process() while
 *                      the socket is already TCP_CLOSE.  That is the
 *                      segment the race loses: tcp_rcv_state_process()
 *                      drops it and the timewait socket never sees it.
 *
 * The per-cpu counters also hold widen_hits, bumped by tcplat_widen.c.
 */
#include <linux/percpu.h>
#include <net/tcp_states.h>

#include "tcplat.h"

DEFINE_PER_CPU(struct tcplat_counters, tcplat_counters);

int tcplat_observe_port;
u64 tcplat_observe_net;

unsigned long tcplat_counter_sum(enum tcplat_counter c)
{
	unsigned long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu(tcplat_counters, cpu).cnt[c]);
	return sum;
}

static bool tcplat_observed(const struct sock *sk)
{
	return tcplat_sk_is(sk, READ_ONCE(tcplat_observe_net),
			    READ_ONCE(tcplat_observe_port));
}

/* enum skb_drop_reason tcp_rcv_state_process(struct sock *sk, struct sk_buff *skb) */
static int tcplat_closed_sk_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct sock *sk = (struct sock *)regs_get_kernel_argument(regs, 0);

	if (READ_ONCE(sk->sk_state) == TCP_CLOSE && tcplat_observed(sk))
		tcplat_count(TCPLAT_CNT_CLOSED_SK_SEGMENTS);
	return 0;
}

/* void tcp_time_wait(struct sock *sk, int state, int timeo) */
static int tcplat_fw2_timewait_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct sock *sk = (struct sock *)regs_get_kernel_argument(regs, 0);
	int state = (int)regs_get_kernel_argument(regs, 1);

	if (state == TCP_FIN_WAIT2 && tcplat_observed(sk))
		tcplat_count(TCPLAT_CNT_FW2_TIMEWAIT);
	return 0;
}

static struct tcplat_probe tcplat_closed_sk = {
	.kp = {
		.symbol_name	= "tcp_rcv_state_process",
		.pre_handler	= tcplat_closed_sk_pre,
	},
	.what = "closed_sk_segments",
};

static struct tcplat_probe tcplat_fw2_timewait = {
	.kp = {
		.symbol_name	= "tcp_time_wait",
		.pre_handler	= tcplat_fw2_timewait_pre,
	},
	.what = "fw2_timewait",
};

/* Both kprobes while observe_port is set, none while it is 0. */
int tcplat_observe_arm(u64 net)
{
	if (!READ_ONCE(tcplat_observe_port)) {
		tcplat_observe_exit();
		return 0;
	}
	WRITE_ONCE(tcplat_observe_net, net);
	tcplat_probe_register(&tcplat_closed_sk);
	tcplat_probe_register(&tcplat_fw2_timewait);
	if (tcplat_closed_sk.registered && tcplat_fw2_timewait.registered)
		return 0;
	tcplat_observe_exit();
	return tcplat_closed_sk.err ?: tcplat_fw2_timewait.err;
}

void tcplat_observe_exit(void)
{
	tcplat_probe_unregister(&tcplat_fw2_timewait);
	tcplat_probe_unregister(&tcplat_closed_sk);
}

static void tcplat_observe_line(struct seq_buf *s, const struct tcplat_probe *p,
				int port)
{
	seq_buf_printf(s, "%s: %s (", p->what,
		       p->registered ? "active" : p->err ? "unavailable" : "off");
	tcplat_probe_status(s, p);
	if (p->registered)
		seq_buf_printf(s, ", local port %d in netns %llu)\n", port,
			       READ_ONCE(tcplat_observe_net));
	else if (!p->err)
		seq_buf_puts(s, ", observe_port is 0)\n");
	else
		seq_buf_puts(s, ")\n");
}

void tcplat_observe_status(struct seq_buf *s)
{
	int port = READ_ONCE(tcplat_observe_port);

	tcplat_observe_line(s, &tcplat_closed_sk, port);
	tcplat_observe_line(s, &tcplat_fw2_timewait, port);
}
