// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF hold of the TCP race selftests (tcp_hold.h) with libbpf: open
 * the test's .bpf.o beside its binary, load the one program it uses, and
 * arm and read the hold map.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tcp_hold.h"

#define VMLINUX_BTF	"/sys/kernel/btf/vmlinux"

const char *hold_unsupported(enum bpf_prog_type type)
{
	if (access(VMLINUX_BTF, R_OK))
		return "needs kernel BTF (CONFIG_DEBUG_INFO_BTF): no " VMLINUX_BTF;
	if (libbpf_probe_bpf_prog_type(type, NULL) != 1)
		return type == BPF_PROG_TYPE_SOCKET_FILTER ?
		       "needs BPF socket filters (CONFIG_BPF_SYSCALL)" :
		       "needs BPF on tracepoints and kprobes (CONFIG_BPF_EVENTS)";
	return NULL;
}

/* libbpf's messages as TAP diagnostics; its debug output is dropped. */
static int hold_print(enum libbpf_print_level level, const char *fmt,
		      va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	fputs("# ", stderr);
	return vfprintf(stderr, fmt, ap);
}

int hold_open(struct hold_bpf *hb, const char *obj, const char *prog)
{
	char path[PATH_MAX];
	struct bpf_program *p;
	ssize_t n;
	char *dir;
	int err;

	memset(hb, 0, sizeof(*hb));
	hb->map_fd = -1;
	hb->prog_fd = -1;
	libbpf_set_print(hold_print);
	/* Beside the binary: the tests run from any folder. */
	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n < 0)
		return -errno;
	path[n] = '\0';
	dir = strrchr(path, '/');
	if (!dir || snprintf(dir + 1, sizeof(path) - (dir + 1 - path), "%s",
			     obj) >= (int)(sizeof(path) - (dir + 1 - path)))
		return -ENAMETOOLONG;
	hb->obj = bpf_object__open_file(path, NULL);
	if (!hb->obj) {
		err = -errno;
		fprintf(stderr, "# %s: %s\n", path, strerror(errno));
		return err;
	}
	bpf_object__for_each_program(p, hb->obj) {
		bool mine = !strcmp(bpf_program__name(p), prog);

		bpf_program__set_autoload(p, mine);
		if (mine)
			hb->prog = p;
	}
	if (!hb->prog) {
		fprintf(stderr, "# %s: no program %s\n", path, prog);
		return -ENOENT;
	}
	err = bpf_object__load(hb->obj);
	if (err)
		return err;
	hb->map_fd = bpf_object__find_map_fd_by_name(hb->obj, "hold_map");
	hb->prog_fd = bpf_program__fd(hb->prog);
	return hb->map_fd < 0 ? hb->map_fd : 0;
}

void hold_close(struct hold_bpf *hb)
{
	bpf_link__destroy(hb->link);
	bpf_object__close(hb->obj);
	memset(hb, 0, sizeof(*hb));
	hb->map_fd = -1;
	hb->prog_fd = -1;
}

int hold_write(int map_fd, const struct hold *h)
{
	__u32 key = 0;

	return bpf_map_update_elem(map_fd, &key, h, BPF_ANY);
}

int hold_read(int map_fd, struct hold *h)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(map_fd, &key, h);
}

bool held_done(void *arg)
{
	struct held_wait *w = arg;

	if (hold_read(w->map_fd, &w->h))
		return false;
	if (!w->h.held)
		return false;
	return !w->want_end || w->h.end_ns;
}
