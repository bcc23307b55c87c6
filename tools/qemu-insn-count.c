// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists:
 *
 * Under scripts/vm-run --icount a tools/tcp_rr rate is an instruction
 * count per transaction, and a patched kernel's rate tells that it runs
 * more instructions than the stock one, not where.  perf in the guest
 * samples (and TCG has no PMU); this counts.  It is a QEMU TCG plugin
 * that counts every guest instruction executed at a kernel address
 * (vaddr >= 0xffffffff80000000: the kernel's text and modules), so that
 * scripts/measure/insn-profile can add the counts up per function of the
 * guest's vmlinux and compare two kernels function by function.
 *
 * Each translated block gets one inline counter (an add in the generated
 * code, no call) and keeps the addresses of its instructions.  A block is
 * straight-line code, so every instruction of it ran as often as the
 * block: the counts are exact per instruction even when a block runs past
 * the end of a function into the next one.  Not exact: a block left in
 * the middle by an exception (a fault in a user copy) counts its
 * remaining instructions too, and an MMIO instruction under icount
 * re-runs its block once more.
 *
 * The counters are plain adds: with more than one TCG thread, vCPUs race
 * on them.  Use it with one TCG thread (vm-run --icount or --tcg-single).
 *
 * Arguments (-plugin file=qemu-insn-count.so,out=PATH[,mark=VADDR][,split=tb]):
 *   out=PATH    at exit, write the counts to PATH, one line per executed
 *               kernel instruction address: "vaddr 1 count" (hex vaddr,
 *               decimal count); with split=tb one line per translated
 *               block instead: "vaddr n_insns count" (a block translated
 *               twice gets two lines).
 *   mark=VADDR  each time the guest executes the instruction at VADDR
 *               (hex; the first instruction of a function it calls only on
 *               purpose, such as __x64_sys_syncfs for "sync -f"), write the
 *               counts so far to PATH.1, PATH.2, ...: the difference of
 *               two such files is the window between two marks.
 *
 * Build (scripts/measure/insn-profile does): gcc -shared -fPIC -O2
 * $(pkg-config --cflags glib-2.0) -I<dir of QEMU's qemu-plugin.h>.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define KERNEL_START 0xffffffff80000000ULL

struct block {
	uint64_t count;		/* executions, bumped by inline code */
	size_t n;
	uint64_t insn[];	/* vaddr of each instruction */
};

static GPtrArray *blocks;	/* every struct block ever translated */
static char *out_path;
static uint64_t mark;
static int have_mark, split_tb;
static unsigned int marks;

static int write_counts(const char *path)
{
	GHashTable *per_insn = NULL;
	GHashTableIter it;
	gpointer k, v;
	FILE *f;
	guint i;
	size_t j;

	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "qemu-insn-count: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!split_tb)
		per_insn = g_hash_table_new(g_int64_hash, g_int64_equal);
	for (i = 0; i < blocks->len; i++) {
		struct block *b = g_ptr_array_index(blocks, i);

		if (!b->count)
			continue;
		if (split_tb) {
			fprintf(f, "%" PRIx64 " %zu %" PRIu64 "\n",
				b->insn[0], b->n, b->count);
			continue;
		}
		for (j = 0; j < b->n; j++) {
			uint64_t *sum = g_hash_table_lookup(per_insn, &b->insn[j]);

			if (!sum) {
				sum = g_new0(uint64_t, 2);
				sum[0] = b->insn[j];
				g_hash_table_insert(per_insn, &sum[0], sum);
			}
			sum[1] += b->count;
		}
	}
	if (per_insn) {
		g_hash_table_iter_init(&it, per_insn);
		while (g_hash_table_iter_next(&it, &k, &v)) {
			uint64_t *sum = v;

			fprintf(f, "%" PRIx64 " 1 %" PRIu64 "\n", sum[0], sum[1]);
			g_free(sum);
		}
		g_hash_table_destroy(per_insn);
	}
	if (fclose(f)) {
		fprintf(stderr, "qemu-insn-count: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void on_mark(unsigned int vcpu_index, void *udata)
{
	char *path = g_strdup_printf("%s.%u", out_path, ++marks);

	write_counts(path);
	g_free(path);
}

static void on_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	struct block *b;
	int marked = 0;
	size_t i;

	if (qemu_plugin_tb_vaddr(tb) < KERNEL_START || !n)
		return;
	b = g_malloc0(sizeof(*b) + n * sizeof(b->insn[0]));
	b->n = n;
	for (i = 0; i < n; i++) {
		b->insn[i] = qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, i));
		if (have_mark && b->insn[i] == mark)
			marked = 1;
	}
	g_ptr_array_add(blocks, b);
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
						 &b->count, 1);
	if (marked)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, on_mark,
						     QEMU_PLUGIN_CB_NO_REGS, NULL);
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
	write_counts(out_path);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info,
					   int argc, char **argv)
{
	char *end;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "out=", 4)) {
			out_path = g_strdup(argv[i] + 4);
		} else if (!strncmp(argv[i], "mark=", 5)) {
			errno = 0;
			mark = strtoull(argv[i] + 5, &end, 16);
			if (errno || *end || end == argv[i] + 5) {
				fprintf(stderr, "qemu-insn-count: bad %s (hex address)\n",
					argv[i]);
				return -1;
			}
			have_mark = 1;
		} else if (!strcmp(argv[i], "split=tb")) {
			split_tb = 1;
		} else if (strcmp(argv[i], "split=insn")) {
			fprintf(stderr, "qemu-insn-count: unknown argument '%s'\n",
				argv[i]);
			return -1;
		}
	}
	if (!out_path || !*out_path) {
		fprintf(stderr, "qemu-insn-count: needs out=PATH\n");
		return -1;
	}
	blocks = g_ptr_array_new();
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
