// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists:
 *
 * In April 2003 Davide Libenzi reported on LKML ("loopback behaviour under
 * high load") that an epoll HTTP server and load generator talking over
 * loopback at ~30000 transactions/s left a few connections stuck for about
 * 120 s: connect() and write() had succeeded, the request sat in the
 * client's send queue (netstat Send-Q=N, server Recv-Q=0), and tcpdump
 * showed the server answering the request with a repeated SYN-ACK, i.e.
 * the server never saw the third ACK.  A small delay between connect() and
 * send() made the problem go away.
 *
 * The mechanism is still there today.  With tcp_abort_on_overflow=0, a
 * third ACK that finds the listener's accept queue full is dropped
 * (ListenOverflows, ListenDrops) and the request socket stays in SYN_RECV,
 * retransmitting SYN-ACKs with exponential backoff (1 s, 2 s, 4 s ...).
 * The client is ESTABLISHED since it sent that ACK: it writes its request,
 * which is dropped the same way until one of its retransmissions, or its
 * answer to a retransmitted SYN-ACK (a challenge ACK, TCPSYNChallenge),
 * meets a free slot in the accept queue.  Until then the request sits
 * unacknowledged in the client's send queue.  Unlike 2.4-era kernels,
 * which dropped such a SYN only when more than one young request was
 * pending, a SYN that finds the accept queue full is dropped too, so most
 * stalls today are connect() stalls of 1 s or more (the SYN is
 * retransmitted); the tool tells them apart.
 *
 * This tool drives many concurrent short HTTP-like transactions over
 * loopback against a server with a deliberately small listen backlog and,
 * optionally, a slow accept loop.  Per transaction it measures the time
 * from connect() to the complete response, checks every response byte, and
 * when the response has not arrived PROBE_MS after the write, samples the
 * client socket (SIOCOUTQ, TCP_INFO) to tell a request stuck in the client's
 * send queue (the 2003 case) from a stalled connect() (a dropped SYN) and
 * from a slow server.  TcpExt counter deltas of the run's own network
 * namespace explain the stalls; SYN-ACK retransmits are TCPSynRetrans minus
 * the SYN retransmits the clients saw (tcp_rtx_synack() and SYN retransmits
 * share LINUX_MIB_TCPSYNRETRANS).
 *
 * A measurement: it reports stalls and failed transactions (failed=,
 * failed_socket=, "failed: REASON N" lines) and judges nothing; that every
 * request over a small backlog is answered byte for byte is asserted by
 * selftests/tcp_listen_queues (overflow_requests_complete).  Exit 0 when
 * it measured, 1 when it could not (no transaction completed, the server
 * or a thread could not start, interrupted), 2 on a usage error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <linux/sockios.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>

#include "kselftest.h"
#include "lib/mib.h"
#include "lib/netns.h"
#include "lib/opt.h"
#include "lib/sock.h"
#include "lib/stats.h"
#include "lib/stop.h"
#include "lib/sysctl.h"
#include "lib/time.h"

#define PROG			"tcp_lo_stall"

#define MAX_CLIENTS		1024
/* Response body bytes. */
#define RESP_SIZE		512
#define RESP_BUF_SIZE		(128 + RESP_SIZE)
/* First sample of the client socket this long after the request. */
#define PROBE_MS		100UL
/* Stalled transactions listed. */
#define SHOW_MAX		10
#define REQ_MAX			64
#define STALL_NS		NSEC_PER_SEC
/* While the request is unacked after the probe, look again this often. */
#define OUTQ_POLL_NS		(10 * NSEC_PER_MSEC)
/* Longest single poll() wait, so that a signal stops a client quickly. */
#define POLL_SLICE_NS		(200 * NSEC_PER_MSEC)

struct options {
	unsigned long time_s;
	unsigned long clients;
	unsigned long backlog;
	unsigned long accept_delay_us;
	unsigned long send_delay_us;
	unsigned long ramp_ms;
	unsigned long io_timeout_s;
	unsigned int port;
	bool ipv4;
	bool ipv6;
};

/* ---- command line ---------------------------------------------------- */

static void print_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [-4|-6] [-t SECONDS] [-c N] [-b N] [-a US] [-S US] [-r MS] [-p PORT]\n"
		"Loopback stalls of short transactions when the accept queue overflows\n"
		"(LKML 2003 \"loopback behaviour under high load\").\n"
		"\n"
		"  -t SECONDS  run time per family (default 10); transactions in flight\n"
		"              then finish or fail 2 * SECONDS + 10 s after their connect()\n"
		"  -c N        concurrent client threads (default 32)\n"
		"  -b N        listen() backlog of the server (default 8)\n"
		"  -a US       pause after each accept(): a slow accept loop (default 1000)\n"
		"  -S US       pause between connect() and the request (default 0; the\n"
		"              2003 report's workaround)\n"
		"  -r MS       start the clients evenly over MS ms (default 1000)\n"
		"  -4, -6      one address family only (127.0.0.1 or ::1; default both)\n"
		"  -p PORT     server port (default 0: any free port)\n"
		"\n"
		"Each family runs in its own network namespace (needs root).  A transaction\n"
		"is stalled when it took 1 s or more from connect() to the end of the\n"
		"response.  Prints \"%s: family=F key=value ...\" per family.\n"
		"Exit: 0 measured, 1 could not, 2 usage error.\n",
		PROG, PROG);
}

static void parse_opts(int argc, char **argv, struct options *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->time_s = 10;
	o->clients = 32;
	o->backlog = 8;
	o->accept_delay_us = 1000;
	o->ramp_ms = 1000;

	opterr = 0;
	while ((c = getopt(argc, argv, ":t:c:b:a:S:r:p:46h")) != -1) {
		switch (c) {
		case 't':
			o->time_s = opt_short_ulong(c, optarg, 1, 3600);
			break;
		case 'c':
			o->clients = opt_short_ulong(c, optarg, 1, MAX_CLIENTS);
			break;
		case 'b':
			o->backlog = opt_short_ulong(c, optarg, 0, 4096);
			break;
		case 'a':
			o->accept_delay_us = opt_short_ulong(c, optarg, 0, 1000000);
			break;
		case 'S':
			o->send_delay_us = opt_short_ulong(c, optarg, 0, 1000000);
			break;
		case 'r':
			o->ramp_ms = opt_short_ulong(c, optarg, 0, 60000);
			break;
		case 'p':
			o->port = opt_short_ulong(c, optarg, 0, 65535);
			break;
		case '4':
			o->ipv4 = true;
			break;
		case '6':
			o->ipv6 = true;
			break;
		case 'h':
			print_usage(stdout);
			exit(0);
		default:
			opt_bad_option(c, argv);
		}
	}
	opt_no_operands(argc, argv);
	if (o->ipv4 && o->ipv6)
		opt_usage_error("-4 and -6 exclude each other");
	if (!o->ipv4 && !o->ipv6) {
		o->ipv4 = true;
		o->ipv6 = true;
	}
	/*
	 * A request stuck behind a full accept queue gets in with the first
	 * retransmission after the load stops.  Retransmissions back off
	 * exponentially, so that one comes at most about one run time after
	 * the end of the run: wait that long before calling it failed.
	 */
	o->io_timeout_s = 2 * o->time_s + 10;
}

/* ---- the protocol ------------------------------------------------------ */

/*
 * Request: "GET /<client>/<seq> HTTP/1.0\r\n\r\n".  Response: a header
 * naming the same transaction and a body of pseudo-random bytes derived
 * from it, so that every byte the client reads can be checked.
 */
static int build_request(char *buf, size_t sz, unsigned int cli,
			 unsigned long seq)
{
	return snprintf(buf, sz, "GET /%u/%lu HTTP/1.0\r\n\r\n", cli, seq);
}

static size_t build_response(char *buf, size_t sz, unsigned int cli,
			     unsigned long seq, unsigned long body)
{
	unsigned int x = (cli + 1) * 2654435761U ^ (unsigned int)seq * 40503U ^
			 (unsigned int)(seq >> 32) ^ 0x9e3779b9U;
	unsigned long i;
	int hlen;

	hlen = snprintf(buf, sz,
			"HTTP/1.0 200 OK\r\nContent-Length: %lu\r\nX-Txn: %u/%lu\r\n\r\n",
			body, cli, seq);
	if (hlen < 0 || (size_t)hlen + body > sz)
		return 0;
	if (!x)
		x = 1;
	for (i = 0; i < body; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[hlen + i] = (char)(x >> 24);
	}
	return hlen + body;
}

/* ---- one test's state ---------------------------------------------------- */

/* 0 is success: transaction() returns FAIL_NONE or why it failed. */
enum fail_reason {
	FAIL_NONE,
	FAIL_SOCKET,
	FAIL_CONNECT,
	FAIL_CONNECT_TIMEOUT,
	FAIL_WRITE,
	FAIL_RECV,
	FAIL_RESET,
	FAIL_TIMEOUT,
	FAIL_SHORT,
	FAIL_LONG,
	FAIL_CORRUPT,
	FAIL_INTERRUPTED,
	FAIL_MAX,
};

static const char * const fail_names[FAIL_MAX] = {
	[FAIL_NONE]		= "none",
	[FAIL_SOCKET]		= "socket",
	[FAIL_CONNECT]		= "connect_error",
	[FAIL_CONNECT_TIMEOUT]	= "connect_timeout",
	[FAIL_WRITE]		= "write_error",
	[FAIL_RECV]		= "recv_error",
	[FAIL_RESET]		= "reset",
	[FAIL_TIMEOUT]		= "response_timeout",
	[FAIL_SHORT]		= "short_response",
	[FAIL_LONG]		= "long_response",
	[FAIL_CORRUPT]		= "corrupt_response",
	[FAIL_INTERRUPTED]	= "interrupted",
};

/* One completed transaction. */
struct txn {
	unsigned long long start_ns;	/* since the start of the test */
	unsigned long long total_ns;	/* connect() start to end of response */
	unsigned long long connect_ns;
	unsigned long long unacked_ns;	/* request unacked for at least this */
	unsigned long seq;
	unsigned int cli;
	unsigned int outq;		/* SIOCOUTQ at the probe */
	unsigned int outq_1s;		/* SIOCOUTQ 1 s after the write */
	unsigned int unacked;		/* tcpi_unacked at the probe */
	unsigned int retransmits;	/* tcpi_retransmits at the probe */
	unsigned int syn_rtx;		/* SYN retransmits before connect() returned */
	unsigned int data_rtx;		/* retransmits after connect() returned */
	unsigned short cport;
	bool probed;			/* no response byte at the probe */
	bool probed_1s;
};

struct test;

struct client {
	struct test *t;
	pthread_t tid;
	unsigned int id;
	struct txn *txns;
	unsigned long n, cap;
	unsigned long fails[FAIL_MAX];
	unsigned long syn_rtx;		/* also of failed transactions */
	char *buf;
	char *expect;
};

struct conn {
	struct conn *prev, *next;	/* open connections, under test->lock */
	int fd;
	unsigned int rlen;
	char req[REQ_MAX];
	char *resp;
	size_t resp_len, off;
};

struct server_thread {
	struct test *t;
	pthread_t tid;
	int epfd;
	unsigned long served;
	unsigned long bad_req;
	unsigned long early_eof;
	unsigned long io_err;
};

struct test {
	const struct options *o;
	int family;
	const char *fname;
	int lfd;
	unsigned short sport;
	unsigned long long t0;
	unsigned long long deadline;
	int stop_clients;
	int stop_server;
	pthread_t acceptor;
	bool acceptor_started;
	bool srv_started;		/* server thread running */
	int srv_errno;			/* errno of a failed server_start() */
	unsigned long accepted;
	unsigned long accept_err;
	unsigned long left_open;	/* accepted, never answered */
	struct conn conns;		/* list head of open connections */
	struct server_thread srv;
	struct client *cli;
	pthread_mutex_t lock;
	char err[256];			/* first failure, for the report */
	unsigned int fails_shown;
};

static void note_err(struct test *t, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&t->lock);
	if (!t->err[0]) {
		va_start(ap, fmt);
		vsnprintf(t->err, sizeof(t->err), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&t->lock);
}

/* ---- server -------------------------------------------------------------- */

static void conn_add(struct test *t, struct conn *c)
{
	pthread_mutex_lock(&t->lock);
	c->next = t->conns.next;
	c->prev = &t->conns;
	t->conns.next->prev = c;
	t->conns.next = c;
	pthread_mutex_unlock(&t->lock);
}

static void conn_free(struct test *t, struct conn *c)
{
	pthread_mutex_lock(&t->lock);
	c->prev->next = c->next;
	c->next->prev = c->prev;
	pthread_mutex_unlock(&t->lock);
	close(c->fd);
	free(c->resp);
	free(c);
}

/* Write what is left of the response; 1 when done, 0 to wait, -1 on error. */
static int conn_write(struct server_thread *st, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	ssize_t n;

	while (c->off < c->resp_len) {
		n = send(c->fd, c->resp + c->off, c->resp_len - c->off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->off += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (epoll_ctl(st->epfd, EPOLL_CTL_MOD, c->fd, &ev))
				return -1;
			return 0;
		}
		return -1;
	}
	return 1;
}

/* Read the request and answer it; true when @c is finished. */
static bool conn_event(struct server_thread *st, struct conn *c)
{
	struct test *t = st->t;
	char again[REQ_MAX];
	unsigned long seq;
	unsigned int cli;
	ssize_t n;
	int ret;

	if (c->resp)
		goto write;
	for (;;) {
		n = recv(c->fd, c->req + c->rlen, sizeof(c->req) - 1 - c->rlen,
			 MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return false;
		if (n < 0) {
			st->io_err++;
			return true;
		}
		if (!n) {
			/* The client gave up; it counted the failure. */
			st->early_eof++;
			return true;
		}
		c->rlen += n;
		c->req[c->rlen] = '\0';
		if (strstr(c->req, "\r\n\r\n"))
			break;
		if (c->rlen == sizeof(c->req) - 1)
			goto bad;
	}
	if (sscanf(c->req, "GET /%u/%lu ", &cli, &seq) != 2)
		goto bad;
	build_request(again, sizeof(again), cli, seq);
	if (strcmp(again, c->req))
		goto bad;
	c->resp = malloc(RESP_BUF_SIZE);
	if (!c->resp) {
		note_err(t, "server: out of memory");
		st->io_err++;
		return true;
	}
	c->resp_len = build_response(c->resp, RESP_BUF_SIZE, cli, seq,
				     RESP_SIZE);
write:
	ret = conn_write(st, c);
	if (!ret)
		return false;
	if (ret < 0)
		st->io_err++;
	else
		st->served++;
	return true;
bad:
	note_err(t, "server: malformed request (%u bytes): %.40s", c->rlen, c->req);
	st->bad_req++;
	return true;
}

static void *server_thread_fn(void *arg)
{
	struct server_thread *st = arg;
	struct epoll_event evs[64];
	int i, n;

	for (;;) {
		n = epoll_wait(st->epfd, evs, 64, 50);
		if (n < 0 && errno != EINTR) {
			note_err(st->t, "server: epoll_wait: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (conn_event(st, c))
				conn_free(st->t, c);
		}
		if (n <= 0 && stop_flag_get(&st->t->stop_server))
			break;
	}
	return NULL;
}

static void *acceptor_fn(void *arg)
{
	struct test *t = arg;
	struct pollfd pfd = { .fd = t->lfd, .events = POLLIN };

	while (!stop_flag_get(&t->stop_server)) {
		struct epoll_event ev;
		struct conn *c;
		int fd;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		fd = accept4(t->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
				t->accept_err++;
				note_err(t, "server: accept: %s", strerror(errno));
				time_sleep_ns(10 * NSEC_PER_MSEC);
			}
			continue;
		}
		t->accepted++;
		c = calloc(1, sizeof(*c));
		if (!c) {
			note_err(t, "server: out of memory");
			close(fd);
			continue;
		}
		c->fd = fd;
		conn_add(t, c);
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(t->srv.epfd, EPOLL_CTL_ADD, fd, &ev)) {
			note_err(t, "server: epoll_ctl: %s", strerror(errno));
			conn_free(t, c);
			continue;
		}
		if (t->o->accept_delay_us)
			time_sleep_ns(t->o->accept_delay_us * NSEC_PER_USEC);
	}
	return NULL;
}

static int server_start(struct test *t)
{
	struct sockaddr_storage ss;
	socklen_t alen;
	int ret;

	t->lfd = socket(t->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (t->lfd < 0) {
		t->srv_errno = errno;
		snprintf(t->err, sizeof(t->err), "server socket: %s", strerror(errno));
		return -1;
	}
	alen = sock_loopback_addr(t->family, t->o->port, &ss);
	if (sock_set_int(t->lfd, SOL_SOCKET, SO_REUSEADDR, 1) ||
	    bind(t->lfd, (struct sockaddr *)&ss, alen) ||
	    listen(t->lfd, t->o->backlog) ||
	    sock_local_port(t->lfd, &t->sport)) {
		t->srv_errno = errno;
		snprintf(t->err, sizeof(t->err), "server bind/listen on port %u: %s",
			 t->o->port, strerror(errno));
		return -1;
	}
	t->srv.t = t;
	t->srv.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->srv.epfd < 0) {
		snprintf(t->err, sizeof(t->err), "epoll_create1: %s", strerror(errno));
		return -1;
	}
	ret = pthread_create(&t->srv.tid, NULL, server_thread_fn, &t->srv);
	if (ret) {
		snprintf(t->err, sizeof(t->err), "pthread_create: %s", strerror(ret));
		return -1;
	}
	t->srv_started = true;
	ret = pthread_create(&t->acceptor, NULL, acceptor_fn, t);
	if (ret) {
		snprintf(t->err, sizeof(t->err), "pthread_create: %s", strerror(ret));
		return -1;
	}
	t->acceptor_started = true;
	return 0;
}

/* Stop and join the server threads that were started; count what is left. */
static void server_stop(struct test *t)
{
	stop_flag_set(&t->stop_server);
	if (t->acceptor_started)
		pthread_join(t->acceptor, NULL);
	if (t->srv_started)
		pthread_join(t->srv.tid, NULL);
	/* Connections still open: the clients are gone, drop them. */
	while (t->conns.next != &t->conns) {
		conn_free(t, t->conns.next);
		t->left_open++;
	}
	if (t->srv.epfd >= 0)
		close(t->srv.epfd);
	if (t->lfd >= 0)
		close(t->lfd);
}

/* ---- client -------------------------------------------------------------- */

static int txn_push(struct client *c, const struct txn *x)
{
	if (c->n == c->cap) {
		unsigned long cap = c->cap ? 2 * c->cap : 1024;
		struct txn *p = realloc(c->txns, cap * sizeof(*p));

		if (!p)
			return -1;
		c->txns = p;
		c->cap = cap;
	}
	c->txns[c->n++] = *x;
	return 0;
}

static unsigned int outq_bytes(int fd)
{
	int v = 0;

	if (ioctl(fd, SIOCOUTQ, &v) || v < 0)
		return 0;
	return v;
}

/* Every byte of the response as expected: 0, else FAIL_CORRUPT. */
static int check_body(struct client *c, const struct txn *x, size_t len)
{
	size_t i;

	if (!memcmp(c->buf, c->expect, len))
		return 0;
	for (i = 0; i < len && c->buf[i] == c->expect[i]; i++)
		;
	note_err(c->t, "client %u txn %lu: response byte %zu is 0x%02x, expected 0x%02x",
		 c->id, x->seq, i, (unsigned char)c->buf[i],
		 (unsigned char)c->expect[i]);
	return FAIL_CORRUPT;
}

/*
 * Wait for the response and check it.  @t0 is when connect() started, @tw
 * when the request was written.  Returns 0 or a fail_reason.
 */
static int read_response(struct client *c, int fd, unsigned long long t0,
			 unsigned long long tw, size_t expect_len, struct txn *x)
{
	const struct options *o = c->t->o;
	unsigned long long deadline = t0 + o->io_timeout_s * NSEC_PER_SEC;
	unsigned long long probe_at = tw + PROBE_MS * NSEC_PER_MSEC;
	unsigned long long probe2_at = tw + NSEC_PER_SEC;
	unsigned long long next_outq = 0, now, wait;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	bool watch = false;
	struct tcp_info ti;
	ssize_t n;

	for (;;) {
		now = time_ns();
		if (!got && !x->probed && now >= probe_at) {
			x->probed = true;
			x->outq = outq_bytes(fd);
			if (!sock_tcp_info(fd, &ti)) {
				x->unacked = ti.tcpi_unacked;
				x->retransmits = ti.tcpi_retransmits;
			}
			watch = x->outq > 0;
			next_outq = now;
		}
		if (!got && !x->probed_1s && now >= probe2_at) {
			x->probed_1s = true;
			x->outq_1s = outq_bytes(fd);
		}
		/* How long the request sat unacked in our send queue. */
		if (watch && now >= next_outq) {
			if (outq_bytes(fd)) {
				x->unacked_ns = now - tw;
				next_outq = now + OUTQ_POLL_NS;
			} else {
				watch = false;
			}
		}
		if (now >= deadline)
			return FAIL_TIMEOUT;
		if (stop_requested())
			return FAIL_INTERRUPTED;
		wait = deadline - now;
		if (wait > POLL_SLICE_NS)
			wait = POLL_SLICE_NS;
		if (!x->probed && !got && probe_at > now && probe_at - now < wait)
			wait = probe_at - now;
		if (!x->probed_1s && !got && probe2_at > now && probe2_at - now < wait)
			wait = probe2_at - now;
		if (watch && next_outq > now && next_outq - now < wait)
			wait = next_outq - now;
		if (poll(&pfd, 1, (int)((wait + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC)) <= 0)
			continue;
		n = recv(fd, c->buf + got, RESP_BUF_SIZE - got, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return errno == ECONNRESET ? FAIL_RESET : FAIL_RECV;
		if (!n)
			break;
		if (watch) {
			/* The response acknowledges the request. */
			x->unacked_ns = time_ns() - tw;
			watch = false;
		}
		got += n;
		if (got > expect_len)
			return FAIL_LONG;
	}
	if (got < expect_len)
		return FAIL_SHORT;
	return check_body(c, x, expect_len);
}

#define FMT_FAILED \
	"  %s failed (%s): client %u txn %lu port %u after %llu ms: connect %llu ms (SYN rtx %u), request unacked >= %llu ms, %u B unacked now, data rtx %u\n"
#define MAX_FAIL_SHOWN		20

static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

/* Say why a transaction failed, for the first MAX_FAIL_SHOWN of a test. */
static void show_failure(struct client *c, const struct txn *x, int why,
			 unsigned int outq)
{
	struct test *t = c->t;

	if (__atomic_fetch_add(&t->fails_shown, 1, __ATOMIC_RELAXED) >= MAX_FAIL_SHOWN)
		return;
	/* printf() writes "# " and the text separately: one at a time. */
		  pthread_mutex_lock(&print_lock);
	printf(FMT_FAILED, t->fname, fail_names[why], c->id, x->seq,
	       x->cport, x->total_ns / NSEC_PER_MSEC,
	       x->connect_ns / NSEC_PER_MSEC, x->syn_rtx,
	       x->unacked_ns / NSEC_PER_MSEC, outq, x->data_rtx);
	fflush(stdout);
	pthread_mutex_unlock(&print_lock);
}

/* connect() of @fd failed with @err: count, close, say why; a fail_reason. */
static int connect_failed(struct client *c, struct txn *x, int fd, int err,
			  unsigned long long t0)
{
	struct tcp_info ti;
	int ret;

	x->connect_ns = time_ns() - t0;
	x->total_ns = x->connect_ns;
	if (!sock_tcp_info(fd, &ti)) {
		x->syn_rtx = ti.tcpi_total_retrans;
		c->syn_rtx += x->syn_rtx;
	}
	close(fd);
	if (err == EINTR && stop_requested())
		return FAIL_INTERRUPTED;
	ret = FAIL_CONNECT_TIMEOUT;
	if (err != EINPROGRESS && err != EAGAIN) {
		note_err(c->t, "client %u txn %lu: connect: %s", c->id, x->seq,
			 strerror(err));
		ret = FAIL_CONNECT;
	}
	show_failure(c, x, ret, 0);
	return ret;
}

/* One transaction; 0 or a fail_reason. */
static int transaction(struct client *c, unsigned long seq, struct txn *x)
{
	struct test *t = c->t;
	const struct options *o = t->o;
	unsigned long long t0, t1, tw;
	struct sockaddr_storage ss;
	char req[REQ_MAX];
	struct tcp_info ti;
	size_t expect_len;
	socklen_t alen;
	int fd, len, ret;

	memset(x, 0, sizeof(*x));
	x->cli = c->id;
	x->seq = seq;
	expect_len = build_response(c->expect, RESP_BUF_SIZE, c->id, seq,
				    RESP_SIZE);
	len = build_request(req, sizeof(req), c->id, seq);
	alen = sock_loopback_addr(t->family, t->sport, &ss);

	t0 = time_ns();
	x->start_ns = t0 - t->t0;
	fd = socket(t->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		note_err(t, "client %u: socket: %s", c->id, strerror(errno));
		return FAIL_SOCKET;
	}
	/* SO_SNDTIMEO also bounds connect(). */
	if (sock_set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1) ||
	    sock_set_io_timeouts(fd, o->io_timeout_s)) {
		note_err(t, "client %u: setsockopt: %s", c->id, strerror(errno));
		close(fd);
		return FAIL_SOCKET;
	}
	if (connect(fd, (struct sockaddr *)&ss, alen))
		return connect_failed(c, x, fd, errno, t0);
	t1 = time_ns();
	x->connect_ns = t1 - t0;
	sock_local_port(fd, &x->cport);
	if (!sock_tcp_info(fd, &ti))
		x->syn_rtx = ti.tcpi_total_retrans;
	c->syn_rtx += x->syn_rtx;

	if (o->send_delay_us)
		time_sleep_ns(o->send_delay_us * NSEC_PER_USEC);
	if (send(fd, req, len, MSG_NOSIGNAL) != len) {
		note_err(t, "client %u txn %lu: send: %s", c->id, seq, strerror(errno));
		close(fd);
		return FAIL_WRITE;
	}
	tw = time_ns();
	ret = read_response(c, fd, t0, tw, expect_len, x);
	if (ret == FAIL_RECV)
		note_err(t, "client %u txn %lu: recv: %s", c->id, seq, strerror(errno));
	x->total_ns = time_ns() - t0;
	if (!sock_tcp_info(fd, &ti) && ti.tcpi_total_retrans > x->syn_rtx)
		x->data_rtx = ti.tcpi_total_retrans - x->syn_rtx;
	if (ret && ret != FAIL_CORRUPT && ret != FAIL_INTERRUPTED)
		show_failure(c, x, ret, outq_bytes(fd));
	close(fd);
	return ret;
}

static void *client_fn(void *arg)
{
	struct client *c = arg;
	struct test *t = c->t;
	unsigned long seq;
	struct txn x;
	int ret;

	/* Ramp up: client i starts i/clients of the way into --ramp-ms. */
	if (t->o->ramp_ms)
		time_sleep_ns(t->o->ramp_ms * NSEC_PER_MSEC * c->id /
			      t->o->clients);
	for (seq = 0; !stop_flag_get(&t->stop_clients) && !stop_requested();
	     seq++) {
		if (time_ns() >= t->deadline)
			break;
		ret = transaction(c, seq, &x);
		if (ret) {
			c->fails[ret]++;
			continue;
		}
		if (txn_push(c, &x)) {
			note_err(t, "client %u: out of memory", c->id);
			stop_flag_set(&t->stop_clients);
			break;
		}
	}
	return NULL;
}

/* ---- report -------------------------------------------------------------- */

static const char * const counters[] = {
	"ListenOverflows", "ListenDrops", "TCPSynRetrans", "TCPTimeouts",
	"TCPReqQFullDrop", "TCPReqQFullDoCookies", "SyncookiesSent",
	"SyncookiesRecv", "SyncookiesFailed", "TCPBacklogDrop",
	"EmbryonicRsts", "TCPLossProbes", "TCPSpuriousRTOs",
	"TCPAbortOnTimeout", "TCPMigrateReqFailure", "TCPSYNChallenge",
	"TCPChallengeACK",
};

/* The machine-readable result line; keep the keys stable. */
#define FMT_SUMMARY \
	"%s: family=%s clients=%lu backlog=%lu accept_delay_us=%lu send_delay_us=%lu secs=%lu txns=%lu failed=%lu tps=%lu p50_us=%llu p99_us=%llu p999_us=%llu max_us=%llu over100ms=%lu over1s=%lu stalled_sendq=%lu stalled_connect=%lu stalled_other=%lu sendq_at_probe=%lu sendq_1s=%lu max_unacked_us=%llu syn_rtx=%lu data_rtx=%lu listen_overflows=%s listen_drops=%s tcp_syn_retrans=%s synack_retrans=%s syn_challenge=%s tcp_timeouts=%s reqq_full_drop=%s reqq_full_cookies=%s cookies_sent=%s cookies_recv=%s cookies_failed=%s backlog_drop=%s left_open=%lu syncookies=%lld abort_on_overflow=%lld failed_socket=%lu\n"

enum stall_kind {
	STALL_NONE,
	STALL_SENDQ,
	STALL_CONNECT,
	STALL_OTHER,
};

/*
 * Where a stalled transaction lost most of its time: with the request
 * unacknowledged in the client's send queue (the 2003 case: at least as
 * long as connect() took), in connect() (a SYN was dropped and
 * retransmitted), or elsewhere (a slow server).
 */
static enum stall_kind stall_kind(const struct txn *x)
{
	if (x->total_ns < STALL_NS)
		return STALL_NONE;
	if (x->unacked_ns && x->unacked_ns >= x->connect_ns)
		return STALL_SENDQ;
	if (x->syn_rtx)
		return STALL_CONNECT;
	return STALL_OTHER;
}

static const char *stall_name(enum stall_kind k)
{
	switch (k) {
	case STALL_SENDQ:
		return "request in client send queue";
	case STALL_CONNECT:
		return "SYN retransmitted";
	case STALL_OTHER:
		return "server slow";
	default:
		return "";
	}
}

#define FMT_STALL \
	"  %s stall %llu ms (%s): client %u txn %lu port %u at +%llu ms: connect %llu ms (SYN rtx %u), request unacked >= %llu ms%s, data rtx %u\n"
#define FMT_PROBE \
	" (outq %u B, unacked %u pkt, RTOs %u at %lu ms; outq %u B at 1 s)"

static void show_stall(const struct test *t, const struct txn *x)
{
	char probe[128] = "";

	if (x->probed)
		snprintf(probe, sizeof(probe), FMT_PROBE, x->outq, x->unacked,
			 x->retransmits, PROBE_MS, x->outq_1s);
	printf(FMT_STALL,
	       t->fname, x->total_ns / NSEC_PER_MSEC,
	       stall_name(stall_kind(x)), x->cli, x->seq, x->cport,
	       x->start_ns / NSEC_PER_MSEC, x->connect_ns / NSEC_PER_MSEC,
	       x->syn_rtx, x->unacked_ns / NSEC_PER_MSEC, probe,
	       x->data_rtx);
}

struct totals {
	unsigned long txns, failed, fails[FAIL_MAX];
	unsigned long stalled[STALL_OTHER + 1];
	unsigned long sendq_at_probe, sendq_1s, syn_rtx, data_rtx;
	unsigned long long max_unacked_ns;
	unsigned long served, bad_req, early_eof, io_err;
	struct stats_summary total, conn;
};

/* List stalled transactions, those of the 2003 kind first. */
static unsigned long show_stalls(const struct test *t)
{
	const struct options *o = t->o;
	unsigned long i, j, shown = 0;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < o->clients; i++) {
			for (j = 0; j < t->cli[i].n; j++) {
				const struct txn *x = &t->cli[i].txns[j];
				enum stall_kind kind = stall_kind(x);
				bool sendq = kind == STALL_SENDQ;
				bool first = !pass;

				if (kind == STALL_NONE || sendq != first)
					continue;
				if (shown >= SHOW_MAX)
					return shown;
				show_stall(t, x);
				shown++;
			}
		}
	}
	return shown;
}

/* Merge the clients' records, list stalls; 0 or -1 (out of memory). */
static int collect(struct test *t, struct totals *s)
{
	unsigned long long *tot, *con;
	unsigned long i, j, k = 0, shown;
	const struct options *o = t->o;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < o->clients; i++) {
		s->txns += t->cli[i].n;
		s->syn_rtx += t->cli[i].syn_rtx;
		for (j = 0; j < FAIL_MAX; j++) {
			s->fails[j] += t->cli[i].fails[j];
			s->failed += t->cli[i].fails[j];
		}
	}
	s->served = t->srv.served;
	s->bad_req = t->srv.bad_req;
	s->early_eof = t->srv.early_eof;
	s->io_err = t->srv.io_err;
	tot = malloc((s->txns + 1) * sizeof(*tot));
	con = malloc((s->txns + 1) * sizeof(*con));
	if (!tot || !con) {
		free(tot);
		free(con);
		return -1;
	}
	for (i = 0; i < o->clients; i++) {
		for (j = 0; j < t->cli[i].n; j++) {
			const struct txn *x = &t->cli[i].txns[j];
			enum stall_kind kind = stall_kind(x);

			tot[k] = x->total_ns;
			con[k] = x->connect_ns;
			k++;
			s->data_rtx += x->data_rtx;
			if (x->probed && x->outq)
				s->sendq_at_probe++;
			if (x->probed_1s && x->outq_1s)
				s->sendq_1s++;
			if (x->unacked_ns > s->max_unacked_ns)
				s->max_unacked_ns = x->unacked_ns;
			if (kind != STALL_NONE)
				s->stalled[kind]++;
		}
	}
	shown = show_stalls(t);
	stats_summarize(tot, s->txns, &s->total);
	stats_summarize(con, s->txns, &s->conn);
	free(tot);
	free(con);
	if (s->total.over1s > shown)
		printf("  %s: %lu more stalled transactions not listed\n",
		       t->fname, s->total.over1s - shown);
	return 0;
}

#define FMT_HEAD \
	"%s: %lu transactions (%lu/s), %lu failed, %lu clients -> port %u, backlog %lu, accept delay %lu us\n"
#define FMT_STALLS \
	"  stalled >= 1 s: %lu: request in client send queue %lu, SYN retransmitted %lu, other %lu\n"
#define FMT_UNACKED \
	"  request unacked %lu ms after write: %lu transactions, 1 s after: %lu (longest >= %llu ms)\n"
#define FMT_RTX \
	"  client SYN retransmits %lu, data retransmits %lu; server SYN-ACK retransmits %s (TCPSynRetrans %s - client SYN), %s met an established client (TCPSYNChallenge)\n"
#define FMT_OVERFLOW \
	"  ListenOverflows %s: ~%s dropped SYNs (client SYN retransmits), ~%s dropped third ACKs/requests (the rest)\n"
#define FMT_SERVER \
	"  server: accepted %lu, served %lu, early EOF %lu, errors %lu, left open %lu\n"

static void report(struct test *t, const struct totals *s,
		   const struct mib_snap *m0, const struct mib_snap *m1,
		   unsigned long long elapsed_ns, long long cookies, long long aoo)
{
	static const char * const keys[] = {
		"ListenOverflows", "ListenDrops", "TCPSynRetrans", "TCPTimeouts",
		"TCPReqQFullDrop", "TCPReqQFullDoCookies", "SyncookiesSent",
		"SyncookiesRecv", "SyncookiesFailed", "TCPBacklogDrop",
		"TCPSYNChallenge",
	};
	char v[ARRAY_SIZE(keys)][24], synack[24], ackdrop[24], sn[24];
	const struct options *o = t->o;
	long long d, syn, ov;
	unsigned long i, tps;

	for (i = 0; i < ARRAY_SIZE(keys); i++)
		mib_fmt_count(v[i], sizeof(v[i]), mib_delta(m0, m1, keys[i]));
	/* tcp_rtx_synack() and SYN retransmits share TCPSynRetrans. */
	syn = mib_delta(m0, m1, "TCPSynRetrans");
	d = syn - (long long)s->syn_rtx;
	if (syn >= 0 && d < 0)
		d = 0;
	mib_fmt_count(synack, sizeof(synack), syn < 0 ? -1 : d);
	mib_fmt_count(sn, sizeof(sn), s->syn_rtx);
	tps = elapsed_ns ? s->txns * NSEC_PER_SEC / elapsed_ns : 0;

	printf(FMT_SUMMARY, PROG, t->fname, o->clients, o->backlog,
	       o->accept_delay_us, o->send_delay_us, o->time_s, s->txns,
	       s->failed, tps, s->total.p50, s->total.p99, s->total.p999,
	       s->total.max, s->total.over100ms, s->total.over1s,
	       s->stalled[STALL_SENDQ], s->stalled[STALL_CONNECT],
	       s->stalled[STALL_OTHER], s->sendq_at_probe, s->sendq_1s,
	       s->max_unacked_ns / NSEC_PER_USEC, s->syn_rtx, s->data_rtx,
	       v[0], v[1], v[2], synack, v[10], v[3], v[4], v[5], v[6], v[7],
	       v[8], v[9], t->left_open, cookies, aoo,
	       s->fails[FAIL_SOCKET]);

	printf(FMT_HEAD,
	       t->fname, s->txns, tps, s->failed, o->clients, t->sport,
	       o->backlog, o->accept_delay_us);
	printf("  %-12s %9s %9s %9s %9s %8s %6s\n", "latency(us)",
	       "p50", "p99", "p99.9", "max", ">100ms", ">1s");
	printf("  %-12s %9llu %9llu %9llu %9llu %8lu %6lu\n", "transaction",
	       s->total.p50, s->total.p99, s->total.p999, s->total.max,
	       s->total.over100ms, s->total.over1s);
	printf("  %-12s %9llu %9llu %9llu %9llu %8lu %6lu\n", "connect",
	       s->conn.p50, s->conn.p99, s->conn.p999, s->conn.max,
	       s->conn.over100ms, s->conn.over1s);
	printf(FMT_STALLS,
	       s->total.over1s, s->stalled[STALL_SENDQ],
	       s->stalled[STALL_CONNECT], s->stalled[STALL_OTHER]);
	printf(FMT_UNACKED,
	       PROBE_MS, s->sendq_at_probe, s->sendq_1s,
	       s->max_unacked_ns / NSEC_PER_MSEC);
	printf(FMT_RTX,
	       s->syn_rtx, s->data_rtx, synack, v[2], v[10]);
	ov = mib_delta(m0, m1, "ListenOverflows");
	if (ov >= 0) {
		d = ov - (long long)s->syn_rtx;
		mib_fmt_count(ackdrop, sizeof(ackdrop), d < 0 ? 0 : d);
		printf(FMT_OVERFLOW, v[0], sn, ackdrop);
	}
	printf(FMT_SERVER,
	       t->accepted, s->served, s->early_eof, s->io_err + s->bad_req,
	       t->left_open);
	mib_print_deltas_lead("", "  TcpExt", m0, m1, counters,
			      ARRAY_SIZE(counters), false);
	for (i = 0; i < FAIL_MAX; i++)
		if (s->fails[i])
			printf("  failed: %s %lu\n", fail_names[i], s->fails[i]);
}

/* ---- one run ------------------------------------------------------------- */

static void run_free(struct test *t)
{
	unsigned long i;

	if (t->cli) {
		for (i = 0; i < t->o->clients; i++) {
			free(t->cli[i].txns);
			free(t->cli[i].buf);
			free(t->cli[i].expect);
		}
		free(t->cli);
	}
	pthread_mutex_destroy(&t->lock);
}

/* The run's state and its clients' buffers; 0 or -1 (out of memory). */
static int run_init(struct test *t, const struct options *o, int family)
{
	unsigned long i;

	memset(t, 0, sizeof(*t));
	t->o = o;
	t->family = family;
	t->fname = sock_family_name(family);
	t->lfd = -1;
	pthread_mutex_init(&t->lock, NULL);
	t->conns.next = &t->conns;
	t->conns.prev = &t->conns;
	t->srv.epfd = -1;
	t->cli = calloc(o->clients, sizeof(*t->cli));
	if (!t->cli)
		return -1;
	for (i = 0; i < o->clients; i++) {
		t->cli[i].t = t;
		t->cli[i].id = i;
		t->cli[i].buf = malloc(RESP_BUF_SIZE);
		t->cli[i].expect = malloc(RESP_BUF_SIZE);
		if (!t->cli[i].buf || !t->cli[i].expect)
			return -1;
	}
	return 0;
}

/* The clients against the running server; how many threads started. */
static unsigned long run_clients(struct test *t, unsigned long long *elapsed)
{
	unsigned long i, n = 0;
	int ret;

	t->t0 = time_ns();
	t->deadline = t->t0 + t->o->time_s * NSEC_PER_SEC;
	for (i = 0; i < t->o->clients; i++) {
		ret = pthread_create(&t->cli[i].tid, NULL, client_fn, &t->cli[i]);
		if (ret) {
			note_err(t, "pthread_create(client): %s", strerror(ret));
			stop_flag_set(&t->stop_clients);
			break;
		}
		n++;
	}
	for (i = 0; i < n; i++)
		pthread_join(t->cli[i].tid, NULL);
	*elapsed = time_ns() - t->t0;
	/* Let the server finish with connections the clients closed. */
	time_sleep_ns(100 * NSEC_PER_MSEC);
	return n;
}

/* One family in its own namespace; 0 when it measured, else why not. */
static int run_test(const struct options *o, int family, char *why, size_t sz)
{
	struct mib_snap *m0 = malloc(sizeof(*m0)), *m1 = malloc(sizeof(*m1));
	unsigned long long elapsed;
	long long cookies, aoo;
	unsigned long started;
	struct totals s;
	struct test t;

	/* Threads created from now on live in the new namespace. */
	if (netns_enter(why, sz))
		goto out_free;
	if (run_init(&t, o, family) || !m0 || !m1) {
		snprintf(why, sz, "out of memory");
		goto out;
	}
	cookies = sysctl_read_ll("/proc/sys/net/ipv4/tcp_syncookies");
	aoo = sysctl_read_ll("/proc/sys/net/ipv4/tcp_abort_on_overflow");
	if (server_start(&t)) {
		server_stop(&t);
		snprintf(why, sz, "%s", t.err);
		goto out;
	}
	mib_snapshot(m0);
	started = run_clients(&t, &elapsed);
	server_stop(&t);
	mib_snapshot(m1);
	if (collect(&t, &s)) {
		snprintf(why, sz, "out of memory");
		goto out;
	}
	report(&t, &s, m0, m1, elapsed, cookies, aoo);
	if (t.err[0])
		printf("%s: %s: first error: %s\n", PROG, t.fname, t.err);
	if (!m0->n)
		printf("%s: %s: /proc/net/netstat not readable, counters missing\n",
		       PROG, t.fname);
	if (started < o->clients)
		snprintf(why, sz, "%lu of %lu client threads started", started,
			 o->clients);
	else if (!s.txns)
		snprintf(why, sz, "no transaction completed");
	else if (stop_requested())
		snprintf(why, sz, "interrupted");
out:
	run_free(&t);
out_free:
	free(m0);
	free(m1);
	return why[0] ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct options o;
	char why[256];
	int ret = 0;

	parse_opts(argc, argv, &o);
	if (geteuid()) {
		fprintf(stderr, "%s: needs root (network namespaces)\n", PROG);
		return 1;
	}
	stop_catch_signals();
	if (o.ipv4) {
		why[0] = '\0';
		if (run_test(&o, AF_INET, why, sizeof(why))) {
			fprintf(stderr, "%s: ipv4: %s\n", PROG, why);
			ret = 1;
		}
	}
	if (o.ipv6 && !stop_requested()) {
		why[0] = '\0';
		if (run_test(&o, AF_INET6, why, sizeof(why))) {
			fprintf(stderr, "%s: ipv6: %s\n", PROG, why);
			ret = 1;
		}
	}
	return ret;
}
