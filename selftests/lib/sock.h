/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCP sockets on loopback: addresses, a listener on any port, the socket
 * options every program sets, TCP_INFO, closing with a RST, and bounded
 * waits for a non-blocking connect() or accept().
 */
#ifndef LIB_SOCK_H
#define LIB_SOCK_H

#include <netinet/in.h>
#include <linux/tcp.h>
#include <sys/socket.h>

/* @addr (numeric v4 or v6) and @port as a sockaddr; 0 on a bad address. */
socklen_t sock_inet_addr(int family, const char *addr, unsigned short port,
			 struct sockaddr_storage *ss);
/* 127.0.0.1 or ::1 and @port as a sockaddr; its length. */
socklen_t sock_loopback_addr(int family, unsigned short port,
			     struct sockaddr_storage *ss);
/* The local port of @fd in *@port; 0 or -1. */
int sock_local_port(int fd, unsigned short *port);
/*
 * A non-blocking listener on loopback, any port; its address in @ss.  On
 * failure -1, errno, and @why saying which step failed.
 */
int sock_loopback_listen(int family, int backlog, unsigned short *port,
			 struct sockaddr_storage *ss, socklen_t *len,
			 char *why, size_t sz);
/* setsockopt() of an int. */
int sock_set_int(int fd, int level, int opt, int val);
/* SO_RCVTIMEO and SO_SNDTIMEO of @secs. */
int sock_set_io_timeouts(int fd, int secs);
/* TCP_INFO of @fd into @ti (zeroed first). */
int sock_tcp_info(int fd, struct tcp_info *ti);
/* "ipv4" or "ipv6": the name of a family in test names and key=value lines. */
const char *sock_family_name(int family);
/* Close @fd with SO_LINGER {1, 0}: a RST, no timewait socket. */
void sock_close_rst(int fd);
/*
 * A non-blocking socket of @family whose connect() to @ss is under way;
 * -1 and errno when socket() or connect() failed.
 */
int sock_connect_start(int family, const struct sockaddr_storage *ss,
		       socklen_t len);
/*
 * Wait until @fd's non-blocking connect() finished (@until: time_ns()
 * deadline); 0 connected, else -errno.
 */
int sock_connect_wait(int fd, unsigned long long until);
/* Accept one connection within @wait_ns; the socket or -1. */
int sock_accept_one(int lfd, unsigned long long wait_ns);
/* RLIMIT_NOFILE raised to at least @n (the hard limit too); 0 or -1. */
int sock_reserve_fds(unsigned long n);

#endif /* LIB_SOCK_H */
