// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists: module entry and exit for tcplat, the test
 * companion of the TCP FIN_WAIT1 -> timewait re-lookup fix.  It brings the
 * pieces up in dependency order (toggles, then the sysctls that expose
 * them and place kprobes when armed) and tears them down in reverse, so an
 * unload under live traffic never leaves a handler running on freed module
 * memory.
 */
#include <linux/init.h>
#include <linux/module.h>

#include "tcplat.h"

static int __init tcplat_init(void)
{
	int ret;

	tcplat_toggles_init();
	/* No kprobe yet: the widener and observers place theirs when armed. */
	ret = tcplat_sysctl_init();
	if (ret) {
		tcplat_toggles_exit();
		return ret;
	}
	return 0;
}

static void __exit tcplat_exit(void)
{
	/* No sysctl handler can run (and flip a toggle) after this. */
	tcplat_sysctl_exit();
	/* Each unregister waits until no handler of that probe is running. */
	tcplat_widen_exit();
	tcplat_observe_exit();
	/* Re-enables every fix and drops the symbol references. */
	tcplat_toggles_exit();
}

module_init(tcplat_init);
module_exit(tcplat_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("tcp-latency project");
MODULE_DESCRIPTION("TCP FIN_WAIT1/timewait race test companion: fix toggles, race widener and observation counters (net.ipv4.tcplat.*)");
MODULE_VERSION(TCPLAT_VERSION);
