// SPDX-License-Identifier: GPL-2.0
/*
 * Sysctls by their /proc/sys path: read, write, and a value changed for
 * one test and put back afterwards.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest.h"
#include "sysctl.h"

int sysctl_read(const char *path, char *buf, size_t sz)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sz - 1);
	close(fd);
	if (n < 0)
		return -1;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return 0;
}

int sysctl_write(const char *path, const char *val)
{
	ssize_t len = strlen(val);
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, val, len) != len)
		ret = -1;
	close(fd);
	return ret;
}

long long sysctl_read_ll(const char *path)
{
	char buf[64];

	if (sysctl_read(path, buf, sizeof(buf)))
		return -1;
	return strtoll(buf, NULL, 10);
}

int sysctl_change(struct sysctl_saved *s, const char *path, const char *val)
{
	s->path = path;
	s->changed = false;
	if (sysctl_read(path, s->old, sizeof(s->old)) || sysctl_write(path, val))
		return -1;
	s->changed = true;
	return 0;
}

void sysctl_restore(struct sysctl_saved *s)
{
	if (s->changed && sysctl_write(s->path, s->old))
		ksft_print_msg("cannot restore %s to '%s'\n", s->path, s->old);
	s->changed = false;
}
