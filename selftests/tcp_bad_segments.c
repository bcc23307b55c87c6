// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists: the series changes what tcp_v4_rcv()/tcp_v6_rcv()
 * do with segments that meet a closing or timewait socket.  A raw peer on
 * a veth wire (lib/raw.c), in a network namespace of each test's own,
 * sends malformed segments at a kernel socket in every state from
 * SYN_SENT to both timewait substates, IPv4 and IPv6.
 *
 * bad_seg: one variant per family and state, one test per segment.  Each
 * asserts that the socket was in its state, then the reply and the state
 * after it against the table rfc[] (RFC 9293, RFC 5961; tcp_bad_segments.h,
 * a verdict for every case): pass; XFAIL when it is a known upstream
 * deviation (devs[], named); else fail.  Each prints a "# CASE" line with
 * what it saw, which scripts/measure/bad-segments-ab diffs between two
 * kernels.
 *
 * stale_syn (patch 0004): the peer answers the kernel's SYN with stale
 * ACKs, after a timer retransmission or while the SYN is held in a netem
 * queue, then completes the handshake without SACK and window scaling: no
 * retransmission may be left counted (tcpi_retrans; when one is, no
 * duplicate ACKs, which would WARN), data flows both ways, and with the
 * series the resends are bounded.  hole (patch 0006): bytes that fill a
 * hole below a window retracted to zero must be queued, not dropped.
 */
#include <linux/bpf.h>
#include <poll.h>

#include "kselftest_harness.h"
#include "lib/cmd.h"
#include "lib/mib.h"
#include "lib/netns.h"
#include "lib/raw.h"
#include "lib/sock.h"
#include "lib/sysctl.h"
#include "lib/time.h"
#include "tcp_bad_segments.h"
#include "tcp_bad_send.h"

#define WAIT_NS		(250 * NSEC_PER_MSEC)	/* replies to one segment */
#define OOW		BAD_OOW
#define UNSENT		BAD_UNSENT

/* Counters printed per case (see bad_check_counters() and the stale cases). */
static const char * const watch[] = {
	"TCPChallengeACK", "TCPClosedRelookup", "TCPSYNChallenge",
	"TCPSynRetrans", "TCPTimeouts",
};

static void __attribute__((constructor)) line_buffered(void)
{
	/* Lines, not blocks: what was printed must reach a log before a panic. */
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* ---- the namespace of one test ------------------------------------------ */

/* The test's own namespace, the wire, the peer; skip if the system lacks one. */
static void wire_setup(struct __test_metadata *_metadata, struct raw_peer *p, int family)
{
	char why[256];
	int ret = bad_wire_setup(p, family, why, sizeof(why));

	if (ret == -2)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, ret) TH_LOG("%s", why);
}

/* ---- one malformed segment --------------------------------------------------- */

/* Send the segment of case @cs at the socket in @st; collect the replies. */
static int case_send(struct raw_conn *c, int st, int cs, struct outcome *o)
{
	const struct bad *b = &cases[cs];
	struct raw_seg *s = &o->sent;

	s->flags = b->flags;
	s->len = b->len;
	s->seq = c->P + (b->seq == Q_INWIN ? 1 : b->seq == Q_OOW ? OOW : 0);
	s->ack = c->K + (b->unsent ? UNSENT : 0);
	if (st == RAW_ST_SYN_SENT && (cs == C_RST_EXACT || cs == C_RST_OOW)) {
		/* RFC 5961 3.2: in SYN_SENT an RST counts by its ACK. */
		s->flags |= RAW_ACK;
		s->ack = c->K + (cs == C_RST_OOW ? UNSENT : 0);
	}
	return bad_seg_send(c, st, o, WAIT_NS);
}

/* The reply as a class of rfc[] (tcp_bad_segments.h). */
static char reply_class(const struct outcome *o)
{
	return bad_class(o->r, o->n);
}

static void run_case(struct __test_metadata *_metadata, struct raw_peer *p, int st, int cs)
{
	struct raw_conn c = { .p = p, .fd = -1 };
	const char *fam = sock_family_name(p->family), *bad;
	struct outcome *o = calloc(1, sizeof(*o));
	char rs[256], cbuf[128], want[3];
	int before = -3, after, i;
	bool ok;

	ASSERT_NE(NULL, o);
	if (!raw_reach(&c, st, NULL, 0)) {
		raw_drain(&c, 20 * NSEC_PER_MSEC);	/* nothing may be pending */
		before = raw_wait_state(&c, st);
		if (before != st)
			raw_fail(&c, "socket %s, not %s", raw_state_name(before),
				 raw_state_name(st));
	}
	if (before != st || case_send(&c, st, cs, o)) {
		ksft_print_msg("CASE %s %s %s reply=setup-failed\n", fam, raw_state_name(st),
			       cases[cs].name);
		ASSERT_TRUE(0) TH_LOG("setup failed: %s", c.why[0] ? c.why : "unexpected reply");
	}
	raw_segs_str(rs, sizeof(rs), &c, o->r, o->n);
	ksft_print_msg("CASE %s %s %s reply=%s state=%s\n", fam, raw_state_name(st),
		       cases[cs].name, rs, raw_state_name(o->after));
	mib_print_deltas("  counters", &o->ma, &o->mb, watch, ARRAY_SIZE(watch), false);
	if (o->syn_rtx)
		ksft_print_msg("  SYN resent %d time(s), not compared\n", o->syn_rtx);

	bad = bad_check_counters(st, cs == C_RST_INWIN || cs == C_SYN || cs == C_SYN_FIN ||
				 cs == C_ACK_UNSENT, o, cbuf, sizeof(cbuf));
	ASSERT_TRUE(!bad) TH_LOG("counters: %s", bad);
	snprintf(want, sizeof(want), "%.2s", rfc[st] + 3 * cs);
	ok = bad_matches(want, st, reply_class(o), o->after);
	if (ok && want[0] == 'a' && (o->r[0].seq != c.K || o->r[0].ack != c.P))
		ok = false;
	if (ok && want[0] == 'r' && st == RAW_ST_SYN_SENT && o->r[0].seq != o->sent.ack)
		ok = false;
	if (ok && want[0] == 'k' && (o->r[0].seq != c.K - 1 || o->r[0].ack != o->sent.seq + 1))
		ok = false;
	i = ok ? -1 : bad_dev(st, cs, reply_class(o), o->after);
	if (i >= 0) {
		/* A known upstream deviation: the harness counts an XFAIL. */
		snprintf(_metadata->results->reason, sizeof(_metadata->results->reason),
			 "upstream behaviour: %s", devs[i].why);
		_metadata->exit_code = KSFT_XFAIL;
		free(o);
		return;
	}
	after = o->after;
	free(o);
	ASSERT_TRUE(ok) TH_LOG("reply %s state %s, RFC wants \"%s\"", rs, raw_state_name(after),
			       want);
}

FIXTURE(bad_seg) {
	struct raw_peer p;
};

FIXTURE_VARIANT(bad_seg) {
	int family, state;
};

FIXTURE_SETUP(bad_seg)
{
	wire_setup(_metadata, &self->p, variant->family);
}

FIXTURE_TEARDOWN(bad_seg)
{
	raw_peer_close(&self->p);
}

FIXTURE_VARIANT_ADD(bad_seg, ipv4_syn_sent) { .family = AF_INET, .state = RAW_ST_SYN_SENT };
FIXTURE_VARIANT_ADD(bad_seg, ipv4_syn_recv) { .family = AF_INET, .state = RAW_ST_SYN_RECV };
FIXTURE_VARIANT_ADD(bad_seg, ipv4_established) { .family = AF_INET, .state = RAW_ST_EST };
FIXTURE_VARIANT_ADD(bad_seg, ipv4_fin_wait1) { .family = AF_INET, .state = RAW_ST_FW1 };
FIXTURE_VARIANT_ADD(bad_seg, ipv4_fin_wait2) { .family = AF_INET, .state = RAW_ST_FW2 };
FIXTURE_VARIANT_ADD(bad_seg, ipv4_closing) { .family = AF_INET, .state = RAW_ST_CLOSING };
FIXTURE_VARIANT_ADD(bad_seg, ipv4_close_wait) { .family = AF_INET, .state = RAW_ST_CW };
FIXTURE_VARIANT_ADD(bad_seg, ipv4_last_ack) { .family = AF_INET, .state = RAW_ST_LA };
FIXTURE_VARIANT_ADD(bad_seg, ipv4_tw_time_wait) { .family = AF_INET, .state = RAW_ST_TW };
FIXTURE_VARIANT_ADD(bad_seg, ipv4_tw_fin_wait2) { .family = AF_INET, .state = RAW_ST_TWFW2 };
FIXTURE_VARIANT_ADD(bad_seg, ipv6_syn_sent) { .family = AF_INET6, .state = RAW_ST_SYN_SENT };
FIXTURE_VARIANT_ADD(bad_seg, ipv6_syn_recv) { .family = AF_INET6, .state = RAW_ST_SYN_RECV };
FIXTURE_VARIANT_ADD(bad_seg, ipv6_established) { .family = AF_INET6, .state = RAW_ST_EST };
FIXTURE_VARIANT_ADD(bad_seg, ipv6_fin_wait1) { .family = AF_INET6, .state = RAW_ST_FW1 };
FIXTURE_VARIANT_ADD(bad_seg, ipv6_fin_wait2) { .family = AF_INET6, .state = RAW_ST_FW2 };
FIXTURE_VARIANT_ADD(bad_seg, ipv6_closing) { .family = AF_INET6, .state = RAW_ST_CLOSING };
FIXTURE_VARIANT_ADD(bad_seg, ipv6_close_wait) { .family = AF_INET6, .state = RAW_ST_CW };
FIXTURE_VARIANT_ADD(bad_seg, ipv6_last_ack) { .family = AF_INET6, .state = RAW_ST_LA };
FIXTURE_VARIANT_ADD(bad_seg, ipv6_tw_time_wait) { .family = AF_INET6, .state = RAW_ST_TW };
FIXTURE_VARIANT_ADD(bad_seg, ipv6_tw_fin_wait2) { .family = AF_INET6, .state = RAW_ST_TWFW2 };

/* One test per segment of cases[]. */
TEST_F(bad_seg, rst_exact) { run_case(_metadata, &self->p, variant->state, C_RST_EXACT); }
TEST_F(bad_seg, rst_inwin) { run_case(_metadata, &self->p, variant->state, C_RST_INWIN); }
TEST_F(bad_seg, rst_oow) { run_case(_metadata, &self->p, variant->state, C_RST_OOW); }
TEST_F(bad_seg, syn) { run_case(_metadata, &self->p, variant->state, C_SYN); }
TEST_F(bad_seg, syn_rst) { run_case(_metadata, &self->p, variant->state, C_SYN_RST); }
TEST_F(bad_seg, syn_fin) { run_case(_metadata, &self->p, variant->state, C_SYN_FIN); }
TEST_F(bad_seg, fin_rst) { run_case(_metadata, &self->p, variant->state, C_FIN_RST); }
TEST_F(bad_seg, noflags) { run_case(_metadata, &self->p, variant->state, C_NOFLAGS); }
TEST_F(bad_seg, allflags) { run_case(_metadata, &self->p, variant->state, C_ALLFLAGS); }
TEST_F(bad_seg, fin_oow) { run_case(_metadata, &self->p, variant->state, C_FIN_OOW); }
TEST_F(bad_seg, ack_unsent) { run_case(_metadata, &self->p, variant->state, C_ACK_UNSENT); }
TEST_F(bad_seg, data_oow) { run_case(_metadata, &self->p, variant->state, C_DATA_OOW); }

/* ---- a hole below a retracted window (patch 0006) ------------------------ */

FIXTURE(hole) {
	struct raw_peer p;
};

FIXTURE_VARIANT(hole) {
	int family;
};

FIXTURE_VARIANT_ADD(hole, ipv4) { .family = AF_INET };
FIXTURE_VARIANT_ADD(hole, ipv6) { .family = AF_INET6 };

FIXTURE_SETUP(hole)
{
	wire_setup(_metadata, &self->p, variant->family);
}

FIXTURE_TEARDOWN(hole)
{
	raw_peer_close(&self->p);
}

/* tcp_shrink_window=1, the smallest SO_RCVBUF: out-of-order bytes retract
 * the window to zero above a hole.  The two bytes that fill it must be
 * queued (ACK of all five), not dropped (a stall for good).
 */
TEST_F(hole, fills_at_zero_window)
{
	/* MSS 1400, NOP, window scale 7: the kernel's window can shrink. */
	static const unsigned char o[] = { 2, 4, 1400 >> 8, 1400 & 0xff, 1, 3, 3, 7 };
	struct raw_conn c = { .p = &self->p, .fd = -1 };
	int rcvbuf = 2304, i;
	unsigned int P0;
	struct raw_seg r;
	char byte;

	if (sysctl_write("/proc/sys/net/ipv4/tcp_shrink_window", "1"))
		SKIP(return, "no net.ipv4.tcp_shrink_window");
	ASSERT_EQ(0, raw_reach(&c, RAW_ST_EST, o, sizeof(o))) TH_LOG("%s", c.why);
	ASSERT_EQ(0, setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)));
	ASSERT_EQ(0, raw_data_ack(&c, c.P, 1, &r)) TH_LOG("%s", c.why);
	ASSERT_EQ(c.P + 1, r.ack);
	ASSERT_EQ(1, recv(c.fd, &byte, 1, MSG_DONTWAIT)) TH_LOG("first byte not delivered");
	P0 = c.P + 1;
	for (i = 0; i < 16 && (i == 0 || r.win); i++) {
		ASSERT_EQ(0, raw_data_ack(&c, P0 + 2 + 2 * i, 1, &r)) TH_LOG("%s", c.why);
		ASSERT_EQ(P0, r.ack);
	}
	ASSERT_EQ(0U, r.win) TH_LOG("setup: window not retracted to 0");
	ASSERT_EQ(0, raw_data_ack(&c, P0, 2, &r)) TH_LOG("%s", c.why);
	if (r.ack == P0 && !mib_series_present()) {
		snprintf(_metadata->results->reason, sizeof(_metadata->results->reason),
			 "dropped at the zero window, no series (patch 0006)");
		_metadata->exit_code = KSFT_XFAIL;
		return;
	}
	ASSERT_EQ(P0 + 3, r.ack)
		TH_LOG("filled, ACK +%u, want +3 (%s)", r.ack - P0,
		       r.ack == P0 ? "dropped at the zero window" : "?");
	close(c.fd);
}

/* ---- SYN_SENT: stale ACKs before a SYN-ACK without SACK (patch 0004) ------ */

/*
 * Stale ACKs: those of a timewait socket of an earlier connection on the
 * 4-tuple.  A tcpi_retrans leaked past a SYN-ACK without SACK overcounts
 * the packets in flight for good; the first duplicate ACK in CA_Open then
 * WARNs in tcp_fastretrans_alert().
 */
#define HOLD_MS		5000			/* netem delay holding the SYN */
#define SHORT_TIMER_NS	(950 * NSEC_PER_MSEC)	/* below the 1 s initial RTO */
#define KDATA		100			/* bytes the kernel sends */
#define PDATA		50			/* bytes the peer sends */
#define DUPACKS		3			/* the first updates snd_wl1 */

static const struct stale {
	const char *name;
	int acks;		/* stale ACKs answered before the SYN-ACK */
	bool timer_first;	/* the first SYN is left to its RTO */
	bool ts;		/* SYN-ACK with timestamps (never SACK, wscale) */
	bool busy;		/* the first SYN is still in a host queue */
} stales[] = {
	{ .name = "stale1", .acks = 1, .ts = true },
	{ .name = "stale2", .acks = 2, .ts = true },
	{ .name = "stale2-nots", .acks = 2 },
	{ .name = "stale3", .acks = 3 },
	{ .name = "timer-stale1", .acks = 1, .timer_first = true },
	{ .name = "busy-stale3", .acks = 3, .busy = true },
};

/* SYNs this many times resent by patch 0004, not by the timer. */
static int stale_resends_want(const struct stale *t)
{
	int n = t->acks - t->busy;	/* a resend that could not be sent */

	return n < 2 ? n : 2;		/* at most two per connect() */
}

/*
 * busy: the first SYN is held in a netem queue on veth0, so the resend for
 * the stale ACK fails (-EBUSY).  Stock kernels, and 0004 with the fix,
 * then arm the SYN timer to TCP_TIMEOUT_MIN: it fires (tcpi_retransmits)
 * well before the 1 s RTO.  Then the hold goes.  @timer: "short" or "rto".
 */
static int stale_busy_first(struct raw_conn *c, unsigned long long t0,
			    const char **timer, unsigned long long *syn_at)
{
	struct raw_seg s = { .flags = RAW_ACK, .seq = random(), .ack = random() };
	unsigned long long until = time_ns() + 2 * NSEC_PER_SEC, fired = 0;
	long long rst0 = mib_tcp_read("OutRsts");
	struct tcp_info ti;

	if (raw_send(c, &s, false))
		return -1;
	while (mib_tcp_read("OutRsts") <= rst0 && time_ns() < until)
		time_sleep_ns(NSEC_PER_MSEC);
	if (mib_tcp_read("OutRsts") <= rst0)
		raw_fail(c, "no RST for the stale ACK (OutRsts)");
	while (!fired && time_ns() < t0 + 3 * NSEC_PER_SEC) {
		if (!sock_tcp_info(c->fd, &ti) && ti.tcpi_retransmits >= 1)
			fired = time_ns();
		time_sleep_ns(NSEC_PER_MSEC);
	}
	if (!fired && !c->why[0])
		raw_fail(c, "SYN timer did not fire within 3 s");
	*timer = fired && fired - t0 < SHORT_TIMER_NS ? "short" : "rto";
	ksft_print_msg("  SYN timer after the failed resend fired %llu ms after connect()\n",
		       fired ? (fired - t0) / NSEC_PER_MSEC : 0);
	if (cmd_run("tc qdisc del dev veth0 root 2>&1") && !c->why[0])
		raw_fail(c, "tc qdisc del failed");
	return c->why[0] || raw_wait_syn(c, false, 0, syn_at, "the hold") ? -1 : 0;
}

/* connect(), then the stale ACKs, each answered by a RST and a SYN. */
static int stale_start(struct raw_conn *c, const struct stale *t, const char **timer)
{
	unsigned long long t0, ts, at = 0;
	struct raw_seg s;
	int i = 0;

	if (t->busy && cmd_run("tc qdisc add dev veth0 root netem delay %dms 2>&1", HOLD_MS))
		return raw_fail(c, "tc qdisc add ... netem failed");
	t0 = time_ns();
	if (raw_connect(c, RAW_PPORT_SYN + 1))
		return -1;
	if (t->busy) {
		if (stale_busy_first(c, t0, timer, &at))
			return -1;
		i = 1;
	} else if (raw_wait_syn(c, false, 0, &at, "connect()") ||
		   (t->timer_first && raw_wait_syn(c, false, 0, &at, "its SYN"))) {
		return -1;
	}
	for (; i < t->acks; i++) {
		/* An ACK below the SYN: a timewait socket's old snd_nxt. */
		s = (struct raw_seg){ .flags = RAW_ACK, .seq = random(),
				      .ack = c->K - 1 - 7919 * (i + 1) };
		if (raw_send(c, &s, false))
			return -1;
		ts = time_ns();
		if (raw_wait_syn(c, true, s.ack, &at, "a stale ACK"))
			return -1;
		ksft_print_msg("  stale ACK %d: RST, then SYN %.1f ms later\n", i + 1,
			       (double)(at - ts) / NSEC_PER_MSEC);
	}
	return 0;
}

/* The SYN-ACK, then the options and counters the kernel took from it. */
static int stale_synack(struct raw_conn *c, const struct stale *t, struct tcp_info *ti)
{
	if (raw_synack(c, t->ts))
		return -1;
	if (sock_tcp_info(c->fd, ti))
		return raw_fail(c, "TCP_INFO: %s", strerror(errno));
	ksft_print_msg("  handshake done: tcpi_retrans %u tcpi_lost %u ca_state %u options 0x%x\n",
		       ti->tcpi_retrans, ti->tcpi_lost, ti->tcpi_ca_state, ti->tcpi_options);
	ksft_print_msg("  tcpi_total_retrans %u tcpi_total_rto %u tcpi_retransmits %u\n",
		       ti->tcpi_total_retrans, ti->tcpi_total_rto, ti->tcpi_retransmits);
	if (ti->tcpi_options & (TCPI_OPT_SACK | TCPI_OPT_WSCALE) ||
	    !(ti->tcpi_options & TCPI_OPT_TIMESTAMPS) != !t->ts)
		return raw_fail(c, "tcpi_options 0x%x: not those of the SYN-ACK", ti->tcpi_options);
	return 0;
}

/* Data from the kernel, duplicate ACKs in CA_Open unless @dupacks is false. */
static int stale_data(struct raw_conn *c, bool dupacks, struct tcp_info *ti)
{
	struct raw_seg s, r = {};
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	char buf[KDATA];
	int i;

	memset(buf, 'k', sizeof(buf));
	if (sock_set_int(c->fd, IPPROTO_TCP, TCP_NODELAY, 1) || write(c->fd, buf, KDATA) != KDATA)
		return raw_fail(c, "write: %s", strerror(errno));
	while (raw_recv(c, &r, time_ns() + 2 * NSEC_PER_SEC) && !(r.seq == c->K && r.len == KDATA))
		;
	if (r.seq != c->K || r.len != KDATA)
		return raw_fail(c, "no data from the kernel");
	s = (struct raw_seg){ .flags = RAW_ACK, .seq = c->P, .ack = c->K };
	for (i = 0; i < DUPACKS && dupacks; i++)
		if (raw_send_ts(c, &s))
			return -1;
	raw_drain(c, WAIT_NS);		/* a fast retransmit, if any */
	c->K += KDATA;
	s = (struct raw_seg){ .flags = RAW_PSH | RAW_ACK, .seq = c->P, .ack = c->K, .len = PDATA };
	if (raw_send_ts(c, &s))
		return -1;
	c->P += PDATA;
	if (poll(&pfd, 1, 2000) != 1 || read(c->fd, buf, sizeof(buf)) != PDATA ||
	    memcmp(buf, "xxxxxxxxxx", 10))
		return raw_fail(c, "the peer's %d bytes did not arrive", PDATA);
	if (raw_wait(c, RAW_ACK, true, c->K, &r, "ACK of the peer's data"))
		return -1;
	if (r.ack != c->P)
		return raw_fail(c, "kernel acks %u, not %u", r.ack, c->P);
	return sock_tcp_info(c->fd, ti);
}

/*
 * With the series at most two resends, each right behind a RST; the timer
 * sent the SYNs a case waited for (timer_first, busy, and those beyond the
 * bound).  Any other expiry (tcpi_total_rto) would be a resend left to the
 * timer; with the SYN held in a host queue an expiry may send nothing.
 */
static void stale_resends(const struct stale *t, const struct tcp_info *ti,
			  char *fail, size_t sz)
{
	int timer = t->timer_first + t->busy + (t->acks - t->busy - stale_resends_want(t));
	long long d = (long long)ti->tcpi_total_retrans - timer;

	if (d != stale_resends_want(t) ||
	    (t->busy ? (int)ti->tcpi_total_rto < timer : (int)ti->tcpi_total_rto != timer))
		snprintf(fail, sz,
			 "tcpi_total_retrans %u, tcpi_total_rto %u: %lld resent behind a RST, want %d, by the timer %d",
			 ti->tcpi_total_retrans, ti->tcpi_total_rto, d,
			 stale_resends_want(t), timer);
}

FIXTURE(stale_syn) {
	struct raw_peer p;
};

FIXTURE_VARIANT(stale_syn) {
	int family;
	const struct stale *t;
};

FIXTURE_VARIANT_ADD(stale_syn, ipv4_stale1) { .family = AF_INET, .t = &stales[0] };
FIXTURE_VARIANT_ADD(stale_syn, ipv4_stale2) { .family = AF_INET, .t = &stales[1] };
FIXTURE_VARIANT_ADD(stale_syn, ipv4_stale2_nots) { .family = AF_INET, .t = &stales[2] };
FIXTURE_VARIANT_ADD(stale_syn, ipv4_stale3) { .family = AF_INET, .t = &stales[3] };
FIXTURE_VARIANT_ADD(stale_syn, ipv4_timer_stale1) { .family = AF_INET, .t = &stales[4] };
FIXTURE_VARIANT_ADD(stale_syn, ipv4_busy_stale3) { .family = AF_INET, .t = &stales[5] };
FIXTURE_VARIANT_ADD(stale_syn, ipv6_stale1) { .family = AF_INET6, .t = &stales[0] };
FIXTURE_VARIANT_ADD(stale_syn, ipv6_stale2) { .family = AF_INET6, .t = &stales[1] };
FIXTURE_VARIANT_ADD(stale_syn, ipv6_stale2_nots) { .family = AF_INET6, .t = &stales[2] };
FIXTURE_VARIANT_ADD(stale_syn, ipv6_stale3) { .family = AF_INET6, .t = &stales[3] };
FIXTURE_VARIANT_ADD(stale_syn, ipv6_timer_stale1) { .family = AF_INET6, .t = &stales[4] };
FIXTURE_VARIANT_ADD(stale_syn, ipv6_busy_stale3) { .family = AF_INET6, .t = &stales[5] };

FIXTURE_SETUP(stale_syn)
{
	wire_setup(_metadata, &self->p, variant->family);
}

FIXTURE_TEARDOWN(stale_syn)
{
	raw_peer_close(&self->p);
}

TEST_F(stale_syn, handshake_after_stale_acks)
{
	struct raw_conn c = { .p = &self->p, .fd = -1 };
	const char *fam = sock_family_name(variant->family), *timer = "-";
	const struct stale *t = variant->t;
	struct tcp_info ti1, ti2 = {};
	struct mib_snap ma, mb;
	char fail[256] = "";
	int ret;

	mib_snapshot(&ma);
	ret = stale_start(&c, t, &timer) || stale_synack(&c, t, &ti1);
	if (!ret && ti1.tcpi_retrans)
		snprintf(fail, sizeof(fail),
			 "tcpi_retrans %u after the handshake (retrans_out leaked): no duplicate ACKs, they would WARN",
			 ti1.tcpi_retrans);
	ret = ret || stale_data(&c, !fail[0], &ti2);
	if (ret) {
		ksft_print_msg("CASE %s SYN_SENT %s reply=setup-failed\n", fam, t->name);
		ASSERT_TRUE(0) TH_LOG("%s%s%s", fail, fail[0] ? "; then " : "",
				      c.why[0] ? c.why : "unexpected reply");
	}
	mib_snapshot(&mb);
	ksft_print_msg("CASE %s %s %s rsts=%d synack=%s retrans=%u timer=%s data=ok state=%s\n",
		       fam, "SYN_SENT", t->name, t->acks - t->busy,
		       t->ts ? "ts,nosack,nows" : "nots,nosack,nows", ti1.tcpi_retrans, timer,
		       ti2.tcpi_state == BPF_TCP_ESTABLISHED ? "ESTABLISHED" : "other");
	mib_print_deltas("  counters", &ma, &mb, watch, ARRAY_SIZE(watch), false);
	ASSERT_STREQ("", fail);
	ASSERT_EQ(BPF_TCP_ESTABLISHED, ti2.tcpi_state);
	ASSERT_EQ(0U, ti2.tcpi_retrans) TH_LOG("tcpi_retrans at the end");
	if (t->busy) {
		ASSERT_STREQ("short", timer)
			TH_LOG("the failed resend left the SYN to its RTO, not TCP_TIMEOUT_MIN");
		ASSERT_LT(0, mib_delta(&ma, &mb, "TCPSpuriousRtxHostQueues"))
			TH_LOG("TCPSpuriousRtxHostQueues: the SYN was not held");
	}
	if (mib_get(&mb, "TCPClosedRelookup") >= 0)	/* the series */
		stale_resends(t, &ti1, fail, sizeof(fail));
	ASSERT_STREQ("", fail);
}

TEST_HARNESS_MAIN
