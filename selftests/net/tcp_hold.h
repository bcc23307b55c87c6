/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the TCP race selftests (tcp_tw_relookup,
 * tcp_syn_closed).  Their races last a few hundred nanoseconds, so each
 * test widens one of them without any module: a BPF program of
 * tcp_hold.bpf.c (a socket filter, or a program on a raw tracepoint) holds
 * one armed segment or socket in a bounded bpf_loop() busy-wait, and
 * records when it held it.  tcp_hold.c loads it with libbpf and arms it;
 * this header declares that and has the socket and /proc helpers the
 * tests use.
 */
#ifndef TCP_HOLD_H
#define TCP_HOLD_H

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tcp_hold_common.h"

#define WAIT_NS		(5 * 1000 * 1000 * 1000ULL)	/* bound of every wait */

/* A loaded hold program of a test's .bpf.o (tcp_hold.c). */
struct bpf_object;
struct bpf_program;
struct bpf_link;

struct hold_bpf {
	struct bpf_object *obj;
	struct bpf_program *prog;	/* the one program loaded */
	struct bpf_link *link;		/* its attachment, if by libbpf */
	int map_fd;			/* hold_map: one struct hold */
	int prog_fd;
};

/*
 * NULL if this kernel can run a hold program of @type, else why not (a
 * skip): the programs need the kernel's BTF (CO-RE), and tracing types
 * need CONFIG_BPF_EVENTS.
 */
const char *hold_unsupported(enum bpf_prog_type type);
/*
 * Open @obj, found beside the test's binary, and load its program @prog
 * (only that one).  0, or a negative errno with libbpf's reason printed.
 */
int hold_open(struct hold_bpf *hb, const char *obj, const char *prog);
void hold_close(struct hold_bpf *hb);
/* Write or read the map's only value. */
int hold_write(int map_fd, const struct hold *h);
int hold_read(int map_fd, struct hold *h);

static inline __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* TcpExt counter @name of this network namespace, -1 if the kernel lacks it. */
static inline long tcpext_count(const char *name)
{
	char names[8192], values[8192];
	char *n, *v, *sn, *sv;
	long val = -1;
	FILE *f;

	f = fopen("/proc/net/netstat", "r");
	if (!f)
		return -1;
	while (fgets(names, sizeof(names), f) && fgets(values, sizeof(values), f)) {
		if (strncmp(names, "TcpExt:", 7))
			continue;
		n = strtok_r(names, "\n ", &sn);
		v = strtok_r(values, "\n ", &sv);
		while (n && v) {
			if (!strcmp(n, name))
				val = strtol(v, NULL, 10);
			n = strtok_r(NULL, "\n ", &sn);
			v = strtok_r(NULL, "\n ", &sv);
		}
	}
	fclose(f);
	return val;
}

/*
 * State of the socket with local port @lport and remote port @rport in
 * /proc/net/tcp or tcp6 (a timewait socket shows its substate), or -1 when
 * there is none.  Loopback only, so the ports identify the connection.
 */
static inline int sock_state(int family, int lport, int rport)
{
	char line[512];
	int state = -1;
	FILE *f;

	f = fopen(family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned int lp, rp, st;

		/* "sl: laddr:lport raddr:rport st ..." */
		if (sscanf(line, "%*s %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%x %x",
			   &lp, &rp, &st) != 3)
			continue;
		if ((int)lp == lport && (int)rp == rport)
			state = st;
	}
	fclose(f);
	return state;
}

static inline int set_lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd, ret;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	ret = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (!ret) {
		ifr.ifr_flags |= IFF_UP;
		ret = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return ret;
}

/*
 * The two CPUs the races run on: the first two this thread may use
 * (sched_getaffinity()), so that a test started under taskset or in a
 * cpuset still pins where it is allowed to.  False if there are fewer.
 */
static int test_cpu[2];

static inline bool pick_cpus(void)
{
	cpu_set_t set;
	int cpu, n = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return false;
	for (cpu = 0; cpu < CPU_SETSIZE && n < 2; cpu++)
		if (CPU_ISSET(cpu, &set))
			test_cpu[n++] = cpu;
	return n == 2;
}

/* Pin the calling thread to test_cpu[@i]. */
static inline int pin(int i)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(test_cpu[i], &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/*
 * Start @fn on test_cpu[@i] from its first instruction: a thread that
 * inherits the creator's CPU and moves itself could sit in that CPU's run
 * queue for the whole hold, while the CPU spins with preemption off.
 */
static inline int start_on(pthread_t *thr, int i, void *(*fn)(void *),
			   void *arg)
{
	pthread_attr_t attr;
	cpu_set_t set;
	int ret;

	CPU_ZERO(&set);
	CPU_SET(test_cpu[i], &set);
	ret = pthread_attr_init(&attr);
	if (!ret)
		ret = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	if (!ret)
		ret = pthread_create(thr, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return ret;
}

static inline int port_of(int fd, int peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if ((peer ? getpeername : getsockname)(fd, (struct sockaddr *)&ss, &len))
		return -1;
	return ntohs(ss.ss_family == AF_INET ?
		     ((struct sockaddr_in *)&ss)->sin_port :
		     ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static inline int tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return -1;
	return ti.tcpi_state;
}

/*
 * A listening socket on the loopback address of @family, on a port the
 * kernel picks; its address in @addr and @addrlen.  -1 on error (errno).
 */
static inline int loopback_listener(int family, struct sockaddr_storage *addr,
				    socklen_t *addrlen)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)addr;
	struct sockaddr_in *sin = (struct sockaddr_in *)addr;
	int fd, one = 1;

	memset(addr, 0, sizeof(*addr));
	addr->ss_family = family;
	if (family == AF_INET) {
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*addrlen = sizeof(*sin);
	} else {
		sin6->sin6_addr = in6addr_loopback;
		*addrlen = sizeof(*sin6);
	}
	fd = socket(family, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)addr, *addrlen) || listen(fd, 8) ||
	    getsockname(fd, (struct sockaddr *)addr, addrlen)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait until @done(@arg) holds, at most WAIT_NS; false on timeout. */
static inline bool wait_for(bool (*done)(void *), void *arg)
{
	__u64 end = now_ns() + WAIT_NS;

	while (!done(arg)) {
		if (now_ns() > end)
			return false;
		usleep(100);
	}
	return true;
}

/* For wait_for(): the map shows a hold (and, with @want_end, its end). */
struct held_wait {
	int map_fd;
	struct hold h;
	bool want_end;
};

bool held_done(void *arg);

#endif /* TCP_HOLD_H */
