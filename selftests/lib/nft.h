/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nftables in the test's own namespace: a table with one counted drop
 * rule in the input hook (to lose chosen segments on loopback), and the
 * packets its counters saw.
 */
#ifndef LIB_NFT_H
#define LIB_NFT_H

#include <stdbool.h>

/*
 * Packets counted so far by the "counter" statements of nftables @table
 * ("inet name"), summed; -1 when the table cannot be listed.  Keep one
 * counter per table for a per-rule figure.
 */
long long nft_packets(const char *table);
/*
 * Install table inet @table with one rule in the input hook: segments
 * matching @match (nft syntax) are counted and dropped.  0 on success.
 */
int nft_drop_rule(const char *table, const char *match);
/*
 * Delete table inet @table of nft_drop_rule(); returns the packets its
 * rule dropped (-1 when unknown).
 */
long long nft_drop_rule_remove(const char *table);

/*
 * nft_drop_rule() for the RSTs of a stale-peer client (lib/reconnect.h):
 * segments from client port @cport to server port @sport with both RST
 * and ACK set (its close with SO_LINGER {1, 0}), or with @all every RST
 * (also the bare RST that would kill the stale timewait socket).
 */
int nft_drop_rst(const char *table, unsigned short cport,
		 unsigned short sport, bool all);

#endif /* LIB_NFT_H */
