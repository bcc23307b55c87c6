// SPDX-License-Identifier: GPL-2.0
/*
 * The Internet checksum (RFC 1071) of segments a test builds by hand for
 * a raw or packet socket: sum the pseudo-header and the segment with
 * csum_add(), then csum_fold() gives the value of the checksum field.
 * The sum is kept in host order over big-endian words, so a caller adds
 * numbers (protocol, length) to it as they are.
 */
#include <arpa/inet.h>

#include "csum.h"

unsigned int csum_add(unsigned int sum, const void *buf, size_t len)
{
	const unsigned char *b = buf;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (b[i] << 8) | b[i + 1];
	if (len & 1)
		sum += b[len - 1] << 8;
	return sum;
}

unsigned short csum_fold(unsigned int sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}
