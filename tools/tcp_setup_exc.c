// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists: connection setup that normally costs one round
 * trip can cost seconds, or CPU, when a listen queue is full or the local
 * port range is exhausted ("In-depth analysis of common three-way
 * handshake exceptions", seed 004 of this project).  This tool produces
 * one of those scenarios on loopback, in a network namespace of its own
 * per address family, and measures what the client sees, with the TcpExt
 * counters that tell the cause:
 *
 *   -S synq     SYN queue full, tcp_syncookies=0, then 1 (setup_exc/synq.c)
 *   -S acceptq  accept queue full: a SYN, then a third ACK dropped
 *               (setup_exc/acceptq.c)
 *   -S ports    connect() CPU time on a free, busy and full port range
 *               (setup_exc/ports.c)
 *
 * -D runs -S acceptq once, with IPv4 clients and an IPv6 listener that
 * takes IPv4 too (IPV6_V6ONLY off), printed as family=dual: the kernel
 * then creates the child in tcp_v6_syn_recv_sock(), which hands the IPv4
 * handshake to tcp_v4_syn_recv_sock(), and a tracing tool that probes
 * both must count its refusals once.
 *
 * One "tcp_setup_exc: scenario=NAME family=F key=value ..." line per
 * family, a small table after it.  It judges nothing: that every kernel
 * behaves so is asserted by selftests/tcp_listen_queues and
 * tcp_port_range.  Exit 0 when it measured, 1 when it could not, 2 on a
 * usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cmd.h"
#include "lib/netns.h"
#include "lib/opt.h"
#include "lib/proc.h"
#include "lib/sock.h"
#include "lib/stop.h"
#include "setup_exc/setup_exc.h"

/*
 * Default time bound per family.  It only ends a run that is not done:
 * every loop stops at its own count first.  A stock or patched kernel
 * under TCG is done within seconds; KCSAN and KASAN kernels take minutes,
 * and at 30 s the ports scenario's IPv6 full phase was cut short on
 * 7.3.4-kcsan (158 of 200 calls).
 */
#define SETUP_TIME_S	120

struct setup_opts setup_opts = { .count = 200, .ports = 4096 };

bool setup_running(const struct setup_test *t)
{
	return !stop_requested() && time_ns() < t->deadline;
}

void setup_why(struct setup_test *t, const char *fmt, ...)
{
	va_list ap;

	if (t->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(t->why, sizeof(t->why), fmt, ap);
	va_end(ap);
}

const char *setup_cnt(char *buf, long long v)
{
	mib_fmt_count(buf, 24, v);
	return buf;
}

bool setup_wait_moved(struct setup_test *t, const struct mib_snap *from,
		      const char *name, unsigned long long wait_ns)
{
	return mib_wait_moved(from, t->cur, name, wait_ns);
}

int setup_listener_open(struct setup_test *t, int backlog, unsigned short *port,
			struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 any = { .sin6_family = AF_INET6 };
	char why[128];
	int fd;

	if (!t->dual) {
		fd = sock_loopback_listen(t->family, backlog, port, ss, len,
					  why, sizeof(why));
		if (fd < 0)
			setup_why(t, "%s", why);
		return fd;
	}
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		setup_why(t, "dual-stack listener: socket: %s", strerror(errno));
		return -1;
	}
	if (sock_set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0) ||
	    bind(fd, (struct sockaddr *)&any, sizeof(any)) ||
	    listen(fd, backlog) || sock_local_port(fd, port)) {
		setup_why(t, "dual-stack listener: %s", strerror(errno));
		close(fd);
		return -1;
	}
	*len = sock_loopback_addr(t->family, *port, ss);
	return fd;
}

int setup_connect_start(struct setup_test *t, const struct sockaddr_storage *ss,
			socklen_t len)
{
	int fd = sock_connect_start(t->family, ss, len);

	if (fd < 0)
		setup_why(t, "connect: %s", strerror(errno));
	return fd;
}

void setup_close_all(int *fds, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++) {
		sock_close_rst(fds[i]);
		fds[i] = -1;
	}
}

long setup_wait_proc(struct setup_test *t, unsigned short lport, int state,
		     long want, long *rxq)
{
	return proc_wait_count(setup_proc_family(t), lport, state, want, rxq,
			       STEP_NS);
}

/* One family in a namespace of its own; 0 when it measured. */
static int run_one(int (*run)(struct setup_test *t), int family, bool dual,
		   unsigned long time_s)
{
	struct setup_test t;
	int fd;

	memset(&t, 0, sizeof(t));
	t.family = family;
	t.dual = dual;
	t.fname = dual ? "dual" : sock_family_name(family);
	fd = socket(dual ? AF_INET6 : family, SOCK_STREAM, 0);
	if (fd < 0) {
		setup_why(&t, "no %s sockets", dual ? "ipv6" : t.fname);
		goto out;
	}
	close(fd);
	if (netns_enter(t.why, sizeof(t.why)))
		goto out;
	t.a = malloc(sizeof(*t.a));
	t.b = malloc(sizeof(*t.b));
	t.c = malloc(sizeof(*t.c));
	t.cur = malloc(sizeof(*t.cur));
	if (!t.a || !t.b || !t.c || !t.cur) {
		setup_why(&t, "out of memory");
		goto out;
	}
	mib_snapshot(t.a);
	if (!t.a->n) {
		setup_why(&t, "no TcpExt counters in /proc/net/netstat");
		goto out;
	}
	t.deadline = time_ns() + time_s * NSEC_PER_SEC;
	if (run(&t) && !t.why[0])
		setup_why(&t, "failed");
	if (stop_requested())
		setup_why(&t, "interrupted");
out:
	if (t.why[0])
		fprintf(stderr, "%s: %s: %s\n", PROG, t.fname, t.why);
	free(t.a);
	free(t.b);
	free(t.c);
	free(t.cur);
	return t.why[0] ? -1 : 0;
}

static void print_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s -S synq|acceptq|ports [-4|-6|-D] [-t SECONDS] [-f N] [-n N] [-P N]\n"
		"  -S synq     SYN queue full, tcp_syncookies=0: 3 connect()s whose SYN is\n"
		"              dropped, one control connect() with syncookies=1 (needs nft)\n"
		"  -S acceptq  accept queue full: a SYN dropped, then a third ACK dropped\n"
		"  -S ports    connect() CPU time: default range, a narrowed range all in\n"
		"              use but one (busy), all in use (full)\n"
		"  -4, -6      one address family only (default both)\n"
		"  -D          acceptq: IPv4 clients, a dual-stack IPv6 listener (family=dual)\n"
		"  -t SECONDS  time bound per family (default %d)\n"
		"  -f N        synq: then N raw SYNs with syncookies=1, in bursts of 250,\n"
		"              each followed by a connection whose bytes are checked\n"
		"  -n N        ports: connect() calls per phase (default 200)\n"
		"  -P N        ports: narrowed range size, even, 64..20000 (default 4096)\n"
		"Prints \"%s: scenario=NAME family=F key=value ...\" per family.\n"
		"Needs root.  Exit: 0 measured, 1 could not, 2 usage error.\n",
		PROG, SETUP_TIME_S, PROG);
}

int main(int argc, char **argv)
{
	unsigned long time_s = SETUP_TIME_S;
	int (*run)(struct setup_test *t) = NULL;
	bool only4 = false, only6 = false, dual = false;
	bool ports_opt = false;
	const char *scen = NULL;
	int c, ret = 0;

	opterr = 0;
	while ((c = getopt(argc, argv, ":S:46Dt:f:n:P:h")) != -1) {
		switch (c) {
		case 'S':
			scen = optarg;
			break;
		case '4':
			only4 = true;
			break;
		case '6':
			only6 = true;
			break;
		case 'D':
			dual = true;
			break;
		case 't':
			time_s = opt_short_ulong(c, optarg, 1, 3600);
			break;
		case 'f':
			setup_opts.flood_syns = opt_short_ulong(c, optarg, 1, 1000000);
			break;
		case 'n':
			setup_opts.count = opt_short_ulong(c, optarg, 1, 100000);
			ports_opt = true;
			break;
		case 'P':
			setup_opts.ports = opt_short_ulong(c, optarg, 64, 20000);
			if (setup_opts.ports & 1)
				opt_bad_arg("-P", optarg, "need an even number");
			ports_opt = true;
			break;
		case 'h':
			print_usage(stdout);
			return 0;
		default:
			opt_bad_option(c, argv);
		}
	}
	opt_no_operands(argc, argv);
	if (only4 + only6 + dual > 1)
		opt_usage_error("-4, -6 and -D exclude each other");
	if (!scen)
		opt_usage_error("-S synq|acceptq|ports is required");
	if (!strcmp(scen, "synq"))
		run = synq_run;
	else if (!strcmp(scen, "acceptq"))
		run = acceptq_run;
	else if (!strcmp(scen, "ports"))
		run = ports_run;
	else
		opt_bad_arg("-S", scen, "need synq, acceptq or ports");
	if ((setup_opts.flood_syns && run != synq_run) ||
	    (ports_opt && run != ports_run))
		opt_bad_arg("-S", scen, "-f is for -S synq, -n and -P for -S ports");
	if (dual && run != acceptq_run)
		opt_bad_arg("-S", scen, "-D is for -S acceptq");
	if (geteuid()) {
		fprintf(stderr, "%s: needs root (network namespaces)\n", PROG);
		return 1;
	}
	if (run == synq_run && !cmd_have_tool("nft --version >/dev/null 2>&1")) {
		fprintf(stderr, "%s: nft command not found\n", PROG);
		return 1;
	}
	stop_catch_signals();
	srandom(time_ns());
	if (dual)
		return run_one(run, AF_INET, true, time_s) ? 1 : 0;
	if (!only6)
		ret |= run_one(run, AF_INET, false, time_s);
	if (!only4 && !stop_requested())
		ret |= run_one(run, AF_INET6, false, time_s);
	return ret ? 1 : 0;
}
