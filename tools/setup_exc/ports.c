// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_setup_exc -S ports: connect() scans ip_local_port_range for a free
 * port, and an exhausted range makes every connect() burn CPU.  This
 * measures the per-connect() CPU time (thread CPU clock): with the
 * default range (normal), with a range narrowed to -P ports all in use
 * but one (busy: the connect() takes the freed port), and with all of
 * them in use (full: connect() fails with EADDRNOTAVAIL after scanning
 * the whole range).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "lib/sock.h"
#include "lib/stats.h"
#include "lib/sysctl.h"
#include "setup_exc.h"

#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE	51
#endif

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
	printf("  %-26s %6lu %8llu %8llu %8llu %8llu %9llu\n", name, p->n,
	       p->cpu_min, p->c.p50, p->c.p99, p->c.max, p->w.p50);
}

#define FMT_PORTS \
	"%s: scenario=ports family=%s range_normal=%d-%d range=%d-%d ports=%d filled=%lu fill_ms=%llu count=%lu normal_ok=%lu normal_cpu_min_us=%llu normal_cpu_p50_us=%llu normal_cpu_p99_us=%llu normal_cpu_max_us=%llu normal_wall_p50_us=%llu busy_ok=%lu busy_got_freed=%lu busy_cpu_min_us=%llu busy_cpu_p50_us=%llu busy_cpu_p99_us=%llu busy_cpu_max_us=%llu busy_wall_p50_us=%llu full_eaddrnotavail=%lu full_other=%lu full_cpu_min_us=%llu full_cpu_p50_us=%llu full_cpu_p99_us=%llu full_cpu_max_us=%llu full_wall_p50_us=%llu\n"

static void ports_report(struct setup_test *t, struct ports_res *r)
{
	printf("  %-26s %6s %8s %8s %8s %8s %9s\n", "connect() CPU time (us)",
	       "calls", "min", "p50", "p99", "max", "wall p50");
	phase_line("normal range", &r->normal);
	phase_line("narrow, all but 1 in use", &r->busy);
	phase_line("narrow, all in use", &r->full);
	printf(FMT_PORTS, PROG, t->fname,
	       r->lo, r->hi, r->nlo, r->nhi, r->nhi - r->nlo + 1,
	       r->filled, r->fill_ms, setup_opts.count,
	       r->normal.ok, r->normal.cpu_min, r->normal.c.p50,
	       r->normal.c.p99, r->normal.c.max, r->normal.w.p50,
	       r->busy.ok, r->got_freed, r->busy.cpu_min, r->busy.c.p50,
	       r->busy.c.p99, r->busy.c.max, r->busy.w.p50,
	       r->full.eaddrnotavail, r->full.n - r->full.ok -
	       r->full.eaddrnotavail, r->full.cpu_min,
	       r->full.c.p50, r->full.c.p99, r->full.c.max,
	       r->full.w.p50);
	printf("  all in use: %lu/%lu connect() calls failed with EADDRNOTAVAIL\n",
	       r->full.eaddrnotavail, r->full.n);
	printf("  all but 1 in use: %lu/%lu connect() calls took the freed port\n",
	       r->got_freed, r->busy.n);
}

/* The listener, the held connections and what the run changed. */
struct ports_ctx {
	unsigned long n, count;
	int lfd, *held;
	unsigned short lport;
	struct sockaddr_storage ls;
	socklen_t llen;
	struct sysctl_saved s_range, s_somax;
	struct rlimit old_rl;
	bool rl_changed;
};

/* Room for every port of the range plus the rest; the listener. */
static int ports_setup(struct setup_test *t, struct ports_ctx *x,
		       struct ports_res *r)
{
	unsigned long n = x->n;
	struct rlimit rl;
	char val[64];

	if (sysctl_read("/proc/sys/net/ipv4/ip_local_port_range", val,
			sizeof(val)) || sscanf(val, "%d %d", &r->lo, &r->hi) != 2) {
		setup_why(t, "cannot read net.ipv4.ip_local_port_range");
		return -1;
	}
	if (getrlimit(RLIMIT_NOFILE, &x->old_rl) == 0 &&
	    x->old_rl.rlim_cur < n + 256) {
		rl.rlim_cur = n + 256;
		rl.rlim_max = x->old_rl.rlim_max > rl.rlim_cur ?
			      x->old_rl.rlim_max : rl.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			setup_why(t, "cannot raise RLIMIT_NOFILE to %lu: %s",
				  n + 256, strerror(errno));
			return -1;
		}
		x->rl_changed = true;
	}
	/* Children are never accepted while the range is full. */
	snprintf(val, sizeof(val), "%lu", n + x->count + 64);
	if (sysctl_change(&x->s_somax, "/proc/sys/net/core/somaxconn", val)) {
		setup_why(t, "cannot set net.core.somaxconn=%s", val);
		return -1;
	}
	x->lfd = setup_listener_open(t, n + x->count + 64, &x->lport, &x->ls,
				     &x->llen);
	return x->lfd < 0 ? -1 : 0;
}

/* Narrow the range to n ports without the listener's and fill them. */
static int ports_narrow(struct setup_test *t, struct ports_ctx *x,
			struct ports_res *r)
{
	int n = x->n;
	char val[64];

	r->nlo = r->lo;
	if (x->lport >= r->nlo && x->lport < r->nlo + n)
		r->nlo = x->lport + 1;
	if (r->nlo + n - 1 > 65535)
		r->nlo = x->lport - n;
	r->nhi = r->nlo + n - 1;
	snprintf(val, sizeof(val), "%d %d", r->nlo, r->nhi);
	if (sysctl_change(&x->s_range, "/proc/sys/net/ipv4/ip_local_port_range",
			  val)) {
		setup_why(t, "cannot set net.ipv4.ip_local_port_range=%s: %s",
			  val, strerror(errno));
		return -1;
	}
	return ports_fill(t, r, x->held, &x->ls, x->llen);
}

/* The three phases: normal, full, busy. */
static int ports_phases(struct setup_test *t, struct ports_ctx *x,
			struct ports_res *r)
{
	unsigned short got, freed;
	unsigned long i, j;
	int fd, err;

	/* Normal: the namespace's default range, nothing else in use. */
	for (i = 0; i < x->count && setup_running(t); i++) {
		fd = timed_connect(t, &r->normal, &x->ls, x->llen, &err);
		if (fd < 0)
			return -1;
		sock_close_rst(fd);
		/* Accept and close what is queued on the listener. */
		while ((fd = accept4(x->lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
			sock_close_rst(fd);
	}
	if (ports_narrow(t, x, r))
		return -1;
	/* Full: every port in use, connect() scans them all and fails. */
	for (i = 0; i < x->count && setup_running(t); i++) {
		fd = timed_connect(t, &r->full, &x->ls, x->llen, &err);
		if (fd < 0)
			return -1;
		sock_close_rst(fd);
	}
	/* Busy: free one random port, the next connect() finds it (or not). */
	for (i = 0; i < x->count && setup_running(t); i++) {
		j = random() % x->n;
		if (sock_local_port(x->held[j], &freed)) {
			setup_why(t, "getsockname: %s", strerror(errno));
			return -1;
		}
		sock_close_rst(x->held[j]);
		x->held[j] = timed_connect(t, &r->busy, &x->ls, x->llen, &err);
		if (x->held[j] < 0)
			return -1;
		if (!err && !sock_local_port(x->held[j], &got) && got == freed)
			r->got_freed++;
	}
	return 0;
}

int ports_run(struct setup_test *t)
{
	struct ports_ctx x = { .n = setup_opts.ports, .count = setup_opts.count,
			       .lfd = -1 };
	unsigned long long *buf;
	struct ports_res r;
	unsigned long i;

	memset(&r, 0, sizeof(r));
	x.held = calloc(x.n, sizeof(*x.held));
	buf = calloc(6 * x.count, sizeof(*buf));
	if (!x.held || !buf) {
		setup_why(t, "out of memory");
		goto out;
	}
	r.normal.cpu = buf;
	r.normal.wall = buf + x.count;
	r.full.cpu = buf + 2 * x.count;
	r.full.wall = buf + 3 * x.count;
	r.busy.cpu = buf + 4 * x.count;
	r.busy.wall = buf + 5 * x.count;
	for (i = 0; i < x.n; i++)
		x.held[i] = -1;
	if (!ports_setup(t, &x, &r))
		ports_phases(t, &x, &r);
	ports_report(t, &r);
out:
	if (x.held)
		setup_close_all(x.held, x.n);
	if (x.lfd >= 0)
		close(x.lfd);
	sysctl_restore(&x.s_range);
	sysctl_restore(&x.s_somax);
	if (x.rl_changed)
		setrlimit(RLIMIT_NOFILE, &x.old_rl);
	free(buf);
	free(x.held);
	return t->why[0] ? -1 : 0;
}
