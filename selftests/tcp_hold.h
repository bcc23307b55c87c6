/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the TCP race selftests (tcp_tw_relookup,
 * tcp_syn_closed).  Their races last a few hundred nanoseconds, so each
 * test widens one of them without any module: a small BPF program (a
 * socket filter, or a program on a raw tracepoint) holds one armed
 * segment or socket in a bounded bpf_loop() busy-wait, and records when
 * it held it.  The programs are assembled from raw instructions, so
 * the tests need neither clang nor libbpf: this header has the assembler,
 * the hold sequence, the minimal BTF a bpf_loop() callback needs, the
 * array map the test arms, and the socket and /proc helpers the tests use.
 */
#ifndef TCP_HOLD_H
#define TCP_HOLD_H

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/btf.h>
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

#define HOLD_NS		(100 * 1000 * 1000ULL)	/* how long a hold lasts */
#define WAIT_NS		(5 * 1000 * 1000 * 1000ULL)	/* bound of every wait */

/* The map value: what userspace arms and what the program saw. */
struct hold {
	__u64 armed;	/* set by userspace, cleared by the program */
	__u64 held;	/* holds done */
	__u64 start_ns;	/* CLOCK_MONOTONIC, like bpf_ktime_get_ns() */
	__u64 end_ns;
	__u64 port;	/* local port of the socket to hold, if checked */
};

static inline __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static inline int sys_bpf(int cmd, union bpf_attr *attr)
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
#define JNE_REG(d, s, o)	INSN(BPF_JMP | BPF_JNE | BPF_X, d, s, o, 0)
#define JGT_REG(d, s, o)	INSN(BPF_JMP | BPF_JGT | BPF_X, d, s, o, 0)
#define JA(o)			INSN(BPF_JMP | BPF_JA, 0, 0, o, 0)
#define CALL(f)			INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT()			INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

enum { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 };

/* A few eBPF instructions; forward jumps go to the "out" label. */
struct prog {
	struct bpf_insn insn[96];
	int n;
	int to_out[16];
	int nout;
	int func;	/* the ld_imm64 that loads the bpf_loop() callback */
};

static inline void emit(struct prog *p, struct bpf_insn insn)
{
	p->insn[p->n++] = insn;
}

/* @insn jumps to the "out" label (see emit_out()). */
static inline void emit_jump_out(struct prog *p, struct bpf_insn insn)
{
	p->to_out[p->nout++] = p->n;
	emit(p, insn);
}

/* Place the "out" label here. */
static inline void emit_out(struct prog *p)
{
	int i;

	for (i = 0; i < p->nout; i++)
		p->insn[p->to_out[i]].off = p->n - p->to_out[i] - 1;
}

/*
 * With R9 = the map value: disarm, record the start, count the hold (after
 * the start, so that a thread that sees the count also sees a start_ns
 * older than anything it does next), busy-wait HOLD_NS with bpf_loop() (the
 * callback stops once the deadline, kept at R10 - 24, has passed), record
 * the end.  Clobbers R0-R5.
 */
static inline void emit_hold(struct prog *p)
{
	emit(p, ST(BPF_DW, R9, offsetof(struct hold, armed), 0));
	emit(p, CALL(BPF_FUNC_ktime_get_ns));
	emit(p, STX(BPF_DW, R9, R0, offsetof(struct hold, start_ns)));
	emit(p, ADD64_IMM(R0, HOLD_NS));
	emit(p, STX(BPF_DW, R10, R0, -24));
	emit(p, LDX(BPF_DW, R1, R9, offsetof(struct hold, held)));
	emit(p, ADD64_IMM(R1, 1));
	emit(p, STX(BPF_DW, R9, R1, offsetof(struct hold, held)));
	emit(p, MOV64_IMM(R1, 1 << 23));
	p->func = p->n;
	emit(p, INSN(BPF_LD | BPF_DW | BPF_IMM, R2, BPF_PSEUDO_FUNC, 0, 0));
	emit(p, INSN(0, 0, 0, 0, 0));
	emit(p, MOV64_REG(R3, R10));
	emit(p, ADD64_IMM(R3, -24));
	emit(p, MOV64_IMM(R4, 0));
	emit(p, CALL(BPF_FUNC_loop));
	emit(p, CALL(BPF_FUNC_ktime_get_ns));
	emit(p, STX(BPF_DW, R9, R0, offsetof(struct hold, end_ns)));
}

/* R9 = the map value of key 0, or jump to "out".  Clobbers R0-R5. */
static inline void emit_map_value(struct prog *p, int map_fd)
{
	emit(p, ST(BPF_W, R10, -16, 0));
	emit(p, INSN(BPF_LD | BPF_DW | BPF_IMM, R1, BPF_PSEUDO_MAP_FD, 0, map_fd));
	emit(p, INSN(0, 0, 0, 0, 0));
	emit(p, MOV64_REG(R2, R10));
	emit(p, ADD64_IMM(R2, -16));
	emit(p, CALL(BPF_FUNC_map_lookup_elem));
	emit_jump_out(p, JEQ_IMM(R0, 0, 0));
	emit(p, MOV64_REG(R9, R0));
}

/*
 * A bpf_loop() callback is a subprogram, and the verifier wants BTF for
 * every subprogram: two static functions "long f(long a, long b)".
 */
static inline int load_btf(void)
{
	static const char strs[] = "\0long\0prog\0hold_cb\0a\0b";
	struct {
		struct btf_header hdr;
		struct btf_type t_long;
		__u32 long_enc;
		struct btf_type t_proto;
		struct btf_param params[2];
		struct btf_type t_prog;
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
		.params = { { .name_off = 19, .type = 1 },
			    { .name_off = 21, .type = 1 } },
		/* [3] prog, [4] hold_cb: static functions of type [2] */
		.t_prog = { .name_off = 6, .info = BTF_KIND_FUNC << 24, .type = 2 },
		.t_cb = { .name_off = 11, .info = BTF_KIND_FUNC << 24, .type = 2 },
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

/*
 * Append the bpf_loop() callback (index, ctx): 1 (stop) once past the
 * deadline at *ctx, and load @p as a program of @type.
 */
static inline int load_prog(struct prog *p, enum bpf_prog_type type)
{
	struct bpf_func_info finfo[2] = {
		{ .insn_off = 0, .type_id = 3 }, { .type_id = 4 },
	};
	char log[8192] = "";
	union bpf_attr attr;
	int cb, fd, btf_fd;

	cb = p->n;
	emit(p, LDX(BPF_DW, R6, R2, 0));
	emit(p, CALL(BPF_FUNC_ktime_get_ns));
	emit(p, JGT_REG(R0, R6, 2));
	emit(p, MOV64_IMM(R0, 0));
	emit(p, EXIT());
	emit(p, MOV64_IMM(R0, 1));
	emit(p, EXIT());
	p->insn[p->func].imm = cb - p->func - 1;
	finfo[1].insn_off = cb;

	btf_fd = load_btf();
	if (btf_fd < 0)
		return -1;
	memset(&attr, 0, sizeof(attr));
	attr.prog_btf_fd = btf_fd;
	attr.func_info = (unsigned long)finfo;
	attr.func_info_cnt = 2;
	attr.func_info_rec_size = sizeof(finfo[0]);
	attr.prog_type = type;
	attr.insns = (unsigned long)p->insn;
	attr.insn_cnt = p->n;
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

/*
 * Whether the kernel runs BPF programs of @type at all: tracing types need
 * CONFIG_BPF_EVENTS, which a test then reports as a skip, not a failure.
 */
static inline bool prog_type_ok(enum bpf_prog_type type)
{
	struct bpf_insn insn[] = { MOV64_IMM(R0, 0), EXIT() };
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = type;
	attr.insns = (unsigned long)insn;
	attr.insn_cnt = 2;
	attr.license = (unsigned long)"GPL";
	fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Bytes that follow a struct btf_type of this kind, -1 if unknown. */
static inline long btf_extra(const struct btf_type *t)
{
	__u32 vlen = BTF_INFO_VLEN(t->info);

	switch (BTF_INFO_KIND(t->info)) {
	case BTF_KIND_PTR: case BTF_KIND_FWD: case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC: case BTF_KIND_FLOAT: case BTF_KIND_TYPE_TAG:
		return 0;
	case BTF_KIND_INT: case BTF_KIND_VAR: case BTF_KIND_DECL_TAG:
		return 4;
	case BTF_KIND_ARRAY:
		return sizeof(struct btf_array);
	case BTF_KIND_STRUCT: case BTF_KIND_UNION:
		return vlen * sizeof(struct btf_member);
	case BTF_KIND_ENUM:
		return vlen * sizeof(struct btf_enum);
	case BTF_KIND_FUNC_PROTO:
		return vlen * sizeof(struct btf_param);
	case BTF_KIND_DATASEC:
		return vlen * sizeof(struct btf_var_secinfo);
	case BTF_KIND_ENUM64:
		return vlen * sizeof(struct btf_enum64);
	}
	return -1;
}

/* Offset of @member in struct or union @id, looking into anonymous ones. */
static inline long btf_member_off(const struct btf_type **ids, __u32 n,
				  const char *strs, __u32 id,
				  const char *member)
{
	const struct btf_type *t = ids[id];
	const struct btf_member *m = (const struct btf_member *)(t + 1);
	__u32 i, kind = BTF_INFO_KIND(t->info);
	long off;

	if (kind != BTF_KIND_STRUCT && kind != BTF_KIND_UNION)
		return -1;
	for (i = 0; i < BTF_INFO_VLEN(t->info); i++, m++) {
		__u32 bits = BTF_INFO_KFLAG(t->info) ?
			     BTF_MEMBER_BIT_OFFSET(m->offset) : m->offset;

		if (m->name_off && !strcmp(strs + m->name_off, member))
			return bits / 8;
		if (m->name_off || !m->type || m->type >= n)
			continue;
		off = btf_member_off(ids, n, strs, m->type, member);
		if (off >= 0)
			return bits / 8 + off;
	}
	return -1;
}

/*
 * Byte offset of @member in struct @type from the running kernel's BTF
 * (/sys/kernel/btf/vmlinux), or -1 without BTF or without that member.
 */
static inline long btf_offsetof(const char *type, const char *member)
{
	const struct btf_type **ids = NULL;
	const struct btf_header *hdr;
	size_t len = 0, cap = 0;
	const char *strs, *p, *end;
	char *buf = NULL;
	long off = -1, extra;
	__u32 n = 1, i;
	ssize_t r;
	int fd;

	fd = open("/sys/kernel/btf/vmlinux", O_RDONLY);
	if (fd < 0)
		return -1;
	do {
		if (len == cap) {
			char *nb = realloc(buf, cap += 1 << 20);

			if (!nb)
				goto out;
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r > 0)
			len += r;
	} while (r > 0);
	hdr = (const struct btf_header *)buf;
	if (r < 0 || len < sizeof(*hdr) || hdr->magic != BTF_MAGIC ||
	    (size_t)hdr->hdr_len + hdr->type_off + hdr->type_len > len ||
	    (size_t)hdr->hdr_len + hdr->str_off + hdr->str_len > len)
		goto out;
	p = buf + hdr->hdr_len + hdr->type_off;
	end = p + hdr->type_len;
	strs = buf + hdr->hdr_len + hdr->str_off;
	/* Type IDs start at 1; index them, then look for the struct. */
	ids = calloc(hdr->type_len / sizeof(struct btf_type) + 1, sizeof(*ids));
	if (!ids)
		goto out;
	while (p + sizeof(struct btf_type) <= end) {
		ids[n] = (const struct btf_type *)p;
		extra = btf_extra(ids[n++]);
		if (extra < 0)
			goto out;
		p += sizeof(struct btf_type) + extra;
	}
	for (i = 1; i < n; i++) {
		if (BTF_INFO_KIND(ids[i]->info) != BTF_KIND_STRUCT ||
		    strcmp(strs + ids[i]->name_off, type))
			continue;
		off = btf_member_off(ids, n, strs, i, member);
		break;
	}
out:
	free(ids);
	free(buf);
	close(fd);
	return off;
}

/*
 * Offset of skc_num, the local port, in struct sock_common: from the
 * kernel's BTF, else 14, where it has been since 2.6 (*@from_btf says
 * which).  Were that ever wrong, no hold would happen and the test would
 * fail ("never held").
 */
static inline long skc_num_offset(bool *from_btf)
{
	long off = btf_offsetof("sock_common", "skc_num");

	*from_btf = off >= 0;
	return off >= 0 ? off : 14;
}

/*
 * A program of @type that, for an armed map, holds (emit_hold()) when the
 * socket whose pointer is at @sk_off in the program's context has the
 * armed local port (skc_num at @skc_num_off).
 */
static inline int load_port_holder(int map_fd, enum bpf_prog_type type,
				   int sk_off, long skc_num_off)
{
	struct prog p = { .n = 0 };

	emit(&p, MOV64_REG(R6, R1));
	emit_map_value(&p, map_fd);
	emit(&p, LDX(BPF_DW, R1, R9, offsetof(struct hold, armed)));
	emit_jump_out(&p, JEQ_IMM(R1, 0, 0));
	emit(&p, LDX(BPF_DW, R3, R6, sk_off));
	emit(&p, ADD64_IMM(R3, skc_num_off));
	emit(&p, MOV64_REG(R1, R10));
	emit(&p, ADD64_IMM(R1, -32));
	emit(&p, MOV64_IMM(R2, 2));
	emit(&p, CALL(BPF_FUNC_probe_read_kernel));
	emit_jump_out(&p, JNE_IMM(R0, 0, 0));
	emit(&p, LDX(BPF_H, R1, R10, -32));
	emit(&p, LDX(BPF_DW, R2, R9, offsetof(struct hold, port)));
	emit_jump_out(&p, JNE_REG(R1, R2, 0));
	emit_hold(&p);
	emit_out(&p);
	emit(&p, MOV64_IMM(R0, 0));
	emit(&p, EXIT());
	return load_prog(&p, type);
}

static inline int map_create(void)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = sizeof(__u32);
	attr.value_size = sizeof(struct hold);
	attr.max_entries = 1;
	return sys_bpf(BPF_MAP_CREATE, &attr);
}

static inline int map_rw(int map_fd, struct hold *h, int cmd)
{
	union bpf_attr attr;
	__u32 key = 0;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = map_fd;
	attr.key = (unsigned long)&key;
	attr.value = (unsigned long)h;
	return sys_bpf(cmd, &attr);
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

static inline bool held_done(void *arg)
{
	struct held_wait *w = arg;

	if (map_rw(w->map_fd, &w->h, BPF_MAP_LOOKUP_ELEM))
		return false;
	if (!w->h.held)
		return false;
	return !w->want_end || w->h.end_ns;
}

#endif /* TCP_HOLD_H */
