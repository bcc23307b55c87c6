// SPDX-License-Identifier: GPL-2.0
/*
 * TCP sockets on loopback: addresses, a listener on any port, the socket
 * options every program sets, TCP_INFO, closing with a RST, a
 * non-blocking connect() and bounded waits for it or for accept().
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include "sock.h"
#include "stop.h"
#include "time.h"

socklen_t sock_inet_addr(int family, const char *addr, unsigned short port,
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

socklen_t sock_loopback_addr(int family, unsigned short port,
			     struct sockaddr_storage *ss)
{
	return sock_inet_addr(family, family == AF_INET ? "127.0.0.1" : "::1",
			      port, ss);
}

int sock_local_port(int fd, unsigned short *port)
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

int sock_loopback_listen(int family, int backlog, unsigned short *port,
			 struct sockaddr_storage *ss, socklen_t *len,
			 char *why, size_t sz)
{
	int fd;

	*len = sock_loopback_addr(family, 0, ss);
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, sz, "socket: %s", strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)ss, *len) || listen(fd, backlog) ||
	    sock_local_port(fd, port)) {
		snprintf(why, sz, "listener: %s", strerror(errno));
		close(fd);
		return -1;
	}
	*len = sock_loopback_addr(family, *port, ss);
	return fd;
}

int sock_set_int(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val));
}

int sock_set_io_timeouts(int fd, int secs)
{
	struct timeval tv = { .tv_sec = secs };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return -1;
	return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int sock_tcp_info(int fd, struct tcp_info *ti)
{
	socklen_t len = sizeof(*ti);

	memset(ti, 0, sizeof(*ti));
	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &len);
}

const char *sock_family_name(int family)
{
	return family == AF_INET ? "ipv4" : "ipv6";
}

void sock_close_rst(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

int sock_connect_start(int family, const struct sockaddr_storage *ss,
		       socklen_t len)
{
	int fd, err;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)ss, len) &&
	    errno != EINPROGRESS) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

int sock_connect_wait(int fd, unsigned long long until)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	unsigned long long now;
	int err = 0;

	for (;;) {
		now = time_ns();
		if (now >= until || stop_requested())
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (until - now) / NSEC_PER_MSEC + 1) > 0)
			break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	return -err;
}

int sock_accept_one(int lfd, unsigned long long wait_ns)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };

	if (poll(&pfd, 1, wait_ns / NSEC_PER_MSEC) <= 0)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

int sock_reserve_fds(unsigned long n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	if (rl.rlim_cur >= n)
		return 0;
	rl.rlim_cur = n;
	if (rl.rlim_max < n)
		rl.rlim_max = n;
	return setrlimit(RLIMIT_NOFILE, &rl);
}
