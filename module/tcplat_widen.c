// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists: the FIN_WAIT1 -> timewait race lasts a few hundred
 * nanoseconds, far too short to hit on purpose.  The race widener injects
 * a bounded busy-wait at one of two points so a test can make it happen on
 * demand, for one port only, without touching any other traffic.
 *
 * The race: tcp_v4_rcv()/tcp_v6_rcv() look a FIN or RST up, find the full
 * socket and then wait in bh_lock_sock_nested().  Meanwhile the CPU that
 * holds the lock handles the ACK of our FIN and calls
 * tcp_time_wait(sk, TCP_FIN_WAIT2, tmo), which puts a timewait socket in
 * the ehash in place of the full socket and moves the full socket to
 * TCP_CLOSE.  The waiter then feeds its segment to the dead socket, where
 * tcp_rcv_state_process() drops it, and the timewait socket never sees it.
 *
 * Mode 1 (delay the lock holder): a kprobe on tcp_time_wait() entry spins
 * while the caller owns the socket lock and before the timewait socket is
 * hashed.  The full socket stays in the ehash during the delay, so a FIN or
 * RST that another CPU looks up in that time finds it, queues on the lock
 * and, once the delay ends, finds TCP_CLOSE.
 *
 * Mode 2 (delay the waiter): a kprobe on sk_filter_trim_cap() spins for a
 * FIN or RST addressed to a FIN_WAIT1/FIN_WAIT2 socket.  On the TCP receive
 * path that function is only reached from tcp_filter(), which runs after
 * the socket lookup and before bh_lock_sock_nested() in both tcp_v4_rcv()
 * and tcp_v6_rcv().  tcp_filter() itself is no good as a probe point: it is
 * a static inline in 7.3 and may be inlined into tcp_v4_rcv() in 6.12,
 * while sk_filter_trim_cap() is an exported function in net/core/filter.c
 * in both trees.  The segment then holds a reference to the full socket
 * while the ACK of our FIN, handled on another CPU in the meantime, swaps
 * it for the timewait socket.
 *
 * Kprobe handlers run with preemption disabled, so the delay is bounded
 * by TCPLAT_WIDEN_US_MAX (100 ms).
 */
#include <linux/delay.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <net/tcp_states.h>

#include "tcplat.h"

int tcplat_widen_us;
int tcplat_widen_port;
int tcplat_widen_mode = TCPLAT_WIDEN_HOLDER;

static void tcplat_widen_delay(void)
{
	int us = READ_ONCE(tcplat_widen_us);

	if (us <= 0)
		return;
	us = min(us, TCPLAT_WIDEN_US_MAX);
	mdelay(us / 1000);
	udelay(us % 1000);
	tcplat_count(TCPLAT_CNT_WIDEN_HITS);
}

/* Returns the scoped port when @mode is the selected one, else 0. */
static int tcplat_widen_port_for(int mode)
{
	if (READ_ONCE(tcplat_widen_mode) != mode)
		return 0;
	return READ_ONCE(tcplat_widen_port);
}

/* void tcp_time_wait(struct sock *sk, int state, int timeo) */
static int tcplat_widen_holder_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct sock *sk = (struct sock *)regs_get_kernel_argument(regs, 0);
	int state = (int)regs_get_kernel_argument(regs, 1);
	int port = tcplat_widen_port_for(TCPLAT_WIDEN_HOLDER);

	if (!port || state != TCP_FIN_WAIT2 || !tcplat_sk_port_is(sk, port))
		return 0;
	tcplat_widen_delay();
	return 0;
}

/* int sk_filter_trim_cap(struct sock *sk, struct sk_buff *skb, ...) */
static int tcplat_widen_waiter_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct sock *sk = (struct sock *)regs_get_kernel_argument(regs, 0);
	struct sk_buff *skb = (struct sk_buff *)regs_get_kernel_argument(regs, 1);
	int port = tcplat_widen_port_for(TCPLAT_WIDEN_WAITER);
	const struct tcphdr *th;

	if (!port)
		return 0;
	/*
	 * Every socket family filters through here: make sure this is a TCP
	 * socket before reading inet_sock fields (raw IPPROTO_TCP sockets
	 * get here too, hence the type check).
	 */
	if (!((1 << READ_ONCE(sk->sk_state)) & (TCPF_FIN_WAIT1 | TCPF_FIN_WAIT2)))
		return 0;
	if ((sk->sk_family != AF_INET && sk->sk_family != AF_INET6) ||
	    sk->sk_protocol != IPPROTO_TCP || sk->sk_type != SOCK_STREAM)
		return 0;
	if (!tcplat_sk_port_is(sk, port))
		return 0;
	/*
	 * tcp_filter() passes skb->data pointing at the TCP header, already
	 * pulled into the linear area; anything else is not that call site.
	 */
	if (!skb_transport_header_was_set(skb) ||
	    skb_transport_header(skb) != skb->data)
		return 0;
	th = tcp_hdr(skb);
	if (!th->fin && !th->rst)
		return 0;
	tcplat_widen_delay();
	return 0;
}

static struct tcplat_probe tcplat_widen_holder = {
	.kp = {
		.symbol_name	= "tcp_time_wait",
		.pre_handler	= tcplat_widen_holder_pre,
	},
	.what = "race_widen_holder",
};

static struct tcplat_probe tcplat_widen_waiter = {
	.kp = {
		.symbol_name	= "sk_filter_trim_cap",
		.pre_handler	= tcplat_widen_waiter_pre,
	},
	.what = "race_widen_waiter",
};

void tcplat_widen_init(void)
{
	tcplat_probe_register(&tcplat_widen_holder);
	tcplat_probe_register(&tcplat_widen_waiter);
}

void tcplat_widen_exit(void)
{
	tcplat_probe_unregister(&tcplat_widen_waiter);
	tcplat_probe_unregister(&tcplat_widen_holder);
}

static void tcplat_widen_probe_line(struct seq_buf *s,
				    const struct tcplat_probe *p)
{
	seq_buf_printf(s, "%s: %s (", p->what,
		       p->registered ? "available" : "unavailable");
	tcplat_probe_status(s, p);
	seq_buf_puts(s, ")\n");
}

void tcplat_widen_status(struct seq_buf *s)
{
	int mode = READ_ONCE(tcplat_widen_mode);
	int port = READ_ONCE(tcplat_widen_port);
	int us = READ_ONCE(tcplat_widen_us);
	const struct tcplat_probe *p = NULL;

	tcplat_widen_probe_line(s, &tcplat_widen_holder);
	tcplat_widen_probe_line(s, &tcplat_widen_waiter);

	if (mode == TCPLAT_WIDEN_HOLDER)
		p = &tcplat_widen_holder;
	else if (mode == TCPLAT_WIDEN_WAITER)
		p = &tcplat_widen_waiter;

	seq_buf_puts(s, "race_widen: ");
	if (!p)
		seq_buf_puts(s, "idle (race_widen_mode is 0)");
	else if (!p->registered)
		seq_buf_printf(s, "unavailable (mode %d needs %s, whose kprobe failed: error %d)",
			       mode, p->what, p->err);
	else if (!port)
		seq_buf_puts(s, "idle (race_widen_port is 0)");
	else if (!us)
		seq_buf_puts(s, "idle (race_widen_us is 0)");
	else
		seq_buf_printf(s, "active (mode %d: delay the %s, port %d, %d us)",
			       mode, mode == TCPLAT_WIDEN_HOLDER ? "lock holder" : "waiter",
			       port, us);
	seq_buf_putc(s, '\n');
}
