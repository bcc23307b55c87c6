/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tool's messages on stderr: "<program>: <message>", the prefix that
 * lib/opt.c's usage errors use too.
 */
#ifndef LIB_MSG_H
#define LIB_MSG_H

#include "kselftest.h"

/* Print "<program>: " and the message (the caller ends it with "\n"). */
__printf(1, 2) void msg_warn(const char *fmt, ...);

#endif /* LIB_MSG_H */
