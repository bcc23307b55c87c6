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
 * A fix whose switch is not on/off is a policy: the hook patch exports an
 * int, and a sysctl reads and writes it by name.  syn_stale_resend
 * (tcp_syn_stale_policy: legacy, upstream or fast) and clamp_window
 * (tcp_clamp_policy: grow or shrink) are entries of tcplat_policies[].
 */
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

struct tcplat_policy {
	const char *name;		/* sysctl in net.ipv4.tcplat */
	const char *symbol;		/* int exported by the hook patch */
	const char *const *values;	/* its values, in the patch's order */
	int nvalues;
	int dflt;			/* the kernel's own default */
	int *policy;			/* NULL when the kernel lacks it */
};

static const char *const tcplat_stale_names[] = { "legacy", "upstream", "fast" };
static const char *const tcplat_clamp_names[] = { "grow", "shrink" };

#define TCPLAT_POLICY(_name, _symbol, _values, _dflt)			\
	{ .name = _name, .symbol = _symbol, .values = _values,		\
	  .nvalues = ARRAY_SIZE(_values), .dflt = _dflt }

static struct tcplat_policy tcplat_policies[] = {
	TCPLAT_POLICY("syn_stale_resend", "tcp_syn_stale_policy",
		      tcplat_stale_names, 2 /* fast */),
	TCPLAT_POLICY("clamp_window", "tcp_clamp_policy",
		      tcplat_clamp_names, 1 /* shrink */),
};

#define for_each_policy(p) \
	for (p = tcplat_policies; p < tcplat_policies + ARRAY_SIZE(tcplat_policies); p++)

void tcplat_toggles_init(void)
{
	struct tcplat_policy *p;
	struct tcplat_toggle *t;

	for (t = tcplat_toggles; t < tcplat_toggles + ARRAY_SIZE(tcplat_toggles); t++) {
		t->key = __symbol_get(t->symbol);
		if (!t->key)
			pr_info("tcplat: %s unavailable: kernel lacks %s\n",
				t->name, t->symbol);
	}
	for_each_policy(p)
		p->policy = __symbol_get(p->symbol);
}

/* Runs after the sysctls are gone, so no handler races with it. */
void tcplat_toggles_exit(void)
{
	struct tcplat_policy *p;
	struct tcplat_toggle *t;

	for (t = tcplat_toggles; t < tcplat_toggles + ARRAY_SIZE(tcplat_toggles); t++) {
		if (!t->key)
			continue;
		/* Leave the kernel as upstream: fix enabled. */
		static_branch_enable(t->key);
		__symbol_put(t->symbol);
		t->key = NULL;
	}
	for_each_policy(p) {
		if (!p->policy)
			continue;
		WRITE_ONCE(*p->policy, p->dflt);
		__symbol_put(p->symbol);
		p->policy = NULL;
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

	ret = tcplat_check_write();
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

/* A policy sysctl: one of its value names. */
static int tcplat_policy_handler(const struct ctl_table *table, int write,
				 void *buffer, size_t *lenp, loff_t *ppos)
{
	struct tcplat_policy *p = table->data;
	const char *nl;
	char val[16] = "";
	struct ctl_table tmp = {
		.data = val,
		.maxlen = sizeof(val),
	};
	int ret, i;

	if (!write) {
		if (p->policy) {
			i = READ_ONCE(*p->policy);
			if (i >= 0 && i < p->nvalues)
				strscpy(val, p->values[i]);
		}
		return proc_dostring(&tmp, 0, buffer, lenp, ppos);
	}
	ret = tcplat_check_write();
	if (ret)
		return ret;
	if (!p->policy)
		return -EOPNOTSUPP;
	if (*ppos || *lenp >= sizeof(val))
		return -EINVAL;
	/*
	 * proc_dostring() stops at a NUL or a newline and drops the rest:
	 * "grow\nshrink" or "grow\0x" would read as "grow".  Only one final
	 * newline is allowed.
	 */
	nl = memchr(buffer, '\n', *lenp);
	if (memchr(buffer, '\0', *lenp) || (nl && nl != buffer + *lenp - 1))
		return -EINVAL;
	ret = proc_dostring(&tmp, 1, buffer, lenp, ppos);
	if (ret)
		return ret;
	i = __sysfs_match_string(p->values, p->nvalues, strim(val));
	if (i < 0)
		return -EINVAL;
	WRITE_ONCE(*p->policy, i);
	return 0;
}

unsigned int tcplat_toggles_count(void)
{
	return ARRAY_SIZE(tcplat_toggles) + ARRAY_SIZE(tcplat_policies);
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
	for (i = 0; i < ARRAY_SIZE(tcplat_policies); i++, e++) {
		e->procname = tcplat_policies[i].name;
		e->data = &tcplat_policies[i];
		e->maxlen = 16;
		e->mode = 0644;
		e->proc_handler = tcplat_policy_handler;
	}
}

void tcplat_toggles_status(struct seq_buf *s)
{
	const struct tcplat_policy *p;
	const struct tcplat_toggle *t;
	int i;

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
	for_each_policy(p) {
		if (!p->policy) {
			seq_buf_printf(s, "%s: unavailable (kernel lacks %s)\n",
				       p->name, p->symbol);
			continue;
		}
		seq_buf_printf(s, "%s: available (%s:", p->name, p->symbol);
		for (i = 0; i < p->nvalues; i++)
			seq_buf_printf(s, " %s", p->values[i]);
		seq_buf_printf(s, ")\n");
	}
}
