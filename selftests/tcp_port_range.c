// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists: connect() without bind() scans
 * net.ipv4.ip_local_port_range for a free port, and an exhausted range is
 * a failure operators meet (tools/tcp_setup_exc -S ports measures its CPU
 * cost, scripts/bpftrace/tcp-connect-cost traces it).  These tests pin
 * what every kernel does, in a network namespace of their own, for IPv4
 * and IPv6: with a range narrowed to RANGE ports all in use, connect()
 * fails with EADDRNOTAVAIL; with one of them freed, connect() takes it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lib/netns.h"
#include "lib/sock.h"
#include "lib/sysctl.h"

#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE	51
#endif

#define RANGE		128
#define CALLS		20
#define PORT_RANGE	"/proc/sys/net/ipv4/ip_local_port_range"

FIXTURE(ports) {
	int lfd, held[RANGE];
	unsigned short lport;
	struct sockaddr_storage ls;
	socklen_t llen;
	int lo, hi;
	struct sysctl_saved range;
};

FIXTURE_VARIANT(ports) {
	int family;
};

FIXTURE_VARIANT_ADD(ports, ipv4) {
	.family = AF_INET,
};

FIXTURE_VARIANT_ADD(ports, ipv6) {
	.family = AF_INET6,
};

FIXTURE_SETUP(ports)
{
	char why[160];
	int fd;

	self->lfd = -1;
	memset(self->held, -1, sizeof(self->held));
	if (geteuid())
		SKIP(return, "needs root (network namespace, sysctl)");
	if (netns_enter(why, sizeof(why)))
		SKIP(return, "%s", why);
	fd = socket(variant->family, SOCK_STREAM, 0);
	if (fd < 0)
		SKIP(return, "no %s sockets", sock_family_name(variant->family));
	close(fd);
	/* Never accepted: room for every connection of a test. */
	self->lfd = sock_loopback_listen(variant->family, RANGE + 2 * CALLS,
					 &self->lport, &self->ls, &self->llen,
					 why, sizeof(why));
	ASSERT_LE(0, self->lfd) TH_LOG("%s", why);
	ASSERT_EQ(0, sysctl_read(PORT_RANGE, why, sizeof(why)));
	fd = sscanf(why, "%d %d", &self->lo, &self->hi);
	ASSERT_EQ(2, fd);
}

FIXTURE_TEARDOWN(ports)
{
	int i;

	for (i = 0; i < RANGE; i++)
		sock_close_rst(self->held[i]);
	if (self->lfd >= 0)
		close(self->lfd);
	sysctl_restore(&self->range);
}

/* A blocking connect() to the listener; the socket, errno in *@err. */
static int ports_connect(struct _test_data_ports *self, int family, int *err)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		*err = errno;
		return -1;
	}
	sock_set_io_timeouts(fd, 5);
	*err = connect(fd, (struct sockaddr *)&self->ls, self->llen) ? errno : 0;
	return fd;
}

/*
 * Narrow the range to RANGE ports without the listener's and hold every
 * one of them with a connection to the listener.
 */
static void ports_exhaust(struct __test_metadata *_metadata,
			  struct _test_data_ports *self, int family)
{
	int nlo = self->lo, p, range, i;
	char val[32];

	if (self->lport >= nlo && self->lport < nlo + RANGE)
		nlo = self->lport + 1;
	snprintf(val, sizeof(val), "%d %d", nlo, nlo + RANGE - 1);
	ASSERT_EQ(0, sysctl_change(&self->range, PORT_RANGE, val));
	for (i = 0; i < RANGE; i++) {
		p = nlo + i;
		self->held[i] = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ASSERT_LE(0, self->held[i]);
		/* IP_LOCAL_PORT_RANGE [p, p] (6.3+): this port, no scan. */
		range = p | p << 16;
		setsockopt(self->held[i], IPPROTO_IP, IP_LOCAL_PORT_RANGE,
			   &range, sizeof(range));
		ASSERT_EQ(0, connect(self->held[i], (struct sockaddr *)&self->ls,
				     self->llen)) TH_LOG("port %d: %s", p,
							 strerror(errno));
	}
}

TEST_F(ports, full_range_eaddrnotavail)
{
	int i, fd, err;

	/* The default range has room: connect() works. */
	for (i = 0; i < CALLS; i++) {
		fd = ports_connect(self, variant->family, &err);
		sock_close_rst(fd);
		ASSERT_EQ(0, err) TH_LOG("default range: %s", strerror(err));
		sock_close_rst(sock_accept_one(self->lfd, 0));
	}
	ports_exhaust(_metadata, self, variant->family);
	for (i = 0; i < CALLS; i++) {
		fd = ports_connect(self, variant->family, &err);
		sock_close_rst(fd);
		ASSERT_LE(0, fd);
		EXPECT_EQ(EADDRNOTAVAIL, err) TH_LOG("call %d: %s", i,
						     strerror(err));
	}
}

TEST_F(ports, busy_range_takes_free_port)
{
	unsigned short freed, got;
	int i, j, err;

	ports_exhaust(_metadata, self, variant->family);
	for (i = 0; i < CALLS; i++) {
		j = random() % RANGE;
		ASSERT_EQ(0, sock_local_port(self->held[j], &freed));
		sock_close_rst(self->held[j]);
		self->held[j] = ports_connect(self, variant->family, &err);
		ASSERT_LE(0, self->held[j]);
		ASSERT_EQ(0, err) TH_LOG("port %u freed: %s", freed,
					 strerror(err));
		ASSERT_EQ(0, sock_local_port(self->held[j], &got));
		EXPECT_EQ(freed, got);
	}
}

TEST_HARNESS_MAIN
