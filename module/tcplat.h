/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Why this file exists: the pieces of tcplat (sysctl front end, race
 * widener, observation counters, fix toggles, kprobe helpers) live in
 * separate objects; this header is the small contract between them.
 */
#ifndef _TCPLAT_H
#define _TCPLAT_H

#include <linux/kprobes.h>
#include <linux/percpu.h>
#include <linux/seq_buf.h>
#include <linux/sysctl.h>
#include <net/inet_sock.h>
#include <net/sock.h>

#define TCPLAT_VERSION		"1.0"

/* Limits of the integer sysctls (also used as their extra1/extra2). */
#define TCPLAT_WIDEN_US_MAX	100000
#define TCPLAT_PORT_MAX		65535

/*
 * The widener's hard bound: at most this much busy-waiting in any
 * one-second interval, and one spinner at a time (tcplat_widen.c).
 */
#define TCPLAT_WIDEN_BUDGET_US	500000

enum tcplat_widen_mode {
	TCPLAT_WIDEN_OFF	= 0,
	TCPLAT_WIDEN_HOLDER	= 1,	/* delay tcp_time_wait(FIN_WAIT2) */
	TCPLAT_WIDEN_WAITER	= 2,	/* delay FIN/RST before the lock */
	TCPLAT_WIDEN_MODE_MAX	= TCPLAT_WIDEN_WAITER,
};

/* Integer knobs; written by the sysctl handlers, read by kprobe handlers. */
extern int tcplat_widen_us;
extern int tcplat_widen_port;
extern int tcplat_widen_mode;
extern int tcplat_observe_port;

/*
 * The network namespace (net_cookie) of the process whose write armed the
 * widener or the observers: only that namespace's sockets are matched.
 */
extern u64 tcplat_widen_net;
extern u64 tcplat_observe_net;

/* Per-cpu event counters, exported read-only through sysctl. */
enum tcplat_counter {
	TCPLAT_CNT_WIDEN_HITS,
	TCPLAT_CNT_CLOSED_SK_SEGMENTS,
	TCPLAT_CNT_FW2_TIMEWAIT,
	TCPLAT_CNT_WIDEN_SKIP_BUSY,	/* another spinner was running */
	TCPLAT_CNT_WIDEN_SKIP_BUDGET,	/* the budget's bucket held too little */
	TCPLAT_CNT_MAX,
};

struct tcplat_counters {
	unsigned long cnt[TCPLAT_CNT_MAX];
};

DECLARE_PER_CPU(struct tcplat_counters, tcplat_counters);

static inline void tcplat_count(enum tcplat_counter c)
{
	this_cpu_inc(tcplat_counters.cnt[c]);
}

unsigned long tcplat_counter_sum(enum tcplat_counter c);

/*
 * Scoping shared by the widener and the observers, for full sockets only
 * (every probed function gets one): the socket's network namespace is the
 * armed one and its local port is @port.  A remote port is never enough:
 * anyone can pick the port they connect from.  The local port is read from
 * inet_sport, not sk_num: tcp_done() -> inet_put_port() zeroes sk_num, and
 * the closed socket is exactly the one closed_sk_segments must still match.
 */
static inline bool tcplat_sk_is(const struct sock *sk, u64 net, int port)
{
	return port && ntohs(inet_sk(sk)->inet_sport) == port &&
	       sock_net(sk)->net_cookie == net;
}

/*
 * A kprobe plus the outcome of its registration, so that a failed probe
 * leaves the module loaded and shows up in the status sysctl.
 */
struct tcplat_probe {
	struct kprobe kp;
	const char *what;	/* feature name for the status text */
	int err;		/* 0 when registered, else -errno */
	bool registered;
};

void tcplat_probe_register(struct tcplat_probe *p);
void tcplat_probe_unregister(struct tcplat_probe *p);
void tcplat_probe_status(struct seq_buf *s, const struct tcplat_probe *p);

/*
 * Arming: the sysctl handlers call these under one mutex after a knob
 * changed; they place or remove the kprobes the new values need and
 * return an error (the handler then restores the old value) when a
 * kprobe cannot be placed.  No kprobe is placed while disarmed.
 */
int tcplat_widen_arm(u64 net);
int tcplat_observe_arm(u64 net);

/* Race widener (tcplat_widen.c). */
void tcplat_widen_exit(void);
void tcplat_widen_status(struct seq_buf *s);

/* Observation counters (tcplat_observe.c). */
void tcplat_observe_exit(void);
void tcplat_observe_status(struct seq_buf *s);

/* Fix toggles backed by optional kernel symbols (tcplat_toggles.c). */
void tcplat_toggles_init(void);
void tcplat_toggles_exit(void);
unsigned int tcplat_toggles_count(void);
void tcplat_toggles_fill(struct ctl_table *t);
void tcplat_toggles_status(struct seq_buf *s);

/* Sysctl front end (tcplat_sysctl.c). */
int tcplat_sysctl_init(void);
void tcplat_sysctl_exit(void);
int tcplat_check_write(void);
int tcplat_parse_int(void *buffer, size_t *lenp, loff_t *ppos,
		     int min, int max, int *out);
int tcplat_show_int(int val, void *buffer, size_t *lenp, loff_t *ppos);

#endif /* _TCPLAT_H */
