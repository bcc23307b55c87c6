/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Why this file exists: tcp_bad_segments (a table of malformed segments)
 * and tcp_bad_random (seeded random ones) send a segment from the raw peer
 * at a kernel socket in a given state and judge what came back the same
 * way: the replies, with the kernel's own timer retransmissions left out,
 * the state after, and counters that must agree with the replies.
 */
#ifndef TCP_BAD_SEND_H
#define TCP_BAD_SEND_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/mib.h"
#include "lib/raw.h"

#define BAD_OOW		0x40000000U	/* far outside any window */
#define BAD_UNSENT	100000U		/* acks data never sent */
#define BAD_MAXREP	4

struct outcome {
	struct raw_seg sent, r[BAD_MAXREP];
	int n, syn_rtx, after;
	long long rst0;
	struct mib_snap ma, mb;
};

/*
 * The test's own namespace, the wire and the peer of @family: 0, -1 with
 * @why, or -2 with @why when the system lacks one (the test skips).
 */
int bad_wire_setup(struct raw_peer *p, int family, char *why, size_t sz);
/*
 * Send @o->sent at the socket of @c in @st; collect the replies for @wait
 * ns, the state after and the counters around it.  0 or -1 (@c->why).
 */
int bad_seg_send(struct raw_conn *c, int st, struct outcome *o, unsigned long long wait);
/*
 * Counters consistent with the replies of @o?  NULL, or what is wrong in
 * @buf.  @challenge: the segment must draw exactly one RFC 5961 challenge
 * ACK if it draws an ACK (in the synchronized states of a full socket).
 */
const char *bad_check_counters(int st, bool challenge, const struct outcome *o,
			       char *buf, size_t sz);

#endif /* TCP_BAD_SEND_H */
