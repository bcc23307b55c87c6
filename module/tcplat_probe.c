// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists: tcplat places its kprobes only while a knob arms
 * them, and must stay loaded when one cannot be placed (symbol inlined
 * away, blacklisted, kprobes disabled).  These helpers register a kprobe,
 * remember the outcome for the status sysctl, and only ever unregister
 * what was actually registered.
 */
#include <linux/errno.h>
#include <linux/kprobes.h>
#include <linux/printk.h>
#include <linux/seq_buf.h>

#include "tcplat.h"

/*
 * May be called again after tcplat_probe_unregister(): register_kprobe()
 * refuses a kprobe whose address is still set from last time, so the
 * resolved address and the flags are cleared first.
 */
void tcplat_probe_register(struct tcplat_probe *p)
{
	if (p->registered)
		return;
	p->kp.addr = NULL;
	p->kp.flags = 0;
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
	else if (!p->err)
		seq_buf_printf(s, "no kprobe on %s", p->kp.symbol_name);
	else
		seq_buf_printf(s, "kprobe on %s failed: error %d",
			       p->kp.symbol_name, p->err);
}
