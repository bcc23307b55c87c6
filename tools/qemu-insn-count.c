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
 * Every instruction of a translated block gets its own inline counter (an
 * add in the generated code, no call), so a block that runs past the end
 * of a function into the next one is split exactly.  One counter per
 * block, multiplied by the block's instruction count, would be cheaper
 * but is wrong under QEMU 7.2: its x86 translator ends a block before an
 * instruction that crosses a page boundary (unless it is the block's
 * first) and drops that instruction's code, while the plugin's view of
 * the block keeps it; the instruction then counts once more for every
 * execution of the block before it (seen as exactly +1 per call in
 * functions whose code moved across a page boundary from one build to
 * the next).  The dropped instruction's inline add is dropped with it.
 *
 * Not exact: an MMIO instruction under icount re-runs its block once more
 * (the block is translated again to end at it), and counts twice.
 *
 * The counters are plain adds: with more than one TCG thread, vCPUs race
 * on them.  Use it with one TCG thread (vm-run --icount or --tcg-single).
 *
 * Arguments (-plugin file=qemu-insn-count.so,out=PATH[,mark=VADDR]):
 *   out=PATH    at exit, write the counts to PATH, one line per executed
 *               kernel instruction address: "vaddr n_insns count" (hex
 *               vaddr; n_insns is always 1; decimal count).
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

struct insn_count {
	uint64_t vaddr;
	uint64_t count;		/* executions, bumped by inline code */
};

struct block {
	size_t n;
	struct insn_count insn[];
};

static GPtrArray *blocks;	/* every struct block ever translated */
static char *out_path;
static uint64_t mark;
static int have_mark;
static unsigned int marks;

static int write_counts(const char *path)
{
	GHashTable *per_insn;
	GHashTableIter it;
	gpointer v;
	FILE *f;
	guint i;
	size_t j;

	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "qemu-insn-count: %s: %s\n", path, strerror(errno));
		return -1;
	}
	/* An address translated into several blocks gets one line. */
	per_insn = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
	for (i = 0; i < blocks->len; i++) {
		struct block *b = g_ptr_array_index(blocks, i);

		for (j = 0; j < b->n; j++) {
			struct insn_count *sum;

			if (!b->insn[j].count)
				continue;
			sum = g_hash_table_lookup(per_insn, &b->insn[j].vaddr);
			if (!sum) {
				sum = g_new0(struct insn_count, 1);
				sum->vaddr = b->insn[j].vaddr;
				g_hash_table_insert(per_insn, &sum->vaddr, sum);
			}
			sum->count += b->insn[j].count;
		}
	}
	g_hash_table_iter_init(&it, per_insn);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct insn_count *sum = v;

		fprintf(f, "%" PRIx64 " 1 %" PRIu64 "\n", sum->vaddr, sum->count);
	}
	g_hash_table_destroy(per_insn);
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
	size_t i;

	if (qemu_plugin_tb_vaddr(tb) < KERNEL_START || !n)
		return;
	b = g_malloc0(sizeof(*b) + n * sizeof(b->insn[0]));
	b->n = n;
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);

		b->insn[i].vaddr = qemu_plugin_insn_vaddr(insn);
		qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
							   &b->insn[i].count, 1);
		if (have_mark && b->insn[i].vaddr == mark)
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark,
							       QEMU_PLUGIN_CB_NO_REGS, NULL);
	}
	g_ptr_array_add(blocks, b);
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
		} else {
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
