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
 * It runs in its own network namespace over loopback, the server thread
 * and the client thread pinned to two different CPUs, for -t seconds,
 * and prints one line:
 *
 *   tcp_rr: mode=crr family=ipv4 secs=5.00 transactions=N rate=R p50_us=A p99_us=B
 *
 * rate is transactions per second; p50/p99 are the client's transaction
 * times (socket() to close() in crr, write() to the last byte of the
 * response in rr).  It is a benchmark, not a test: it has no verdict on
 * the rate.  It exits 1, with one line on stderr, when it could not
 * measure: a transaction failed, or two CPUs, the network namespace or
 * the IPv6 loopback were missing.
 */
#define _GNU_SOURCE
#include <unistd.h>
#include <poll.h>
#include <pthread.h>

#include "kselftest.h"
#include "lib/cpu.h"
#include "lib/netns.h"
#include "lib/opt.h"
#include "lib/sock.h"
#include "lib/stats.h"
#include "lib/stop.h"
#include "lib/tap.h"
#include "lib/time.h"

#define PROG		"tcp_rr"
#define SIZE_MAX_BYTES	65536
/* How long one socket call may block before the run is declared failed. */
#define IO_TIMEOUT_S	10

enum mode { MODE_CRR, MODE_RR };

struct run {
	enum mode mode;
	int family;
	unsigned long time_s;
	unsigned long size;
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

/* ---- main ------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [-m crr|rr] [-4|-6] [-t SECONDS] [-s BYTES]\n"
		"Request/response rate over loopback in a private network namespace.\n"
		"\n"
		"  -m crr|rr    crr: a new connection per transaction (default);\n"
		"               rr: one persistent connection\n"
		"  -4, -6       address family (default IPv4)\n"
		"  -t SECONDS   duration (default 5)\n"
		"  -s BYTES     request and response size (default 64)\n"
		"  -h           this text\n"
		"\n"
		"Prints \"%s: mode=... family=... secs=... transactions=... rate=...\n"
		"p50_us=... p99_us=...\" on one line.  Needs root (a network namespace).\n"
		"Exit: 0 measured, 1 could not measure, 2 bad arguments.\n",
		PROG, PROG);
}

static void parse_opts(int argc, char **argv, struct run *r)
{
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, ":m:46t:s:h")) != -1) {
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
		default:
			opt_help_or_bad(c, argv, usage);
		}
	}
	opt_no_operands(argc, argv);
	if (!r->family)
		r->family = AF_INET;
}

int main(int argc, char **argv)
{
	struct run r = {
		.mode = MODE_CRR,
		.time_s = 5,
		.size = 64,
		.lfd = -1,
	};
	pthread_t srv, cli;
	struct stats_summary s;
	unsigned short port;
	char why[256];
	double secs;

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
	r.lfd = sock_loopback_listen(r.family, 128, &port, &r.addr, &r.alen,
				     why, sizeof(why));
	if (r.lfd < 0) {
		fprintf(stderr, "%s: %s%s\n", PROG,
			r.family == AF_INET6 && errno == EADDRNOTAVAIL ?
			"no IPv6 loopback: " : "", why);
		return 1;
	}
	if (pthread_create(&srv, NULL, server_main, &r)) {
		fprintf(stderr, "%s: cannot start the server thread\n", PROG);
		return 1;
	}
	if (pthread_create(&cli, NULL, client_main, &r)) {
		fprintf(stderr, "%s: cannot start the client thread\n", PROG);
		stop_flag_set(&r.done);
		pthread_join(srv, NULL);
		return 1;
	}
	pthread_join(cli, NULL);
	pthread_join(srv, NULL);
	close(r.lfd);

	if (r.cli_why[0] || r.srv_why[0]) {
		fprintf(stderr, "%s: mode=%s family=%s failed after %lu transactions: %s%s%s\n",
			PROG, r.mode == MODE_RR ? "rr" : "crr",
			sock_family_name(r.family), r.n, r.cli_why,
			r.cli_why[0] && r.srv_why[0] ? "; " : "", r.srv_why);
		free(r.lat);
		return 1;
	}
	if (!r.n || stop_requested()) {
		fprintf(stderr, "%s: %s\n", PROG,
			stop_requested() ? "interrupted" : "no transaction completed");
		free(r.lat);
		return 1;
	}
	secs = (double)r.elapsed_ns / NSEC_PER_SEC;
	stats_summarize(r.lat, r.n, &s);
	printf("%s: mode=%s family=%s secs=%.2f ", PROG,
	       r.mode == MODE_RR ? "rr" : "crr", sock_family_name(r.family),
	       secs);
	printf("transactions=%lu rate=%.1f p50_us=%llu p99_us=%llu\n",
	       r.n, r.n / secs, s.p50, s.p99);
	free(r.lat);
	return 0;
}
