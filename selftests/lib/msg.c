// SPDX-License-Identifier: GPL-2.0
/*
 * A tool's messages on stderr, prefixed with the program's name: one
 * printer for the tools of tools/ instead of a copy in each.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "msg.h"

void msg_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}
