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
 * What keeps it from stalling a machine: the kprobe of the selected mode
 * is placed only while the widener is armed (mode, port and delay all
 * non-zero) and removed when it is disarmed; it matches only sockets of
 * the network namespace the arming write came from whose *local* port is
 * the armed one; in mode 2 only FIN/RST segments inside that socket's
 * receive window (an out-of-window RST from anyone is ignored); and the
 * busy-wait itself has a hard bound: one spinner at a time (a segment that
 * arrives meanwhile is not delayed, counted in widen_skip_busy), each at
 * most TCPLAT_WIDEN_US_MAX (100 ms), and at most TCPLAT_WIDEN_BUDGET_US
 * (500 ms) in any one-second interval (widen_skip_budget; a sliding bound,
 * see tcplat_widen_admit()).  Kprobe handlers run with preemption
 * disabled: this bound is what a flood on the armed port can cost, half of
 * one CPU over a second at worst.  (tcp_tw_race's forced runs spin 10 ms
 * per connection at a few dozen connections per second under TCG, which
 * the budget lets through.)
 */
#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/math64.h>
#include <linux/timekeeping.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <net/tcp.h>
#include <net/tcp_states.h>

#include "tcplat.h"

int tcplat_widen_us;
int tcplat_widen_port;
int tcplat_widen_mode = TCPLAT_WIDEN_HOLDER;
u64 tcplat_widen_net;

/*
 * The budget is a token bucket of spin time in ns: it holds at most
 * TCPLAT_WIDEN_BURST_NS and fills at TCPLAT_WIDEN_RATE_US per second.
 * Over any interval of T seconds the delays spun add up to at most what
 * the bucket held at its start plus what it earned during it, BURST +
 * RATE * T; for T = 1 that is TCPLAT_WIDEN_BUDGET_US.  A fixed window
 * reset every second allowed twice the budget across the reset (500 ms at
 * the end of one window, 500 ms at the start of the next).  The bucket
 * must hold a whole delay of up to TCPLAT_WIDEN_US_MAX, hence BURST; the
 * rate is what is left of the budget, so the long-run share is 40% of
 * one CPU, not 50%.  A delay is charged as measured: mdelay() may spin
 * longer than asked, and the excess leaves the bucket in debt, so the
 * bound can be exceeded by the overrun of one delay only.
 */
#define TCPLAT_WIDEN_BURST_NS	((s64)TCPLAT_WIDEN_US_MAX * NSEC_PER_USEC)
#define TCPLAT_WIDEN_RATE_US	(TCPLAT_WIDEN_BUDGET_US - TCPLAT_WIDEN_US_MAX)

/* The one spinner; the bucket is only touched by its owner. */
static atomic_t tcplat_widen_busy = ATOMIC_INIT(0);
static s64 tcplat_widen_tokens = TCPLAT_WIDEN_BURST_NS;	/* ns, may be < 0 */
static u64 tcplat_widen_stamp;		/* ns, when the bucket was filled */

/* Fill the bucket up to @now; is there room for a delay of @us? */
static bool tcplat_widen_admit(u64 now, int us)
{
	u64 dt = min_t(u64, now - tcplat_widen_stamp, NSEC_PER_SEC);

	tcplat_widen_stamp = now;
	tcplat_widen_tokens += div_u64(dt * TCPLAT_WIDEN_RATE_US, USEC_PER_SEC);
	if (tcplat_widen_tokens > TCPLAT_WIDEN_BURST_NS)
		tcplat_widen_tokens = TCPLAT_WIDEN_BURST_NS;
	return tcplat_widen_tokens >= (s64)us * NSEC_PER_USEC;
}

static void tcplat_widen_delay(void)
{
	int us = min(READ_ONCE(tcplat_widen_us), TCPLAT_WIDEN_US_MAX);
	u64 t0;

	if (us <= 0)
		return;
	if (atomic_cmpxchg_acquire(&tcplat_widen_busy, 0, 1)) {
		tcplat_count(TCPLAT_CNT_WIDEN_SKIP_BUSY);
		return;
	}
	t0 = ktime_get_mono_fast_ns();
	if (!tcplat_widen_admit(t0, us)) {
		tcplat_count(TCPLAT_CNT_WIDEN_SKIP_BUDGET);
	} else {
		mdelay(us / 1000);
		udelay(us % 1000);
		tcplat_widen_tokens -= ktime_get_mono_fast_ns() - t0;
		tcplat_count(TCPLAT_CNT_WIDEN_HITS);
	}
	atomic_set_release(&tcplat_widen_busy, 0);
}

/* Returns the armed port when @mode is the selected one, else 0. */
static int tcplat_widen_port_for(int mode)
{
	if (READ_ONCE(tcplat_widen_mode) != mode)
		return 0;
	return READ_ONCE(tcplat_widen_port);
}

/*
 * The segment at @th (skb->data, tcp_filter()'s view) starts or ends
 * inside @sk's receive window, as tcp_sequence() will judge it.
 */
static bool tcplat_in_window(const struct sock *sk, const struct sk_buff *skb,
			     const struct tcphdr *th)
{
	const struct tcp_sock *tp = tcp_sk(sk);
	u32 seq = ntohl(th->seq);
	u32 end = seq + skb->len - th->doff * 4 + th->syn + th->fin;
	u32 wup = READ_ONCE(tp->rcv_wup);

	return !before(end, wup) &&
	       !after(seq, READ_ONCE(tp->rcv_nxt) + tcp_receive_window(tp));
}

/* void tcp_time_wait(struct sock *sk, int state, int timeo) */
static int tcplat_widen_holder_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct sock *sk = (struct sock *)regs_get_kernel_argument(regs, 0);
	int state = (int)regs_get_kernel_argument(regs, 1);
	int port = tcplat_widen_port_for(TCPLAT_WIDEN_HOLDER);

	if (state != TCP_FIN_WAIT2 ||
	    !tcplat_sk_is(sk, READ_ONCE(tcplat_widen_net), port))
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
	if (!tcplat_sk_is(sk, READ_ONCE(tcplat_widen_net), port))
		return 0;
	/*
	 * tcp_filter() passes skb->data pointing at the TCP header, already
	 * pulled into the linear area; anything else is not that call site.
	 */
	if (!skb_transport_header_was_set(skb) ||
	    skb_transport_header(skb) != skb->data ||
	    skb_headlen(skb) < sizeof(*th))
		return 0;
	th = tcp_hdr(skb);
	if ((!th->fin && !th->rst) || !tcplat_in_window(sk, skb, th))
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

/*
 * Place the kprobe the knobs now ask for, remove the other; armed means
 * mode, port and delay all set.  On failure nothing changed.
 */
int tcplat_widen_arm(u64 net)
{
	u64 old_net = READ_ONCE(tcplat_widen_net);
	int mode = READ_ONCE(tcplat_widen_mode);
	struct tcplat_probe *want = NULL;

	if (mode && READ_ONCE(tcplat_widen_port) && READ_ONCE(tcplat_widen_us))
		want = mode == TCPLAT_WIDEN_HOLDER ? &tcplat_widen_holder :
						     &tcplat_widen_waiter;
	if (want) {
		/* The namespace first: a placed probe never matches the old one. */
		WRITE_ONCE(tcplat_widen_net, net);
		tcplat_probe_register(want);
		if (!want->registered) {
			WRITE_ONCE(tcplat_widen_net, old_net);
			return want->err;
		}
	}
	if (want != &tcplat_widen_holder)
		tcplat_probe_unregister(&tcplat_widen_holder);
	if (want != &tcplat_widen_waiter)
		tcplat_probe_unregister(&tcplat_widen_waiter);
	return 0;
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
		       p->registered ? "placed" : p->err ? "unavailable" : "not placed");
	tcplat_probe_status(s, p);
	seq_buf_puts(s, ")\n");
}

/* Long status lines: a format string alone on its line passes checkpatch. */
#define TCPLAT_FMT_ARMED \
	"armed (mode %d: delay the %s, local port %d in netns %llu, %d us)"
#define TCPLAT_FMT_BOUND \
	"\nrace_widen_bound: one spinner at a time, %d us in any second (%d us bucket, filled at %d us/s); hits %lu, skipped busy %lu, skipped over budget %lu\n"

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
	else if (!port)
		seq_buf_puts(s, "idle (race_widen_port is 0)");
	else if (!us)
		seq_buf_puts(s, "idle (race_widen_us is 0)");
	else if (!p->registered)
		seq_buf_printf(s, "unavailable (mode %d needs %s, whose kprobe failed: error %d)",
			       mode, p->what, p->err);
	else
		seq_buf_printf(s, TCPLAT_FMT_ARMED, mode,
			       mode == TCPLAT_WIDEN_HOLDER ? "lock holder" : "waiter",
			       port, READ_ONCE(tcplat_widen_net), us);
	seq_buf_printf(s, TCPLAT_FMT_BOUND, TCPLAT_WIDEN_BUDGET_US,
		       TCPLAT_WIDEN_US_MAX, TCPLAT_WIDEN_RATE_US,
		       tcplat_counter_sum(TCPLAT_CNT_WIDEN_HITS),
		       tcplat_counter_sum(TCPLAT_CNT_WIDEN_SKIP_BUSY),
		       tcplat_counter_sum(TCPLAT_CNT_WIDEN_SKIP_BUDGET));
}
