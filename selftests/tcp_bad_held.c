// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists: tcp_bad_segments sends its malformed segments to
 * idle sockets, so they never reach the series' re-lookup (patch 0001:
 * a segment that waited for the socket lock while the lock holder moved
 * the socket to TIME_WAIT).  Here the segments of tcp_bad_segments.h that
 * carry a FIN or RST meet that race, held open: a kernel socket in
 * FIN_WAIT2 (a full socket: shutdown, then the peer's ACK) gets the BPF
 * socket filter of the series' selftests (net/tcp_hold.bpf.c,
 * hold_fin_rst), which holds the raw peer's segment 100 ms in
 * tcp_filter(), before the socket lock; meanwhile the socket's owner
 * closes it, which makes a FIN_WAIT2 timewait socket of it.
 *
 * With the series the held segment is handed to that timewait socket
 * (TcpExtTCPClosedRelookup +1) and must get the reply of rfc[]'s
 * TIME_WAIT (FIN_WAIT2) row, or its devs[] (tcp_bad_segments.h), as if it
 * had come a moment later; segments the series does not re-look-up are in
 * held_devs[] below, a finding each.  Without the series every held
 * segment is lost to the closed socket: an XFAIL.  Each test prints a
 * "# CASE held" line, as tcp_bad_segments does.  Needs root, two CPUs and
 * the kernel's BTF.
 */
#define _GNU_SOURCE
#include "tcp_hold.h"
#include "kselftest_harness.h"
#include "lib/mib.h"
#include "lib/netns.h"
#include "lib/raw.h"
#include "lib/sock.h"
#include "lib/time.h"
#include "tcp_bad_segments.h"

#define REPLY_NS	(250 * NSEC_PER_MSEC)	/* replies to one segment */
#define OOW		0x40000000U		/* far outside any window */
#define MAXREP		4
#define ST		RAW_ST_TWFW2		/* the state the segment meets */
#define ATTEMPTS	3	/* a close() that missed the hold is retried */

/*
 * Held segments the series leaves to the closed socket: a SYN is re-looked
 * up only without ACK and RST (tcp_want_syn_relookup()), any other segment
 * only without SYN (tcp_want_twsk_relookup()).
 */
static const struct { int cs; const char *got, *why; } held_devs[] = {
	{ C_SYN_RST, "ns", "finding: a held SYN+RST is not re-looked-up (0001), lost" },
	{ C_ALLFLAGS, "ns", "finding: a held SYN+ACK+RST is not re-looked-up (0001), lost" },
};

/* Segments the series re-looks-up: no SYN, or a SYN without ACK and RST. */
static bool relooked(int cs)
{
	int f = cases[cs].flags;

	return !(f & RAW_SYN) || !(f & (RAW_ACK | RAW_RST));
}

FIXTURE(held) {
	struct raw_peer p;
	struct hold_bpf hb;
};

FIXTURE_VARIANT(held) {
	int family;
};

FIXTURE_VARIANT_ADD(held, ipv4) { .family = AF_INET };
FIXTURE_VARIANT_ADD(held, ipv6) { .family = AF_INET6 };

FIXTURE_SETUP(held)
{
	const char *no;
	char why[256];

	self->p.pkt = -1;
	self->p.lfd = -1;
	self->hb.map_fd = -1;
	if (!pick_cpus())
		SKIP(return, "needs two CPUs: the held segment and the close");
	no = hold_unsupported(BPF_PROG_TYPE_SOCKET_FILTER);
	if (no)
		SKIP(return, "%s", no);
	if (netns_enter(why, sizeof(why)) || raw_wire_setup(why, sizeof(why)))
		SKIP(return, "%s", why);
	ASSERT_EQ(0, raw_peer_open(&self->p, variant->family, why, sizeof(why)))
		TH_LOG("%s", why);
	ASSERT_EQ(0, hold_open(&self->hb, "net/tcp_hold.bpf.o", "hold_fin_rst"))
		TH_LOG("the holding filter did not load");
}

FIXTURE_TEARDOWN(held)
{
	raw_peer_close(&self->p);
	hold_close(&self->hb);
}

struct sender {
	struct raw_conn *c;
	struct raw_seg s;
	int err;
};

/* On test_cpu[0]: the segment, held in this thread's softirq. */
static void *send_held(void *arg)
{
	struct sender *sd = arg;

	sd->err = raw_send(sd->c, &sd->s, false);
	return NULL;
}

struct held_out {
	struct raw_seg r[MAXREP];
	int n, after;
	bool forced;
	struct mib_snap ma, mb;
};

/*
 * The socket in FIN_WAIT2 with the filter attached; the segment of @cs
 * sent and held; close() meanwhile; the replies.  0, or -1 with c->why.
 */
static int held_send(struct raw_conn *c, struct hold_bpf *hb, int cs,
		     struct held_out *o)
{
	struct held_wait hw = { .map_fd = hb->map_fd };
	const struct bad *b = &cases[cs];
	struct sender sd = { .c = c };
	struct hold h = { .armed = 1 };
	unsigned long long until;
	__u64 closed;
	pthread_t thr;

	if (raw_reach(c, RAW_ST_FW2, NULL, 0))
		return -1;
	raw_drain(c, 20 * NSEC_PER_MSEC);
	if (raw_wait_state(c, RAW_ST_FW2) != RAW_ST_FW2)
		return raw_fail(c, "socket not in FIN_WAIT2");
	if (setsockopt(c->fd, SOL_SOCKET, SO_ATTACH_BPF, &hb->prog_fd, sizeof(hb->prog_fd)))
		return raw_fail(c, "SO_ATTACH_BPF: %s", strerror(errno));
	sd.s.flags = b->flags;
	sd.s.len = b->len;
	sd.s.seq = c->P + (b->seq == Q_INWIN ? 1 : b->seq == Q_OOW ? OOW : 0);
	sd.s.ack = c->K;
	if (hold_write(hb->map_fd, &h) || pin(1))
		return raw_fail(c, "arming the hold: %s", strerror(errno));
	mib_snapshot(&o->ma);
	if (start_on(&thr, 0, send_held, &sd))
		return raw_fail(c, "pthread_create");
	if (!wait_for(held_done, &hw)) {
		pthread_join(thr, NULL);
		return raw_fail(c, "the segment was never held");
	}
	close(c->fd);		/* FIN_WAIT2 -> a FIN_WAIT2 timewait socket */
	c->fd = -1;
	closed = now_ns();
	hw.want_end = true;
	if (!wait_for(held_done, &hw))
		raw_fail(c, "the held segment was never released");
	pthread_join(thr, NULL);
	if (sd.err || c->why[0])
		return -1;
	o->forced = closed < hw.h.end_ns;
	until = time_ns() + REPLY_NS;
	while (o->n < MAXREP && raw_recv(c, &o->r[o->n], until))
		o->n++;
	o->after = raw_sock_state(c);
	mib_snapshot(&o->mb);
	return 0;
}

/* What @o should have been, or NULL; an XFAIL reason in @xfail, if any. */
static const char *held_verdict(int cs, const struct held_out *o, long long rl,
				const char **xfail)
{
	char cls = bad_class(o->r, o->n);
	const char *want = rfc[ST] + 3 * cs;
	unsigned int i;
	int d;

	*xfail = NULL;
	if (!mib_series_present()) {
		/* Lost to the closed socket: the timewait socket never saw it. */
		if (cls == 'n' && o->after == ST)
			*xfail = "no series: the held segment was lost to the closed socket";
		return *xfail || bad_matches(want, ST, cls, o->after) ? NULL : want;
	}
	if (rl != relooked(cs))
		return relooked(cs) ? "TCPClosedRelookup +1" : "TCPClosedRelookup +0";
	if (bad_matches(want, ST, cls, o->after))
		return NULL;
	d = bad_dev(ST, cs, cls, o->after);
	if (d >= 0) {
		*xfail = devs[d].why;
		return NULL;
	}
	for (i = 0; i < ARRAY_SIZE(held_devs); i++)
		if (held_devs[i].cs == cs && bad_matches(held_devs[i].got, ST, cls, o->after))
			*xfail = held_devs[i].why;
	return *xfail ? NULL : want;
}

/*
 * After an attempt whose close() came after the hold (a vCPU stalled for
 * all of it, as under KASAN in TCG): an RST at rcv_nxt ends whatever is
 * left on the 4-tuple, which the next attempt uses again.
 */
static int held_clear(struct raw_conn *c)
{
	struct raw_seg s = { .flags = RAW_RST, .seq = c->P, .ack = c->K };

	if (raw_sock_state(c) != -1 && raw_send(c, &s, false))
		return -1;
	raw_drain(c, 20 * NSEC_PER_MSEC);
	return raw_wait_state(c, -1) == -1 ? 0 : raw_fail(c, "4-tuple not free for a retry");
}

static void run_held(struct __test_metadata *_metadata, struct raw_peer *p,
		     struct hold_bpf *hb, int cs)
{
	struct raw_conn c = { .p = p, .fd = -1 };
	const char *fam = sock_family_name(p->family), *bad, *xfail;
	const char *name = cases[cs].name;
	struct held_out *o = calloc(1, sizeof(*o));
	int attempt, ret = 0;
	char rs[256];
	long long rl;

	ASSERT_NE(NULL, o);
	for (attempt = 0; !ret && attempt < ATTEMPTS; attempt++) {
		memset(o, 0, sizeof(*o));
		ret = held_send(&c, hb, cs, o);
		if (ret || o->forced)
			break;
		ksft_print_msg("  attempt %d not forced: close() after the hold, retried\n",
			       attempt);
		ret = held_clear(&c);
	}
	if (ret) {
		ksft_print_msg("CASE held %s %s reply=setup-failed\n", fam, name);
		if (c.fd >= 0)
			close(c.fd);
		free(o);
		ASSERT_TRUE(0) TH_LOG("setup failed: %s", c.why);
	}
	raw_segs_str(rs, sizeof(rs), &c, o->r, o->n);
	rl = mib_delta(&o->ma, &o->mb, "TCPClosedRelookup");
	ksft_print_msg("CASE held %s FIN_WAIT2>TW %s reply=%s state=%s forced=%s\n", fam,
		       name, rs, raw_state_name(o->after), o->forced ? "yes" : "no");
	ksft_print_msg("  TCPClosedRelookup %+lld\n", rl);
	if (!o->forced) {
		free(o);
		ASSERT_TRUE(0) TH_LOG("not forced: close() returned after the hold ended");
	}
	bad = held_verdict(cs, o, rl, &xfail);
	free(o);
	ASSERT_EQ(NULL, bad) TH_LOG("reply %s, want \"%s\"", rs, bad);
	if (xfail) {
		snprintf(_metadata->results->reason, sizeof(_metadata->results->reason),
			 "%s", xfail);
		_metadata->exit_code = KSFT_XFAIL;
	}
}

/* The segments of cases[] with a FIN or RST: hold_fin_rst holds those. */
TEST_F(held, rst_exact) { run_held(_metadata, &self->p, &self->hb, C_RST_EXACT); }
TEST_F(held, rst_inwin) { run_held(_metadata, &self->p, &self->hb, C_RST_INWIN); }
TEST_F(held, rst_oow) { run_held(_metadata, &self->p, &self->hb, C_RST_OOW); }
TEST_F(held, syn_rst) { run_held(_metadata, &self->p, &self->hb, C_SYN_RST); }
TEST_F(held, syn_fin) { run_held(_metadata, &self->p, &self->hb, C_SYN_FIN); }
TEST_F(held, fin_rst) { run_held(_metadata, &self->p, &self->hb, C_FIN_RST); }
TEST_F(held, allflags) { run_held(_metadata, &self->p, &self->hb, C_ALLFLAGS); }
TEST_F(held, fin_oow) { run_held(_metadata, &self->p, &self->hb, C_FIN_OOW); }

TEST_HARNESS_MAIN
