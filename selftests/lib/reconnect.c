// SPDX-License-Identifier: GPL-2.0
/*
 * A client that connects again and again from one fixed source port
 * (tcp_tw_race, tcp_stale_peer), so each new connection meets what the
 * previous one left behind: a timewait socket or a stale peer.
 * reconnect() times the connect() and says how it met that peer.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "reconnect.h"
#include "sock.h"
#include "stop.h"

int reconnect_socket(struct reconnect_client *c)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct sockaddr_storage ss;
	socklen_t alen;
	int fd;

	fd = socket(c->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		reconnect_fail(c, "socket: %s", strerror(errno));
		return -1;
	}
	alen = sock_loopback_addr(c->family, c->cport, &ss);
	if (sock_set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) ||
	    (c->rst_close &&
	     setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg))) ||
	    sock_set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1) ||
	    sock_set_io_timeouts(fd, RECONNECT_IO_TIMEOUT_S)) {
		reconnect_fail(c, "socket options: %s", strerror(errno));
		goto fail;
	}
	if (bind(fd, (struct sockaddr *)&ss, alen)) {
		reconnect_fail(c, "bind source port %u: %s", c->cport,
			       strerror(errno));
		goto fail;
	}
	if (!c->cport && sock_local_port(fd, &c->cport)) {
		reconnect_fail(c, "getsockname: %s", strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int reconnect(struct reconnect_client *c, bool first, unsigned long long *lat,
	      unsigned int *flags, unsigned int *rtx)
{
	struct sockaddr_storage ss;
	unsigned long long t0;
	struct tcp_info ti;
	socklen_t alen;
	int attempt, fd;

	*flags = 0;
	alen = sock_loopback_addr(c->family, c->sport, &ss);
	t0 = time_ns();
	for (attempt = 0; ; attempt++) {
		fd = reconnect_socket(c);
		if (fd < 0)
			return -1;
		if (!connect(fd, (struct sockaddr *)&ss, alen))
			break;
		if (errno == ECONNREFUSED && !first &&
		    attempt < RECONNECT_MAX_REFUSED && !stop_requested()) {
			*flags |= HIT_SYN_RST;
			close(fd);
			continue;
		}
		reconnect_fail(c, "connect from port %u to port %u (attempt %d): %s",
			       c->cport, c->sport, attempt + 1,
			       strerror(errno));
		close(fd);
		return -1;
	}
	*lat = time_ns() - t0;
	if (sock_tcp_info(fd, &ti)) {
		reconnect_fail(c, "getsockopt(TCP_INFO) after connect: %s",
			       strerror(errno));
		close(fd);
		return -1;
	}
	*rtx = ti.tcpi_total_retrans;
	if (ti.tcpi_total_retrans)
		*flags |= HIT_SYN_RTX;
	if (ti.tcpi_total_retrans && *lat >= RECONNECT_SLOW_SYN_NS)
		*flags |= HIT_SYN_LATE;
	return fd;
}
