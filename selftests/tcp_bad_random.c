// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists: tcp_bad_segments sends a table of malformed
 * segments, each with the reply RFC 9293 wants.  This sends seeded random
 * ones at a kernel socket in every state from SYN_SENT to both timewait
 * substates, IPv4 and IPv6, over the same raw wire: TCP_BAD_RANDOM=N
 * segments per family and state (default 8), each at a connection of its
 * own driven to the state, drawn from a generator seeded with
 * TCP_BAD_SEED (default 1) and the state, so that both families and every
 * kernel see the same ones: any of the eight flags, a sequence number at,
 * next to or far from RCV.NXT, an ACK at, next to or far from SND.NXT, no
 * payload or 1 to 40 bytes.
 *
 * No table says the reply to each.  What holds for every one is asserted:
 * an RST is never answered with an RST (RFC 9293 3.10.7), the counters
 * agree with the replies, and the series' re-lookup does not move for a
 * segment at an idle socket.  Each prints a "# RND" line, which
 * scripts/measure/bad-segments-ab diffs between two kernels: the series
 * must answer every segment as the stock kernel of its base does.
 */
#include <stdlib.h>

#include "kselftest_harness.h"
#include "lib/opt.h"
#include "lib/sock.h"
#include "lib/time.h"
#include "tcp_bad_send.h"

#define RND_WAIT_NS	(50 * NSEC_PER_MSEC)
#define RND_MAX		10000

static unsigned long long rnd_next(unsigned long long *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* $@name as a number in 0..@max, @dflt when unset; -1 when malformed. */
static long env_count(const char *name, long dflt, unsigned long max)
{
	const char *v = getenv(name);
	unsigned long n;

	if (!v || !*v)
		return dflt;
	return opt_parse_ulong(v, max, &n) ? (long)n : -1;
}

static void rnd_seg(unsigned long long *x, const struct raw_conn *c, struct raw_seg *s,
		    char *desc, size_t sz)
{
	static const int dseq[] = { 0, 1, -1, 1000, -1000, BAD_OOW };
	static const int dack[] = { 0, 1, -1, BAD_UNSENT, -(int)BAD_UNSENT, BAD_OOW };
	unsigned long long r = rnd_next(x);
	int ds = dseq[(r >> 8) % ARRAY_SIZE(dseq)];
	int da = dack[(r >> 16) % ARRAY_SIZE(dack)];

	s->flags = r & 0xff;
	s->seq = c->P + ds;
	s->ack = c->K + da;
	s->len = (r >> 24) % 4 ? 0 : 1 + (r >> 32) % 40;
	snprintf(desc, sz, "flags=0x%02x seq=P%+d ack=K%+d len=%u", s->flags, ds, da, s->len);
}

/* End what is left of @c: an RST at its sequence numbers, the accept queue. */
static void rnd_clear(struct raw_conn *c, int st)
{
	struct raw_seg rst = { .flags = RAW_RST, .seq = c->P };
	int fd;

	if (st == RAW_ST_SYN_SENT) {
		rst.flags |= RAW_ACK;
		rst.ack = c->K;
	}
	raw_send(c, &rst, false);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	while ((fd = accept4(c->p->lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0)
		close(fd);
}

FIXTURE(bad_rnd) {
	struct raw_peer p;
};

FIXTURE_VARIANT(bad_rnd) {
	int family, state;
};

FIXTURE_SETUP(bad_rnd)
{
	char why[256];
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = bad_wire_setup(&self->p, variant->family, why, sizeof(why));
	if (ret == -2)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, ret) TH_LOG("%s", why);
}

FIXTURE_TEARDOWN(bad_rnd)
{
	raw_peer_close(&self->p);
}

FIXTURE_VARIANT_ADD(bad_rnd, ipv4_syn_sent) { .family = AF_INET, .state = RAW_ST_SYN_SENT };
FIXTURE_VARIANT_ADD(bad_rnd, ipv4_syn_recv) { .family = AF_INET, .state = RAW_ST_SYN_RECV };
FIXTURE_VARIANT_ADD(bad_rnd, ipv4_established) { .family = AF_INET, .state = RAW_ST_EST };
FIXTURE_VARIANT_ADD(bad_rnd, ipv4_fin_wait1) { .family = AF_INET, .state = RAW_ST_FW1 };
FIXTURE_VARIANT_ADD(bad_rnd, ipv4_fin_wait2) { .family = AF_INET, .state = RAW_ST_FW2 };
FIXTURE_VARIANT_ADD(bad_rnd, ipv4_closing) { .family = AF_INET, .state = RAW_ST_CLOSING };
FIXTURE_VARIANT_ADD(bad_rnd, ipv4_close_wait) { .family = AF_INET, .state = RAW_ST_CW };
FIXTURE_VARIANT_ADD(bad_rnd, ipv4_last_ack) { .family = AF_INET, .state = RAW_ST_LA };
FIXTURE_VARIANT_ADD(bad_rnd, ipv4_tw_time_wait) { .family = AF_INET, .state = RAW_ST_TW };
FIXTURE_VARIANT_ADD(bad_rnd, ipv4_tw_fin_wait2) { .family = AF_INET, .state = RAW_ST_TWFW2 };
FIXTURE_VARIANT_ADD(bad_rnd, ipv6_syn_sent) { .family = AF_INET6, .state = RAW_ST_SYN_SENT };
FIXTURE_VARIANT_ADD(bad_rnd, ipv6_syn_recv) { .family = AF_INET6, .state = RAW_ST_SYN_RECV };
FIXTURE_VARIANT_ADD(bad_rnd, ipv6_established) { .family = AF_INET6, .state = RAW_ST_EST };
FIXTURE_VARIANT_ADD(bad_rnd, ipv6_fin_wait1) { .family = AF_INET6, .state = RAW_ST_FW1 };
FIXTURE_VARIANT_ADD(bad_rnd, ipv6_fin_wait2) { .family = AF_INET6, .state = RAW_ST_FW2 };
FIXTURE_VARIANT_ADD(bad_rnd, ipv6_closing) { .family = AF_INET6, .state = RAW_ST_CLOSING };
FIXTURE_VARIANT_ADD(bad_rnd, ipv6_close_wait) { .family = AF_INET6, .state = RAW_ST_CW };
FIXTURE_VARIANT_ADD(bad_rnd, ipv6_last_ack) { .family = AF_INET6, .state = RAW_ST_LA };
FIXTURE_VARIANT_ADD(bad_rnd, ipv6_tw_time_wait) { .family = AF_INET6, .state = RAW_ST_TW };
FIXTURE_VARIANT_ADD(bad_rnd, ipv6_tw_fin_wait2) { .family = AF_INET6, .state = RAW_ST_TWFW2 };

TEST_F_TIMEOUT(bad_rnd, segments, 7200)
{
	long n = env_count("TCP_BAD_RANDOM", 8, RND_MAX);
	long seed = env_count("TCP_BAD_SEED", 1, 1L << 30);
	const char *fam = sock_family_name(self->p.family);
	int st = variant->state, i, j, flags;
	struct outcome *o = calloc(1, sizeof(*o));
	char desc[96], rs[256], cbuf[128];
	unsigned long long x;
	const char *bad;

	ASSERT_NE(NULL, o);
	ASSERT_TRUE(n >= 0 && seed >= 0)
		TH_LOG("TCP_BAD_RANDOM wants 0..%d, TCP_BAD_SEED 0..2^30", RND_MAX);
	/* xorshift needs a state that is not 0 */
	x = ((unsigned long long)seed + 1) * 0x9e3779b97f4a7c15ULL + st;
	for (i = 0; i < n; i++) {
		struct raw_conn c = { .p = &self->p, .fd = -1, .pport = RAW_PPORT + 1 + i };

		memset(o, 0, sizeof(*o));
		ASSERT_EQ(0, raw_reach(&c, st, NULL, 0))
			TH_LOG("segment %d: %s", i, c.why);
		raw_drain(&c, 20 * NSEC_PER_MSEC);
		ASSERT_EQ(st, raw_wait_state(&c, st)) TH_LOG("segment %d: not in its state", i);
		rnd_seg(&x, &c, &o->sent, desc, sizeof(desc));
		ASSERT_EQ(0, bad_seg_send(&c, st, o, RND_WAIT_NS))
			TH_LOG("segment %d: %s", i, c.why);
		raw_segs_str(rs, sizeof(rs), &c, o->r, o->n);
		ksft_print_msg("RND %s %s %d %s reply=%s state=%s\n", fam, raw_state_name(st),
			       i, desc, rs, raw_state_name(o->after));
		flags = 0;
		for (j = 0; j < o->n; j++)
			flags |= o->r[j].flags;
		EXPECT_FALSE((o->sent.flags & RAW_RST) && (flags & RAW_RST))
			TH_LOG("segment %d: an RST answered with an RST", i);
		bad = bad_check_counters(st, false, o, cbuf, sizeof(cbuf));
		EXPECT_TRUE(!bad) TH_LOG("segment %d: counters: %s", i, bad);
		rnd_clear(&c, st);
	}
	free(o);
}

TEST_HARNESS_MAIN
