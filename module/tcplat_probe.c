// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists: tcplat must load even when one of its kprobes
 * cannot be placed (symbol inlined away, blacklisted, kprobes disabled).
 * These helpers register a kprobe, remember the outcome for the status
 * sysctl, and only ever unregister what was actually registered.
 */
#include <linux/errno.h>
#include <linux/kprobes.h>
#include <linux/printk.h>
#include <linux/seq_buf.h>

#include "tcplat.h"

void tcplat_probe_register(struct tcplat_probe *p)
{
	p->err = register_kprobe(&p->kp);
	p->registered = !p->err;
	if (p->err)
		pr_warn("tcplat: %s: cannot place kprobe on %s: %d\n",
			p->what, p->kp.symbol_name, p->err);
}

/*
 * unregister_kprobe() waits for an RCU grace period, so no handler of
 * this probe is running once it returns; after that the module text the
 * handler lives in may go away.
 */
void tcplat_probe_unregister(struct tcplat_probe *p)
{
	if (!p->registered)
		return;
	unregister_kprobe(&p->kp);
	p->registered = false;
}

void tcplat_probe_status(struct seq_buf *s, const struct tcplat_probe *p)
{
	if (p->registered)
		seq_buf_printf(s, "kprobe on %s", p->kp.symbol_name);
	else
		seq_buf_printf(s, "kprobe on %s failed: error %d",
			       p->kp.symbol_name, p->err);
}
