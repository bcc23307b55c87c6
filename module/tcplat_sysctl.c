// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists: every tcplat knob, counter and the status text is
 * a sysctl under net.ipv4.tcplat in init_net.  This file owns that table
 * and its handlers, and makes writes strict: a write needs CAP_NET_ADMIN,
 * must be exactly one in-range integer, and changes nothing on failure.
 *
 * What plain proc_dointvec_minmax() does, and why it is wrapped:
 *  - "" or "\n": no number, returns -EINVAL (kept);
 *  - "5abc", "-1", "65536" out of range, overlong digit strings: -EINVAL,
 *    and the value is only stored once it passed the range check (kept);
 *  - "5 6" or "5 abc": stores 5 and reports only "5 " as consumed; the
 *    caller's retry of the rest lands at a non-zero *ppos, which a strict
 *    kernel silently ignores.  The wrapper parses into a temporary, fails
 *    with -EINVAL unless the whole buffer was consumed, and rejects writes
 *    at a non-zero file position instead of ignoring them;
 *  - a zero-length write parses nothing and returns 0; the wrapper says
 *    -EINVAL so the temporary is never used unset;
 *  - only the first PAGE_SIZE - 1 bytes are parsed, yet the whole write is
 *    reported as consumed: "1", 4094 blanks, "2" stored 1 and passed the
 *    check above.  The wrapper refuses writes of PAGE_SIZE bytes or more.
 */
#include <linux/capability.h>
#include <linux/errno.h>
#include <linux/mutex.h>
#include <linux/nsproxy.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysctl.h>
#include <linux/utsname.h>
#include <net/net_namespace.h>

#include "tcplat.h"

#define TCPLAT_STATUS_LEN	2048

static int tcplat_int_zero;
static int tcplat_int_widen_us_max = TCPLAT_WIDEN_US_MAX;
static int tcplat_int_port_max = TCPLAT_PORT_MAX;
static int tcplat_int_mode_max = TCPLAT_WIDEN_MODE_MAX;

/* Serializes the knobs that place kprobes, and their (un)registration. */
static DEFINE_MUTEX(tcplat_arm_lock);

static struct ctl_table_header *tcplat_sysctl_hdr;
static struct ctl_table *tcplat_sysctl_table;

/*
 * The sysctl files are 0644 so that only root may open them for writing;
 * CAP_NET_ADMIN is checked again at write time because the knobs change
 * how TCP treats live traffic, and an open descriptor or a root shell
 * without that capability must not be enough.
 */
int tcplat_check_write(void)
{
	return capable(CAP_NET_ADMIN) ? 0 : -EPERM;
}

int tcplat_parse_int(void *buffer, size_t *lenp, loff_t *ppos,
		     int min, int max, int *out)
{
	size_t len = *lenp;
	int val = 0;
	struct ctl_table tmp = {
		.data	= &val,
		.maxlen	= sizeof(val),
		.extra1	= &min,
		.extra2	= &max,
	};
	int ret;

	if (*ppos || !len || len >= PAGE_SIZE)
		return -EINVAL;
	ret = proc_dointvec_minmax(&tmp, 1, buffer, lenp, ppos);
	if (ret)
		return ret;
	if (*lenp != len)
		return -EINVAL;
	*out = val;
	return 0;
}

int tcplat_show_int(int val, void *buffer, size_t *lenp, loff_t *ppos)
{
	struct ctl_table tmp = {
		.data	= &val,
		.maxlen	= sizeof(val),
	};

	return proc_dointvec(&tmp, 0, buffer, lenp, ppos);
}

/*
 * A knob that arms the widener or the observers: store the new value,
 * let @arm place or remove the kprobes it needs for the writer's network
 * namespace, and put the old value back if that fails.
 */
static int tcplat_arm_write(const struct ctl_table *table, int write,
			    void *buffer, size_t *lenp, loff_t *ppos,
			    int (*arm)(u64 net))
{
	int *knob = table->data;
	int val = 0, old;
	int ret;

	if (!write)
		return tcplat_show_int(READ_ONCE(*knob), buffer, lenp, ppos);

	ret = tcplat_check_write();
	if (ret)
		return ret;
	ret = tcplat_parse_int(buffer, lenp, ppos, *(int *)table->extra1,
			       *(int *)table->extra2, &val);
	if (ret)
		return ret;
	mutex_lock(&tcplat_arm_lock);
	old = READ_ONCE(*knob);
	WRITE_ONCE(*knob, val);
	ret = arm(current->nsproxy->net_ns->net_cookie);
	if (ret)
		WRITE_ONCE(*knob, old);
	mutex_unlock(&tcplat_arm_lock);
	return ret;
}

static int tcplat_widen_handler(const struct ctl_table *table, int write,
				void *buffer, size_t *lenp, loff_t *ppos)
{
	return tcplat_arm_write(table, write, buffer, lenp, ppos,
				tcplat_widen_arm);
}

static int tcplat_observe_handler(const struct ctl_table *table, int write,
				  void *buffer, size_t *lenp, loff_t *ppos)
{
	return tcplat_arm_write(table, write, buffer, lenp, ppos,
				tcplat_observe_arm);
}

/* Read-only counter (0444): table->extra1 is its enum tcplat_counter. */
static int tcplat_counter_handler(const struct ctl_table *table, int write,
				  void *buffer, size_t *lenp, loff_t *ppos)
{
	enum tcplat_counter id = (uintptr_t)table->extra1;
	unsigned long val;
	struct ctl_table tmp = {
		.data	= &val,
		.maxlen	= sizeof(val),
	};

	val = tcplat_counter_sum(id);
	return proc_doulongvec_minmax(&tmp, 0, buffer, lenp, ppos);
}

/* Read-only status text (0444), rebuilt on every read. */
static int tcplat_status_handler(const struct ctl_table *table, int write,
				 void *buffer, size_t *lenp, loff_t *ppos)
{
	struct ctl_table tmp = { .maxlen = TCPLAT_STATUS_LEN };
	struct seq_buf s;
	size_t len;
	char *buf;
	int ret;

	buf = kzalloc(TCPLAT_STATUS_LEN, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;

	seq_buf_init(&s, buf, TCPLAT_STATUS_LEN);
	seq_buf_printf(&s, "kernel: %s\n", init_utsname()->release);
	tcplat_toggles_status(&s);
	tcplat_widen_status(&s);
	tcplat_observe_status(&s);
	seq_buf_str(&s);

	/* proc_dostring() adds the final newline itself. */
	len = strlen(buf);
	if (len && buf[len - 1] == '\n')
		buf[len - 1] = '\0';

	tmp.data = buf;
	ret = proc_dostring(&tmp, 0, buffer, lenp, ppos);
	kfree(buf);
	return ret;
}

#define TCPLAT_INT(_name, _data, _max, _handler) {	\
	.procname	= _name,			\
	.data		= _data,			\
	.maxlen		= sizeof(int),			\
	.mode		= 0644,				\
	.proc_handler	= _handler,			\
	.extra1		= &tcplat_int_zero,		\
	.extra2		= _max,				\
}

#define TCPLAT_COUNTER(_name, _id) {			\
	.procname	= _name,			\
	.extra1		= (void *)(uintptr_t)(_id),	\
	.maxlen		= sizeof(unsigned long),	\
	.mode		= 0444,				\
	.proc_handler	= tcplat_counter_handler,	\
}

/* Fixed entries; the fix toggles are appended at registration time. */
static const struct ctl_table tcplat_fixed_table[] = {
	TCPLAT_INT("race_widen_us", &tcplat_widen_us, &tcplat_int_widen_us_max,
		   tcplat_widen_handler),
	TCPLAT_INT("race_widen_port", &tcplat_widen_port, &tcplat_int_port_max,
		   tcplat_widen_handler),
	TCPLAT_INT("race_widen_mode", &tcplat_widen_mode, &tcplat_int_mode_max,
		   tcplat_widen_handler),
	TCPLAT_INT("observe_port", &tcplat_observe_port, &tcplat_int_port_max,
		   tcplat_observe_handler),
	TCPLAT_COUNTER("widen_hits", TCPLAT_CNT_WIDEN_HITS),
	TCPLAT_COUNTER("widen_skip_busy", TCPLAT_CNT_WIDEN_SKIP_BUSY),
	TCPLAT_COUNTER("widen_skip_budget", TCPLAT_CNT_WIDEN_SKIP_BUDGET),
	TCPLAT_COUNTER("closed_sk_segments", TCPLAT_CNT_CLOSED_SK_SEGMENTS),
	TCPLAT_COUNTER("fw2_timewait", TCPLAT_CNT_FW2_TIMEWAIT),
	{
		.procname	= "status",
		.maxlen		= TCPLAT_STATUS_LEN,
		.mode		= 0444,
		.proc_handler	= tcplat_status_handler,
	},
};

int tcplat_sysctl_init(void)
{
	size_t nfixed = ARRAY_SIZE(tcplat_fixed_table);
	size_t n = nfixed + tcplat_toggles_count();
	struct ctl_table *t;

	t = kcalloc(n, sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	memcpy(t, tcplat_fixed_table, sizeof(tcplat_fixed_table));
	tcplat_toggles_fill(t + nfixed);

	tcplat_sysctl_hdr = register_net_sysctl_sz(&init_net, "net/ipv4/tcplat",
						   t, n);
	if (!tcplat_sysctl_hdr) {
		kfree(t);
		return -ENOMEM;
	}
	tcplat_sysctl_table = t;
	return 0;
}

/* Waits for handlers in progress; none can start afterwards. */
void tcplat_sysctl_exit(void)
{
	unregister_net_sysctl_table(tcplat_sysctl_hdr);
	tcplat_sysctl_hdr = NULL;
	kfree(tcplat_sysctl_table);
	tcplat_sysctl_table = NULL;
}
