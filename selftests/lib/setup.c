// SPDX-License-Identifier: GPL-2.0
/*
 * The frame of the connection-setup programs (tcp_synq_full,
 * tcp_acceptq_full, tcp_port_exhaust): setup_main() parses -4, -6, -t
 * and the program's own options, then runs its one scenario once per
 * address family, each in a network namespace of its own, as one TAP
 * test.  Every TAP result and the exit are in this file, so kselftest.h's
 * counts (static, one set per compiled file) are the ones it exits by.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "netns.h"
#include "opt.h"
#include "proc.h"
#include "setup.h"
#include "sock.h"
#include "stop.h"
#include "tap.h"

/*
 * Default time bound per test of a connection-setup program.  It only ends
 * a run that is not done: every loop stops at its own count first.  A
 * stock or patched kernel under TCG is done within seconds; KCSAN and
 * KASAN kernels take minutes, and at 30 s tcp_port_exhaust's IPv6 full
 * phase was cut short on 7.3.4-kcsan (158 of 200 calls).  Two families at
 * 120 s stay within the 300 s of "settings".
 */
#define SETUP_TIME_S	120

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
	unsigned long long until = time_ns() + wait_ns;

	for (;;) {
		mib_snapshot(t->cur);
		if (mib_delta(from, t->cur, name) > 0)
			return true;
		if (time_ns() >= until || stop_requested())
			return false;
		time_sleep_ns(NSEC_PER_MSEC);
	}
}

int setup_listener_open(struct setup_test *t, int backlog, unsigned short *port,
			struct sockaddr_storage *ss, socklen_t *len)
{
	char why[128];
	int fd;

	fd = sock_loopback_listen(t->family, backlog, port, ss, len, why,
				  sizeof(why));
	if (fd < 0)
		setup_why(t, "%s", why);
	return fd;
}

int setup_connect_start(struct setup_test *t, const struct sockaddr_storage *ss,
			socklen_t len)
{
	int fd;

	fd = socket(t->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		setup_why(t, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)ss, len) &&
	    errno != EINPROGRESS) {
		setup_why(t, "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
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
	unsigned long long until = time_ns() + STEP_NS;
	long n, q = -1;

	for (;;) {
		n = proc_tcp_count(t->family, lport, state, &q);
		if (rxq) {
			*rxq = q;
			n = q;
		}
		if (n == want || time_ns() >= until || stop_requested())
			return n;
		time_sleep_ns(POLL_NS);
	}
}

static void setup_run_one(const struct setup_prog *p, int family,
			  unsigned long time_s)
{
	struct setup_test t;
	char name[32];
	int fd;

	memset(&t, 0, sizeof(t));
	t.family = family;
	t.fname = sock_family_name(family);
	snprintf(name, sizeof(name), "%s %s", p->scenario, t.fname);
	fd = socket(family, SOCK_STREAM, 0);
	if (fd < 0) {
		ksft_test_result_skip("%s: %s not available\n", name, t.fname);
		return;
	}
	close(fd);
	if (netns_enter(t.why, sizeof(t.why))) {
		ksft_test_result_skip("%s: %s\n", name, t.why);
		return;
	}
	t.a = malloc(sizeof(*t.a));
	t.b = malloc(sizeof(*t.b));
	t.c = malloc(sizeof(*t.c));
	t.cur = malloc(sizeof(*t.cur));
	if (!t.a || !t.b || !t.c || !t.cur) {
		ksft_test_result_fail("%s: out of memory\n", name);
		goto out;
	}
	mib_snapshot(t.a);
	if (!t.a->n) {
		ksft_test_result_skip("%s: no TcpExt counters in /proc/net/netstat\n",
				      name);
		goto out;
	}
	t.deadline = time_ns() + time_s * NSEC_PER_SEC;
	if (p->run(&t) && !t.why[0])
		setup_why(&t, "failed");
	if (stop_requested())
		setup_why(&t, "interrupted");
	if (t.why[0])
		ksft_test_result_fail("%s: %s\n", name, t.why);
	else
		ksft_test_result_pass("%s\n", name);
out:
	free(t.a);
	free(t.b);
	free(t.c);
	free(t.cur);
}

int setup_main(int argc, char **argv, const struct setup_prog *p)
{
	static const struct option help[] = { { "help", 0, NULL, 'h' }, { } };
	const char *me = program_invocation_short_name;
	bool only4 = false, only6 = false;
	unsigned long time_s = SETUP_TIME_S;
	char opts[32];
	int c;

	snprintf(opts, sizeof(opts), ":46t:h%s", p->optstring);
	opterr = 0;
	while ((c = getopt_long(argc, argv, opts, help, NULL)) != -1) {
		if (c == '4') {
			only4 = true;
		} else if (c == '6') {
			only6 = true;
		} else if (c == 't') {
			time_s = opt_ulong("-t", optarg, 1, 3600);
		} else if (c == 'h') {
			printf("Usage: %s [-4|-6] [-t SECONDS]%s\n", me,
			       p->optstring[0] ? " [options]" : "");
			printf("%s", p->help);
			printf("  -4, -6      one address family only (default both)\n");
			printf("  -t SECONDS  time bound per test (default %d)\n",
			       SETUP_TIME_S);
			printf("Prints \"%s: scenario=%s ...\" per test.\n", me,
			       p->scenario);
			printf("Needs root.  Exit: 0 pass, 1 fail or bad arguments, 4 skip.\n");
			exit(0);
		} else if (c == ':' || c == '?') {
			opt_bad_option(c, argv);
		} else {
			p->opt(c, optarg);
		}
	}
	opt_no_operands(argc, argv);
	if (only4 && only6) {
		fprintf(stderr, "%s: -4 and -6 exclude each other\n", me);
		opt_bad_usage();
	}
	ksft_print_header();
	ksft_set_plan(only4 || only6 ? 1 : 2);
	stop_catch_signals();
	srandom(time_ns());
	if (p->needs_nft && !cmd_have_tool("nft --version >/dev/null 2>&1")) {
		if (!only6)
			ksft_test_result_skip("%s ipv4: nft command not found\n",
					      p->scenario);
		if (!only4)
			ksft_test_result_skip("%s ipv6: nft command not found\n",
					      p->scenario);
		tap_exit();
	}
	if (!only6)
		setup_run_one(p, AF_INET, time_s);
	if (!only4)
		setup_run_one(p, AF_INET6, time_s);
	tap_exit();
	return 0;
}
