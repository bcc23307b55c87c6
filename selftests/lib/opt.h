/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The command line of the measurement programs: strict decimal values
 * with a range, one wording for every usage error, -h and the -4/-6
 * family choice.  A usage error prints a message and "Try 'PROG -h'."
 * on stderr and exits with EXIT_USAGE before anything has run.
 */
#ifndef LIB_OPT_H
#define LIB_OPT_H

#include <stdbool.h>
#include <stdio.h>

#include "kselftest.h"

/*
 * A usage error exits 2, as getopt-based commands do: only the tools of
 * tools/ parse options (the tests take none; the harness has its own
 * parser), and a tool exits 0 when it measured, 1 when it could not.
 */
#define EXIT_USAGE		2

/* Decimal number without sign, spaces or suffix, at most @max. */
bool opt_parse_ulong(const char *s, unsigned long max, unsigned long *out);
/* opt_ulong() for the short option -@c. */
unsigned long opt_short_ulong(int c, const char *val, unsigned long min,
			      unsigned long max);
/* The file name given to the short option -@c: not empty. */
const char *opt_short_file(int c, const char *val);
/* Report a bad option value and exit with EXIT_USAGE; changes nothing. */
__noreturn void opt_bad_arg(const char *opt, const char *val, const char *why);
/*
 * The value of option @opt: a decimal integer in @min..@max, else a
 * message naming the option and the range, and exit (nothing has run).
 */
unsigned long opt_ulong(const char *opt, const char *val,
			unsigned long min, unsigned long max);
/* A usage error that is no single option's value: say @msg and exit. */
__noreturn void opt_usage_error(const char *msg);
/* getopt's own message was printed already: add the hint and exit. */
__noreturn void opt_bad_usage(void);
/* After the getopt() loop: the programs take no operands. */
void opt_no_operands(int argc, char **argv);
/*
 * getopt() (opterr = 0, optstring starting with ':') returned ':' or
 * '?' for the option at argv[optind - 1]: say which and exit.
 */
__noreturn void opt_bad_option(int c, char **argv);
/* getopt()'s last cases: -h prints @usage and exits 0, else bad option. */
__noreturn void opt_help_or_bad(int c, char **argv, void (*usage)(FILE *out));
/* After the loop, for programs testing both families: -4/-6 pick one. */
void opt_end(int argc, char **argv, bool *ipv4, bool *ipv6);
/* -4 or -6 of a program testing one family (*@family 0 until then). */
void opt_family(int c, int *family);

#endif /* LIB_OPT_H */
