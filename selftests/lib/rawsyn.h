/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Raw SYNs and RSTs from a second local address (127.0.0.2, fd00:5e7::2
 * on lo): request sockets that fill a listener's SYN queue and never
 * complete while nftables drops the listener's SYN-ACKs to that address
 * (rawsyn_nft_match()), and the RSTs that take them out again.
 */
#ifndef LIB_RAWSYN_H
#define LIB_RAWSYN_H

#include <stddef.h>
#include <linux/types.h>
#include <sys/socket.h>

#define RAWSYN_SYN	0x02
#define RAWSYN_RST	0x04

struct rawsyn {
	int fd;
	unsigned char saddr[16];
	unsigned char daddr[16];
	unsigned int alen;
	__u16 dport;
	struct sockaddr_storage dst;
	socklen_t dlen;
};

/* The second local address of @family, numeric. */
const char *rawsyn_alt_addr(int family);
/*
 * Make the second address usable (add fd00:5e7::2 to lo) and open a raw
 * TCP socket sending from it to the listener @ls:@lport.  0, or -1 with
 * @why saying which step failed.
 */
int rawsyn_open(struct rawsyn *rs, int family,
		const struct sockaddr_storage *ls, unsigned short lport,
		char *why, size_t sz);
/*
 * Send one segment with @flags and sequence number @seq from each source
 * port @base..@base + @n - 1; 0, or -1 and errno.
 */
int rawsyn_send(const struct rawsyn *rs, unsigned short base, unsigned long n,
		__u32 seq, __u8 flags);
/* The nft match of the listener's segments to the second address. */
void rawsyn_nft_match(char *buf, size_t sz, int family, unsigned short lport);
void rawsyn_close(struct rawsyn *rs);

#endif /* LIB_RAWSYN_H */
