// SPDX-License-Identifier: GPL-2.0
/*
 * A raw TCP peer on a veth wire (see raw.h): frames built by hand with
 * their checksums (csum.c), written to and read from veth1 through an
 * AF_PACKET socket.  The kernel's side (veth0) holds static neighbour
 * entries for the peer's addresses, which nothing configures, so what
 * the kernel sends to the peer is only ever seen by this code, and the
 * peer knows every sequence number of the connection.  On top of the
 * frames, the peer drives a connection with a kernel socket into any
 * state from SYN_SENT to both timewait substates (raw_reach()) and reads
 * the socket's state back from /proc.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cmd.h"
#include "csum.h"
#include "raw.h"
#include "sock.h"
#include "sysctl.h"
#include "time.h"

static const unsigned char raw_mss_opt[4] = { 2, 4, 1400 >> 8, 1400 & 0xff };

void raw_addr(int family, bool kernel, void *a)
{
	inet_pton(family, family == AF_INET ? (kernel ? "10.0.0.1" : "10.0.0.2")
		  : (kernel ? "fd00::1" : "fd00::2"), a);
}

socklen_t raw_sockaddr(int family, bool kernel, unsigned short port,
		       struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (void *)ss;
	struct sockaddr_in6 *s6 = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	ss->ss_family = family;
	if (family == AF_INET) {
		s4->sin_port = htons(port);
		raw_addr(AF_INET, kernel, &s4->sin_addr);
		return sizeof(*s4);
	}
	s6->sin6_port = htons(port);
	raw_addr(AF_INET6, kernel, &s6->sin6_addr);
	return sizeof(*s6);
}

static int get_mac(const char *dev, unsigned char *mac, int *ifindex)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = -1;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (!ioctl(fd, SIOCGIFHWADDR, &ifr)) {
		memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
		ret = 0;
	}
	if (ifindex && !ioctl(fd, SIOCGIFINDEX, &ifr))
		*ifindex = ifr.ifr_ifindex;
	close(fd);
	return ret;
}

int raw_wire_setup(char *why, size_t sz)
{
	static const char * const sys[][2] = {
		{ "/proc/sys/net/ipv4/tcp_challenge_ack_limit", "2147483647" },
		{ "/proc/sys/net/ipv4/tcp_invalid_ratelimit", "0" },
		{ "/proc/sys/net/ipv4/ip_forward", "0" },
		{ "/proc/sys/net/ipv4/tcp_syncookies", "0" },
	};
	static const char * const batch[] = {
		"addr add 10.0.0.1/24 dev veth0",
		"addr add fd00::1/64 dev veth0 nodad",
		"link set veth0 up",
		"link set veth1 up",
		"neigh add 10.0.0.2 lladdr %s dev veth0 nud permanent",
		"neigh add fd00::2 lladdr %s dev veth0 nud permanent",
		"route replace 10.0.0.0/24 dev veth0 rto_min 5s quickack 1",
		"route replace fd00::/64 dev veth0 rto_min 5s quickack 1",
	};
	char mac[24], line[96], cmd[800];
	unsigned char m[ETH_ALEN];
	size_t len = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sys); i++)
		if (sysctl_write(sys[i][0], sys[i][1])) {
			snprintf(why, sz, "cannot set %s", sys[i][0]);
			return -1;
		}

	/* veth1 without IPv6: no link-local address, no DAD, no RS. */
	if (cmd_run("ip link add veth0 type veth peer name veth1 2>&1") ||
	    sysctl_write("/proc/sys/net/ipv6/conf/veth1/disable_ipv6", "1") ||
	    get_mac("veth1", m, NULL)) {
		snprintf(why, sz, "veth pair failed (CONFIG_VETH, ip?)");
		return -1;
	}
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
		 m[0], m[1], m[2], m[3], m[4], m[5]);
	/* One ip process for the rest: a fork costs under TCG. */
	for (i = 0; i < ARRAY_SIZE(batch); i++) {
		snprintf(line, sizeof(line), batch[i], mac);
		len += snprintf(cmd + len, sizeof(cmd) - len, " '%s'", line);
	}
	if (len >= sizeof(cmd) || cmd_run("printf '%%s\\n'%s | ip -batch - 2>&1", cmd)) {
		snprintf(why, sz, "ip -batch: addresses, neighbours, routes failed");
		return -1;
	}
	return 0;
}

int raw_peer_open(struct raw_peer *p, int family, char *why, size_t sz)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL) };
	struct sockaddr_storage ss;
	socklen_t len;

	memset(p, 0, sizeof(*p));
	p->family = family;
	p->pkt = -1;
	p->lfd = -1;
	if (get_mac("veth0", p->mac0, NULL) || get_mac("veth1", p->mac1, &p->ifindex)) {
		snprintf(why, sz, "veth MAC addresses: %s", strerror(errno));
		return -1;
	}
	p->pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	sll.sll_ifindex = p->ifindex;
	if (p->pkt < 0 || bind(p->pkt, (struct sockaddr *)&sll, sizeof(sll))) {
		snprintf(why, sz, "AF_PACKET on veth1: %s", strerror(errno));
		return -1;
	}
	len = raw_sockaddr(family, true, RAW_KPORT, &ss);
	p->lfd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&ss, len) ||
	    listen(p->lfd, 1024)) {
		snprintf(why, sz, "listener: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void raw_peer_close(struct raw_peer *p)
{
	if (p->pkt >= 0)
		close(p->pkt);
	if (p->lfd >= 0)
		close(p->lfd);
	p->pkt = -1;
	p->lfd = -1;
}

int raw_fail(struct raw_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return -1;
}

static void put32(unsigned char *b, unsigned int v)
{
	v = htonl(v);
	memcpy(b, &v, 4);
}

static unsigned int get32(const unsigned char *b)
{
	unsigned int v;

	memcpy(&v, b, 4);
	return ntohl(v);
}

/* The IP header of a frame to the kernel at @ip; the pseudo-header sum. */
static unsigned int ip_header(int family, unsigned char *ip, int tlen)
{
	unsigned short sum;

	if (family == AF_INET6) {
		ip[0] = 0x60;
		ip[4] = tlen >> 8;
		ip[5] = tlen & 0xff;
		ip[6] = IPPROTO_TCP;
		ip[7] = 64;
		raw_addr(AF_INET6, false, ip + 8);
		raw_addr(AF_INET6, true, ip + 24);
		return csum_add(0, ip + 8, 32) + IPPROTO_TCP + tlen;
	}
	ip[0] = 0x45;
	ip[2] = (20 + tlen) >> 8;
	ip[3] = (20 + tlen) & 0xff;
	ip[6] = 0x40;				/* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	raw_addr(AF_INET, false, ip + 12);
	raw_addr(AF_INET, true, ip + 16);
	sum = csum_fold(csum_add(0, ip, 20));
	memcpy(ip + 10, &sum, 2);
	return csum_add(0, ip + 12, 8) + IPPROTO_TCP + tlen;
}

int raw_send_opt(struct raw_conn *c, const struct raw_seg *s,
		 const unsigned char *opt, int optlen)
{
	unsigned char f[512] = {}, *ip = f + ETH_HLEN, *th;
	int v4 = c->p->family == AF_INET, iplen = v4 ? 20 : 40;
	int thlen = 20 + optlen, tlen = thlen + s->len;
	unsigned short csum;
	unsigned int sum;

	if (optlen % 4 || optlen > 40 || ETH_HLEN + iplen + tlen > (int)sizeof(f))
		return raw_fail(c, "segment too large");
	memcpy(f, c->p->mac0, ETH_ALEN);
	memcpy(f + ETH_ALEN, c->p->mac1, ETH_ALEN);
	f[12] = v4 ? 0x08 : 0x86;
	f[13] = v4 ? 0x00 : 0xdd;
	sum = ip_header(c->p->family, ip, tlen);
	th = ip + iplen;
	th[0] = c->pport >> 8;
	th[1] = c->pport & 0xff;
	th[2] = c->kport >> 8;
	th[3] = c->kport & 0xff;
	put32(th + 4, s->seq);
	put32(th + 8, s->flags & RAW_ACK ? s->ack : 0);
	th[12] = (thlen / 4) << 4;
	th[13] = s->flags;
	th[14] = 0xff;					/* window 65535 */
	th[15] = 0xff;
	if (optlen)
		memcpy(th + 20, opt, optlen);
	memset(th + thlen, 'x', s->len);
	csum = csum_fold(csum_add(sum, th, tlen));
	memcpy(th + 16, &csum, 2);
	if (send(c->p->pkt, f, ETH_HLEN + iplen + tlen, 0) < 0)
		return raw_fail(c, "send: %s", strerror(errno));
	return 0;
}

int raw_send(struct raw_conn *c, const struct raw_seg *s, bool mss)
{
	return raw_send_opt(c, s, raw_mss_opt, mss ? sizeof(raw_mss_opt) : 0);
}

int raw_ts_opt(struct raw_conn *c, unsigned char *o)
{
	o[0] = 1;
	o[1] = 1;
	o[2] = 8;
	o[3] = 10;
	put32(o + 4, ++c->pts);
	put32(o + 8, c->kts);
	return 12;
}

int raw_send_ts(struct raw_conn *c, const struct raw_seg *s)
{
	unsigned char o[12];

	if (!c->ts)
		return raw_send_opt(c, s, NULL, 0);
	return raw_send_opt(c, s, o, raw_ts_opt(c, o));
}

/* The timestamps option of the TCP header at @th (the frame ends at @end). */
static void parse_ts(struct raw_conn *c, struct raw_seg *s,
		     const unsigned char *th, const unsigned char *end)
{
	int thlen = (th[12] >> 4) * 4, i = 20, len;

	s->ts = false;
	while (i < thlen && th + i < end && th[i]) {
		if (th[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= thlen || th + i + 1 >= end)
			break;
		len = th[i + 1];
		if (len < 2 || i + len > thlen || th + i + len > end)
			break;
		if (th[i] == 8 && len == 10) {
			s->tsval = get32(th + i + 2);
			s->ts = true;
			c->kts = s->tsval;
		}
		i += len;
	}
}

/* The TCP header of frame @f (@n bytes) if it goes from @c's kernel to its peer. */
static unsigned char *tcp_to_peer(struct raw_conn *c, unsigned char *f,
				  ssize_t n, int *plen)
{
	int v4 = c->p->family == AF_INET, iplen = v4 ? 20 : 40;
	unsigned char *ip = f + ETH_HLEN, *th, a[16];

	if (n < ETH_HLEN + iplen + 20 ||
	    ((f[12] << 8) | f[13]) != (v4 ? ETH_P_IP : ETH_P_IPV6))
		return NULL;
	raw_addr(c->p->family, false, a);
	if (v4) {
		iplen = (ip[0] & 0xf) * 4;
		*plen = ((ip[2] << 8) | ip[3]) - iplen;
		if (ip[9] != IPPROTO_TCP || memcmp(ip + 16, a, 4))
			return NULL;
	} else {
		*plen = (ip[4] << 8) | ip[5];
		if (ip[6] != IPPROTO_TCP || memcmp(ip + 24, a, 16))
			return NULL;
	}
	th = ip + iplen;
	if (th + 20 > f + n || ((th[2] << 8) | th[3]) != c->pport ||
	    ((th[0] << 8) | th[1]) != c->kport)
		return NULL;
	return th;
}

int raw_recv(struct raw_conn *c, struct raw_seg *s, unsigned long long until)
{
	struct pollfd pfd = { .fd = c->p->pkt, .events = POLLIN };
	unsigned char f[2048], *th;
	struct sockaddr_ll sll;
	unsigned long long now;
	socklen_t sl;
	ssize_t n;
	int plen;

	for (;;) {
		now = time_ns();
		if (now >= until)
			return 0;
		if (poll(&pfd, 1, (until - now) / NSEC_PER_MSEC + 1) <= 0)
			continue;
		sl = sizeof(sll);
		n = recvfrom(c->p->pkt, f, sizeof(f), MSG_DONTWAIT,
			     (struct sockaddr *)&sll, &sl);
		if (n <= 0 || sll.sll_pkttype == PACKET_OUTGOING)
			continue;
		th = tcp_to_peer(c, f, n, &plen);
		if (!th)
			continue;
		s->seq = get32(th + 4);
		s->ack = get32(th + 8);
		s->flags = th[13];
		s->win = (th[14] << 8) | th[15];
		s->len = plen - (th[12] >> 4) * 4;
		parse_ts(c, s, th, f + n);
		return 1;
	}
}

/*
 * How long a reply the setup counts on may take.  It comes at once; but a
 * TCG guest on a loaded host can stand still for seconds (2 s passed
 * without a SYN-ACK once, beside CI, a benchmark and two other VMs).
 * Only a failing setup waits this long.
 */
#define RAW_REPLY_WAIT_NS	(10 * NSEC_PER_SEC)

int raw_wait(struct raw_conn *c, int flags, bool chk_seq, unsigned int seq,
	     struct raw_seg *s, const char *what)
{
	unsigned long long until = time_ns() + RAW_REPLY_WAIT_NS;

	while (raw_recv(c, s, until))
		if (s->flags == flags && (!chk_seq || s->seq == seq))
			return 0;
	return raw_fail(c, "no %s from the kernel", what);
}

int raw_wait_syn(struct raw_conn *c, bool rst, unsigned int rst_seq,
		 unsigned long long *at, const char *what)
{
	unsigned long long until = time_ns() + 5 * NSEC_PER_SEC;
	bool got_rst = !rst, got_syn = false;
	struct raw_seg r;

	while (!(got_rst && got_syn) && raw_recv(c, &r, until)) {
		if (rst && r.flags == RAW_RST && r.seq == rst_seq) {
			got_rst = true;
		} else if (r.flags == RAW_SYN && !got_syn && (!c->K || r.seq == c->K - 1)) {
			got_syn = true;
			c->K = r.seq + 1;
			*at = time_ns();
		}
	}
	if (got_rst && got_syn)
		return 0;
	return raw_fail(c, "no %s from the kernel after %s", got_syn ? "RST" : "SYN", what);
}

int raw_synack(struct raw_conn *c, bool ts)
{
	unsigned char o[16] = { 2, 4, 1400 >> 8, 1400 & 0xff };
	struct raw_seg s, r;

	c->ts = ts;
	c->P = random();
	s = (struct raw_seg){ .flags = RAW_SYN | RAW_ACK, .seq = c->P, .ack = c->K };
	if (raw_send_opt(c, &s, o, ts ? 4 + raw_ts_opt(c, o + 4) : 4))
		return -1;
	c->P++;
	if (raw_wait(c, RAW_ACK, true, c->K, &r, "ACK of the SYN-ACK"))
		return -1;
	if (r.ack != c->P || sock_connect_wait(c->fd, time_ns() + 2 * NSEC_PER_SEC))
		return raw_fail(c, "handshake: ack %u (want %u), connect() failed", r.ack, c->P);
	return 0;
}

int raw_data_ack(struct raw_conn *c, unsigned int seq, unsigned int len,
		 struct raw_seg *r)
{
	struct raw_seg s = { .flags = RAW_PSH | RAW_ACK, .seq = seq, .ack = c->K, .len = len };

	return raw_send(c, &s, false) ||
	       raw_wait(c, RAW_ACK, true, c->K, r, "ACK of the peer's data");
}

void raw_drain(struct raw_conn *c, unsigned long long ns)
{
	struct raw_seg x;

	while (raw_recv(c, &x, time_ns() + ns))
		;
}

/* Name, /proc st value, and whether it is a timewait socket. */
static const struct { const char *name; int st; bool tw; } states[RAW_ST_NUM] = {
	{ "SYN_SENT", 2, false }, { "SYN_RECV", 3, false },
	{ "ESTABLISHED", 1, false }, { "FIN_WAIT1", 4, false },
	{ "FIN_WAIT2", 5, false }, { "CLOSING", 11, false },
	{ "CLOSE_WAIT", 8, false }, { "LAST_ACK", 9, false },
	{ "TW-TIME_WAIT", 6, true }, { "TW-FIN_WAIT2", 5, true },
};

/* ---- the kernel's socket --------------------------------------------- */

/* /proc state of the socket of @c: enum raw_state, -1 gone, -2 other. */
int raw_sock_state(struct raw_conn *c)
{
	FILE *f = fopen(c->p->family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6", "r");
	unsigned int lp, rp, st, tr;
	char line[512];
	int i, ret = -1;
	bool tw;

	if (!f)
		return -2;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%x %x %*x:%*x %x",
			   &lp, &rp, &st, &tr) != 4 || lp != c->kport || rp != c->pport)
			continue;
		ret = -2;
		tw = tr == 3;	/* the timewait timer */
		for (i = 0; i < RAW_ST_NUM; i++)
			if ((int)st == states[i].st && states[i].tw == tw)
				ret = i;
		break;
	}
	fclose(f);
	return ret;
}

const char *raw_state_name(int i)
{
	return i >= 0 ? states[i].name : i == -1 ? "gone" : "other";
}

/* Poll until the socket is in @want (at most 2 s); the last state seen. */
int raw_wait_state(struct raw_conn *c, int want)
{
	unsigned long long until = time_ns() + 2 * NSEC_PER_SEC;
	int st;

	while ((st = raw_sock_state(c)) != want && time_ns() < until)
		time_sleep_ns(5 * NSEC_PER_MSEC);
	return st;
}

/* ---- driving it to a state ------------------------------------------- */

static int ack_it(struct raw_conn *c, unsigned int ack)
{
	struct raw_seg s = { .flags = RAW_ACK, .seq = c->P, .ack = ack };

	return raw_send(c, &s, false);
}

static int peer_fin(struct raw_conn *c, unsigned int ack)
{
	struct raw_seg s = { .flags = RAW_FIN | RAW_ACK, .seq = c->P, .ack = ack }, r;

	if (raw_send(c, &s, false))
		return -1;
	c->P++;
	return raw_wait(c, RAW_ACK, true, c->K, &r, "ACK of the peer's FIN") ||
	       r.ack != c->P;
}

static int kernel_fin(struct raw_conn *c, bool do_close)
{
	struct raw_seg r;

	if (do_close) {
		close(c->fd);
		c->fd = -1;
	} else if (shutdown(c->fd, SHUT_WR)) {
		return raw_fail(c, "shutdown: %s", strerror(errno));
	}
	if (raw_wait(c, RAW_FIN | RAW_ACK, true, c->K, &r, "FIN"))
		return -1;
	c->K++;
	return 0;
}

/* The kernel connect()s, without waiting, to the peer's port @pport. */
int raw_connect(struct raw_conn *c, unsigned short pport)
{
	struct sockaddr_storage ss;
	socklen_t len = raw_sockaddr(c->p->family, false, pport, &ss);

	c->pport = pport;
	c->fd = socket(c->p->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || (connect(c->fd, (struct sockaddr *)&ss, len) &&
			  errno != EINPROGRESS))
		return raw_fail(c, "connect: %s", strerror(errno));
	if (sock_local_port(c->fd, &c->kport) || !c->kport)
		return raw_fail(c, "getsockname: %s", strerror(errno));
	return 0;
}

/*
 * Drive the connection of @c to state @st, the peer's SYN carrying the
 * options @opt (@optlen bytes); 0 or -1 with c->why.  SYN_SENT: the
 * kernel connect()s, the peer sees its SYN and answers nothing.
 */
int raw_reach(struct raw_conn *c, int st, const unsigned char *opt, int optlen)
{
	struct raw_seg s = { .flags = RAW_SYN, .seq = random() }, r;

	if (!opt) {
		opt = raw_mss_opt;
		optlen = sizeof(raw_mss_opt);
	}
	if (st == RAW_ST_SYN_SENT) {
		if (raw_connect(c, RAW_PPORT_SYN) ||
		    raw_wait(c, RAW_SYN, false, 0, &r, "SYN"))
			return -1;
		c->K = r.seq + 1;
		c->P = random();	/* the peer's ISN + 1, never sent */
		return 0;
	}
	c->kport = RAW_KPORT;
	if (!c->pport)
		c->pport = RAW_PPORT;
	if (raw_send_opt(c, &s, opt, optlen) ||
	    raw_wait(c, RAW_SYN | RAW_ACK, false, 0, &r, "SYN-ACK"))
		return -1;
	c->P = s.seq + 1;
	c->K = r.seq + 1;
	if (r.ack != c->P)
		return raw_fail(c, "SYN-ACK acks %u, not %u", r.ack, c->P);
	if (st == RAW_ST_SYN_RECV)
		return 0;
	if (ack_it(c, c->K))
		return -1;
	c->fd = sock_accept_one(c->p->lfd, 2 * NSEC_PER_SEC);
	if (c->fd < 0)
		return raw_fail(c, "accept: %s", strerror(errno));
	switch (st) {
	case RAW_ST_FW1:
		return kernel_fin(c, false);
	case RAW_ST_FW2:
		return kernel_fin(c, false) || ack_it(c, c->K);
	case RAW_ST_CLOSING:
		return kernel_fin(c, false) || peer_fin(c, c->K - 1);
	case RAW_ST_CW:
		return peer_fin(c, c->K);
	case RAW_ST_LA:
		return peer_fin(c, c->K) || kernel_fin(c, false);
	case RAW_ST_TW:
		return kernel_fin(c, false) || ack_it(c, c->K) || peer_fin(c, c->K);
	case RAW_ST_TWFW2:
		/* An orphan acked in FIN_WAIT1 becomes a FIN_WAIT2 timewait sock. */
		return kernel_fin(c, true) || ack_it(c, c->K);
	}
	return 0;
}

/* ---- what the peer saw ------------------------------------------------- */

/*
 * Relative value for raw_segs_str(): stable across runs and kernels.  A zero
 * (the sequence number of a RST that answers a segment without ACK) is
 * printed as such before any offset: with a random base below 2^24, it
 * would otherwise read as an offset, once in 256 runs.
 */
static void rel(char *buf, size_t sz, const char *k, unsigned int v, unsigned int base)
{
	int d = (int)(v - base);

	if (v && d > -(1 << 24) && d < (1 << 24))
		snprintf(buf, sz, "%s%+d", k, d);
	else
		snprintf(buf, sz, "%s=%s", k, v ? "x" : "0");
}

void raw_segs_str(char *out, size_t sz, const struct raw_conn *c,
		  const struct raw_seg *r, int n)
{
	static const char fl[] = "FSRPAU";
	char sq[24], ak[24];
	size_t len = 0;
	int i, b;

	if (!n)
		snprintf(out, sz, "none");
	for (i = 0; i < n && len < sz; i++) {
		len += snprintf(out + len, sz - len, "%s", i ? "," : "");
		for (b = 0; b < 6 && len < sz; b++)
			if (r[i].flags & (1 << b))
				out[len++] = fl[b];
		rel(sq, sizeof(sq), "s", r[i].seq, c->K);
		rel(ak, sizeof(ak), "a", r[i].ack, c->P);
		len += snprintf(out + len, sz - len, "@%s%s%s", sq,
				r[i].flags & RAW_ACK ? ak : "",
				r[i].len ? "+data" : "");
	}
}
