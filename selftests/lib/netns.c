// SPDX-License-Identifier: GPL-2.0
/*
 * Network namespaces of a test's own: netns_enter() moves the caller into
 * a fresh one with lo up, so a test can change sysctls and firewall rules
 * without touching the host.  The receive-memory programs need a path
 * with a real round-trip time, which loopback cannot give: netns_veth_*
 * build two namespaces joined by a veth pair, with netem delaying each
 * direction by half the RTT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cmd.h"
#include "netns.h"

int netns_link_up(const char *name)
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

int netns_enter(char *why, size_t sz)
{
	if (unshare(CLONE_NEWNET)) {
		snprintf(why, sz, "unshare(CLONE_NEWNET): %s (needs root)",
			 strerror(errno));
		return -1;
	}
	if (netns_link_up("lo")) {
		snprintf(why, sz, "cannot bring lo up: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int netns_open_self(void)
{
	return open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
}

/* ---- two namespaces joined by a veth pair ------------------------------ */

#define veth_fail(v, fmt, ...) \
	snprintf((v)->err, sizeof((v)->err), fmt, ##__VA_ARGS__)

void netns_veth_init(struct netns_veth *v, int family, unsigned long rtt_ms)
{
	memset(v, 0, sizeof(*v));
	v->family = family;
	v->rtt_ms = rtt_ms;
	v->s_ns = -1;
	v->r_ns = -1;
}

int netns_veth_enter(struct netns_veth *v, int fd, const char *which)
{
	if (setns(fd, CLONE_NEWNET)) {
		veth_fail(v, "setns(%s): %s", which, strerror(errno));
		return -1;
	}
	return 0;
}

const char *netns_veth_addr(int family, bool receiver)
{
	if (family == AF_INET)
		return receiver ? "10.203.0.1" : "10.203.0.2";
	return receiver ? "fd00:203::1" : "fd00:203::2";
}

/* Address, link up and netem on @dev in the current namespace. */
static int veth_link(struct netns_veth *v, const char *dev, bool receiver)
{
	const char *nodad = v->family == AF_INET6 ? " nodad" : "";
	int plen = v->family == AF_INET ? 24 : 64;

	if (cmd_run("ip addr add %s/%d dev %s%s 2>&1",
		    netns_veth_addr(v->family, receiver), plen, dev, nodad)) {
		veth_fail(v, "ip addr add on %s failed%s", dev,
			  v->family == AF_INET6 ? " (IPv6 not available?)" : "");
		return v->family == AF_INET6 ? -2 : -1;
	}
	if (netns_link_up(dev)) {
		veth_fail(v, "cannot bring %s up: %s", dev, strerror(errno));
		return -1;
	}
	if (v->rtt_ms &&
	    cmd_run("tc qdisc add dev %s root netem delay %luus limit 100000 2>&1",
		    dev, v->rtt_ms * 500)) {
		veth_fail(v, "tc qdisc add dev %s root netem failed (netem missing?)",
			  dev);
		return -2;
	}
	return 0;
}

int netns_veth_setup(struct netns_veth *v, const char *rdev, const char *sdev)
{
	int ret;

	if (netns_enter(v->err, sizeof(v->err)))
		return -2;
	v->s_ns = netns_open_self();
	if (v->s_ns < 0) {
		veth_fail(v, "open sender netns: %s", strerror(errno));
		return -1;
	}
	if (netns_enter(v->err, sizeof(v->err)))
		return -1;
	v->r_ns = netns_open_self();
	if (v->r_ns < 0) {
		veth_fail(v, "open receiver netns: %s", strerror(errno));
		return -1;
	}
	if (cmd_run("ip link add %s type veth peer name %s netns /proc/%d/fd/%d 2>&1",
		    rdev, sdev, getpid(), v->s_ns)) {
		veth_fail(v, "ip link add type veth failed (CONFIG_VETH?)");
		return -2;
	}
	ret = veth_link(v, rdev, true);
	if (ret)
		return ret;
	if (netns_veth_enter(v, v->s_ns, "sender"))
		return -1;
	ret = veth_link(v, sdev, false);
	if (netns_veth_enter(v, v->r_ns, "receiver"))
		return -1;
	return ret;
}

void netns_veth_close(struct netns_veth *v)
{
	if (v->s_ns >= 0)
		close(v->s_ns);
	if (v->r_ns >= 0)
		close(v->r_ns);
	v->s_ns = -1;
	v->r_ns = -1;
}
