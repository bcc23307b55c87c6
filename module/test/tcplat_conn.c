// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists: module/test-sysctl.sh and test/widen-budget.sh
 * need loopback connections that reach a precise TCP state before they
 * read tcplat's counters: a server-first close whose server end is seen in
 * FIN_WAIT2, a client-first close from a chosen port, a RST with a chosen
 * sequence number aimed at a FIN_WAIT2 socket, a burst of server-first
 * closes, and a burst of RSTs that times the widener's delays.  The shell
 * cannot make them, and the module directory must not depend on Python (it
 * is the DKMS source), so they live in this one small test-only program,
 * built by "make -C module testprogs" and never installed.
 *
 *   tcplat_conn one PORT linger|halfclose   one connection, server closes
 *                                           first; exit 3 if its server end
 *                                           never shows FIN_WAIT2
 *   tcplat_conn remote PORT CPORT           client bound to CPORT closes
 *                                           first toward a server on PORT;
 *                                           exit 3 if its socket did not go
 *                                           through tcp_time_wait(FIN_WAIT2)
 *   tcplat_conn rst PORT OFFSET             RST at rcv_nxt + OFFSET to a
 *                                           FIN_WAIT2 server end; prints
 *                                           "alive|reset <widen_hits delta>"
 *   tcplat_conn flood PORT N                N server-first closes at once;
 *                                           prints the seconds, rounded up
 *   tcplat_conn budget PORT US MS           in-window RSTs at a FIN_WAIT2
 *                                           server end for MS ms, widened by
 *                                           US; prints the most any 1-s
 *                                           window spun (cmd_budget)
 *
 * Loopback IPv4 only.  Exit status 0 when the scenario happened, 3 when
 * one or remote could not produce it, 1 on any other error (said on
 * stderr).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TCP_FIN_WAIT2_STATE	5	/* st in /proc/net/tcp, tcpi_state */
#define TIMER_TW		3	/* timer type of a timewait socket */
#define TCPLAT_DIR		"/proc/sys/net/ipv4/tcplat/"
#define MAX_FLOOD		1000
#define MAX_SPINS		1000

static void die(const char *what)
{
	fprintf(stderr, "tcplat_conn: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void fail(const char *what)
{
	fprintf(stderr, "tcplat_conn: %s\n", what);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static long parse_num(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "tcplat_conn: bad number '%s'\n", s);
		exit(1);
	}
	return v;
}

static struct sockaddr_in lo_addr(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };

	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int tcp_socket(void)
{
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		die("SO_REUSEADDR");
	return fd;
}

static int listener(int port, int backlog)
{
	struct sockaddr_in a = lo_addr(port);
	int fd = tcp_socket();

	if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
		die("bind");
	if (listen(fd, backlog))
		die("listen");
	return fd;
}

/* A client connected to 127.0.0.1:port, from cport if not 0. */
static int connect_to(int port, int cport, int timeout_s)
{
	struct sockaddr_in a = lo_addr(port);
	struct timeval tv = { timeout_s, 0 };
	int fd = tcp_socket();

	if (cport) {
		struct sockaddr_in b = lo_addr(cport);

		if (bind(fd, (struct sockaddr *)&b, sizeof(b)))
			die("bind (client port)");
	}
	if (timeout_s &&
	    (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	     setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))))
		die("socket timeout");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	return fd;
}

static int accept_one(int lsk)
{
	int fd = accept(lsk, NULL, NULL);

	if (fd < 0)
		die("accept");
	return fd;
}

static int local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len))
		die("getsockname");
	return ntohs(a.sin_port);
}

/* The peer's FIN has arrived: recv() returns end of file. */
static void expect_eof(int fd)
{
	char buf[16];
	ssize_t n = recv(fd, buf, sizeof(buf), 0);

	if (n < 0)
		die("recv");
	if (n)
		fail("recv: data where end of file was expected");
}

/*
 * State and timer type of the socket with local port lport and remote port
 * rport in /proc/net/tcp (loopback only, so the two ports name the
 * connection).  A timewait socket shows its substate and timer type 3.
 * Returns 0 when there is none.
 */
static int sock_state(unsigned int lport, unsigned int rport, unsigned int *st, unsigned int *tr)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	char line[512];
	int found = 0;

	if (!f)
		die("/proc/net/tcp");
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return 0;
	}
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned int lp, rp;

		if (sscanf(line, "%*s %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%x %x %*s %x",
			   &lp, &rp, st, tr) == 4 && lp == lport && rp == rport)
			found = 1;
	}
	fclose(f);
	return found;
}

/*
 * One connection whose server end closes first (linger: close(); halfclose:
 * shutdown(SHUT_WR)); the client closes only once that server end is in
 * FIN_WAIT2: a timewait socket in that substate for linger, the full socket
 * for halfclose.  Returns 0 if it was not (linger: the ACK met the socket
 * inside close() and tcp_rcv_state_process() kept a full orphan on its
 * keepalive timer); exits 3 if the server end never got there.
 */
static int one_attempt(int lsk, int port, int linger)
{
	const char *how = linger ? "linger" : "halfclose";
	int c = connect_to(port, 0, 5), s = accept_one(lsk);
	int cport = local_port(c);
	double t0, full_since = 0;

	if (linger)
		close(s);
	else if (shutdown(s, SHUT_WR))
		die("shutdown");
	expect_eof(c);
	t0 = now_s();
	for (;;) {
		double now = now_s();
		unsigned int st = 0, tr = 0;
		int found = sock_state(port, cport, &st, &tr);

		if (found && st == TCP_FIN_WAIT2_STATE) {
			if (!linger || tr == TIMER_TW)
				break;
			/*
			 * A full orphan in FIN_WAIT2: passing (tcp_time_wait()
			 * about to run) or kept on its keepalive timer.  Only
			 * the latter lasts.
			 */
			if (!full_since)
				full_since = now;
			if (now - full_since > 1) {
				printf("one_conn linger: %s %s; retrying\n",
				       "server end kept as a full FIN_WAIT2 socket",
				       "(ACK met the socket inside close())");
				close(c);
				return 0;
			}
		} else {
			full_since = 0;
		}
		if (now - t0 > 10) {
			printf("one_conn %s: server end never reached FIN_WAIT2 ",
			       how);
			if (found)
				printf("(state %u, timer %u)\n", st, tr);
			else
				printf("(no socket)\n");
			exit(3);
		}
		sleep_ms(2);
	}
	printf("one_conn %s: server end in FIN_WAIT2 after %.1f ms\n",
	       how, (now_s() - t0) * 1000);
	close(c);
	sleep_ms(200);
	if (!linger)
		close(s);
	return 1;
}

static int cmd_one(int port, const char *how)
{
	int linger, i, lsk;

	if (!strcmp(how, "linger"))
		linger = 1;
	else if (!strcmp(how, "halfclose"))
		linger = 0;
	else
		fail("one: want linger or halfclose");
	lsk = listener(port, 1);
	for (i = 0; i < 5; i++) {
		fflush(stdout);
		if (one_attempt(lsk, port, linger))
			return 0;
	}
	printf("one_conn %s: no attempt showed the scenario\n", how);
	return 3;
}

static int tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		die("TCP_INFO");
	return ti.tcpi_state;
}

/*
 * A client bound to cport closes first toward a server on port, and its
 * socket goes through tcp_time_wait(FIN_WAIT2) in close() itself: the
 * client shuts down its sending side, waits for the server's ACK of that
 * FIN (FIN_WAIT2, still a full socket with an owner) and only then
 * closes, so __tcp_close() replaces it with a FIN_WAIT2 timewait socket.
 * A plain close() in ESTABLISHED gets there only when the ACK comes after
 * close() has released the socket: on loopback it is often sent at once
 * and put in the backlog of the socket close() still owns, and
 * tcp_rcv_state_process() then keeps a full orphan on its keepalive
 * timer.  Exit 0 when /proc/net/tcp shows the FIN_WAIT2 timewait socket,
 * 3 when it does not; says which on stdout.
 */
static int cmd_remote(int port, int cport)
{
	int lsk = listener(port, 1);
	int c = connect_to(port, cport, 0), s = accept_one(lsk);
	unsigned int st = 0, tr = 0;
	double t0;
	int ret = 0;

	if (shutdown(c, SHUT_WR))
		die("shutdown");
	expect_eof(s);		/* the server saw the FIN */
	t0 = now_s();
	while (tcp_state(c) != TCP_FIN_WAIT2_STATE) {
		if (now_s() - t0 > 10) {
			printf("remote: client never reached FIN_WAIT2 (state %d)\n",
			       tcp_state(c));
			exit(3);
		}
		sleep_ms(2);
	}
	close(c);
	if (sock_state(cport, port, &st, &tr) &&
	    st == TCP_FIN_WAIT2_STATE && tr == TIMER_TW) {
		printf("remote: client socket a FIN_WAIT2 timewait socket after close()\n");
	} else {
		printf("remote: no FIN_WAIT2 timewait socket after close() (state %u, timer %u)\n",
		       st, tr);
		ret = 3;
	}
	close(s);
	close(lsk);
	return ret;
}

/* The value of tcplat's sysctl @name. */
static long tcplat_read(const char *name)
{
	char path[128];
	FILE *f;
	long v;

	snprintf(path, sizeof(path), TCPLAT_DIR "%s", name);
	f = fopen(path, "r");
	if (!f)
		die(path);
	if (fscanf(f, "%ld", &v) != 1) {
		fprintf(stderr, "tcplat_conn: cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	return v;
}

static long widen_hits(void)
{
	return tcplat_read("widen_hits");
}

/* Big-endian stores into a packet buffer. */
static void put16(unsigned char *p, unsigned int v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(unsigned char *p, unsigned long v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* The Internet checksum of len (even) bytes. */
static unsigned int csum(const unsigned char *p, size_t len)
{
	unsigned long sum = 0;
	size_t i;

	for (i = 0; i < len; i += 2)
		sum += p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/* A FIN_WAIT2 server end, its client and a raw socket to send RSTs with. */
struct rst_peer {
	int lsk, s, c, raw, port, cport;
	unsigned int seq;	/* the server end's rcv_nxt */
};

/*
 * The server end on port in FIN_WAIT2 (a full socket: shutdown, not
 * close), rcv_nxt read from the client with TCP_REPAIR while it is still
 * ESTABLISHED.
 */
static void rst_prepare(struct rst_peer *r, int port)
{
	int on = 1, off_ = 0, q = TCP_SEND_QUEUE;
	socklen_t len = sizeof(unsigned int);

	r->port = port;
	r->lsk = listener(port, 1);
	r->c = connect_to(port, 0, 5);
	r->s = accept_one(r->lsk);
	r->cport = local_port(r->c);
	if (setsockopt(r->c, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) ||
	    setsockopt(r->c, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) ||
	    getsockopt(r->c, IPPROTO_TCP, TCP_QUEUE_SEQ, &r->seq, &len) ||
	    setsockopt(r->c, IPPROTO_TCP, TCP_REPAIR, &off_, sizeof(off_)))
		die("TCP_REPAIR");
	if (shutdown(r->s, SHUT_WR))	/* FIN_WAIT1, FIN_WAIT2 on the ACK */
		die("shutdown");
	expect_eof(r->c);
	sleep_ms(300);
	if (tcp_state(r->s) != TCP_FIN_WAIT2_STATE)
		fail("rst: server end not in FIN_WAIT2 before the RST");
	r->raw = socket(AF_INET, SOCK_RAW, IPPROTO_TCP);
	if (r->raw < 0)
		die("raw socket");
}

/* A RST with sequence number rcv_nxt + off from the client's port. */
static void rst_send(const struct rst_peer *r, long off)
{
	struct sockaddr_in dst = lo_addr(0);
	/* a 12-byte pseudo header, then the 20-byte TCP header */
	unsigned char pkt[32] = { 0 }, *th = pkt + 12;

	put32(pkt, INADDR_LOOPBACK);
	put32(pkt + 4, INADDR_LOOPBACK);
	put16(pkt + 8, IPPROTO_TCP);
	put16(pkt + 10, 20);
	put16(th, r->cport);
	put16(th + 2, r->port);
	put32(th + 4, (r->seq + off) & 0xffffffffUL);
	th[12] = 5 << 4;	/* data offset: 5 words */
	th[13] = 0x04;		/* RST */
	put16(th + 16, csum(pkt, sizeof(pkt)));
	if (sendto(r->raw, th, 20, 0, (struct sockaddr *)&dst, sizeof(dst)) != 20)
		die("sendto");
}

static void rst_close(struct rst_peer *r)
{
	close(r->raw);
	close(r->c);
	close(r->s);
	close(r->lsk);
}

/*
 * The server end on port in FIN_WAIT2 gets a RST with sequence number
 * rcv_nxt + off.  Prints the server end's state after the RST ("alive":
 * still FIN_WAIT2, "reset": closed) and how many delays the widener added
 * meanwhile (read before the client's own close, whose FIN the widener
 * delays too).
 */
static int cmd_rst(int port, long off)
{
	struct rst_peer r;
	long h0;

	rst_prepare(&r, port);
	h0 = widen_hits();
	rst_send(&r, off);
	sleep_ms(300);
	printf("%s %ld\n", tcp_state(r.s) == TCP_FIN_WAIT2_STATE ? "alive" : "reset",
	       widen_hits() - h0);
	fflush(stdout);
	rst_close(&r);
	return 0;
}

/* What the burst of cmd_budget saw: each send that spun, in seconds. */
struct spins {
	double ts[MAX_SPINS], te[MAX_SPINS], us;
	int n;
};

/*
 * The spin of a send in [ts, te] lasted us and lies somewhere in it; how
 * much of it overlaps the window [a, a + 1 s] at least (@lo) or at most?
 */
static double spin_in(const struct spins *sp, int i, double a, int lo)
{
	double s = sp->ts[i] > a ? sp->ts[i] : a;
	double e = sp->te[i] < a + 1 ? sp->te[i] : a + 1;
	double ov = e > s ? e - s : 0, slack = sp->te[i] - sp->ts[i] - sp->us;

	if (lo)
		return ov > slack ? ov - slack : 0;
	return ov < sp->us ? ov : sp->us;
}

/* The most any 1-s window spun, at least (@lo) or at most, in ms. */
static double max_window_ms(const struct spins *sp, int lo)
{
	double best = 0, a[4], sum;
	int i, j, k;

	for (i = 0; i < sp->n; i++) {
		a[0] = sp->ts[i];
		a[1] = sp->te[i] - 1;
		a[2] = sp->te[i] - sp->us;
		a[3] = sp->ts[i] + sp->us - 1;
		for (k = 0; k < 4; k++) {
			for (sum = 0, j = 0; j < sp->n; j++)
				sum += spin_in(sp, j, a[k], lo);
			if (sum > best)
				best = sum;
		}
	}
	return best * 1000;
}

/*
 * The widener's budget under a burst: in-window RSTs (rcv_nxt + 1: a
 * challenge ACK, the socket lives) at a FIN_WAIT2 server end on port,
 * armed in mode 2 with a delay of us.  One RST, then nothing until 550 ms
 * later, then one every millisecond until ms after the first.  A delay
 * is spun in the softirq of the sending CPU, inside sendto(): a sendto()
 * that took 90% of us or more spun.  A fixed window restarted at the
 * first RST spends its last 450 ms and the next window's first 500 ms on
 * the burst.  Prints "sends N spins N max_lo MS max_hi MS", the most that
 * any 1-s window spun, at least and at most, from the times measured,
 * then the three widener counters' moves during the burst, by name.
 */
static int cmd_budget(int port, long us, long ms)
{
	static const char * const cnt[] = {
		"widen_hits", "widen_skip_busy", "widen_skip_budget"
	};
	static struct spins sp;
	struct rst_peer r;
	double t0, ts, te;
	long sends = 0, c0[3];
	int i;

	rst_prepare(&r, port);
	for (i = 0; i < 3; i++)
		c0[i] = tcplat_read(cnt[i]);
	sp.us = us / 1e6;
	t0 = now_s();
	for (ts = t0; ts - t0 < ms / 1000.0; ts = now_s()) {
		rst_send(&r, 1);
		te = now_s();
		sends++;
		if (te - ts >= 0.9 * sp.us && sp.n < MAX_SPINS) {
			sp.ts[sp.n] = ts;
			sp.te[sp.n++] = te;
		}
		if (sends == 1)
			sleep_ms(550);
		else
			sleep_ms(1);
	}
	if (tcp_state(r.s) != TCP_FIN_WAIT2_STATE)
		fail("budget: server end left FIN_WAIT2 during the burst");
	printf("sends %ld spins %d max_lo %.1f max_hi %.1f", sends, sp.n,
	       max_window_ms(&sp, 1), max_window_ms(&sp, 0));
	/* Before the client's close, whose FIN the widener matches too. */
	for (i = 0; i < 3; i++)
		printf(" %s %ld", cnt[i], tcplat_read(cnt[i]) - c0[i]);
	printf("\n");
	for (i = 0; i < sp.n; i++)
		printf("# spin %d: %.1f-%.1f ms\n", i, (sp.ts[i] - t0) * 1000,
		       (sp.te[i] - t0) * 1000);
	rst_close(&r);
	return 0;
}

struct closer {
	int *fds, n;
};

/* Close every other socket of @arg's array, starting at its first. */
static void *close_half(void *arg)
{
	struct closer *c = arg;
	int i;

	for (i = 0; i < c->n; i += 2)
		close(c->fds[i]);
	return NULL;
}

/*
 * n connections to port whose server ends all close at once while the
 * clients stay open: n server sockets go through tcp_time_wait(FIN_WAIT2)
 * within a fraction of a second.  Prints the seconds it took, rounded up.
 * Two threads close the server ends, half each: on loopback the final ACK
 * is processed on the closing CPU, so with two CPUs two delays overlap and
 * the widener's one-spinner bound must refuse some, however slowly a
 * loaded host runs the guest (one closing thread, under a loaded host,
 * closed slower than the budget of 500 ms a second lets it delay, and
 * nothing was refused).
 */
static int cmd_flood(int port, int n)
{
	int lsk = listener(port, n), cs[MAX_FLOOD], ss[MAX_FLOOD], i;
	struct closer odd = { ss + 1, n - 1 }, even = { ss, n };
	double t0 = now_s(), t;
	pthread_t thr;
	long secs;

	for (i = 0; i < n; i++)
		cs[i] = connect_to(port, 0, 0);
	for (i = 0; i < n; i++)
		ss[i] = accept_one(lsk);
	if (pthread_create(&thr, NULL, close_half, &odd))
		die("pthread_create");
	close_half(&even);
	pthread_join(thr, NULL);
	for (i = 0; i < n; i++)
		expect_eof(cs[i]);
	sleep_ms(1000);
	for (i = 0; i < n; i++)
		close(cs[i]);
	t = now_s() - t0;
	secs = (long)t;
	if (secs < t)
		secs++;
	printf("%ld\n", secs);
	close(lsk);
	return 0;
}

static void bad_usage(void)
{
	fprintf(stderr,
		"usage: tcplat_conn one PORT linger|halfclose\n"
		"       tcplat_conn remote PORT CPORT\n"
		"       tcplat_conn rst PORT OFFSET\n"
		"       tcplat_conn flood PORT N\n"
		"       tcplat_conn budget PORT US MS\n");
	exit(1);
}

int main(int argc, char **argv)
{
	int port;

	if (argc == 5 && !strcmp(argv[1], "budget"))
		return cmd_budget(parse_num(argv[2], 1, 65535),
				  parse_num(argv[3], 1000, 100000),
				  parse_num(argv[4], 1000, 10000));
	if (argc != 4)
		bad_usage();
	port = parse_num(argv[2], 1, 65535);
	if (!strcmp(argv[1], "one"))
		return cmd_one(port, argv[3]);
	if (!strcmp(argv[1], "remote"))
		return cmd_remote(port, parse_num(argv[3], 1, 65535));
	if (!strcmp(argv[1], "rst"))
		return cmd_rst(port, parse_num(argv[3], 0, 0xffffffffL));
	if (!strcmp(argv[1], "flood"))
		return cmd_flood(port, parse_num(argv[3], 1, MAX_FLOOD));
	bad_usage();
	return 1;
}
