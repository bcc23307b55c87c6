// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_setup_exc -S acceptq: a listener that stops accepting fills its
 * accept queue, and connection setup then costs the client seconds.  Two
 * parts:
 *
 * (1) The accept queue holds backlog + 1 connections; a new SYN is
 *     dropped (ListenOverflows, ListenDrops) until the application accepts
 *     one, the client's SYN retransmit gets in after 1 s.
 * (2) A client whose SYN got in while there was room believes it is
 *     connected, but its third ACK reaches the server only after the queue
 *     filled up: the client holds it back (TCP_DEFER_ACCEPT on the
 *     connecting socket makes the kernel send it with the first data)
 *     while the last slot fills.  Its request and every later segment are
 *     dropped at the full queue (ListenOverflows), the server retransmits
 *     its SYN-ACK from the request-socket timer (TCPSynRetrans), and the
 *     request is acknowledged only after the application accepted one
 *     connection.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/mib.h"
#include "lib/proc.h"
#include "lib/sock.h"
#include "setup_exc.h"

#define BACKLOG			4
/* sk_acceptq_is_full(): more than the backlog. */
#define QUEUED			(BACKLOG + 1)
/* The application accepts one connection this long after the request. */
#define ACCEPT_AFTER_NS		(1500 * NSEC_PER_MSEC)
/* The request is given this long to be acknowledged. */
#define REQ_WAIT_NS		(5 * NSEC_PER_SEC)
/* Tries when a stall let the delayed third ACK out first. */
#define ACK_ATTEMPTS		3

struct accq_res {
	long long syn_us, syn_rtx, syn_ovf, syn_drops, syn_synrtx, syn_tmo;
	long long ack_conn_us, ack_held, ack_attempts, ack_ovf, ack_drops;
	long long ack_synrtx, ack_tmo, synack_ms, req_ms, req_rtx;
};

/* A listener and its address; @fds its never-accepted connections. */
struct accq_ctx {
	int lfd, fds[QUEUED];
	unsigned short lport;
	struct sockaddr_storage ls;
	socklen_t llen;
};

/* Connect and wait for it; the socket, or -1. */
static int connect_now(struct setup_test *t, struct accq_ctx *x)
{
	int fd, err;

	fd = setup_connect_start(t, &x->ls, x->llen);
	if (fd < 0)
		return -1;
	err = sock_connect_wait(fd, time_ns() + STEP_NS);
	if (err) {
		setup_why(t, "connect to the listener: %s", strerror(-err));
		sock_close_rst(fd);
		return -1;
	}
	return fd;
}

/*
 * Connect clients @from..@to-1 (never accepted) and check that the accept
 * queue holds @to connections.
 */
static int accq_fill(struct setup_test *t, struct accq_ctx *x,
		     unsigned long from, unsigned long to)
{
	unsigned long i;
	long q;

	for (i = from; i < to; i++) {
		x->fds[i] = connect_now(t, x);
		if (x->fds[i] < 0)
			return -1;
	}
	setup_wait_proc(t, x->lport, TCP_ST_LISTEN, to, &q);
	if (q != (long)to) {
		setup_why(t, "accept queue holds %ld connections, expected %lu",
			  q, to);
		return -1;
	}
	return 0;
}

static int accq_open(struct setup_test *t, struct accq_ctx *x)
{
	memset(x->fds, -1, sizeof(x->fds));
	x->lfd = setup_listener_open(t, BACKLOG, &x->lport, &x->ls, &x->llen);
	return x->lfd < 0 ? -1 : 0;
}

static void accq_close(struct accq_ctx *x)
{
	setup_close_all(x->fds, QUEUED);
	close(x->lfd);
}

/*
 * Part 1: the accept queue is full, a new SYN is dropped; the application
 * accepts one connection and the SYN retransmit gets in.
 */
static int accq_syn(struct setup_test *t, struct accq_res *r)
{
	unsigned long long t0, t1;
	struct accq_ctx x;
	int fd = -1, cfd, err, ret = -1;
	struct tcp_info ti;

	if (accq_open(t, &x))
		return -1;
	if (accq_fill(t, &x, 0, QUEUED))
		goto out;
	mib_snapshot(t->a);
	t0 = time_ns();
	fd = setup_connect_start(t, &x.ls, x.llen);
	if (fd < 0)
		goto out;
	if (!setup_wait_moved(t, t->a, "ListenOverflows",
			      500 * NSEC_PER_MSEC)) {
		setup_why(t, "ListenOverflows did not move: the SYN was not dropped");
		goto out;
	}
	/* The application catches up by one connection. */
	cfd = sock_accept_one(x.lfd, STEP_NS);
	if (cfd < 0) {
		setup_why(t, "accept: %s", strerror(errno));
		goto out;
	}
	sock_close_rst(cfd);
	err = sock_connect_wait(fd, t0 + CONNECT_WAIT_NS);
	t1 = time_ns();
	if (err) {
		setup_why(t, "connect() after one accept(): %s", strerror(-err));
		goto out;
	}
	mib_snapshot(t->b);
	sock_tcp_info(fd, &ti);
	r->syn_us = (t1 - t0) / NSEC_PER_USEC;
	r->syn_rtx = ti.tcpi_total_retrans;
	r->syn_ovf = mib_delta(t->a, t->b, "ListenOverflows");
	r->syn_drops = mib_delta(t->a, t->b, "ListenDrops");
	r->syn_synrtx = mib_delta(t->a, t->b, "TCPSynRetrans");
	r->syn_tmo = mib_delta(t->a, t->b, "TCPTimeouts");
	ret = 0;
out:
	sock_close_rst(fd);
	accq_close(&x);
	return ret;
}

/*
 * Part 2: the client's SYN gets in while the accept queue has room; its
 * third ACK is held back (TCP_DEFER_ACCEPT on a connecting socket makes
 * the kernel save that ACK for the first data, or for the delayed-ACK
 * timer, 200 ms) while the last slot of the queue fills.  The request,
 * which carries the third ACK, is dropped at the full queue, and so is
 * every later segment of the client; the server retransmits its SYN-ACK.
 * The application accepts one connection ACCEPT_AFTER_NS after the
 * request and the request gets in with the next retransmission.
 *
 * Returns 1 when the delayed ACK left before the request (the machine
 * stalled): the caller tries again.
 */
/*
 * After the request: the application accepts one connection
 * ACCEPT_AFTER_NS after it (t->b: the counters then), and the request is
 * acknowledged (r->req_ms) or REQ_WAIT_NS pass.  -1 when accept failed.
 */
static int accq_ack_wait(struct setup_test *t, struct accq_res *r,
			 struct accq_ctx *x, int pfd, unsigned long long tp0,
			 unsigned long long tw, bool *accepted)
{
	unsigned long long now;
	struct tcp_info ti;
	int cfd;

	for (;;) {
		now = time_ns();
		if (now - tw >= REQ_WAIT_NS || !setup_running(t))
			break;
		mib_snapshot(t->cur);
		if (r->synack_ms < 0 &&
		    mib_delta(t->c, t->cur, "TCPSynRetrans") > 0)
			r->synack_ms = (now - tp0) / NSEC_PER_MSEC;
		if (!*accepted && now - tw >= ACCEPT_AFTER_NS) {
			cfd = sock_accept_one(x->lfd, STEP_NS);
			if (cfd < 0) {
				setup_why(t, "accept: %s", strerror(errno));
				return -1;
			}
			/*
			 * The counters as the queue stops being full: after
			 * the accept, not from the top of this pass, so that a
			 * drop in between (milliseconds on a debug kernel) is
			 * counted with the others.
			 */
			mib_snapshot(t->b);
			sock_close_rst(cfd);
			*accepted = true;
		}
		sock_tcp_info(pfd, &ti);
		if (!ti.tcpi_unacked) {
			/*
			 * Now, not the top of the loop: the ACK may have come
			 * while this pass read the counters or accepted, and
			 * on a slow (debug) kernel that takes milliseconds.
			 */
			r->req_ms = (time_ns() - tw) / NSEC_PER_MSEC;
			break;
		}
		time_sleep_ns(POLL_NS);
	}
	return 0;
}

static int accq_ack(struct setup_test *t, struct accq_res *r)
{
	unsigned long long tp0, tw;
	int pfd = -1, err, ret = -1;
	bool accepted = false;
	struct accq_ctx x;
	struct tcp_info ti;

	if (accq_open(t, &x))
		return -1;
	if (accq_fill(t, &x, 0, QUEUED - 1))
		goto out;
	pfd = socket(t->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (pfd < 0 || sock_set_int(pfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, 1)) {
		setup_why(t, "client socket with TCP_DEFER_ACCEPT: %s",
			  strerror(errno));
		goto out;
	}
	mib_snapshot(t->c);
	tp0 = time_ns();
	if (connect(pfd, (struct sockaddr *)&x.ls, x.llen) &&
	    errno != EINPROGRESS) {
		setup_why(t, "client: connect: %s", strerror(errno));
		goto out;
	}
	err = sock_connect_wait(pfd, tp0 + STEP_NS);
	if (err) {
		setup_why(t, "client: connect: %s", strerror(-err));
		goto out;
	}
	r->ack_conn_us = (time_ns() - tp0) / NSEC_PER_USEC;
	if (accq_fill(t, &x, QUEUED - 1, QUEUED))
		goto out;
	/* The client's request socket still waits for the third ACK. */
	if (proc_tcp_count(setup_proc_family(t), x.lport, TCP_ST_SYN_RECV,
			   NULL) != 1) {
		ret = 1;
		goto out;
	}

	mib_snapshot(t->a);
	tw = time_ns();
	if (write(pfd, "q", 1) != 1) {
		setup_why(t, "client: write: %s", strerror(errno));
		goto out;
	}
	r->ack_held = 1;
	if (accq_ack_wait(t, r, &x, pfd, tp0, tw, &accepted))
		goto out;
	if (!accepted)
		mib_snapshot(t->b);
	mib_snapshot(t->c);
	sock_tcp_info(pfd, &ti);
	r->req_rtx = ti.tcpi_total_retrans;
	/* While the queue was full: until the application accepted one. */
	r->ack_ovf = mib_delta(t->a, t->b, "ListenOverflows");
	r->ack_drops = mib_delta(t->a, t->b, "ListenDrops");
	r->ack_synrtx = mib_delta(t->a, t->b, "TCPSynRetrans");
	r->ack_tmo = mib_delta(t->a, t->b, "TCPTimeouts");
	mib_print_deltas_lead("", "  TcpExt after the accept", t->b, t->c, NULL,
			      0, true);
	if (!accepted)
		setup_why(t, "time bound reached before the application accepted");
	ret = t->why[0] ? -1 : 0;
out:
	sock_close_rst(pfd);
	accq_close(&x);
	return ret;
}

#define FMT_ACCQ \
	"%s: scenario=acceptq family=%s backlog=%d queued=%d syn_connect_us=%s syn_client_rtx=%s syn_listen_overflows=%s syn_listen_drops=%s syn_syn_retrans=%s syn_timeouts=%s ack_connect_us=%s ack_held=%s ack_attempts=%s ack_listen_overflows=%s ack_listen_drops=%s ack_syn_retrans=%s ack_timeouts=%s synack_rtx_ms=%s req_ms=%s req_rtx=%s\n"

int acceptq_run(struct setup_test *t)
{
	struct accq_res r = {
		.syn_us = -1, .syn_rtx = -1, .syn_ovf = -1, .syn_drops = -1,
		.syn_synrtx = -1, .syn_tmo = -1, .ack_conn_us = -1,
		.ack_ovf = -1, .ack_drops = -1, .ack_synrtx = -1,
		.ack_tmo = -1, .synack_ms = -1, .req_ms = -1, .req_rtx = -1,
	};
	char b[16][24];

	if (!accq_syn(t, &r)) {
		/* Again when a stall let the delayed third ACK out first. */
		while (r.ack_attempts < ACK_ATTEMPTS && setup_running(t)) {
			r.ack_attempts++;
			if (accq_ack(t, &r) != 1)
				break;
		}
		if (!r.ack_held && !setup_running(t))
			setup_why(t, "time bound reached before the third-ACK part");
		else if (!r.ack_held)
			setup_why(t, "the third ACK left before the request in %lld attempts",
				  r.ack_attempts);
	}

	printf(FMT_ACCQ, PROG, t->fname,
	       BACKLOG, QUEUED, setup_cnt(b[0], r.syn_us),
	       setup_cnt(b[1], r.syn_rtx), setup_cnt(b[2], r.syn_ovf),
	       setup_cnt(b[3], r.syn_drops),
	       setup_cnt(b[4], r.syn_synrtx),
	       setup_cnt(b[5], r.syn_tmo),
	       setup_cnt(b[6], r.ack_conn_us),
	       setup_cnt(b[7], r.ack_held),
	       setup_cnt(b[15], r.ack_attempts),
	       setup_cnt(b[8], r.ack_ovf), setup_cnt(b[9], r.ack_drops),
	       setup_cnt(b[10], r.ack_synrtx),
	       setup_cnt(b[11], r.ack_tmo),
	       setup_cnt(b[12], r.synack_ms),
	       setup_cnt(b[13], r.req_ms), setup_cnt(b[14], r.req_rtx));
	printf("  SYN dropped: connect() %s us, %s SYN retransmits\n",
	       b[0], b[1]);
	printf("    TcpExt: ListenOverflows %s ListenDrops %s\n",
	       b[2], b[3]);
	printf("  third ACK dropped: connect() %s us, request acked after %s ms\n",
	       b[6], b[13]);
	printf("    %s request retransmits, first SYN-ACK retransmit %s ms after the SYN\n",
	       b[14], b[12]);
	printf("    TcpExt: ListenOverflows %s ListenDrops %s SynRetrans %s Timeouts %s\n",
	       b[8], b[9], b[10], b[11]);

	return t->why[0] ? -1 : 0;
}

