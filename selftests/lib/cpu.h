/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CPUs for a race: the first two CPUs the process may run on, and pinning
 * a thread to one, so the two sides of a race run truly in parallel.
 */
#ifndef LIB_CPU_H
#define LIB_CPU_H

/*
 * The first two CPUs of the affinity mask in @a and @b: returns how many
 * there were (0..2), or -1 when the mask cannot be read.
 */
int cpu_pick_two(int *a, int *b);
/* Pin the calling thread to @cpu; 0 or an error number. */
int cpu_pin(int cpu);

#endif /* LIB_CPU_H */
