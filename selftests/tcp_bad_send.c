// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists: the sending and judging that tcp_bad_segments and
 * tcp_bad_random share (tcp_bad_send.h).
 */
#include <stdio.h>

#include "lib/netns.h"
#include "lib/time.h"
#include "tcp_bad_send.h"

int bad_wire_setup(struct raw_peer *p, int family, char *why, size_t sz)
{
	p->pkt = -1;
	p->lfd = -1;
	if (netns_enter(why, sz) || raw_wire_setup(why, sz))
		return -2;
	return raw_peer_open(p, family, why, sz);
}

int bad_seg_send(struct raw_conn *c, int st, struct outcome *o, unsigned long long wait)
{
	struct raw_seg *r;
	unsigned int K = c->K;
	unsigned long long until;

	mib_snapshot(&o->ma);
	o->rst0 = mib_tcp_read("OutRsts");
	if (raw_send(c, &o->sent, false))
		return -1;
	until = time_ns() + wait;
	while (o->n < BAD_MAXREP && raw_recv(c, &o->r[o->n], until)) {
		r = &o->r[o->n];
		/*
		 * The SYN of SYN_SENT is resent by its timer (1 s, late under
		 * a loaded VM) or brought forward by an unacceptable ACK
		 * (2 jiffies; patch 0004: at once): counted, not compared.
		 */
		if (st == RAW_ST_SYN_SENT && r->flags == RAW_SYN && r->seq == K - 1) {
			o->syn_rtx++;
			continue;
		}
		/* Timer retransmissions of the kernel's SYN-ACK or FIN. */
		if (r->seq == K - 1 &&
		    ((st == RAW_ST_SYN_RECV && r->flags == (RAW_SYN | RAW_ACK)) ||
		     ((st == RAW_ST_FW1 || st == RAW_ST_CLOSING || st == RAW_ST_LA) &&
		      (r->flags & RAW_FIN))))
			continue;
		o->n++;
	}
	o->after = raw_sock_state(c);
	mib_snapshot(&o->mb);
	return 0;
}

/*
 * The RFC 5961 answers of a full socket are counted as challenge ACKs;
 * the series' re-lookup never moves for a segment sent to an idle socket.
 */
const char *bad_check_counters(int st, bool challenge, const struct outcome *o,
			       char *buf, size_t sz)
{
	long long chal = mib_delta(&o->ma, &o->mb, "TCPChallengeACK"), d;
	int i, acks = 0, rsts = 0;

	for (i = 0; i < o->n; i++) {
		acks += o->r[i].flags == RAW_ACK;
		rsts += !!(o->r[i].flags & RAW_RST);
	}
	d = mib_tcp_read("OutRsts") - o->rst0;
	if (chal > acks)
		snprintf(buf, sz, "TCPChallengeACK +%lld but %d ACKs seen", chal, acks);
	else if (st >= RAW_ST_EST && st <= RAW_ST_LA && acks && chal >= 0 && chal != 1 &&
		 challenge)
		snprintf(buf, sz, "challenge ACK seen, TCPChallengeACK +%lld", chal);
	else if (o->rst0 >= 0 && d != rsts)
		snprintf(buf, sz, "OutRsts +%lld but %d RSTs seen", d, rsts);
	else if (mib_delta(&o->ma, &o->mb, "TCPClosedRelookup") > 0)
		snprintf(buf, sz, "TCPClosedRelookup +%lld, not meant to move here",
			 mib_delta(&o->ma, &o->mb, "TCPClosedRelookup"));
	else
		return NULL;
	return buf;
}
