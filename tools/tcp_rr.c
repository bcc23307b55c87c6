// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists:
 *
 * The series' fixes sit on the TCP fast path: the TIME_WAIT and SYN
 * re-lookups and the closed-socket ACK are tested for every segment that
 * meets a socket in the wrong state, the stale-ACK resend for every SYN
 * that meets a timewait socket, the window clamp for every receive
 * buffer adjustment.  Their cost must be nil on the connections that
 * never need them.  This load generator gives a rate to compare with the
 * fixes on and off (scripts/measure/ab fastpath switches them through the
 * tcplat module in one boot):
 *
 *  - crr: the seed's client/server loop, one connection per transaction:
 *    the client connects, sends a small request, the server reads it,
 *    answers with a small response and closes first, the client reads the
 *    response and EOF and closes;
 *  - rr: one persistent connection, request and response back and forth.
 *
 * Two options load the tables the fixes look sockets up in, so that
 * their cost can be followed as the work grows (make bench, the scaling
 * profile): -c N keeps N crr connections in flight at once (one client
 * thread driving them through epoll, the server still one at a time;
 * the rate then counts the transactions of -t seconds after a warm-up of
 * a quarter of that, without the opening and the drain of the N),
 * -w K puts K TIME_WAIT sockets into the namespace before the run
 * (connections to other listeners, closed first by their server as in
 * crr; the count /proc/net/sockstat then shows is printed as tw=).
 *
 * It runs in its own network namespace over loopback, the server thread
 * and the client thread pinned to two different CPUs, for -t seconds,
 * and prints one line:
 *
 *   tcp_rr: mode=crr family=ipv4 conns=1 tw_fill=0 tw=0 secs=5.00 transactions=N
 *           rate=R p50_us=A p99_us=B
 *
 * rate is transactions per second; p50/p99 are the client's transaction
 * times (socket() to close() in crr, write() to the last byte of the
 * response in rr).  -M adds the namespace's TcpExt counters that moved
 * during the run, as "# TcpExt: NAME=+N ..." lines: what a rate that
 * moves from run to run was made of (SYN retransmissions, PAWS rejects,
 * TIME_WAIT reuse).  It is a benchmark, not a test: it has no verdict on
 * the rate.  It exits 1, with one line on stderr, when it could not
 * measure: a transaction failed, or two CPUs, the network namespace or
 * the IPv6 loopback were missing.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/epoll.h>

#include "kselftest.h"
#include "lib/cpu.h"
#include "lib/mib.h"
#include "lib/netns.h"
#include "lib/opt.h"
#include "lib/proc.h"
#include "lib/sock.h"
#include "lib/stats.h"
#include "lib/stop.h"
#include "lib/sysctl.h"
#include "lib/tap.h"
#include "lib/time.h"

#define PROG		"tcp_rr"
#define SIZE_MAX_BYTES	65536
/* How long one socket call may block before the run is declared failed. */
#define IO_TIMEOUT_S	10
#define CONNS_MAX	1000
#define TW_MAX		200000
/* -w: client ports TW_PORT_LO.. (below the ephemeral ports), per listener */
#define TW_PORT_LO	1024
#define TW_PER_PORT	31000

enum mode { MODE_CRR, MODE_RR };

struct run {
	enum mode mode;
	int family;
	unsigned long time_s;
	unsigned long size;
	unsigned long conns;	/* -c: crr connections in flight, 0: one, blocking */
	unsigned long tw_fill;	/* -w: TIME_WAIT sockets made before the run */
	bool tw_given;		/* -w given, 0 included */
	bool mib;		/* -M: print the TcpExt counters that moved */
	long long tw_seen;	/* TIME_WAIT sockets at the start of the run */
	int cpu_srv, cpu_cli;
	struct sockaddr_storage addr;
	socklen_t alen;
	int lfd;
	/* set by the client when it is done, read by the server */
	int done;
	/* results of the client */
	unsigned long long *lat;
	unsigned long n, cap;
	unsigned long long elapsed_ns;
	char srv_why[160];
	char cli_why[160];
};

/* ---- helpers --------------------------------------------------------- */

/* Read exactly @len bytes; 0, or -1 with errno (EPIPE on early EOF). */
static int read_full(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (!n) {
			errno = EPIPE;
			return -1;
		}
		got += n;
	}
	return 0;
}

static int write_full(int fd, const char *buf, size_t len)
{
	size_t put = 0;
	ssize_t n;

	while (put < len) {
		n = write(fd, buf + put, len - put);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		put += n;
	}
	return 0;
}

/* ---- server ----------------------------------------------------------- */

/* Wait for a connection on the listener; -1 when the client is done. */
static int server_accept(struct run *r)
{
	struct pollfd pfd = { .fd = r->lfd, .events = POLLIN };
	int fd;

	for (;;) {
		if (stop_flag_get(&r->done))
			return -1;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		fd = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			break;
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
			tap_msg(r->srv_why, "accept: %s", strerror(errno));
			return -1;
		}
	}
	if (sock_set_io_timeouts(fd, IO_TIMEOUT_S) ||
	    sock_set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1)) {
		tap_msg(r->srv_why, "setsockopt: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void *server_main(void *arg)
{
	struct run *r = arg;
	char *buf;
	int fd;

	cpu_pin(r->cpu_srv);
	buf = calloc(1, r->size);
	if (!buf) {
		tap_msg(r->srv_why, "out of memory");
		return NULL;
	}
	while ((fd = server_accept(r)) >= 0) {
		/* crr: one transaction, then the server closes first */
		do {
			if (read_full(fd, buf, r->size))
				break;
			if (write_full(fd, buf, r->size)) {
				tap_msg(r->srv_why, "server write: %s", strerror(errno));
				break;
			}
		} while (r->mode == MODE_RR);
		close(fd);
		if (r->srv_why[0])
			break;
	}
	free(buf);
	return NULL;
}

/* ---- client ----------------------------------------------------------- */

static int lat_push(struct run *r, unsigned long long ns)
{
	if (r->n == r->cap) {
		unsigned long cap = r->cap ? 2 * r->cap : 65536;
		unsigned long long *v = realloc(r->lat, cap * sizeof(*v));

		if (!v)
			return -1;
		r->lat = v;
		r->cap = cap;
	}
	r->lat[r->n++] = ns;
	return 0;
}

static int client_connect(struct run *r)
{
	int fd;

	fd = socket(r->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		tap_msg(r->cli_why, "socket: %s", strerror(errno));
		return -1;
	}
	if (sock_set_io_timeouts(fd, IO_TIMEOUT_S) ||
	    sock_set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1) ||
	    connect(fd, (struct sockaddr *)&r->addr, r->alen)) {
		tap_msg(r->cli_why, "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* One request and its response on @fd; 0 or -1 with cli_why set. */
static int client_rr(struct run *r, int fd, char *req, char *resp)
{
	if (write_full(fd, req, r->size)) {
		tap_msg(r->cli_why, "client write: %s", strerror(errno));
		return -1;
	}
	if (read_full(fd, resp, r->size)) {
		tap_msg(r->cli_why, "client read: %s", strerror(errno));
		return -1;
	}
	if (memcmp(req, resp, r->size)) {
		tap_msg(r->cli_why, "response differs from the request");
		return -1;
	}
	return 0;
}

/* crr: the whole connection; 0 or -1 with cli_why set. */
static int client_crr_one(struct run *r, char *req, char *resp)
{
	char eof;
	ssize_t n;
	int fd;

	fd = client_connect(r);
	if (fd < 0)
		return -1;
	if (client_rr(r, fd, req, resp)) {
		close(fd);
		return -1;
	}
	n = read(fd, &eof, 1);
	if (n != 0) {
		tap_msg(r->cli_why, "no EOF after the response: %s",
			n < 0 ? strerror(errno) : "extra data");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * crr with -c N: N connections in flight, each in one slot, driven by
 * one epoll loop.  A slot's socket is non-blocking; its request is
 * written once the connection is up (blocking: it fits the send buffer),
 * its response and EOF read as they come.
 */
struct slot {
	int fd;
	bool sent;
	size_t got;		/* response bytes read */
	unsigned long long t1;	/* when socket() was called */
	char *req, *resp;
};

static int slot_open(struct run *r, int ep, struct slot *s,
		     unsigned long long seq)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = s };

	memcpy(s->req, &seq, r->size < sizeof(seq) ? r->size : sizeof(seq));
	s->sent = false;
	s->got = 0;
	s->t1 = time_ns();
	s->fd = sock_connect_start(r->family, &r->addr, r->alen);
	if (s->fd < 0 || sock_set_int(s->fd, IPPROTO_TCP, TCP_NODELAY, 1) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev)) {
		tap_msg(r->cli_why, "connect: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The connection is up: send the request, then wait for the response. */
static int slot_send(struct run *r, int ep, struct slot *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
		tap_msg(r->cli_why, "connect: %s", strerror(err ? err : errno));
		return -1;
	}
	if (fcntl(s->fd, F_SETFL, 0) || sock_set_io_timeouts(s->fd, IO_TIMEOUT_S) ||
	    write_full(s->fd, s->req, r->size)) {
		tap_msg(r->cli_why, "client write: %s", strerror(errno));
		return -1;
	}
	s->sent = true;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev)) {
		tap_msg(r->cli_why, "epoll: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Read what has come; 1 when the response and EOF are in, 0 not yet. */
static int slot_read(struct run *r, struct slot *s)
{
	char eof;
	ssize_t n;

	for (;;) {
		if (s->got < r->size)
			n = recv(s->fd, s->resp + s->got, r->size - s->got,
				 MSG_DONTWAIT);
		else
			n = recv(s->fd, &eof, 1, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n < 0) {
			tap_msg(r->cli_why, "client read: %s", strerror(errno));
			return -1;
		}
		if (!n)
			break;
		if (s->got == r->size) {
			tap_msg(r->cli_why, "no EOF after the response: extra data");
			return -1;
		}
		s->got += n;
	}
	if (s->got < r->size || memcmp(s->req, s->resp, r->size)) {
		tap_msg(r->cli_why, "response %s",
			s->got < r->size ? "cut short by EOF" : "differs from the request");
		return -1;
	}
	return 1;
}

/* The epoll loop: a slot whose transaction is done starts the next one
 * until the time is up, then the slots drain.  The rate counts only the
 * transactions done in the -t seconds after a warm-up of a quarter of
 * that: the opening of the first N connections at once and the drain at
 * the end vary from run to run (1.00 to 1.05 s for a run of 1 s with
 * 1,000 connections) and are not the steady state being measured.
 */
static void client_many(struct run *r, struct slot *slots, int ep)
{
	unsigned long long t0, start, end, now, last, seq = 0;
	struct epoll_event evs[64];
	unsigned long i, active = 0;
	int n, k, ret;

	t0 = time_ns();
	start = t0 + r->time_s * NSEC_PER_SEC / 4;
	end = start + r->time_s * NSEC_PER_SEC;
	for (i = 0; i < r->conns; i++, active++)
		if (slot_open(r, ep, &slots[i], seq++))
			return;
	for (last = t0; active; ) {
		n = epoll_wait(ep, evs, 64, 100);
		now = time_ns();
		if (n < 0 && errno != EINTR) {
			tap_msg(r->cli_why, "epoll: %s", strerror(errno));
			return;
		}
		if (n <= 0 && (stop_requested() ||
			       now - last > IO_TIMEOUT_S * NSEC_PER_SEC)) {
			tap_msg(r->cli_why, "%s", stop_requested() ?
				"interrupted" : "no progress for 10 s");
			return;
		}
		for (k = 0; k < n; k++) {
			struct slot *s = evs[k].data.ptr;

			last = now;
			ret = s->sent ? slot_read(r, s) : slot_send(r, ep, s);
			if (ret < 0)
				return;
			if (!ret)
				continue;
			close(s->fd);
			s->fd = -1;
			if (now >= start && now < end && lat_push(r, now - s->t1)) {
				tap_msg(r->cli_why, "out of memory");
				return;
			}
			if (now < end && !stop_requested()) {
				if (slot_open(r, ep, s, seq++))
					return;
			} else {
				active--;
			}
		}
	}
	r->elapsed_ns = end - start;
}

static void *client_many_main(void *arg)
{
	struct run *r = arg;
	struct slot *slots;
	unsigned long i;
	char *bufs;
	int ep;

	cpu_pin(r->cpu_cli);
	slots = calloc(r->conns, sizeof(*slots));
	bufs = calloc(r->conns, 2 * r->size);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!slots || !bufs || ep < 0) {
		tap_msg(r->cli_why, "%s", ep < 0 ? "epoll_create1 failed" : "out of memory");
		goto out;
	}
	for (i = 0; i < r->conns; i++) {
		slots[i].fd = -1;
		slots[i].req = bufs + 2 * i * r->size;
		slots[i].resp = slots[i].req + r->size;
	}
	client_many(r, slots, ep);
	for (i = 0; i < r->conns; i++)
		if (slots[i].fd >= 0)
			close(slots[i].fd);
out:
	if (ep >= 0)
		close(ep);
	stop_flag_set(&r->done);
	free(slots);
	free(bufs);
	return NULL;
}

static void *client_main(void *arg)
{
	struct run *r = arg;
	unsigned long long t0, t, end, seq = 0;
	char *req, *resp;
	int fd = -1;

	cpu_pin(r->cpu_cli);
	req = calloc(1, r->size);
	resp = calloc(1, r->size);
	if (!req || !resp) {
		tap_msg(r->cli_why, "out of memory");
		goto out;
	}
	if (r->mode == MODE_RR) {
		fd = client_connect(r);
		if (fd < 0)
			goto out;
	}
	t0 = time_ns();
	end = t0 + r->time_s * NSEC_PER_SEC;
	for (t = t0; t < end && !stop_requested(); seq++) {
		unsigned long long t1 = t;
		int ret;

		memcpy(req, &seq, r->size < sizeof(seq) ? r->size : sizeof(seq));
		if (r->mode == MODE_RR)
			ret = client_rr(r, fd, req, resp);
		else
			ret = client_crr_one(r, req, resp);
		if (ret)
			break;
		t = time_ns();
		if (lat_push(r, t - t1)) {
			tap_msg(r->cli_why, "out of memory");
			break;
		}
	}
	r->elapsed_ns = time_ns() - t0;
out:
	if (fd >= 0)
		close(fd);
	stop_flag_set(&r->done);
	free(req);
	free(resp);
	return NULL;
}

/* ---- TIME_WAIT sockets before the run (-w) --------------------------- */

/*
 * One connection from local port @lport to @lfd, closed first by its
 * server: one TIME_WAIT socket.  The port is chosen here, not by
 * connect(): connect() does not see the server side's TIME_WAIT sockets
 * of its own earlier connections and picks their ports again, and the
 * SYN then recycles that TIME_WAIT socket instead of adding one.
 */
static int tw_one(int lfd, int family, struct sockaddr_storage *ss,
		  socklen_t len, unsigned short lport)
{
	struct sockaddr_storage src;
	socklen_t slen;
	int cfd, sfd;

	slen = sock_loopback_addr(family, lport, &src);
	cfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0)
		return -1;
	if (sock_set_int(cfd, SOL_SOCKET, SO_REUSEADDR, 1) ||
	    bind(cfd, (struct sockaddr *)&src, slen) ||
	    connect(cfd, (struct sockaddr *)ss, len)) {
		close(cfd);
		return -1;
	}
	sfd = sock_accept_one(lfd, IO_TIMEOUT_S * NSEC_PER_SEC);
	if (sfd < 0) {
		close(cfd);
		return -1;
	}
	close(sfd);
	close(cfd);
	return 0;
}

/*
 * -w K: K TIME_WAIT sockets, each from its own (listener, client port)
 * pair: client ports TW_PORT_LO.., below the ephemeral range where the
 * listeners' ports are, and a new listener each TW_PER_PORT connections.
 * tcp_max_tw_buckets is raised first, for -w 0 too: a namespace's
 * default (half the established hash) is below what a second of crr
 * leaves, and the sockets over it skip TIME_WAIT, a cheaper path that
 * would make the runs without a fill look slower than those with one.
 */
static int tw_fill(struct run *r, char *why, size_t sz)
{
	struct sockaddr_storage ss;
	unsigned long i;
	unsigned short port;
	socklen_t len;
	int lfd = -1;

	if (sysctl_write("/proc/sys/net/ipv4/tcp_max_tw_buckets", "1000000")) {
		snprintf(why, sz, "cannot raise tcp_max_tw_buckets: %s",
			 strerror(errno));
		return -1;
	}
	for (i = 0; i < r->tw_fill; i++) {
		if (i % TW_PER_PORT == 0) {
			if (lfd >= 0)
				close(lfd);
			lfd = sock_loopback_listen(r->family, 128, &port, &ss,
						   &len, why, sz);
			if (lfd < 0)
				return -1;
		}
		if (tw_one(lfd, r->family, &ss, len,
			   TW_PORT_LO + i % TW_PER_PORT)) {
			snprintf(why, sz, "TIME_WAIT fill, connection %lu: %s",
				 i + 1, strerror(errno));
			close(lfd);
			return -1;
		}
	}
	if (lfd >= 0)
		close(lfd);
	return 0;
}

/* ---- main ------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [-m crr|rr] [-4|-6] [-t SECONDS] [-s BYTES] [-c CONNS] [-w TW] [-M]\n"
		"Request/response rate over loopback in a private network namespace.\n"
		"\n"
		"  -m crr|rr    crr: a new connection per transaction (default);\n"
		"               rr: one persistent connection\n"
		"  -4, -6       address family (default IPv4)\n"
		"  -t SECONDS   duration (default 5)\n"
		"  -s BYTES     request and response size (default 64)\n"
		"  -c CONNS     crr: CONNS connections in flight at once (1-%d)\n"
		"  -w TW        TW TIME_WAIT sockets in the namespace first (0-%d)\n"
		"  -M           then the namespace's TcpExt counters that moved in the\n"
		"               run (after the -w fill), as \"# TcpExt: NAME=+N ...\" lines\n"
		"  -h           this text\n"
		"\n"
		"Prints \"%s: mode=... family=... conns=... tw_fill=... tw=... secs=...\n"
		"transactions=... rate=... p50_us=... p99_us=...\" on one line.  Needs root (a network\n"
		"namespace).  Exit: 0 measured, 1 could not measure, 2 bad arguments.\n",
		PROG, CONNS_MAX, TW_MAX, PROG);
}

static void parse_opts(int argc, char **argv, struct run *r)
{
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, ":m:46t:s:c:w:Mh")) != -1) {
		switch (c) {
		case 'm':
			if (!strcmp(optarg, "crr"))
				r->mode = MODE_CRR;
			else if (!strcmp(optarg, "rr"))
				r->mode = MODE_RR;
			else
				opt_bad_arg("-m", optarg, "need crr or rr");
			break;
		case '4':
		case '6':
			opt_family(c, &r->family);
			break;
		case 't':
			r->time_s = opt_short_ulong(c, optarg, 1, 3600);
			break;
		case 's':
			r->size = opt_short_ulong(c, optarg, 1, SIZE_MAX_BYTES);
			break;
		case 'c':
			r->conns = opt_short_ulong(c, optarg, 1, CONNS_MAX);
			break;
		case 'w':
			r->tw_fill = opt_short_ulong(c, optarg, 0, TW_MAX);
			r->tw_given = true;
			break;
		case 'M':
			r->mib = true;
			break;
		default:
			opt_help_or_bad(c, argv, usage);
		}
	}
	opt_no_operands(argc, argv);
	if (r->conns && r->mode == MODE_RR)
		opt_bad_arg("-c", "with -m rr", "-c is for crr only");
	if (!r->family)
		r->family = AF_INET;
}

/*
 * The result line, or why there is none (exit 1); with -M, the TcpExt
 * counters that moved since @m0.
 */
static int report(struct run *r, const struct mib_snap *m0)
{
	struct stats_summary s;
	struct mib_snap m1;
	double secs;

	if (r->cli_why[0] || r->srv_why[0]) {
		fprintf(stderr, "%s: mode=%s family=%s failed after %lu transactions: %s%s%s\n",
			PROG, r->mode == MODE_RR ? "rr" : "crr",
			sock_family_name(r->family), r->n, r->cli_why,
			r->cli_why[0] && r->srv_why[0] ? "; " : "", r->srv_why);
		free(r->lat);
		return 1;
	}
	if (!r->n || stop_requested()) {
		fprintf(stderr, "%s: %s\n", PROG,
			stop_requested() ? "interrupted" : "no transaction completed");
		free(r->lat);
		return 1;
	}
	secs = (double)r->elapsed_ns / NSEC_PER_SEC;
	stats_summarize(r->lat, r->n, &s);
	printf("%s: mode=%s family=%s conns=%lu tw_fill=%lu tw=%lld secs=%.2f ",
	       PROG, r->mode == MODE_RR ? "rr" : "crr",
	       sock_family_name(r->family), r->conns ? r->conns : 1, r->tw_fill,
	       r->tw_seen, secs);
	printf("transactions=%lu rate=%.1f p50_us=%llu p99_us=%llu\n",
	       r->n, r->n / secs, s.p50, s.p99);
	free(r->lat);
	if (r->mib) {
		mib_snapshot(&m1);
		mib_print_deltas_lead("# ", "TcpExt", m0, &m1, NULL, 0, true);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct run r = {
		.mode = MODE_CRR,
		.time_s = 5,
		.size = 64,
		.lfd = -1,
	};
	struct mib_snap m0 = { 0 };
	pthread_t srv, cli;
	unsigned short port;
	char why[256];

	parse_opts(argc, argv, &r);
	stop_catch_signals();
	if (cpu_pick_two(&r.cpu_srv, &r.cpu_cli) != 2) {
		fprintf(stderr, "%s: needs two CPUs for the server and client threads\n",
			PROG);
		return 1;
	}
	if (netns_enter(why, sizeof(why))) {
		fprintf(stderr, "%s: %s\n", PROG, why);
		return 1;
	}
	if (r.tw_given && tw_fill(&r, why, sizeof(why))) {
		fprintf(stderr, "%s: %s\n", PROG, why);
		return 1;
	}
	/* -c N: N client sockets and N accepted ones open at once */
	if (r.conns && sock_reserve_fds(2 * r.conns + 64)) {
		fprintf(stderr, "%s: cannot open %lu files: %s\n", PROG,
			2 * r.conns + 64, strerror(errno));
		return 1;
	}
	r.tw_seen = proc_sockstat_tcp("tw");
	r.lfd = sock_loopback_listen(r.family, r.conns > 128 ? r.conns : 128,
				     &port, &r.addr, &r.alen, why, sizeof(why));
	if (r.lfd < 0) {
		fprintf(stderr, "%s: %s%s\n", PROG,
			r.family == AF_INET6 && errno == EADDRNOTAVAIL ?
			"no IPv6 loopback: " : "", why);
		return 1;
	}
	if (r.mib)
		mib_snapshot(&m0);
	if (pthread_create(&srv, NULL, server_main, &r)) {
		fprintf(stderr, "%s: cannot start the server thread\n", PROG);
		return 1;
	}
	if (pthread_create(&cli, NULL, r.conns ? client_many_main : client_main, &r)) {
		fprintf(stderr, "%s: cannot start the client thread\n", PROG);
		stop_flag_set(&r.done);
		pthread_join(srv, NULL);
		return 1;
	}
	pthread_join(cli, NULL);
	pthread_join(srv, NULL);
	close(r.lfd);
	return report(&r, &m0);
}
