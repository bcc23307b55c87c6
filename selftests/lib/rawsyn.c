// SPDX-License-Identifier: GPL-2.0
/*
 * Raw SYNs and RSTs from a second local address, to fill a listener's SYN
 * queue with request sockets that never complete (the listener's SYN-ACKs
 * to that address are dropped by an nftables rule) and to empty it again
 * with in-window RSTs.  127.0.0.2 is local already (all of 127/8 is); the
 * IPv6 address is added to lo (no DAD on loopback).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "csum.h"
#include "rawsyn.h"
#include "sock.h"
#include "time.h"

#define ALT_ADDR4	"127.0.0.2"
#define ALT_ADDR6	"fd00:5e7::2"

/* The kernel's struct in6_ifreq (linux/ipv6.h clashes with netinet/in.h). */
struct rawsyn_in6_ifreq {
	struct in6_addr addr;
	__u32 prefixlen;
	int ifindex;
};

struct rawsyn_tcp {
	__u16 sport;
	__u16 dport;
	__u32 seq;
	__u32 ack;
	__u8 doff;
	__u8 flags;
	__u16 win;
	__u16 csum;
	__u16 urg;
};

const char *rawsyn_alt_addr(int family)
{
	return family == AF_INET ? ALT_ADDR4 : ALT_ADDR6;
}

static int rawsyn_alt_setup(int family, char *why, size_t sz)
{
	struct rawsyn_in6_ifreq req;
	int fd;

	if (family == AF_INET)
		return 0;
	memset(&req, 0, sizeof(req));
	inet_pton(AF_INET6, ALT_ADDR6, &req.addr);
	req.prefixlen = 128;
	req.ifindex = if_nametoindex("lo");
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || (ioctl(fd, SIOCSIFADDR, &req) && errno != EEXIST)) {
		snprintf(why, sz, "cannot add %s to lo: %s", ALT_ADDR6,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int rawsyn_open(struct rawsyn *rs, int family,
		const struct sockaddr_storage *ls, unsigned short lport,
		char *why, size_t sz)
{
	struct sockaddr_storage src;
	socklen_t slen;
	int i;

	memset(rs, 0, sizeof(*rs));
	rs->fd = -1;
	if (rawsyn_alt_setup(family, why, sz))
		return -1;
	rs->dport = htons(lport);
	slen = sock_inet_addr(family, rawsyn_alt_addr(family), 0, &src);
	if (family == AF_INET) {
		rs->alen = 4;
		memcpy(rs->saddr, &((struct sockaddr_in *)&src)->sin_addr, 4);
		memcpy(rs->daddr, &((struct sockaddr_in *)ls)->sin_addr, 4);
	} else {
		rs->alen = 16;
		memcpy(rs->saddr, &((struct sockaddr_in6 *)&src)->sin6_addr, 16);
		memcpy(rs->daddr, &((struct sockaddr_in6 *)ls)->sin6_addr, 16);
	}
	/* Port 0: an IPv6 raw socket reads sin6_port as the protocol. */
	rs->dlen = sock_loopback_addr(family, 0, &rs->dst);
	rs->fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
	if (rs->fd < 0) {
		snprintf(why, sz, "raw socket: %s (needs CAP_NET_RAW)",
			 strerror(errno));
		return -1;
	}
	sock_set_int(rs->fd, SOL_SOCKET, SO_RCVBUF, 4096);
	/* A new IPv6 address is tentative until the DAD work ran: 2 s. */
	for (i = 0; bind(rs->fd, (struct sockaddr *)&src, slen); i++) {
		if (errno != EADDRNOTAVAIL || i == 200) {
			snprintf(why, sz, "bind raw socket to %s: %s",
				 rawsyn_alt_addr(family), strerror(errno));
			rawsyn_close(rs);
			return -1;
		}
		time_sleep_ns(10 * NSEC_PER_MSEC);
	}
	return 0;
}

static __u16 rawsyn_csum(const struct rawsyn *rs, const struct rawsyn_tcp *th)
{
	unsigned int sum;

	sum = csum_add(0, rs->saddr, rs->alen);
	sum = csum_add(sum, rs->daddr, rs->alen);
	sum += IPPROTO_TCP + sizeof(*th);
	sum = csum_add(sum, th, sizeof(*th));
	return csum_fold(sum);
}

int rawsyn_send(const struct rawsyn *rs, unsigned short base, unsigned long n,
		__u32 seq, __u8 flags)
{
	struct rawsyn_tcp th;
	unsigned long i;

	for (i = 0; i < n; i++) {
		memset(&th, 0, sizeof(th));
		th.sport = htons(base + i);
		th.dport = rs->dport;
		th.seq = htonl(seq);
		th.doff = (sizeof(th) / 4) << 4;
		th.flags = flags;
		th.win = htons(65535);
		th.csum = rawsyn_csum(rs, &th);
		if (sendto(rs->fd, &th, sizeof(th), 0,
			   (const struct sockaddr *)&rs->dst, rs->dlen) !=
		    sizeof(th))
			return -1;
	}
	return 0;
}

void rawsyn_nft_match(char *buf, size_t sz, int family, unsigned short lport)
{
	snprintf(buf, sz, "%s daddr %s tcp sport %u",
		 family == AF_INET ? "ip" : "ip6", rawsyn_alt_addr(family),
		 lport);
}

void rawsyn_close(struct rawsyn *rs)
{
	if (rs->fd >= 0)
		close(rs->fd);
	rs->fd = -1;
}
