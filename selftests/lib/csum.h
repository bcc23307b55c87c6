/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Internet checksum (RFC 1071) of segments a test builds by hand for
 * a raw or packet socket: sum the pseudo-header and the segment with
 * csum_add(), then csum_fold() gives the value of the checksum field.
 */
#ifndef LIB_CSUM_H
#define LIB_CSUM_H

#include <stddef.h>

/* Add the 16-bit big-endian words of @buf (@len bytes, odd padded) to @sum. */
unsigned int csum_add(unsigned int sum, const void *buf, size_t len);
/* Fold @sum to 16 bits and complement it: the checksum, in network order. */
unsigned short csum_fold(unsigned int sum);

#endif /* LIB_CSUM_H */
