/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Why this file exists: the table of tcp_bad_segments.c, apart from its
 * code: the malformed segments (cases[]), the reply RFC 9293 and RFC 5961
 * expect for each in each state (rfc[]) and the known upstream deviations
 * from it (devs[]).  Every case of every state has a verdict.
 */
#ifndef TCP_BAD_SEGMENTS_H
#define TCP_BAD_SEGMENTS_H

#include "lib/raw.h"

enum { C_RST_EXACT, C_RST_INWIN, C_RST_OOW, C_SYN, C_SYN_RST, C_SYN_FIN,
	C_FIN_RST, C_NOFLAGS, C_ALLFLAGS, C_FIN_OOW, C_ACK_UNSENT, C_DATA_OOW };

enum { Q_EXACT, Q_INWIN, Q_OOW };	/* seq: rcv_nxt, rcv_nxt + 1, far */

/* Each with SEG.ACK = SND.NXT unless unsent, no ACK flag unless given. */
static const struct bad { const char *name; int flags, seq, len; bool unsent; }
cases[] = {
	[C_RST_EXACT] = { "rst-exact", RAW_RST, Q_EXACT },
	[C_RST_INWIN] = { "rst-inwin", RAW_RST, Q_INWIN },
	[C_RST_OOW] = { "rst-oow", RAW_RST, Q_OOW },
	[C_SYN] = { "syn", RAW_SYN, Q_EXACT },
	[C_SYN_RST] = { "syn-rst", RAW_SYN | RAW_RST, Q_EXACT },
	[C_SYN_FIN] = { "syn-fin", RAW_SYN | RAW_FIN, Q_EXACT },
	[C_FIN_RST] = { "fin-rst", RAW_FIN | RAW_RST, Q_EXACT },
	[C_NOFLAGS] = { "noflags", 0, Q_EXACT },
	[C_ALLFLAGS] = { "allflags", RAW_ALL, Q_EXACT },	/* ACK and RST too */
	[C_FIN_OOW] = { "fin-oow", RAW_FIN | RAW_ACK, Q_OOW },
	[C_ACK_UNSENT] = { "ack-unsent", RAW_ACK, Q_EXACT, 0, true },
	[C_DATA_OOW] = { "data-oow", RAW_PSH | RAW_ACK, Q_OOW, 10 },
};

/*
 * Per state and case: the reply (n none, a ACK <SEQ=SND.NXT><ACK=RCV.NXT>,
 * r RST, k SYN-ACK <SEQ=ISS><ACK=SEG.SEQ+1>) and the state after it (s
 * same, g gone, y SYN_RECV).  The rules, in RFC 9293 3.10.7's order (the
 * sequence number, then RST, then SYN, then ACK):
 *
 * SYN_SENT (3.10.7.3): an unacceptable ACK gets <SEQ=SEG.ACK><RST>; an RST
 * counts only with an acceptable ACK (RFC 5961 3.2): then the connection
 * is reset, without one the segment is dropped (syn-rst, fin-rst).  A SYN
 * without ACK is a simultaneous open: SYN-ACK, SYN_RECV, anything else in
 * it (syn-fin's FIN) left for later.  Segments with neither SYN nor RST
 * are dropped.
 *
 * SYN_RECV of a passive open (3.10.7.4): an out-of-window segment gets an
 * ACK; an RST at RCV.NXT (RFC 5961 3.2) and a SYN in the window ("fourth,
 * check the SYN bit": return to LISTEN) end the embryonic connection
 * without a reply; an ACK of something not sent gets <SEQ=SEG.ACK><RST>.
 *
 * Synchronized states, ESTABLISHED to TIME_WAIT (3.10.7.4 with RFC 5961):
 * an RST exactly at RCV.NXT resets (3.2: also syn-rst, fin-rst and
 * allflags, whose RST is checked before their SYN), one elsewhere in the
 * window gets a challenge ACK, one outside it nothing; a SYN anywhere gets
 * a challenge ACK (4.2: also syn-fin); an ACK above SND.NXT gets an ACK
 * (5.2, for TIME_WAIT too: it is synchronized); an unacceptable sequence
 * number gets an ACK unless RST is set; a segment without ACK is dropped.
 */
static const char * const rfc[RAW_ST_NUM] = {
	/*                   rst|win|oow|syn|s+r|s+f|f+r|no |all|fin|ack|dat */
	[RAW_ST_SYN_SENT] = "ng|ns|ns|ky|ns|ky|ns|ns|ng|ns|rs|ns",
	[RAW_ST_SYN_RECV] = "ng|as|ns|ng|ng|ng|ng|ns|ng|as|rs|as",
	[RAW_ST_EST]      = "ng|as|ns|as|ng|as|ng|ns|ng|as|as|as",
	[RAW_ST_FW1]      = "ng|as|ns|as|ng|as|ng|ns|ng|as|as|as",
	[RAW_ST_FW2]      = "ng|as|ns|as|ng|as|ng|ns|ng|as|as|as",
	[RAW_ST_CLOSING]  = "ng|as|ns|as|ng|as|ng|ns|ng|as|as|as",
	[RAW_ST_CW]       = "ng|as|ns|as|ng|as|ng|ns|ng|as|as|as",
	[RAW_ST_LA]       = "ng|as|ns|as|ng|as|ng|ns|ng|as|as|as",
	[RAW_ST_TW]       = "ng|as|ns|as|ng|as|ng|ns|ng|as|as|as",
	[RAW_ST_TWFW2]    = "ng|as|ns|as|ng|as|ng|ns|ng|as|as|as",
};

/*
 * Upstream deviations from rfc[], the same on stock and patched kernels of
 * both bases (found by reading tcp_input.c and tcp_minisocks.c, seen in
 * the CASE lines of both): an XFAIL each, with its reason.
 */
static const struct { int st, cs; const char *got, *why; } devs[] = {
	/* tcp_check_req() (SYN_RECV of a request socket) */
	{ RAW_ST_SYN_RECV, C_RST_INWIN, "ng", "tcp_check_req() takes any in-window RST" },
	{ RAW_ST_SYN_RECV, C_SYN, "rg",
	  "tcp_check_req() answers an in-window SYN with RST (RFC 793), not silently" },
	{ RAW_ST_SYN_RECV, C_SYN_FIN, "rg",
	  "tcp_check_req() answers an in-window SYN with RST (RFC 793), not silently" },
	/* tcp_ack() */
	{ RAW_ST_EST, C_ACK_UNSENT, "ns",
	  "tcp_ack() drops SEG.ACK > SND.NXT silently (6.12; 7.3 sends a challenge ACK)" },
	/* tcp_timewait_state_process() */
	{ RAW_ST_TW, C_RST_INWIN, "ns", "timewait ignores an RST that is not exactly rcv_nxt" },
	{ RAW_ST_TW, C_ACK_UNSENT, "ns", "timewait does not check SEG.ACK against SND.NXT" },
	{ RAW_ST_TWFW2, C_RST_INWIN, "ng", "FIN_WAIT2 timewait takes any in-window RST" },
	{ RAW_ST_TWFW2, C_RST_OOW, "as", "FIN_WAIT2 timewait ACKs an out-of-window RST" },
	{ RAW_ST_TWFW2, C_SYN, "rg", "FIN_WAIT2 timewait answers an in-window SYN with RST" },
	{ RAW_ST_TWFW2, C_SYN_FIN, "rg", "FIN_WAIT2 timewait answers an in-window SYN with RST" },
	{ RAW_ST_TWFW2, C_ACK_UNSENT, "ns", "timewait does not check SEG.ACK against SND.NXT" },
};

/* A reply as a class of rfc[]: 'n' none, 'a' ACK, 'r' RST, 'k' SYN-ACK. */
static inline char bad_class(const struct raw_seg *r, int n)
{
	if (!n)
		return 'n';
	if (r->flags & RAW_RST)
		return 'r';
	if (r->flags == (RAW_SYN | RAW_ACK))
		return 'k';
	return r->flags == RAW_ACK ? 'a' : '?';
}

/* Does @want (reply, state) match reply class @cls and state @after, from @st? */
static inline bool bad_matches(const char *want, int st, char cls, int after)
{
	int st_want = want[1] == 's' ? st : want[1] == 'y' ? RAW_ST_SYN_RECV : -1;

	return want[0] == cls && after == st_want;
}

/* The entry of devs[] for @st and @cs that matches, or -1. */
static inline int bad_dev(int st, int cs, char cls, int after)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(devs); i++)
		if (devs[i].st == st && devs[i].cs == cs &&
		    bad_matches(devs[i].got, st, cls, after))
			return i;
	return -1;
}

#endif /* TCP_BAD_SEGMENTS_H */
