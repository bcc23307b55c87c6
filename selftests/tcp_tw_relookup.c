// SPDX-License-Identifier: GPL-2.0
/*
 * A FIN or RST that looked up a full socket and then waited for its lock,
 * while the lock holder turned that socket into a FIN_WAIT2 timewait
 * socket, used to be discarded by the dead full socket: the timewait socket
 * never saw it and answered the peer's next SYN with a stale ACK.  The fix
 * re-looks-up the socket under the lock and counts TcpExtTCPTWRelookup.
 *
 * The race window is a few hundred nanoseconds, so this test widens it
 * without any module: a socket filter on the server's socket (it runs in
 * tcp_filter(), before bh_lock_sock_nested()) holds one armed FIN or RST
 * in a bounded bpf_loop() busy-wait.  While it is held, the server calls
 * close() on its half-closed FIN_WAIT2 socket, which makes the timewait
 * socket.  Each trial first checks that this happened (the close returned
 * while the segment was held), then the verdict: the timewait socket must
 * have seen the segment (RST: gone; FIN: TIME_WAIT substate), not be left
 * in FIN_WAIT2.  IPv4 and IPv6, RST and FIN, in a private network
 * namespace over loopback.  Needs root and two CPUs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define TRIALS		3
#define HOLD_NS		(100 * 1000 * 1000ULL)	/* how long a segment is held */
#define WAIT_NS		(5 * 1000 * 1000 * 1000ULL)	/* bound of every wait */
#define TCPHDR_FIN	0x01
#define TCPHDR_RST	0x04
#define STATE_FIN_WAIT2	5
#define STATE_TIME_WAIT	6

/* The filter's map value: what userspace arms and what the program saw. */
struct hold {
	__u64 armed;	/* set by userspace, cleared by the program */
	__u64 held;	/* segments held */
	__u64 start_ns;	/* CLOCK_MONOTONIC, like bpf_ktime_get_ns() */
	__u64 end_ns;
};

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

#define INSN(c, d, s, o, i) \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), \
			    .off = (o), .imm = (i) })
#define MOV64_REG(d, s)		INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV64_IMM(d, i)		INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define MOV32_IMM(d, i)		INSN(BPF_ALU | BPF_MOV | BPF_K, d, 0, 0, i)
#define ADD64_IMM(d, i)		INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define AND64_IMM(d, i)		INSN(BPF_ALU64 | BPF_AND | BPF_K, d, 0, 0, i)
#define LDX(sz, d, s, o)	INSN(BPF_LDX | BPF_MEM | (sz), d, s, o, 0)
#define STX(sz, d, s, o)	INSN(BPF_STX | BPF_MEM | (sz), d, s, o, 0)
#define ST(sz, d, o, i)		INSN(BPF_ST | BPF_MEM | (sz), d, 0, o, i)
#define JEQ_IMM(d, i, o)	INSN(BPF_JMP | BPF_JEQ | BPF_K, d, 0, o, i)
#define JNE_IMM(d, i, o)	INSN(BPF_JMP | BPF_JNE | BPF_K, d, 0, o, i)
#define JGT_REG(d, s, o)	INSN(BPF_JMP | BPF_JGT | BPF_X, d, s, o, 0)
#define CALL(f)			INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT()			INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* A few eBPF instructions, assembled with labels resolved afterwards. */
struct prog {
	struct bpf_insn insn[64];
	int n;
	int to_keep[8];		/* jumps to the "keep" label */
	int nkeep;
};

static void emit(struct prog *p, struct bpf_insn insn)
{
	p->insn[p->n++] = insn;
}

static void emit_jump_keep(struct prog *p, struct bpf_insn insn)
{
	p->to_keep[p->nkeep++] = p->n;
	emit(p, insn);
}

/*
 * A bpf_loop() callback is a subprogram, and the verifier wants BTF for
 * every subprogram: two static functions "long f(long a, long b)".
 */
static int load_btf(void)
{
	static const char strs[] = "\0long\0filter\0hold_cb\0a\0b";
	struct {
		struct btf_header hdr;
		struct btf_type t_long;
		__u32 long_enc;
		struct btf_type t_proto;
		struct btf_param params[2];
		struct btf_type t_filter;
		struct btf_type t_cb;
		char strs[sizeof(strs)];
	} b = {
		.hdr = {
			.magic = BTF_MAGIC, .version = BTF_VERSION,
			.hdr_len = sizeof(struct btf_header),
			.type_off = 0,
			.type_len = offsetof(typeof(b), strs) - sizeof(struct btf_header),
			.str_off = offsetof(typeof(b), strs) - sizeof(struct btf_header),
			.str_len = sizeof(strs),
		},
		/* [1] long */
		.t_long = { .name_off = 1, .info = BTF_KIND_INT << 24, .size = 8 },
		.long_enc = (BTF_INT_SIGNED << 24) | 64,
		/* [2] long (long, long) */
		.t_proto = { .info = (BTF_KIND_FUNC_PROTO << 24) | 2, .type = 1 },
		.params = { { .name_off = 21, .type = 1 },
			    { .name_off = 23, .type = 1 } },
		/* [3] filter, [4] hold_cb: static functions of type [2] */
		.t_filter = { .name_off = 6, .info = BTF_KIND_FUNC << 24, .type = 2 },
		.t_cb = { .name_off = 13, .info = BTF_KIND_FUNC << 24, .type = 2 },
	};
	char log[4096] = "";
	union bpf_attr attr;
	int fd;

	memcpy(b.strs, strs, sizeof(strs));
	memset(&attr, 0, sizeof(attr));
	attr.btf = (unsigned long)&b;
	attr.btf_size = offsetof(typeof(b), strs) + sizeof(strs);
	attr.btf_log_buf = (unsigned long)log;
	attr.btf_log_size = sizeof(log);
	attr.btf_log_level = 1;
	fd = sys_bpf(BPF_BTF_LOAD, &attr);
	if (fd < 0)
		fprintf(stderr, "# BPF_BTF_LOAD: %s\n%s\n", strerror(errno), log);
	return fd;
}

enum { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 };

/*
 * The socket filter.  For an armed map and a FIN or RST: disarm, count,
 * record the start, busy-wait HOLD_NS with bpf_loop() (the callback stops
 * once the deadline has passed), record the end.  Every segment is kept
 * whole.
 */
static int load_filter(int map_fd)
{
	struct prog p = { .n = 0 };
	char log[8192] = "";
	union bpf_attr attr;
	struct bpf_func_info finfo[2] = {
		{ .insn_off = 0, .type_id = 3 }, { .type_id = 4 },
	};
	int i, func, cb, fd, btf_fd;

	emit(&p, MOV64_IMM(R2, 13));			/* TCP flags byte */
	emit(&p, MOV64_REG(R3, R10));
	emit(&p, ADD64_IMM(R3, -8));
	emit(&p, MOV64_IMM(R4, 1));
	emit(&p, CALL(BPF_FUNC_skb_load_bytes));
	emit_jump_keep(&p, JNE_IMM(R0, 0, 0));
	emit(&p, LDX(BPF_B, R7, R10, -8));
	emit(&p, AND64_IMM(R7, TCPHDR_FIN | TCPHDR_RST));
	emit_jump_keep(&p, JEQ_IMM(R7, 0, 0));
	emit(&p, ST(BPF_W, R10, -16, 0));		/* key 0 */
	emit(&p, INSN(BPF_LD | BPF_DW | BPF_IMM, R1, BPF_PSEUDO_MAP_FD, 0, map_fd));
	emit(&p, INSN(0, 0, 0, 0, 0));
	emit(&p, MOV64_REG(R2, R10));
	emit(&p, ADD64_IMM(R2, -16));
	emit(&p, CALL(BPF_FUNC_map_lookup_elem));
	emit_jump_keep(&p, JEQ_IMM(R0, 0, 0));
	emit(&p, MOV64_REG(R9, R0));
	emit(&p, LDX(BPF_DW, R1, R9, offsetof(struct hold, armed)));
	emit_jump_keep(&p, JEQ_IMM(R1, 0, 0));
	emit(&p, ST(BPF_DW, R9, offsetof(struct hold, armed), 0));
	emit(&p, LDX(BPF_DW, R1, R9, offsetof(struct hold, held)));
	emit(&p, ADD64_IMM(R1, 1));
	emit(&p, STX(BPF_DW, R9, R1, offsetof(struct hold, held)));
	emit(&p, CALL(BPF_FUNC_ktime_get_ns));
	emit(&p, STX(BPF_DW, R9, R0, offsetof(struct hold, start_ns)));
	emit(&p, ADD64_IMM(R0, HOLD_NS));
	emit(&p, STX(BPF_DW, R10, R0, -24));		/* deadline */
	emit(&p, MOV64_IMM(R1, 1 << 23));
	func = p.n;
	emit(&p, INSN(BPF_LD | BPF_DW | BPF_IMM, R2, BPF_PSEUDO_FUNC, 0, 0));
	emit(&p, INSN(0, 0, 0, 0, 0));
	emit(&p, MOV64_REG(R3, R10));
	emit(&p, ADD64_IMM(R3, -24));
	emit(&p, MOV64_IMM(R4, 0));
	emit(&p, CALL(BPF_FUNC_loop));
	emit(&p, CALL(BPF_FUNC_ktime_get_ns));
	emit(&p, STX(BPF_DW, R9, R0, offsetof(struct hold, end_ns)));
	for (i = 0; i < p.nkeep; i++)		/* keep: */
		p.insn[p.to_keep[i]].off = p.n - p.to_keep[i] - 1;
	emit(&p, MOV32_IMM(R0, -1));
	emit(&p, EXIT());
	/* Callback (index, ctx): 1 (stop) once past the deadline at *ctx. */
	cb = p.n;
	emit(&p, LDX(BPF_DW, R6, R2, 0));
	emit(&p, CALL(BPF_FUNC_ktime_get_ns));
	emit(&p, JGT_REG(R0, R6, 2));
	emit(&p, MOV64_IMM(R0, 0));
	emit(&p, EXIT());
	emit(&p, MOV64_IMM(R0, 1));
	emit(&p, EXIT());
	p.insn[func].imm = cb - func - 1;
	finfo[1].insn_off = cb;

	btf_fd = load_btf();
	if (btf_fd < 0)
		return -1;
	memset(&attr, 0, sizeof(attr));
	attr.prog_btf_fd = btf_fd;
	attr.func_info = (unsigned long)finfo;
	attr.func_info_cnt = 2;
	attr.func_info_rec_size = sizeof(finfo[0]);
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (unsigned long)p.insn;
	attr.insn_cnt = p.n;
	attr.license = (unsigned long)"GPL";
	attr.log_buf = (unsigned long)log;
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd < 0)
		fprintf(stderr, "# BPF_PROG_LOAD: %s\n%s\n", strerror(errno), log);
	close(btf_fd);
	return fd;
}

static int map_create(void)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = sizeof(__u32);
	attr.value_size = sizeof(struct hold);
	attr.max_entries = 1;
	return sys_bpf(BPF_MAP_CREATE, &attr);
}

static int map_rw(int map_fd, struct hold *h, int cmd)
{
	union bpf_attr attr;
	__u32 key = 0;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = map_fd;
	attr.key = (unsigned long)&key;
	attr.value = (unsigned long)h;
	return sys_bpf(cmd, &attr);
}

/* TcpExtTCPTWRelookup of this network namespace, -1 if the kernel lacks it. */
static long tw_relookup_count(void)
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
			if (!strcmp(n, "TCPTWRelookup"))
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
static int sock_state(int family, int lport, int rport)
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

static int set_lo_up(void)
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

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static int port_of(int fd, int peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if ((peer ? getpeername : getsockname)(fd, (struct sockaddr *)&ss, &len))
		return -1;
	return ntohs(ss.ss_family == AF_INET ?
		     ((struct sockaddr_in *)&ss)->sin_port :
		     ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return -1;
	return ti.tcpi_state;
}

/* The client side of one trial, on a CPU other than the server's: read the
 * server's FIN, wait for "go", then close the connected socket with a RST
 * (SO_LINGER {1, 0}) or a FIN.
 */
struct client {
	bool rst;
	int go[2];		/* pipe: the server says when to close */
	int fd;
	int err;
};

static void *client_run(void *arg)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct client *c = arg;
	char b;

	pin(0);
	if (recv(c->fd, &b, 1, 0) != 0) {	/* the server's FIN */
		c->err = errno ?: EPROTO;
		return NULL;
	}
	if (read(c->go[0], &b, 1) != 1) {	/* armed: close now */
		c->err = errno ?: EPIPE;
		return NULL;
	}
	if (c->rst && setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg))) {
		c->err = errno;
		return NULL;
	}
	close(c->fd);
	return NULL;
}

FIXTURE(tw)
{
	int map_fd;
	int prog_fd;
	int lfd;
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

FIXTURE_VARIANT(tw)
{
	int family;
	bool rst;
};

FIXTURE_VARIANT_ADD(tw, ipv4_rst) { .family = AF_INET, .rst = true };
FIXTURE_VARIANT_ADD(tw, ipv4_fin) { .family = AF_INET, .rst = false };
FIXTURE_VARIANT_ADD(tw, ipv6_rst) { .family = AF_INET6, .rst = true };
FIXTURE_VARIANT_ADD(tw, ipv6_fin) { .family = AF_INET6, .rst = false };

FIXTURE_SETUP(tw)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&self->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&self->addr;

	if (geteuid())
		SKIP(return, "needs root (network namespace, BPF)");
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs: the segment and the close race");
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, set_lo_up());

	self->map_fd = map_create();
	ASSERT_LE(0, self->map_fd) TH_LOG("BPF_MAP_CREATE: %s", strerror(errno));
	self->prog_fd = load_filter(self->map_fd);
	ASSERT_LE(0, self->prog_fd) TH_LOG("the widening filter did not load");

	memset(&self->addr, 0, sizeof(self->addr));
	self->addr.ss_family = variant->family;
	if (variant->family == AF_INET) {
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		self->addrlen = sizeof(*sin);
	} else {
		sin6->sin6_addr = in6addr_loopback;
		self->addrlen = sizeof(*sin6);
	}
	self->lfd = socket(variant->family, SOCK_STREAM, 0);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&self->addr, self->addrlen));
	ASSERT_EQ(0, listen(self->lfd, 8));
	ASSERT_EQ(0, getsockname(self->lfd, (struct sockaddr *)&self->addr,
				 &self->addrlen));
}

FIXTURE_TEARDOWN(tw)
{
	close(self->lfd);
	close(self->prog_fd);
	close(self->map_fd);
}

/* Wait until @done(@arg) holds, at most WAIT_NS; false on timeout. */
static bool wait_for(bool (*done)(void *), void *arg)
{
	__u64 end = now_ns() + WAIT_NS;

	while (!done(arg)) {
		if (now_ns() > end)
			return false;
		usleep(100);
	}
	return true;
}

/* The map is zeroed at the start of each trial: held > 0 means this
 * trial's segment is being held (or was).
 */
struct held_wait {
	int map_fd;
	struct hold h;
	bool want_end;
};

static bool held_done(void *arg)
{
	struct held_wait *w = arg;

	if (map_rw(w->map_fd, &w->h, BPF_MAP_LOOKUP_ELEM))
		return false;
	if (!w->h.held)
		return false;
	return !w->want_end || w->h.end_ns;
}

struct state_wait {
	int fd;
	int state;
};

static bool state_done(void *arg)
{
	struct state_wait *w = arg;

	return tcp_state(w->fd) == w->state;
}

TEST_F(tw, relookup)
{
	const char *what = variant->rst ? "RST" : "FIN";
	long before, after;
	int trial;

	/* Checked at the end, so that a kernel without the fix shows the
	 * lost segments first.
	 */
	before = tw_relookup_count();

	for (trial = 0; trial < TRIALS; trial++) {
		struct held_wait hw = { .map_fd = self->map_fd };
		struct hold h = { .armed = 0 };
		struct client c = { .rst = variant->rst };
		int sfd, sport, cport, state;
		struct state_wait sw;
		pthread_t thr;
		__u64 closed;

		pin(1);
		ASSERT_EQ(0, map_rw(self->map_fd, &h, BPF_MAP_UPDATE_ELEM));
		ASSERT_EQ(0, pipe(c.go));
		c.fd = socket(variant->family, SOCK_STREAM, 0);
		ASSERT_LE(0, c.fd);
		ASSERT_EQ(0, connect(c.fd, (struct sockaddr *)&self->addr, self->addrlen));
		sfd = accept(self->lfd, NULL, NULL);
		ASSERT_LE(0, sfd);
		sport = port_of(sfd, 0);
		cport = port_of(sfd, 1);
		ASSERT_EQ(0, setsockopt(sfd, SOL_SOCKET, SO_ATTACH_BPF,
					&self->prog_fd, sizeof(self->prog_fd)));
		ASSERT_EQ(0, pthread_create(&thr, NULL, client_run, &c));

		/* Half-close; the client's ACK makes this FIN_WAIT2. */
		ASSERT_EQ(0, shutdown(sfd, SHUT_WR));
		sw.fd = sfd;
		sw.state = TCP_FIN_WAIT2;
		ASSERT_TRUE(wait_for(state_done, &sw))
			TH_LOG("server socket never reached FIN_WAIT2");

		/* Arm the filter, let the client close, and close the server
		 * socket while the client's FIN/RST is held before the lock.
		 */
		h.armed = 1;
		ASSERT_EQ(0, map_rw(self->map_fd, &h, BPF_MAP_UPDATE_ELEM));
		ASSERT_EQ(1, write(c.go[1], "g", 1));
		ASSERT_TRUE(wait_for(held_done, &hw))
			TH_LOG("trial %d: the client's %s was never held", trial, what);
		close(sfd);
		closed = now_ns();
		hw.want_end = true;
		ASSERT_TRUE(wait_for(held_done, &hw))
			TH_LOG("trial %d: the held %s was never released", trial, what);
		pthread_join(thr, NULL);
		close(c.go[0]);
		close(c.go[1]);
		ASSERT_EQ(0, c.err) TH_LOG("client: %s", strerror(c.err));

		/* The scenario: close() returned while the segment was held. */
		ASSERT_LT(closed, hw.h.end_ns)
			TH_LOG("trial %d: not forced: %s released %llu us before close()",
			       trial, what, (closed - hw.h.end_ns) / 1000);

		/* The verdict, before any retransmission (RTO >= 200 ms):
		 * the timewait socket must have seen the segment.
		 */
		usleep(20 * 1000);
		state = sock_state(variant->family, sport, cport);
		EXPECT_NE(STATE_FIN_WAIT2, state)
			TH_LOG("trial %d: %s lost, timewait socket left in FIN_WAIT2",
			       trial, what);
		EXPECT_EQ(variant->rst ? -1 : STATE_TIME_WAIT, state);
	}

	after = tw_relookup_count();
	ASSERT_LE(0, before) TH_LOG("no TcpExtTCPTWRelookup: kernel without the fix");
	EXPECT_EQ(before + TRIALS, after)
		TH_LOG("TcpExtTCPTWRelookup rose by %ld, want %d", after - before, TRIALS);
}

TEST_HARNESS_MAIN
