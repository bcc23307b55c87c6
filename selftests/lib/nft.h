/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nftables in the test's own namespace: a table with one counted drop
 * rule in the input hook (to lose chosen segments on loopback), and the
 * packets its counters saw.
 */
#ifndef LIB_NFT_H
#define LIB_NFT_H

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

#endif /* LIB_NFT_H */
