/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Why this file exists: the TCP latency and receive-memory tests (the
 * close race, the stale timewait peer, receive-buffer growth, connection
 * setup exceptions, loopback stalls) need the same small helpers:
 * monotonic time, strict number parsing for getopt, a private network
 * namespace, loopback addresses, socket options, TcpExt counter
 * snapshots, sysctl save and restore, external commands (ip, tc, nft) and
 * latency percentiles.  They live here once, header-only like kselftest.h,
 * so each test stays a single C file.
 *
 * Every function is static inline: a test pulls in what it calls and the
 * compiler drops the rest without "unused function" warnings.
 */
#ifndef TCP_LAT_H
#define TCP_LAT_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <poll.h>
#include <netinet/in.h>
#include <linux/bpf.h>		/* BPF_TCP_*: the values of tcpi_state */
#include <linux/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"

/*
 * A usage error fails the program (KSFT_FAIL, 1): kselftest reads exit
 * status 2 as KSFT_XFAIL, an expected failure, which a typo is not.
 */
#define EXIT_USAGE		KSFT_FAIL

#define NSEC_PER_USEC		1000ULL
#define NSEC_PER_MSEC		1000000ULL
#define NSEC_PER_SEC		1000000000ULL

/* ---- time and stop flag ---------------------------------------------- */

static inline unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static inline void sleep_ns(unsigned long long ns)
{
	struct timespec ts = {
		.tv_sec = ns / NSEC_PER_SEC,
		.tv_nsec = ns % NSEC_PER_SEC,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Set by SIGINT/SIGTERM: every loop stops early and reports. */
static int lat_interrupted;

static inline void lat_on_signal(int sig)
{
	(void)sig;
	__atomic_store_n(&lat_interrupted, 1, __ATOMIC_RELAXED);
}

static inline bool lat_stopped(void)
{
	return __atomic_load_n(&lat_interrupted, __ATOMIC_RELAXED);
}

/* A stop flag one thread sets and others poll. */
static inline bool flag_get(int *f)
{
	return __atomic_load_n(f, __ATOMIC_ACQUIRE);
}

static inline void flag_set(int *f)
{
	__atomic_store_n(f, 1, __ATOMIC_RELEASE);
}

static inline void lat_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = lat_on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* snprintf() into the char array @buf (not a pointer: sizeof is its size). */
#define set_msg(buf, fmt, ...) snprintf(buf, sizeof(buf), fmt, ##__VA_ARGS__)

/* ---- command line ------------------------------------------------------ */

/* Decimal number without sign, spaces or suffix, at most @max. */
static inline bool parse_ulong(const char *s, unsigned long max,
			       unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!s || s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

/* Report a bad option value and exit with EXIT_USAGE; changes nothing. */
static inline void bad_arg(const char *opt, const char *val, const char *why)
{
	fprintf(stderr, "%s: invalid value '%s' for %s: %s\n",
		program_invocation_short_name, val ? val : "", opt, why);
	fprintf(stderr, "Try '%s --help'.\n", program_invocation_short_name);
	exit(EXIT_USAGE);
}

/*
 * The value of option @opt: a decimal integer in @min..@max, else a
 * message naming the option and the range, and exit (nothing has run).
 */
static inline unsigned long opt_ulong(const char *opt, const char *val,
				      unsigned long min, unsigned long max)
{
	unsigned long v = 0;
	char why[64];

	if (!parse_ulong(val, max, &v) || v < min) {
		snprintf(why, sizeof(why), "need an integer %lu..%lu", min, max);
		bad_arg(opt, val, why);
	}
	return v;
}

/* getopt's own message was printed already: add the hint and exit. */
static inline void bad_usage(void)
{
	fprintf(stderr, "Try '%s --help'.\n", program_invocation_short_name);
	exit(EXIT_USAGE);
}

/* After the getopt_long() loop: the programs take no operands. */
static inline void no_operands(int argc, char **argv)
{
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n",
			program_invocation_short_name, argv[optind]);
		bad_usage();
	}
}

/*
 * getopt_long() (opterr = 0, optstring starting with ':') returned ':' or
 * '?' for the option at argv[optind - 1]: say which and exit.
 */
static inline void bad_option(int c, char **argv)
{
	const char *me = program_invocation_short_name;

	if (c == ':')
		fprintf(stderr, "%s: option '%s' needs a value\n", me,
			argv[optind - 1]);
	else if (optopt)
		fprintf(stderr, "%s: unknown option '-%c'\n", me, optopt);
	else
		fprintf(stderr, "%s: unknown option '%s'\n", me, argv[optind - 1]);
	bad_usage();
}

/* getopt_long()'s last cases: -h prints @usage and exits 0, else bad_option(). */
static inline void help_or_bad(int c, char **argv, void (*usage)(FILE *out))
{
	if (c == 'h') {
		usage(stdout);
		exit(0);
	}
	bad_option(c, argv);
}

/* After the loop, for programs testing both families: -4/-6 pick one. */
static inline void opts_end(int argc, char **argv, bool *ipv4, bool *ipv6)
{
	no_operands(argc, argv);
	if (!*ipv4 && !*ipv6) {
		*ipv4 = true;
		*ipv6 = true;
	}
}

/* -4 or -6 of a program testing one family (*@family 0 until then). */
static inline void opt_family(int c, int *family)
{
	int f = c == '4' ? AF_INET : AF_INET6;

	if (*family && *family != f) {
		fprintf(stderr, "%s: -4 and -6 exclude each other\n",
			program_invocation_short_name);
		bad_usage();
	}
	*family = f;
}

/* ---- namespace, sysctls, commands --------------------------------------- */

static inline int link_up(const char *name)
{
	struct ifreq ifr;
	int fd, ret = -1;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		goto out;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr))
		goto out;
	ret = 0;
out:
	close(fd);
	return ret;
}

/*
 * Move the calling process into a new network namespace with lo up.
 * On failure @why says what went wrong (the caller skips).
 */
static inline int enter_netns(char *why, size_t sz)
{
	if (unshare(CLONE_NEWNET)) {
		snprintf(why, sz, "unshare(CLONE_NEWNET): %s (needs root)",
			 strerror(errno));
		return -1;
	}
	if (link_up("lo")) {
		snprintf(why, sz, "cannot bring lo up: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Read a sysctl file into @buf (trailing newline removed); -1 if absent. */
static inline int sysctl_read(const char *path, char *buf, size_t sz)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sz - 1);
	close(fd);
	if (n < 0)
		return -1;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return 0;
}

static inline int sysctl_write(const char *path, const char *val)
{
	ssize_t len = strlen(val);
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, val, len) != len)
		ret = -1;
	close(fd);
	return ret;
}

static inline long long sysctl_read_ll(const char *path)
{
	char buf[64];

	if (sysctl_read(path, buf, sizeof(buf)))
		return -1;
	return strtoll(buf, NULL, 10);
}

/*
 * Run a shell command; its output is passed on as TAP comments.
 * Returns the command's exit status, or -1 if it could not run.
 */
static inline int run_cmd(const char *fmt, ...)
{
	char cmd[1024], line[512];
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p))
		ksft_print_msg("%s", line);
	st = pclose(p);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* True when @tool runs ("@tool -V" or "--version" exits 0). */
static inline bool have_tool(const char *probe)
{
	int st = system(probe);

	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/*
 * Apply an nftables @ruleset in the current network namespace with
 * "nft -f"; 0 on success.  nft's messages are passed on as TAP comments.
 */
static inline int nft_apply(const char *ruleset)
{
	char path[] = "/tmp/tcp_lat_nft.XXXXXX";
	int fd, ret, len = strlen(ruleset);

	fd = mkstemp(path);
	if (fd < 0) {
		ksft_print_msg("nft: mkstemp: %s\n", strerror(errno));
		return -1;
	}
	if (write(fd, ruleset, len) != len) {
		ksft_print_msg("nft: write %s: %s\n", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	ret = run_cmd("nft -f %s 2>&1", path);
	unlink(path);
	return ret ? -1 : 0;
}

/*
 * Packets counted so far by the "counter" statements of nftables @table
 * ("inet name"), summed; -1 when the table cannot be listed.  Keep one
 * counter per table for a per-rule figure.
 */
static inline long long nft_packets(const char *table)
{
	char cmd[160], line[512];
	long long pkts = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nft list table %s 2>/dev/null", table);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		char *c = strstr(line, "counter packets ");

		if (c)
			pkts = (pkts < 0 ? 0 : pkts) +
			       strtoll(c + strlen("counter packets "), NULL, 10);
	}
	if (pclose(p))
		return -1;
	return pkts;
}

/*
 * Install table inet @table with one rule in the input hook: segments
 * matching @match (nft syntax) are counted and dropped.  0 on success.
 */
static inline int nft_drop_rule(const char *table, const char *match)
{
	char rules[512];

	snprintf(rules, sizeof(rules),
		 "table inet %s {\n"
		 "\tchain input {\n"
		 "\t\ttype filter hook input priority 0; policy accept;\n"
		 "\t\t%s counter drop\n"
		 "\t}\n"
		 "}\n", table, match);
	return nft_apply(rules);
}

/*
 * Delete table inet @table of nft_drop_rule(); returns the packets its
 * rule dropped (-1 when unknown).
 */
static inline long long nft_drop_rule_remove(const char *table)
{
	char cmd[96];
	long long pkts;

	snprintf(cmd, sizeof(cmd), "inet %s", table);
	pkts = nft_packets(cmd);
	snprintf(cmd, sizeof(cmd), "delete table inet %s\n", table);
	nft_apply(cmd);
	return pkts;
}

/* ---- sockets ------------------------------------------------------------ */

/* @addr (numeric v4 or v6) and @port as a sockaddr; 0 on a bad address. */
static inline socklen_t inet_addr_port(int family, const char *addr,
				       unsigned short port,
				       struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
			return 0;
		return sizeof(*sin);
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
		return 0;
	return sizeof(*sin6);
}

static inline socklen_t loopback_addr(int family, unsigned short port,
				      struct sockaddr_storage *ss)
{
	return inet_addr_port(family, family == AF_INET ? "127.0.0.1" : "::1",
			      port, ss);
}

static inline int local_port(int fd, unsigned short *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -1;
	if (ss.ss_family == AF_INET)
		*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else
		*port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/*
 * A non-blocking listener on loopback, any port; its address in @ss.  On
 * failure -1, errno, and @why saying which step failed.
 */
static inline int loopback_listen(int family, int backlog, unsigned short *port,
				  struct sockaddr_storage *ss, socklen_t *len,
				  char *why, size_t sz)
{
	int fd;

	*len = loopback_addr(family, 0, ss);
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, sz, "socket: %s", strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)ss, *len) || listen(fd, backlog) ||
	    local_port(fd, port)) {
		snprintf(why, sz, "listener: %s", strerror(errno));
		close(fd);
		return -1;
	}
	*len = loopback_addr(family, *port, ss);
	return fd;
}

static inline int set_int(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val));
}

static inline int set_io_timeouts(int fd, int secs)
{
	struct timeval tv = { .tv_sec = secs };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return -1;
	return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static inline int tcp_info_get(int fd, struct tcp_info *ti)
{
	socklen_t len = sizeof(*ti);

	memset(ti, 0, sizeof(*ti));
	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &len);
}

static inline const char *family_name(int family)
{
	return family == AF_INET ? "ipv4" : "ipv6";
}

/* ---- TcpExt counters ----------------------------------------------------- */

#define MIB_MAX		256
#define MIB_NAME	48
#define MIB_DELIM	"\n "

/* All TcpExt counters of /proc/net/netstat at one moment. */
struct mib_snap {
	unsigned int n;
	char name[MIB_MAX][MIB_NAME];
	long long val[MIB_MAX];
};

/*
 * Snapshot the TcpExt group of /proc/net/netstat of the calling thread's
 * network namespace.  An unreadable file gives an empty snapshot.
 */
static inline void mib_snapshot(struct mib_snap *s)
{
	size_t hsz = 0, vsz = 0;
	char *hdr = NULL, *val = NULL;
	FILE *f;

	s->n = 0;
	f = fopen("/proc/net/netstat", "r");
	if (!f)
		return;
	while (getline(&hdr, &hsz, f) > 0 && getline(&val, &vsz, f) > 0) {
		char *hsave, *vsave, *h, *v;

		if (strncmp(hdr, "TcpExt:", 7))
			continue;
		h = strtok_r(hdr + 7, MIB_DELIM, &hsave);
		v = strtok_r(val + 7, MIB_DELIM, &vsave);
		while (h && v && s->n < MIB_MAX) {
			snprintf(s->name[s->n], MIB_NAME, "%s", h);
			s->val[s->n] = strtoll(v, NULL, 10);
			s->n++;
			h = strtok_r(NULL, MIB_DELIM, &hsave);
			v = strtok_r(NULL, MIB_DELIM, &vsave);
		}
		break;
	}
	free(hdr);
	free(val);
	fclose(f);
}

/* Value of TcpExt counter @name, or -1 when the kernel does not have it. */
static inline long long mib_get(const struct mib_snap *s, const char *name)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->name[i], name))
			return s->val[i];
	return -1;
}

/* @b - @a for counter @name; -1 when the kernel does not have it. */
static inline long long mib_delta(const struct mib_snap *a,
				  const struct mib_snap *b, const char *name)
{
	long long x = mib_get(a, name), y = mib_get(b, name);

	if (x < 0 || y < 0)
		return -1;
	return y - x;
}

/* One TcpExt counter read now, -1 when absent. */
static inline long long tcpext_read(const char *name)
{
	struct mib_snap *s = malloc(sizeof(*s));
	long long v;

	if (!s)
		return -1;
	mib_snapshot(s);
	v = mib_get(s, name);
	free(s);
	return v;
}

/*
 * Print, as TAP comments, the counters of @names that moved between @a
 * and @b (every counter that moved when @all).
 */
static inline void mib_print_deltas(const char *prefix,
				    const struct mib_snap *a,
				    const struct mib_snap *b,
				    const char * const *names,
				    unsigned int nnames, bool all)
{
	char line[256];
	size_t len = 0;
	unsigned int i, k;

	for (i = 0; i < b->n; i++) {
		long long d = b->val[i] - mib_get(a, b->name[i]);
		bool want = all;

		if (mib_get(a, b->name[i]) < 0 || !d)
			continue;
		for (k = 0; k < nnames && !want; k++)
			want = !strcmp(b->name[i], names[k]);
		if (!want)
			continue;
		if (len > 80) {
			ksft_print_msg("%s:%s\n", prefix, line);
			len = 0;
		}
		len += snprintf(line + len, sizeof(line) - len, " %s=%+lld",
				b->name[i], d);
	}
	if (len)
		ksft_print_msg("%s:%s\n", prefix, line);
}

/* Counter value for a key=value line: "na" when the kernel lacks it. */
static inline void fmt_count(char *buf, size_t sz, long long v)
{
	if (v < 0)
		snprintf(buf, sz, "na");
	else
		snprintf(buf, sz, "%lld", v);
}

/* ---- CPUs ----------------------------------------------------------------- */

/*
 * The first two CPUs of the affinity mask in @a and @b: returns how many
 * there were (0..2), or -1 when the mask cannot be read.
 */
static inline int pick_cpus(int *a, int *b)
{
	cpu_set_t set;
	int cpu, found = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	for (cpu = 0; cpu < CPU_SETSIZE && found < 2; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		if (!found)
			*a = cpu;
		else
			*b = cpu;
		found++;
	}
	return found;
}

/* Pin the calling thread to @cpu. */
static inline int pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* ---- latency statistics --------------------------------------------------- */

static inline int cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile (per mille) of a sorted array, in microseconds. */
static inline unsigned long long pct_us(const unsigned long long *v,
					unsigned long n, unsigned int permille)
{
	unsigned long long rank;

	if (!n)
		return 0;
	rank = ((unsigned long long)n * permille + 999) / 1000;
	if (rank < 1)
		rank = 1;
	return v[rank - 1] / NSEC_PER_USEC;
}

struct lat_summary {
	unsigned long long p50, p99, p999, max;
	unsigned long over100ms, over1s;
};

/* Sort @v (nanoseconds) and fill @s in microseconds. */
static inline void summarize(unsigned long long *v, unsigned long n,
			     struct lat_summary *s)
{
	unsigned long i;

	qsort(v, n, sizeof(*v), cmp_ull);
	s->p50 = pct_us(v, n, 500);
	s->p99 = pct_us(v, n, 990);
	s->p999 = pct_us(v, n, 999);
	s->max = n ? v[n - 1] / NSEC_PER_USEC : 0;
	s->over100ms = 0;
	s->over1s = 0;
	for (i = 0; i < n; i++) {
		s->over100ms += v[i] >= 100 * NSEC_PER_MSEC;
		s->over1s += v[i] >= NSEC_PER_SEC;
	}
}

/*
 * --samples FILE: start @path empty (at option parsing, so a path that
 * cannot be written is a usage error and nothing runs).
 */
static inline void samples_open(const char *opt, const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		bad_arg(opt, path, strerror(errno));
	fclose(f);
}

/*
 * Append @n latencies (nanoseconds, in the order measured) to @path, one
 * "<label> <microseconds>" line each: the raw data behind the percentiles,
 * for distribution plots (scripts/plot-cdf).  Call before summarize(),
 * which sorts @v.
 */
static inline int samples_write(const char *path, const char *label,
				const unsigned long long *v, unsigned long n)
{
	unsigned long i;
	FILE *f;

	if (!path)
		return 0;
	f = fopen(path, "a");
	if (!f)
		return -1;
	for (i = 0; i < n; i++)
		fprintf(f, "%s %llu\n", label, v[i] / NSEC_PER_USEC);
	return fclose(f) ? -1 : 0;
}

/* ---- sockets: closing, connecting, accepting ------------------------------ */

/* Close @fd with SO_LINGER {1, 0}: a RST, no timewait socket. */
static inline void close_rst(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* Wait until @fd's non-blocking connect() finished; 0 connected, else -errno. */
static inline int connect_wait(int fd, unsigned long long until)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	unsigned long long now;
	int err = 0;

	for (;;) {
		now = now_ns();
		if (now >= until || lat_stopped())
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (until - now) / NSEC_PER_MSEC + 1) > 0)
			break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	return -err;
}

/* Accept one connection within @wait_ns; the socket or -1. */
static inline int accept_one(int lfd, unsigned long long wait_ns)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };

	if (poll(&pfd, 1, wait_ns / NSEC_PER_MSEC) <= 0)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* ---- a sysctl changed for one test and restored ---------------------------- */

struct saved_sysctl {
	const char *path;
	char old[64];
	bool changed;
};

static inline int sysctl_change(struct saved_sysctl *s, const char *path,
				const char *val)
{
	s->path = path;
	s->changed = false;
	if (sysctl_read(path, s->old, sizeof(s->old)) || sysctl_write(path, val))
		return -1;
	s->changed = true;
	return 0;
}

static inline void sysctl_restore(struct saved_sysctl *s)
{
	if (s->changed && sysctl_write(s->path, s->old))
		ksft_print_msg("cannot restore %s to '%s'\n", s->path, s->old);
	s->changed = false;
}

/* ---- a client on one fixed source port (tcp_tw_race, tcp_stale_peer) ------ */

/* Connect attempts refused by a stale timewait socket before giving up. */
#define MAX_REFUSED		3
/* Socket send/receive timeout, generous for slow (TCG) virtual machines. */
#define FC_IO_TIMEOUT_S		10
/* A SYN retransmitted this late was dropped, not answered by a stale ACK. */
#define SLOW_SYN_NS		(500 * NSEC_PER_MSEC)

/* How a connect() met a stale peer (fc_connect()). */
#define HIT_SYN_RTX		0x1	/* its SYN was retransmitted */
#define HIT_SYN_RST		0x2	/* a timewait socket answered with a RST */
#define HIT_SYN_LATE		0x4	/* ... retransmitted after >= 500 ms */

struct fixed_client {
	int family;
	unsigned short sport;	/* server port */
	unsigned short cport;	/* client port, chosen by the first socket */
	bool rst_close;		/* SO_LINGER {1, 0}: close() sends a RST/ACK */
	char err[256];
};

#define fc_fail(c, fmt, ...) \
	snprintf((c)->err, sizeof((c)->err), "client: " fmt, ##__VA_ARGS__)

/* A socket bound to the fixed client port (chosen by the first call). */
static inline int fc_socket(struct fixed_client *c)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct sockaddr_storage ss;
	socklen_t alen;
	int fd;

	fd = socket(c->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fc_fail(c, "socket: %s", strerror(errno));
		return -1;
	}
	alen = loopback_addr(c->family, c->cport, &ss);
	if (set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) ||
	    (c->rst_close &&
	     setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg))) ||
	    set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1) ||
	    set_io_timeouts(fd, FC_IO_TIMEOUT_S)) {
		fc_fail(c, "socket options: %s", strerror(errno));
		goto fail;
	}
	if (bind(fd, (struct sockaddr *)&ss, alen)) {
		fc_fail(c, "bind source port %u: %s", c->cport, strerror(errno));
		goto fail;
	}
	if (!c->cport && local_port(fd, &c->cport)) {
		fc_fail(c, "getsockname: %s", strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/*
 * Connect from the fixed port to the server; the socket or -1.  *flags
 * says how the connect() met a stale peer: a timewait socket refused the
 * SYN (HIT_SYN_RST, connect() is retried), or the SYN was retransmitted
 * (HIT_SYN_RTX): answered by a stale ACK, which the client resets and
 * resends its SYN after TCP_TIMEOUT_MIN, or not answered at all (resent
 * after the initial RTO, HIT_SYN_LATE).  Nothing else retransmits on an
 * idle loopback.  *rtx gets tcpi_total_retrans right after connect().
 */
static inline int fc_connect(struct fixed_client *c, bool first,
			     unsigned long long *lat, unsigned int *flags,
			     unsigned int *rtx)
{
	struct sockaddr_storage ss;
	unsigned long long t0;
	struct tcp_info ti;
	socklen_t alen;
	int attempt, fd;

	*flags = 0;
	alen = loopback_addr(c->family, c->sport, &ss);
	t0 = now_ns();
	for (attempt = 0; ; attempt++) {
		fd = fc_socket(c);
		if (fd < 0)
			return -1;
		if (!connect(fd, (struct sockaddr *)&ss, alen))
			break;
		if (errno == ECONNREFUSED && !first && attempt < MAX_REFUSED &&
		    !lat_stopped()) {
			*flags |= HIT_SYN_RST;
			close(fd);
			continue;
		}
		fc_fail(c, "connect from port %u to port %u (attempt %d): %s",
			c->cport, c->sport, attempt + 1, strerror(errno));
		close(fd);
		return -1;
	}
	*lat = now_ns() - t0;
	if (tcp_info_get(fd, &ti)) {
		fc_fail(c, "getsockopt(TCP_INFO) after connect: %s",
			strerror(errno));
		close(fd);
		return -1;
	}
	*rtx = ti.tcpi_total_retrans;
	if (ti.tcpi_total_retrans)
		*flags |= HIT_SYN_RTX;
	if (ti.tcpi_total_retrans && *lat >= SLOW_SYN_NS)
		*flags |= HIT_SYN_LATE;
	return fd;
}

/* ---- exit ------------------------------------------------------------------ */

/* Exit as kselftest reads it: fail, skip when nothing passed, else pass. */
static inline void lat_exit(void)
{
	if (ksft_get_fail_cnt())
		ksft_exit_fail();
	if (!ksft_get_pass_cnt() && ksft_get_xskip_cnt()) {
		ksft_print_cnts();
		exit(KSFT_SKIP);
	}
	ksft_exit_pass();
}

/* ---- connection-setup tests (tcp_synq_full, tcp_acceptq_full, tcp_port_exhaust) */

/* How long a handshake step may take before a test gives up on it. */
#define STEP_NS			(2 * NSEC_PER_SEC)
/* A dropped SYN is retransmitted after 1 s, then 3 s (2 s linear): wait 5. */
#define CONNECT_WAIT_NS		(5 * NSEC_PER_SEC)
#define POLL_NS			(5 * NSEC_PER_MSEC)

#define TCP_ST_SYN_RECV		3
#define TCP_ST_LISTEN		10

/* One test: one scenario in one address family, in its own namespace. */
struct setup_test {
	int family;
	const char *fname;
	unsigned long long deadline;
	char why[256];
	struct mib_snap *a, *b, *c, *cur;
};

/* A connection-setup program: its scenario, options and test. */
struct setup_prog {
	const char *scenario;	/* "scenario=" of the result line */
	const char *help;	/* what it does and its own options */
	const char *optstring;	/* its own short options, e.g. "n:P:" */
	void (*opt)(int c, const char *arg);
	int (*run)(struct setup_test *t);
	bool needs_nft;
};

static inline bool running(const struct setup_test *t)
{
	return !lat_stopped() && now_ns() < t->deadline;
}

/* The first reason a test fails; later ones are consequences. */
static inline void set_why(struct setup_test *t, const char *fmt, ...)
{
	va_list ap;

	if (t->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(t->why, sizeof(t->why), fmt, ap);
	va_end(ap);
}

/* A counter for a key=value line in a caller's 24-byte buffer. */
static inline const char *cnt(char *buf, long long v)
{
	fmt_count(buf, 24, v);
	return buf;
}

/* Poll until TcpExt @name moved since @from, at most @wait_ns. */
static inline bool wait_moved(struct setup_test *t, const struct mib_snap *from,
			      const char *name, unsigned long long wait_ns)
{
	unsigned long long until = now_ns() + wait_ns;

	for (;;) {
		mib_snapshot(t->cur);
		if (mib_delta(from, t->cur, name) > 0)
			return true;
		if (now_ns() >= until || lat_stopped())
			return false;
		sleep_ns(NSEC_PER_MSEC);
	}
}

static inline int listener_open(struct setup_test *t, int backlog,
				unsigned short *port,
				struct sockaddr_storage *ss, socklen_t *len)
{
	char why[128];
	int fd;

	fd = loopback_listen(t->family, backlog, port, ss, len, why, sizeof(why));
	if (fd < 0)
		set_why(t, "%s", why);
	return fd;
}

/* A non-blocking client whose connect() to @ss is under way; or -1. */
static inline int connect_start(struct setup_test *t,
				const struct sockaddr_storage *ss,
				socklen_t len)
{
	int fd;

	fd = socket(t->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_why(t, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)ss, len) &&
	    errno != EINPROGRESS) {
		set_why(t, "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static inline void close_all(int *fds, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++) {
		close_rst(fds[i]);
		fds[i] = -1;
	}
}

/*
 * Sockets of /proc/net/tcp{,6} with local port @lport in state @state;
 * the Recv-Q of the last one (the accept backlog of a listener) in @rxq.
 */
static inline long proc_tcp_count(int family, unsigned short lport,
				  int state, long *rxq)
{
	char line[512];
	long n = 0;
	FILE *f;

	f = fopen(family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned int port, st;
		unsigned long tx, rx;

		if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %lx:%lx",
			   &port, &st, &tx, &rx) != 4)
			continue;
		if (port != lport || (int)st != state)
			continue;
		n++;
		if (rxq)
			*rxq = rx;
	}
	fclose(f);
	return n;
}

/*
 * Poll until @want sockets are in @state on @lport, or with @rxq until
 * the listener's accept backlog is @want; returns the last count.
 */
static inline long wait_proc(struct setup_test *t, unsigned short lport,
			     int state, long want, long *rxq)
{
	unsigned long long until = now_ns() + STEP_NS;
	long n, q = -1;

	for (;;) {
		n = proc_tcp_count(t->family, lport, state, &q);
		if (rxq) {
			*rxq = q;
			n = q;
		}
		if (n == want || now_ns() >= until || lat_stopped())
			return n;
		sleep_ns(POLL_NS);
	}
}

static inline void setup_run_one(const struct setup_prog *p, int family,
				 unsigned long time_s)
{
	struct setup_test t;
	char name[32];
	int fd;

	memset(&t, 0, sizeof(t));
	t.family = family;
	t.fname = family_name(family);
	snprintf(name, sizeof(name), "%s %s", p->scenario, t.fname);
	fd = socket(family, SOCK_STREAM, 0);
	if (fd < 0) {
		ksft_test_result_skip("%s: %s not available\n", name, t.fname);
		return;
	}
	close(fd);
	if (enter_netns(t.why, sizeof(t.why))) {
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
	t.deadline = now_ns() + time_s * NSEC_PER_SEC;
	if (p->run(&t) && !t.why[0])
		set_why(&t, "failed");
	if (lat_stopped())
		set_why(&t, "interrupted");
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

/*
 * Default time bound per test of a connection-setup program.  It only ends
 * a run that is not done: every loop stops at its own count first.  A
 * stock or patched kernel under TCG is done within seconds; KCSAN and
 * KASAN kernels take minutes, and at 30 s tcp_port_exhaust's IPv6 full
 * phase was cut short on 7.3.4-kcsan (158 of 200 calls).  Two families at
 * 120 s stay within the 300 s of "settings".
 */
#define SETUP_TIME_S	120

/*
 * main() of a connection-setup program: -4, -6, -t and the program's own
 * options, then one test per address family.
 */
static inline int setup_main(int argc, char **argv, const struct setup_prog *p)
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
			bad_option(c, argv);
		} else {
			p->opt(c, optarg);
		}
	}
	no_operands(argc, argv);
	if (only4 && only6) {
		fprintf(stderr, "%s: -4 and -6 exclude each other\n", me);
		bad_usage();
	}
	ksft_print_header();
	ksft_set_plan(only4 || only6 ? 1 : 2);
	lat_catch_signals();
	srandom(now_ns());
	if (p->needs_nft && !have_tool("nft --version >/dev/null 2>&1")) {
		if (!only6)
			ksft_test_result_skip("%s ipv4: nft command not found\n",
					      p->scenario);
		if (!only4)
			ksft_test_result_skip("%s ipv6: nft command not found\n",
					      p->scenario);
		lat_exit();
	}
	if (!only6)
		setup_run_one(p, AF_INET, time_s);
	if (!only4)
		setup_run_one(p, AF_INET6, time_s);
	lat_exit();
	return 0;
}

#endif /* TCP_LAT_H */
