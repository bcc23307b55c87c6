// SPDX-License-Identifier: GPL-2.0
/*
 * The command line of the measurement programs: strict decimal values
 * with a range, one wording for every usage error, -h and the -4/-6
 * family choice.  A usage error prints a message and "Try 'PROG -h'."
 * on stderr and exits with EXIT_USAGE before anything has run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "opt.h"

bool opt_parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!s || s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

void opt_bad_arg(const char *opt, const char *val, const char *why)
{
	fprintf(stderr, "%s: invalid value '%s' for %s: %s\n",
		program_invocation_short_name, val ? val : "", opt, why);
	fprintf(stderr, "Try '%s -h'.\n", program_invocation_short_name);
	exit(EXIT_USAGE);
}

unsigned long opt_ulong(const char *opt, const char *val,
			unsigned long min, unsigned long max)
{
	unsigned long v = 0;
	char why[64];

	if (!opt_parse_ulong(val, max, &v) || v < min) {
		snprintf(why, sizeof(why), "need an integer %lu..%lu", min, max);
		opt_bad_arg(opt, val, why);
	}
	return v;
}

unsigned long opt_short_ulong(int c, const char *val, unsigned long min,
			      unsigned long max)
{
	char opt[3] = { '-', (char)c, 0 };

	return opt_ulong(opt, val, min, max);
}

const char *opt_short_file(int c, const char *val)
{
	char opt[3] = { '-', (char)c, 0 };

	if (!val[0])
		opt_bad_arg(opt, val, "a file name");
	return val;
}

void opt_bad_usage(void)
{
	fprintf(stderr, "Try '%s -h'.\n", program_invocation_short_name);
	exit(EXIT_USAGE);
}

void opt_usage_error(const char *msg)
{
	fprintf(stderr, "%s: %s\n", program_invocation_short_name, msg);
	opt_bad_usage();
}

void opt_no_operands(int argc, char **argv)
{
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n",
			program_invocation_short_name, argv[optind]);
		opt_bad_usage();
	}
}

void opt_bad_option(int c, char **argv)
{
	const char *me = program_invocation_short_name;

	if (c == ':')
		fprintf(stderr, "%s: option '%s' needs a value\n", me,
			argv[optind - 1]);
	else if (optopt == '-' && argv[optind] && !strncmp(argv[optind], "--", 2))
		/* "--name" to a parser of short options: name all of it. */
		fprintf(stderr, "%s: unknown option '%s'\n", me, argv[optind]);
	else if (optopt)
		fprintf(stderr, "%s: unknown option '-%c'\n", me, optopt);
	else
		fprintf(stderr, "%s: unknown option '%s'\n", me, argv[optind - 1]);
	opt_bad_usage();
}

void opt_help_or_bad(int c, char **argv, void (*usage)(FILE *out))
{
	if (c == 'h') {
		usage(stdout);
		exit(0);
	}
	opt_bad_option(c, argv);
}

void opt_end(int argc, char **argv, bool *ipv4, bool *ipv6)
{
	opt_no_operands(argc, argv);
	if (!*ipv4 && !*ipv6) {
		*ipv4 = true;
		*ipv6 = true;
	}
}

void opt_family(int c, int *family)
{
	int f = c == '4' ? AF_INET : AF_INET6;

	if (*family && *family != f) {
		fprintf(stderr, "%s: -4 and -6 exclude each other\n",
			program_invocation_short_name);
		opt_bad_usage();
	}
	*family = f;
}
