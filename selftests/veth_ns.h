/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Why this file exists: the receive-memory programs (tcp_rcvbuf_growth,
 * tcp_rcvbuf_scale) need a path with a real round-trip time between a
 * sender and a receiver, which loopback cannot give: two network
 * namespaces of their own joined by a veth pair, with netem delaying each
 * direction by half the RTT.  One copy of that setup lives here.
 *
 * Include after tcp_lat.h (run_cmd, link_up, enter_netns).
 */
#ifndef VETH_NS_H
#define VETH_NS_H

#include <fcntl.h>
#include <sched.h>

struct veth_ns {
	int family;		/* AF_INET or AF_INET6 */
	unsigned long rtt_ms;	/* 0: no netem */
	int s_ns, r_ns;		/* namespace fds; -1 until opened */
	char err[160];		/* why the last call failed */
};

#define veth_ns_fail(v, fmt, ...) \
	snprintf((v)->err, sizeof((v)->err), fmt, ##__VA_ARGS__)

static inline void veth_ns_init(struct veth_ns *v, int family,
				unsigned long rtt_ms)
{
	memset(v, 0, sizeof(*v));
	v->family = family;
	v->rtt_ms = rtt_ms;
	v->s_ns = -1;
	v->r_ns = -1;
}

/* The calling thread's network namespace, as an fd for setns(). */
static inline int veth_ns_open_self(void)
{
	return open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
}

static inline int veth_ns_enter(struct veth_ns *v, int fd, const char *which)
{
	if (setns(fd, CLONE_NEWNET)) {
		veth_ns_fail(v, "setns(%s): %s", which, strerror(errno));
		return -1;
	}
	return 0;
}

static inline const char *veth_ns_addr(int family, bool receiver)
{
	if (family == AF_INET)
		return receiver ? "10.203.0.1" : "10.203.0.2";
	return receiver ? "fd00:203::1" : "fd00:203::2";
}

/* Address, link up and netem on @dev in the current namespace. */
static inline int veth_ns_link(struct veth_ns *v, const char *dev,
			       bool receiver)
{
	const char *nodad = v->family == AF_INET6 ? " nodad" : "";
	int plen = v->family == AF_INET ? 24 : 64;

	if (run_cmd("ip addr add %s/%d dev %s%s 2>&1",
		    veth_ns_addr(v->family, receiver), plen, dev, nodad)) {
		veth_ns_fail(v, "ip addr add on %s failed%s", dev,
			     v->family == AF_INET6 ? " (IPv6 not available?)" : "");
		return v->family == AF_INET6 ? -2 : -1;
	}
	if (link_up(dev)) {
		veth_ns_fail(v, "cannot bring %s up: %s", dev, strerror(errno));
		return -1;
	}
	if (v->rtt_ms &&
	    run_cmd("tc qdisc add dev %s root netem delay %luus limit 100000 2>&1",
		    dev, v->rtt_ms * 500)) {
		veth_ns_fail(v, "tc qdisc add dev %s root netem failed (netem missing?)",
			     dev);
		return -2;
	}
	return 0;
}

/*
 * Sender namespace S, receiver namespace R, the veth pair @rdev (in R) and
 * @sdev (in S) between them.  The calling thread ends up in R.  Returns 0,
 * -1 (failure) or -2 (the kernel lacks something: skip), with v->err set.
 */
static inline int veth_ns_setup(struct veth_ns *v, const char *rdev,
				const char *sdev)
{
	int ret;

	if (enter_netns(v->err, sizeof(v->err)))
		return -2;
	v->s_ns = veth_ns_open_self();
	if (v->s_ns < 0) {
		veth_ns_fail(v, "open sender netns: %s", strerror(errno));
		return -1;
	}
	if (enter_netns(v->err, sizeof(v->err)))
		return -1;
	v->r_ns = veth_ns_open_self();
	if (v->r_ns < 0) {
		veth_ns_fail(v, "open receiver netns: %s", strerror(errno));
		return -1;
	}
	if (run_cmd("ip link add %s type veth peer name %s netns /proc/%d/fd/%d 2>&1",
		    rdev, sdev, getpid(), v->s_ns)) {
		veth_ns_fail(v, "ip link add type veth failed (CONFIG_VETH?)");
		return -2;
	}
	ret = veth_ns_link(v, rdev, true);
	if (ret)
		return ret;
	if (veth_ns_enter(v, v->s_ns, "sender"))
		return -1;
	ret = veth_ns_link(v, sdev, false);
	if (veth_ns_enter(v, v->r_ns, "receiver"))
		return -1;
	return ret;
}

/* Close the namespace fds (the namespaces go when their last user does). */
static inline void veth_ns_close(struct veth_ns *v)
{
	if (v->s_ns >= 0)
		close(v->s_ns);
	if (v->r_ns >= 0)
		close(v->r_ns);
	v->s_ns = -1;
	v->r_ns = -1;
}

#endif /* VETH_NS_H */
