// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists: on a stock kernel tcp_tw_relookup_key does not
 * exist, so only the "unavailable" path of tcplat's tw_relookup toggle
 * could be tested.  This test-only module exports a static key of that
 * name, exactly as the hook patch declares it, so test-sysctl.sh can also
 * check reading, flipping and restoring an available toggle.  Nothing in
 * the kernel branches on this key: flipping it has no effect on TCP.
 * Loading it on a kernel that has the hook patch fails (duplicate symbol),
 * which the test treats as "skip".
 */
#include <linux/jump_label.h>
#include <linux/module.h>

/* The declaration the hook patch adds to include/net/tcp.h. */
DECLARE_STATIC_KEY_TRUE(tcp_tw_relookup_key);

DEFINE_STATIC_KEY_TRUE(tcp_tw_relookup_key);
EXPORT_SYMBOL_GPL(tcp_tw_relookup_key);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("tcp-latency project");
MODULE_DESCRIPTION("tcplat test helper: stand-in for the hook patch's tcp_tw_relookup_key");
