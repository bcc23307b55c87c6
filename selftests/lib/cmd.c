// SPDX-License-Identifier: GPL-2.0
/*
 * External commands (ip, tc, nft): run one through the shell with its
 * output passed on as TAP comments, or probe whether a tool is there.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "kselftest.h"
#include "cmd.h"

int cmd_run(const char *fmt, ...)
{
	char cmd[1024], line[512];
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p))
		ksft_print_msg("%s", line);
	st = pclose(p);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

bool cmd_have_tool(const char *probe)
{
	int st = system(probe);

	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}
