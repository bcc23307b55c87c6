/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Network namespaces of a test's own: netns_enter() moves the caller into
 * a fresh one with lo up, so a test can change sysctls and firewall rules
 * without touching the host.  The receive-memory programs need a path
 * with a real round-trip time, which loopback cannot give: netns_veth_*
 * build two namespaces joined by a veth pair, with netem delaying each
 * direction by half the RTT.
 */
#ifndef LIB_NETNS_H
#define LIB_NETNS_H

#include <stdbool.h>
#include <stddef.h>

/* Bring interface @name up in the current namespace; 0 or -1 (errno). */
int netns_link_up(const char *name);
/*
 * Move the calling process into a new network namespace with lo up.
 * On failure @why says what went wrong (the caller skips).
 */
int netns_enter(char *why, size_t sz);
/* The calling thread's network namespace, as an fd for setns(). */
int netns_open_self(void);

struct netns_veth {
	int family;		/* AF_INET or AF_INET6 */
	unsigned long rtt_ms;	/* 0: no netem */
	int s_ns, r_ns;		/* namespace fds; -1 until opened */
	char err[160];		/* why the last call failed */
};

void netns_veth_init(struct netns_veth *v, int family, unsigned long rtt_ms);
/* setns() into namespace @fd (@which names it in v->err); 0 or -1. */
int netns_veth_enter(struct netns_veth *v, int fd, const char *which);
/* The numeric address of the receiver's or the sender's end. */
const char *netns_veth_addr(int family, bool receiver);
/*
 * Sender namespace S, receiver namespace R, the veth pair @rdev (in R) and
 * @sdev (in S) between them.  The calling thread ends up in R.  Returns 0,
 * -1 (failure) or -2 (the kernel lacks something: skip), with v->err set.
 */
int netns_veth_setup(struct netns_veth *v, const char *rdev, const char *sdev);
/* Close the namespace fds (the namespaces go when their last user does). */
void netns_veth_close(struct netns_veth *v);

#endif /* LIB_NETNS_H */
