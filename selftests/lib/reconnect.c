// SPDX-License-Identifier: GPL-2.0
/*
 * A client that connects again and again from one fixed source port
 * (tcp_tw_race, tcp_stale_peer, tcp_stale_ack), so each new connection
 * meets what the previous one left behind: a timewait socket or a stale
 * peer.  reconnect() times the connect() and says how it met that peer;
 * reconnect_close_stale() builds the stale FIN_WAIT2 timewait peer.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
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

int reconnect_listen(struct reconnect_client *c)
{
	struct sockaddr_storage ss;
	socklen_t alen;
	int fd, err;

	fd = socket(c->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(c->err, sizeof(c->err), "server socket: %s", strerror(errno));
		return -1;
	}
	alen = sock_loopback_addr(c->family, 0, &ss);
	if (sock_set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) ||
	    bind(fd, (struct sockaddr *)&ss, alen) || listen(fd, 16) ||
	    sock_local_port(fd, &c->sport)) {
		err = errno;
		snprintf(c->err, sizeof(c->err), "server listener: %s", strerror(err));
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* Wait until the server socket @sfd is in FIN_WAIT2; 0 or -1. */
static int wait_fin_wait2(struct reconnect_client *c, int sfd)
{
	unsigned long long t0 = time_ns();
	struct tcp_info ti;

	for (;;) {
		if (sock_tcp_info(sfd, &ti)) {
			snprintf(c->err, sizeof(c->err),
				 "server getsockopt(TCP_INFO): %s", strerror(errno));
			return -1;
		}
		if (ti.tcpi_state == BPF_TCP_FIN_WAIT2)
			return 0;
		if (time_ns() - t0 >= RECONNECT_FIN_WAIT2_NS) {
			snprintf(c->err, sizeof(c->err),
				 "server socket not in FIN_WAIT2 after 5 s (state %u)",
				 ti.tcpi_state);
			return -1;
		}
		time_sleep_ns(100 * NSEC_PER_USEC);
	}
}

/* The data and the server's FIN; 0 or -1 with @c->err set. */
static int exchange(struct reconnect_client *c, int sfd, int cfd,
		    unsigned int pattern)
{
	unsigned int wire = htonl(pattern), got;
	char buf[16];
	ssize_t n;

	n = send(cfd, &wire, sizeof(wire), MSG_NOSIGNAL);
	if (n != sizeof(wire)) {
		reconnect_fail(c, "send: %s", n < 0 ? strerror(errno) : "short write");
		return -1;
	}
	n = recv(sfd, &got, sizeof(got), MSG_WAITALL);
	if (n != sizeof(got) || ntohl(got) != pattern) {
		snprintf(c->err, sizeof(c->err), "server read: %s",
			 n < 0 ? strerror(errno) : "short read or wrong pattern");
		return -1;
	}
	if (shutdown(sfd, SHUT_WR)) {
		snprintf(c->err, sizeof(c->err), "server shutdown(SHUT_WR): %s",
			 strerror(errno));
		return -1;
	}
	n = recv(cfd, buf, sizeof(buf), 0);
	if (n != 0) {
		reconnect_fail(c, "read of EOF: %s",
			       n < 0 ? strerror(errno) : "unexpected data");
		return -1;
	}
	/* Acknowledge the server's FIN now instead of after the delayed ACK. */
	if (sock_set_int(cfd, IPPROTO_TCP, TCP_QUICKACK, 1)) {
		reconnect_fail(c, "TCP_QUICKACK: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int reconnect_close_stale(struct reconnect_client *c, int lfd, int cfd,
			  unsigned int pattern)
{
	int sfd;

	sfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (sfd < 0) {
		snprintf(c->err, sizeof(c->err), "accept: %s", strerror(errno));
		close(cfd);
		return -1;
	}
	if (sock_set_io_timeouts(sfd, RECONNECT_IO_TIMEOUT_S)) {
		snprintf(c->err, sizeof(c->err), "server SO_RCVTIMEO/SO_SNDTIMEO: %s",
			 strerror(errno));
		goto fail;
	}
	if (exchange(c, sfd, cfd, pattern) || wait_fin_wait2(c, sfd))
		goto fail;
	/* Orphaned in FIN_WAIT2: becomes a FIN_WAIT2 timewait socket. */
	close(sfd);
	/* SO_LINGER {1, 0}: a RST/ACK, which nft_drop_rst() drops. */
	close(cfd);
	return 0;
fail:
	close(sfd);
	close(cfd);
	return -1;
}
