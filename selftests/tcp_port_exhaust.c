// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists: connect() scans ip_local_port_range for a free
 * port, and an exhausted range makes every connect() burn CPU ("In-depth
 * analysis of common three-way handshake exceptions", seed 004 of this
 * project).  This test measures the per-connect() CPU time (thread CPU
 * clock) on loopback, in a private network namespace per address family:
 * with the default range (normal), with a range narrowed to N ports all
 * in use but one (busy: the connect() must take the freed port), and with
 * all N in use (full: connect() fails with EADDRNOTAVAIL after scanning
 * the whole range).
 *
 * It reports CPU times and asserts no threshold; it fails when the range
 * was not exhausted (a full connect() did not fail with EADDRNOTAVAIL, a
 * busy one did not take the free port) or a measurement was cut short.
 */
#define _GNU_SOURCE
#include <sys/resource.h>
#include <time.h>

#include "kselftest.h"
#include "lib/opt.h"
#include "lib/setup.h"
#include "lib/sock.h"
#include "lib/stats.h"
#include "lib/sysctl.h"
#include "lib/time.h"

#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE	51
#endif

#define MAX_PORTS		20000

static unsigned long opt_count = 200;
static unsigned long opt_ports = 4096;

static unsigned long long cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (unsigned long long)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

struct ports_phase {
	unsigned long n, ok, eaddrnotavail;
	unsigned long long *cpu, *wall, cpu_min;
	struct stats_summary c, w;
};

struct ports_res {
	int lo, hi, nlo, nhi;
	unsigned long filled, got_freed;
	unsigned long long fill_ms;
	struct ports_phase normal, full, busy;
};

/* One timed blocking connect(): the socket (connected or not) and errno. */
static int timed_connect(struct setup_test *t, struct ports_phase *p,
			 const struct sockaddr_storage *ls, socklen_t llen,
			 int *err)
{
	unsigned long long c0, w0;
	int fd, rc;

	fd = socket(t->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		setup_why(t, "socket: %s", strerror(errno));
		return -1;
	}
	sock_set_io_timeouts(fd, 5);
	w0 = time_ns();
	c0 = cpu_ns();
	rc = connect(fd, (const struct sockaddr *)ls, llen);
	*err = rc ? errno : 0;
	p->cpu[p->n] = cpu_ns() - c0;
	p->wall[p->n] = time_ns() - w0;
	p->n++;
	p->ok += !rc;
	p->eaddrnotavail += *err == EADDRNOTAVAIL;
	return fd;
}

/* Fill every port of the narrowed range with a connection. */
static int ports_fill(struct setup_test *t, struct ports_res *r, int *held,
		      const struct sockaddr_storage *ls, socklen_t llen)
{
	unsigned long long t0 = time_ns();
	int p, fd, range;

	for (p = r->nlo; p <= r->nhi && setup_running(t); p++) {
		fd = socket(t->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			setup_why(t, "socket: %s", strerror(errno));
			return -1;
		}
		/* IP_LOCAL_PORT_RANGE [p, p] (6.3+): this port, no scan. */
		range = p | p << 16;
		setsockopt(fd, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &range,
			   sizeof(range));
		if (connect(fd, (const struct sockaddr *)ls, llen)) {
			setup_why(t, "filling port %d: connect: %s", p,
				  strerror(errno));
			close(fd);
			return -1;
		}
		held[r->filled++] = fd;
	}
	r->fill_ms = (time_ns() - t0) / NSEC_PER_MSEC;
	if (r->filled != (unsigned long)(r->nhi - r->nlo + 1)) {
		setup_why(t, "time bound reached after filling %lu ports", r->filled);
		return -1;
	}
	return 0;
}

static void phase_line(const char *name, struct ports_phase *p)
{
	stats_summarize(p->cpu, p->n, &p->c);
	stats_summarize(p->wall, p->n, &p->w);
	p->cpu_min = p->n ? p->cpu[0] / NSEC_PER_USEC : 0;
	ksft_print_msg("  %-26s %6lu %8llu %8llu %8llu %8llu %9llu\n", name, p->n,
		       p->cpu_min, p->c.p50, p->c.p99, p->c.max, p->w.p50);
}

#define FMT_PORTS \
	"%s: scenario=ports family=%s range_normal=%d-%d range=%d-%d ports=%d filled=%lu fill_ms=%llu count=%lu normal_ok=%lu normal_cpu_min_us=%llu normal_cpu_p50_us=%llu normal_cpu_p99_us=%llu normal_cpu_max_us=%llu normal_wall_p50_us=%llu busy_ok=%lu busy_got_freed=%lu busy_cpu_min_us=%llu busy_cpu_p50_us=%llu busy_cpu_p99_us=%llu busy_cpu_max_us=%llu busy_wall_p50_us=%llu full_eaddrnotavail=%lu full_other=%lu full_cpu_min_us=%llu full_cpu_p50_us=%llu full_cpu_p99_us=%llu full_cpu_max_us=%llu full_wall_p50_us=%llu\n"

static void ports_report(struct setup_test *t, struct ports_res *r)
{
	ksft_print_msg("  %-26s %6s %8s %8s %8s %8s %9s\n", "connect() CPU time (us)",
		       "calls", "min", "p50", "p99", "max", "wall p50");
	phase_line("normal range", &r->normal);
	phase_line("narrow, all but 1 in use", &r->busy);
	phase_line("narrow, all in use", &r->full);
	ksft_print_msg(FMT_PORTS, program_invocation_short_name, t->fname,
		       r->lo, r->hi, r->nlo, r->nhi, r->nhi - r->nlo + 1,
		       r->filled, r->fill_ms, opt_count,
		       r->normal.ok, r->normal.cpu_min, r->normal.c.p50,
		       r->normal.c.p99, r->normal.c.max, r->normal.w.p50,
		       r->busy.ok, r->got_freed, r->busy.cpu_min, r->busy.c.p50,
		       r->busy.c.p99, r->busy.c.max, r->busy.w.p50,
		       r->full.eaddrnotavail, r->full.n - r->full.ok -
		       r->full.eaddrnotavail, r->full.cpu_min,
		       r->full.c.p50, r->full.c.p99, r->full.c.max,
		       r->full.w.p50);
	ksft_print_msg("  all in use: %lu/%lu connect() calls failed with EADDRNOTAVAIL\n",
		       r->full.eaddrnotavail, r->full.n);
	ksft_print_msg("  all but 1 in use: %lu/%lu connect() calls took the freed port\n",
		       r->got_freed, r->busy.n);
}

static int ports_test(struct setup_test *t)
{
	struct sysctl_saved s_range = { 0 }, s_somax = { 0 };
	unsigned long n = opt_ports, count = opt_count, i, j;
	unsigned short lport, got, freed;
	struct sockaddr_storage ls;
	struct rlimit old_rl, rl;
	bool rl_changed = false;
	int lfd = -1, fd, err;
	unsigned long long *buf;
	struct ports_res r;
	socklen_t llen;
	char val[64];
	int *held;

	memset(&r, 0, sizeof(r));
	held = calloc(n, sizeof(*held));
	buf = calloc(6 * count, sizeof(*buf));
	if (!held || !buf) {
		setup_why(t, "out of memory");
		goto out;
	}
	r.normal.cpu = buf;
	r.normal.wall = buf + count;
	r.full.cpu = buf + 2 * count;
	r.full.wall = buf + 3 * count;
	r.busy.cpu = buf + 4 * count;
	r.busy.wall = buf + 5 * count;
	for (i = 0; i < n; i++)
		held[i] = -1;
	if (sysctl_read("/proc/sys/net/ipv4/ip_local_port_range", val,
			sizeof(val)) || sscanf(val, "%d %d", &r.lo, &r.hi) != 2) {
		setup_why(t, "cannot read net.ipv4.ip_local_port_range");
		goto out;
	}

	/* Every port of the range held by a client plus room for the rest. */
	if (getrlimit(RLIMIT_NOFILE, &old_rl) == 0 &&
	    old_rl.rlim_cur < n + 256) {
		rl.rlim_cur = n + 256;
		rl.rlim_max = old_rl.rlim_max > rl.rlim_cur ? old_rl.rlim_max :
							     rl.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			setup_why(t, "cannot raise RLIMIT_NOFILE to %lu: %s",
				  n + 256, strerror(errno));
			goto out;
		}
		rl_changed = true;
	}
	/* Children are never accepted while the range is full. */
	snprintf(val, sizeof(val), "%lu", n + count + 64);
	if (sysctl_change(&s_somax, "/proc/sys/net/core/somaxconn", val)) {
		setup_why(t, "cannot set net.core.somaxconn=%s", val);
		goto out;
	}
	lfd = setup_listener_open(t, n + count + 64, &lport, &ls, &llen);
	if (lfd < 0)
		goto out;

	/* Normal: the namespace's default range, nothing else in use. */
	for (i = 0; i < count && setup_running(t); i++) {
		fd = timed_connect(t, &r.normal, &ls, llen, &err);
		if (fd < 0)
			goto out;
		sock_close_rst(fd);
		/* Accept and close what is queued on the listener. */
		while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
			sock_close_rst(fd);
	}

	/* Narrow the range to n ports that do not hold the listener. */
	r.nlo = r.lo;
	if (lport >= r.nlo && lport < r.nlo + (int)n)
		r.nlo = lport + 1;
	if (r.nlo + (int)n - 1 > 65535)
		r.nlo = lport - n;
	r.nhi = r.nlo + n - 1;
	snprintf(val, sizeof(val), "%d %d", r.nlo, r.nhi);
	if (sysctl_change(&s_range, "/proc/sys/net/ipv4/ip_local_port_range",
			  val)) {
		setup_why(t, "cannot set net.ipv4.ip_local_port_range=%s: %s",
			  val, strerror(errno));
		goto out;
	}
	if (ports_fill(t, &r, held, &ls, llen))
		goto out;

	/* Full: every port in use, connect() scans them all and fails. */
	for (i = 0; i < count && setup_running(t); i++) {
		fd = timed_connect(t, &r.full, &ls, llen, &err);
		if (fd < 0)
			goto out;
		sock_close_rst(fd);
	}

	/* Busy: free one random port, the next connect() must find it. */
	for (i = 0; i < count && setup_running(t); i++) {
		j = random() % n;
		if (sock_local_port(held[j], &freed)) {
			setup_why(t, "getsockname: %s", strerror(errno));
			goto out;
		}
		sock_close_rst(held[j]);
		held[j] = timed_connect(t, &r.busy, &ls, llen, &err);
		if (held[j] < 0)
			goto out;
		if (!err && !sock_local_port(held[j], &got) && got == freed)
			r.got_freed++;
	}
	/* Data checks: the range was exhausted. */
	if (r.normal.n < count || r.full.n < count || r.busy.n < count)
		setup_why(t, "time bound reached (%lu, %lu, %lu of %lu calls)",
			  r.normal.n, r.full.n, r.busy.n, count);
	else if (r.normal.ok != r.normal.n)
		setup_why(t, "%lu of %lu connects with the normal range failed",
			  r.normal.n - r.normal.ok, r.normal.n);
	else if (r.full.eaddrnotavail != r.full.n)
		setup_why(t,
			  "%lu of %lu connects with all ports in use did not fail with EADDRNOTAVAIL",
			  r.full.n - r.full.eaddrnotavail, r.full.n);
	else if (r.got_freed != r.busy.n)
		setup_why(t, "%lu of %lu connects did not take the one free port",
			  r.busy.n - r.got_freed, r.busy.n);
out:
	if (buf)
		ports_report(t, &r);
	if (held)
		setup_close_all(held, n);
	if (lfd >= 0)
		close(lfd);
	sysctl_restore(&s_range);
	sysctl_restore(&s_somax);
	if (rl_changed)
		setrlimit(RLIMIT_NOFILE, &old_rl);
	free(buf);
	free(held);
	return t->why[0] ? -1 : 0;
}

static void ports_opt(int c, const char *arg)
{
	if (c == 'n')
		opt_count = opt_ulong("-n", arg, 1, 100000);
	else if (!opt_parse_ulong(arg, MAX_PORTS, &opt_ports) ||
		 opt_ports < 64 || (opt_ports & 1))
		opt_bad_arg("-P", arg, "expected an even number, 64..20000");
}

int main(int argc, char **argv)
{
	static const struct setup_prog prog = {
		.scenario = "ports",
		.help = "Local port exhaustion: connect() CPU time with the default range, a\n"
			"narrowed range all in use but one (busy), and all in use (full).\n"
			"  -n N        connect() calls per phase (default 200)\n"
			"  -P N        narrowed range size, even, 64..20000 (default 4096)\n",
		.optstring = "n:P:",
		.opt = ports_opt,
		.run = ports_test,
	};

	return setup_main(argc, argv, &prog);
}
