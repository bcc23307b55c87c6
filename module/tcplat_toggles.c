// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists: the project's not-for-upstream hook patch exports
 * one static key per fix (DEFINE_STATIC_KEY_TRUE + EXPORT_SYMBOL_GPL) so a
 * test can switch the fix off and show the bug comes back.  tcplat must
 * still load on a stock kernel, so the keys are never referenced directly:
 * each one is looked up by name with __symbol_get() at load time and, when
 * present, driven from a sysctl with static_branch_enable()/disable().
 *
 * Adding a fix toggle is one entry in tcplat_toggles[] below: the sysctl,
 * its status line and the load/unload handling all come from the table.
 */
#include <linux/capability.h>
#include <linux/errno.h>
#include <linux/jump_label.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/seq_buf.h>
#include <linux/sysctl.h>

#include "tcplat.h"

struct tcplat_toggle {
	const char *name;		/* sysctl in net.ipv4.tcplat */
	const char *symbol;		/* static key exported by the hook patch */
	const char *desc;		/* what enabling the key does */
	struct static_key_true *key;	/* NULL when the kernel lacks it */
};

#define TCPLAT_TOGGLE(_name, _symbol, _desc) \
	{ .name = _name, .symbol = _symbol, .desc = _desc }

static struct tcplat_toggle tcplat_toggles[] = {
	TCPLAT_TOGGLE("tw_relookup", "tcp_tw_relookup_key",
		      "re-look-up the timewait socket for a segment that finds its socket closed"),
};

void tcplat_toggles_init(void)
{
	struct tcplat_toggle *t;

	for (t = tcplat_toggles; t < tcplat_toggles + ARRAY_SIZE(tcplat_toggles); t++) {
		t->key = __symbol_get(t->symbol);
		if (!t->key)
			pr_info("tcplat: %s unavailable: kernel lacks %s\n",
				t->name, t->symbol);
	}
}

/* Runs after the sysctls are gone, so no handler races with it. */
void tcplat_toggles_exit(void)
{
	struct tcplat_toggle *t;

	for (t = tcplat_toggles; t < tcplat_toggles + ARRAY_SIZE(tcplat_toggles); t++) {
		if (!t->key)
			continue;
		/* Leave the kernel as upstream: fix enabled. */
		static_branch_enable(t->key);
		__symbol_put(t->symbol);
		t->key = NULL;
	}
}

static int tcplat_toggle_handler(const struct ctl_table *table, int write,
				 void *buffer, size_t *lenp, loff_t *ppos)
{
	struct tcplat_toggle *t = table->data;
	int val = 0;
	int ret;

	if (!write)
		return tcplat_show_int(t->key ? static_key_enabled(t->key) : 0,
				       buffer, lenp, ppos);

	ret = tcplat_check_write(write);
	if (ret)
		return ret;
	if (!t->key)
		return -EOPNOTSUPP;
	ret = tcplat_parse_int(buffer, lenp, ppos, 0, 1, &val);
	if (ret)
		return ret;
	if (val)
		static_branch_enable(t->key);
	else
		static_branch_disable(t->key);
	return 0;
}

unsigned int tcplat_toggles_count(void)
{
	return ARRAY_SIZE(tcplat_toggles);
}

/* Fills tcplat_toggles_count() entries of the sysctl table at @e. */
void tcplat_toggles_fill(struct ctl_table *e)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(tcplat_toggles); i++, e++) {
		e->procname = tcplat_toggles[i].name;
		e->data = &tcplat_toggles[i];
		e->maxlen = sizeof(int);
		e->mode = 0644;
		e->proc_handler = tcplat_toggle_handler;
	}
}

void tcplat_toggles_status(struct seq_buf *s)
{
	const struct tcplat_toggle *t;

	for (t = tcplat_toggles; t < tcplat_toggles + ARRAY_SIZE(tcplat_toggles); t++) {
		if (!t->key)
			seq_buf_printf(s,
				       "%s: unavailable (kernel lacks %s: stock kernel or hook patch not applied)\n",
				       t->name, t->symbol);
		else
			seq_buf_printf(s, "%s: available, %s (%s: %s)\n",
				       t->name,
				       static_key_enabled(t->key) ? "enabled" : "disabled",
				       t->symbol, t->desc);
	}
}
