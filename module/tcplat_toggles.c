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
 *
 * The stale-ACK SYN resend has three behaviours, not two, so the hook patch
 * exports an int (tcp_syn_stale_policy) instead of a key; syn_stale_resend
 * reads and writes it by name: legacy, upstream or fast.
 */
#include <linux/capability.h>
#include <linux/errno.h>
#include <linux/jump_label.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/seq_buf.h>
#include <linux/string.h>
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
	TCPLAT_TOGGLE("syn_relookup", "tcp_syn_relookup_key",
		      "re-look-up a SYN that finds its socket closed while it waited for the lock"),
	TCPLAT_TOGGLE("syn_closed_ack", "tcp_syn_closed_ack_key",
		      "a closed socket answers a SYN from its backlog with an ACK"),
};

/* Values of tcp_syn_stale_policy, in the hook patch's order. */
static const char *const tcplat_stale_names[] = { "legacy", "upstream", "fast" };
#define TCPLAT_STALE_SYMBOL	"tcp_syn_stale_policy"
#define TCPLAT_STALE_DEFAULT	2	/* fast: the kernel's own default */
static int *tcplat_stale_policy;	/* NULL when the kernel lacks it */

void tcplat_toggles_init(void)
{
	struct tcplat_toggle *t;

	for (t = tcplat_toggles; t < tcplat_toggles + ARRAY_SIZE(tcplat_toggles); t++) {
		t->key = __symbol_get(t->symbol);
		if (!t->key)
			pr_info("tcplat: %s unavailable: kernel lacks %s\n",
				t->name, t->symbol);
	}
	tcplat_stale_policy = __symbol_get(TCPLAT_STALE_SYMBOL);
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
	if (tcplat_stale_policy) {
		WRITE_ONCE(*tcplat_stale_policy, TCPLAT_STALE_DEFAULT);
		__symbol_put(TCPLAT_STALE_SYMBOL);
		tcplat_stale_policy = NULL;
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

/* net.ipv4.tcplat.syn_stale_resend: "legacy", "upstream" or "fast". */
static int tcplat_stale_handler(const struct ctl_table *table, int write,
				void *buffer, size_t *lenp, loff_t *ppos)
{
	char val[16] = "";
	struct ctl_table tmp = {
		.data = val,
		.maxlen = sizeof(val),
	};
	int ret, i;

	if (!write) {
		if (tcplat_stale_policy) {
			i = READ_ONCE(*tcplat_stale_policy);
			if (i >= 0 && i < ARRAY_SIZE(tcplat_stale_names))
				strscpy(val, tcplat_stale_names[i]);
		}
		return proc_dostring(&tmp, 0, buffer, lenp, ppos);
	}
	ret = tcplat_check_write(write);
	if (ret)
		return ret;
	if (!tcplat_stale_policy)
		return -EOPNOTSUPP;
	if (*ppos || *lenp >= sizeof(val))
		return -EINVAL;
	ret = proc_dostring(&tmp, 1, buffer, lenp, ppos);
	if (ret)
		return ret;
	i = sysfs_match_string(tcplat_stale_names, strim(val));
	if (i < 0)
		return -EINVAL;
	WRITE_ONCE(*tcplat_stale_policy, i);
	return 0;
}

unsigned int tcplat_toggles_count(void)
{
	return ARRAY_SIZE(tcplat_toggles) + 1;
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
	e->procname = "syn_stale_resend";
	e->maxlen = 16;
	e->mode = 0644;
	e->proc_handler = tcplat_stale_handler;
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
	if (!tcplat_stale_policy)
		seq_buf_printf(s, "syn_stale_resend: unavailable (kernel lacks %s)\n",
			       TCPLAT_STALE_SYMBOL);
	else
		seq_buf_printf(s, "syn_stale_resend: available (%s: legacy, upstream or fast)\n",
			       TCPLAT_STALE_SYMBOL);
}
