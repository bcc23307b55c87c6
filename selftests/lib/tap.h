/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How a TAP program ends, and the messages of its result lines.  Header
 * only, on purpose: kselftest.h keeps its pass/fail/skip counts in static
 * variables, one set per compiled file, so the exit that reads them must
 * be compiled into the file that counted (the program's own).
 */
#ifndef LIB_TAP_H
#define LIB_TAP_H

#include <stdio.h>
#include <stdlib.h>

#include "kselftest.h"

/* snprintf() into the char array @buf (not a pointer: sizeof is its size). */
#define tap_msg(buf, fmt, ...) snprintf(buf, sizeof(buf), fmt, ##__VA_ARGS__)

/* Exit as kselftest reads it: fail, skip when nothing passed, else pass. */
static inline void tap_exit(void)
{
	if (ksft_get_fail_cnt())
		ksft_exit_fail();
	if (!ksft_get_pass_cnt() && ksft_get_xskip_cnt()) {
		ksft_print_cnts();
		exit(KSFT_SKIP);
	}
	ksft_exit_pass();
}

#endif /* LIB_TAP_H */
