/* SPDX-License-Identifier: GPL-2.0 */
/*
 * External commands (ip, tc, nft): run one through the shell with its
 * output passed on as TAP comments, or probe whether a tool is there.
 */
#ifndef LIB_CMD_H
#define LIB_CMD_H

#include <stdbool.h>

#include "kselftest.h"

/*
 * Run a shell command; its output is passed on as TAP comments.
 * Returns the command's exit status, or -1 if it could not run.
 */
__printf(1, 2) int cmd_run(const char *fmt, ...);
/* True when @probe (e.g. "tool --version >/dev/null 2>&1") exits 0. */
bool cmd_have_tool(const char *probe);

#endif /* LIB_CMD_H */
