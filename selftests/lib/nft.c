// SPDX-License-Identifier: GPL-2.0
/*
 * nftables in the test's own namespace: a table with one counted drop
 * rule in the input hook (to lose chosen segments on loopback), and the
 * packets its counters saw.  Rules go through "nft -f" and a temporary
 * file; nft's messages are passed on as TAP comments.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest.h"
#include "cmd.h"
#include "nft.h"

/* Apply an nftables @ruleset in the current network namespace; 0 on success. */
static int nft_apply(const char *ruleset)
{
	char path[] = "/tmp/tcp_lat_nft.XXXXXX";
	int fd, ret, len = strlen(ruleset);

	fd = mkstemp(path);
	if (fd < 0) {
		ksft_print_msg("nft: mkstemp: %s\n", strerror(errno));
		return -1;
	}
	if (write(fd, ruleset, len) != len) {
		ksft_print_msg("nft: write %s: %s\n", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	ret = cmd_run("nft -f %s 2>&1", path);
	unlink(path);
	return ret ? -1 : 0;
}

long long nft_packets(const char *table)
{
	char cmd[160], line[512];
	long long pkts = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nft list table %s 2>/dev/null", table);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		char *c = strstr(line, "counter packets ");

		if (c)
			pkts = (pkts < 0 ? 0 : pkts) +
			       strtoll(c + strlen("counter packets "), NULL, 10);
	}
	if (pclose(p))
		return -1;
	return pkts;
}

int nft_drop_rule(const char *table, const char *match)
{
	char rules[512];

	snprintf(rules, sizeof(rules),
		 "table inet %s {\n"
		 "\tchain input {\n"
		 "\t\ttype filter hook input priority 0; policy accept;\n"
		 "\t\t%s counter drop\n"
		 "\t}\n"
		 "}\n", table, match);
	return nft_apply(rules);
}

long long nft_drop_rule_remove(const char *table)
{
	char cmd[96];
	long long pkts;

	snprintf(cmd, sizeof(cmd), "inet %s", table);
	pkts = nft_packets(cmd);
	snprintf(cmd, sizeof(cmd), "delete table inet %s\n", table);
	nft_apply(cmd);
	return pkts;
}

int nft_drop_rst(const char *table, unsigned short cport,
		 unsigned short sport, bool all)
{
	const char *flags = all ? "rst" : "(rst | ack)";
	char match[128];

	snprintf(match, sizeof(match),
		 "tcp sport %u tcp dport %u tcp flags & %s == %s",
		 cport, sport, flags, flags);
	return nft_drop_rule(table, match);
}
