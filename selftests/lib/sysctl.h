/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sysctls by their /proc/sys path: read, write, and a value changed for
 * one test and put back afterwards.
 */
#ifndef LIB_SYSCTL_H
#define LIB_SYSCTL_H

#include <stdbool.h>
#include <stddef.h>

/* Read a sysctl file into @buf (trailing newline removed); -1 if absent. */
int sysctl_read(const char *path, char *buf, size_t sz);
/* Write @val to a sysctl file; 0 or -1. */
int sysctl_write(const char *path, const char *val);
/* A numeric sysctl, -1 when it cannot be read. */
long long sysctl_read_ll(const char *path);

/* A sysctl changed for one test and restored. */
struct sysctl_saved {
	const char *path;
	char old[64];
	bool changed;
};

/* Save @path's value in @s and write @val; 0 or -1. */
int sysctl_change(struct sysctl_saved *s, const char *path, const char *val);
/* Put back what sysctl_change() saved (a TAP comment when that fails). */
void sysctl_restore(struct sysctl_saved *s);

#endif /* LIB_SYSCTL_H */
