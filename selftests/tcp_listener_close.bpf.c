// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_listener_close's program: tcp_hold.bpf.c's port holder on a kprobe
 * at the entry of tcp_v{4,6}_do_rcv(), the socket its first argument.
 * x86_64 only (the test skips elsewhere): the argument is in pt_regs->di,
 * whose offset CO-RE takes from the running kernel.
 */
#include "tcp_hold.bpf.c"

struct pt_regs {
	unsigned long di;
} __attribute__((preserve_access_index));

SEC("kprobe")
int hold_port_kprobe(struct pt_regs *regs)
{
	return hold_port((const struct sock_common *)regs->di);
}
